"""The queue's audit log: an append-only hash chain, and how to verify it.

Each entry carries its number (`seq`, 1, 2, 3, ... without gaps), the time, who acted
(`reviewer:<fingerprint>`, `node:<fingerprint>` or `admin`), the action, the account id
and a small detail object, plus the hash of the entry before it. Its own hash is SHA-256
over all of that in canonical JSON. So:

    an edited entry           its hash no longer matches (or the next entry's prev_hash)
    a deleted or inserted one the numbering has a gap, or prev_hash does not link
    the newest entries cut    nothing inside the database can show it: the chain is still
    off, or rewritten          consistent. Hence the *witness*: every reviewer's machine
                              keeps, outside the database, the newest (seq, hash) it saw
                              (`storage.queue.witness`). `verify_chain` checks that this
                              entry is still there with the same hash; a cut-off or
                              rewritten tail fails.

Since queue revision 0006 every entry is also **signed by its actor** (Ed25519 over
`b"attest-audit-v1\n" || hash`): a reviewer's entries with their reviewer signing key
(`reviewer:<fingerprint>`), or, for claims, releases, tags and status only, with their
triage key, the entry carrying the main key's certificate for it
(`storage.queue.triage_signatures`); receipts and withdrawals logged by `attest sync`
with the node key (`node:<fingerprint>`). `verify_chain`, given the pinned reviewer and
node keys, refuses an entry whose signature is missing, does not verify, or comes from a
key that is not pinned: a renumbered, rehashed deletion breaks every signature after
it, and whoever can only insert cannot sign as anyone but themselves. Entries written by
administrator commands (`actor` "admin": `attest queue withdrawals`, a field-kit import)
carry no signature; on PostgreSQL a trigger lets only the table's owner insert one, and inserts
only `seq = head + 1` linked to the head's hash. Entries older than the upgrade
(`queue_info.signed_from`) are counted as unsigned history, not refused.

Appending serialises on the chain's head: on PostgreSQL with a transaction-level
advisory lock, on SQLite through the write lock `BEGIN IMMEDIATE` already holds. Details
never carry content: only ids, counts, field names, purposes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from storage.crypto.keyfiles import b64decode, b64encode
from storage.errors import N_, CorruptData
from storage.queue.tables import audit_log, queue_info
from storage.queue.triage_signatures import (
    PREFIX,
    REPLACED_ACTION,
    Replacements,
    certificate_text,
    is_triage_entry,
    is_triage_signature,
    replacement_problem,
    triage_problem,
)
from storage.queue.triage_signatures import signature_text as triage_signature_text

GENESIS = "0" * 64
ACTIONS: tuple[str, ...] = (
    "received",
    "opened",
    "file-decrypted",
    "claimed",
    "released",
    "changed",
    "exported",
    "withdrawn",
    "withdrawals-held",
    "withdrawals-confirmed",
    "withdrawals-rejected",
    "resealed",
    "triage-key-replaced",
)
ADMIN = "admin"
_SIGNED_LABEL = b"attest-audit-v1\n"
# Any 64-bit constant: the advisory lock that serialises appends on PostgreSQL.
_CHAIN_LOCK = 0x4174746573740A01


@dataclass(frozen=True)
class AuditEntry:
    """One link of the chain, as stored."""

    seq: int
    at: str
    actor: str
    action: str
    account_id: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str
    signature: str | None = None  # base64 Ed25519 by the actor; None for admin and history


@dataclass(frozen=True)
class AuditSigner:
    """Who writes entries, and how they sign: `sign` gets the bytes to sign.

    With `certificate` (a triage key's, as text) the signer is a reviewer's triage key:
    it may sign only triage entries, and each carries the certificate
    (`storage.queue.triage_signatures`).
    """

    actor: str
    sign: Callable[[bytes], bytes]
    certificate: str | None = None

    def signature_for(self, entry_hash_hex: str) -> str:
        """The `signature` column of the entry with this hash."""
        signature = b64encode(self.sign(signed_bytes(entry_hash_hex)))
        if self.certificate is None:
            return signature
        return triage_signature_text(self.certificate, signature)


def signed_bytes(entry_hash_hex: str) -> bytes:
    """What an entry's actor signs: a label and the entry's hash (which covers all of it)."""
    return _SIGNED_LABEL + entry_hash_hex.encode("ascii")


@dataclass(frozen=True)
class AuditProblem:
    """Something `verify_chain` found; `reason` is an English source string for gettext."""

    seq: int
    reason: str
    # The actor (`reviewer:<fp>`, `node:<fp>`) when the only fault is that nobody here
    # pinned its key: not evidence of tampering (a colleague's key, the demo key).
    unpinned: str | None = None


@dataclass(frozen=True)
class AuditReport:
    entries: int
    head_seq: int
    head_hash: str
    problems: tuple[AuditProblem, ...]
    witness_checked: bool
    history: int = 0  # unsigned entries from before signatures
    by_admin: int = 0  # unsigned administrator entries
    # Entries signed by a demo key pinned for recovery: anyone with the node's machine
    # could have signed them, so they are reported apart, never as a trusted reviewer's.
    by_demo: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def tampered(self) -> tuple[AuditProblem, ...]:
        """The problems that show a forged, changed, cut or unlinked log."""
        return tuple(p for p in self.problems if p.unpinned is None)

    @property
    def unpinned(self) -> tuple[AuditProblem, ...]:
        """Entries well formed but signed by keys nobody here pinned."""
        return tuple(p for p in self.problems if p.unpinned is not None)


def _detail_json(detail: Mapping[str, Any]) -> str:
    return json.dumps(dict(detail), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def entry_hash(
    seq: int, at: str, actor: str, action: str, account_id: str | None, detail: str, prev: str
) -> str:
    """The hash an entry must carry (detail as its stored JSON text)."""
    canonical = json.dumps(
        [seq, at, actor, action, account_id, detail, prev],
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _lock_chain(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})


def head(conn: Connection) -> tuple[int, str]:
    """The newest entry's (seq, hash), or (0, GENESIS) for an empty log."""
    row = conn.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS) if row is None else (int(row.seq), str(row.hash))


def append(
    conn: Connection,
    actor: str,
    action: str,
    account_id: str | None,
    detail: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    signer: AuditSigner | None = None,
) -> AuditEntry:
    """Append one entry inside the caller's transaction; it commits with the change it records."""
    return append_many(conn, [(actor, action, account_id, detail or {})], now, signer)[-1]


def append_many(
    conn: Connection,
    items: Sequence[tuple[str, str, str | None, Mapping[str, Any]]],
    now: datetime | None = None,
    signer: AuditSigner | None = None,
) -> list[AuditEntry]:
    """Append several entries in order, holding the chain lock once, signed by `signer`.

    With a signer every entry must name it as actor (nobody signs for someone else).
    Without one the entries are unsigned: `verify_chain` accepts that only for "admin".
    """
    if not items:
        return []
    for actor, action, _id, detail in items:
        if signer is not None and actor != signer.actor:
            raise ValueError("an audit entry must be signed by the actor it names")
        triage_key = signer is not None and signer.certificate is not None
        if triage_key and not is_triage_entry(action, detail):
            raise ValueError("a triage key signs only claims, releases, tags and status changes")
    _lock_chain(conn)
    seq, prev = head(conn)
    at = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    entries: list[AuditEntry] = []
    for actor, action, account_id, detail in items:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        seq += 1
        detail_text = _detail_json(detail)
        digest = entry_hash(seq, at, actor, action, account_id, detail_text, prev)
        signature = None if signer is None else signer.signature_for(digest)
        entries.append(
            AuditEntry(seq, at, actor, action, account_id, dict(detail), prev, digest, signature)
        )
        prev = digest
    conn.execute(
        insert(audit_log),
        [
            {
                "seq": e.seq,
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "account_id": e.account_id,
                "detail": _detail_json(e.detail),
                "prev_hash": e.prev_hash,
                "hash": e.hash,
                "signature": e.signature,
            }
            for e in entries
        ],
    )
    return entries


def entries_for(conn: Connection, account_id: str) -> list[AuditEntry]:
    """Every entry about one account, oldest first."""
    rows = conn.execute(
        select(audit_log).where(audit_log.c.account_id == account_id).order_by(audit_log.c.seq)
    )
    return [_entry(row) for row in rows]


def newest(conn: Connection, limit: int = 50) -> list[AuditEntry]:
    """The newest entries, oldest of them first."""
    rows = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)).all()
    return [_entry(row) for row in reversed(rows)]


def count_actions(conn: Connection, account_id: str, action: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(audit_log)
            .where(audit_log.c.account_id == account_id, audit_log.c.action == action)
        ).scalar_one()
    )


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        int(row.seq),
        row.at,
        row.actor,
        row.action,
        row.account_id,
        json.loads(row.detail),
        row.prev_hash,
        row.hash,
        row.signature,
    )


def signed_from(conn: Connection) -> int:
    """The first entry that must be signed (entries before it predate signatures)."""
    value = conn.execute(select(queue_info.c.signed_from)).scalar_one_or_none()
    return 1 if value is None else int(value)


NOT_PINNED = N_(
    "This entry is signed by a key you have not pinned. If that reviewer or node "
    "is real, pin them (attest keys trust-reviewer FILE, trust-node) and verify again."
)


def signature_problem(
    row: Any,
    trusted_reviewers: Mapping[str, bytes],
    trusted_nodes: Mapping[str, bytes],
    replacements: Replacements | None = None,
) -> str | None:
    """Why this entry's signature is not good enough (an English source string), or None.

    A reviewer's entry may be signed by their main key or, for claims, releases, tags
    and status only, by a triage key their main key certified (`triage_signatures`);
    `replacements` carries what a walk of the chain learnt about replaced triage keys.
    """
    kind, _, fingerprint = str(row.actor).partition(":")
    keys = {"reviewer": trusted_reviewers, "node": trusted_nodes}.get(kind)
    if keys is None or not fingerprint:
        return N_("This entry names no actor that can sign.")
    if row.signature is None:
        return N_("This entry is not signed by the actor it names.")
    public_key = keys.get(fingerprint)
    if public_key is None:
        return NOT_PINNED
    if kind == "reviewer" and is_triage_signature(row.signature):
        return triage_problem(row, fingerprint, public_key, signed_bytes(row.hash), replacements)
    try:
        signature = b64decode(row.signature, "signature")
    except CorruptData:
        signature = b""
    from storage.crypto import verify_node_signature  # loads cryptography: only to verify

    if not verify_node_signature(public_key, signature, signed_bytes(row.hash)):
        return N_("This entry's signature does not match it: it was forged or changed.")
    if kind == "reviewer" and row.action == REPLACED_ACTION:
        return replacement_problem(row, fingerprint, public_key, replacements)
    return None


def triage_replaced_on(
    conn: Connection, fingerprint: str, certificate: Any, main_signing_key: bytes
) -> datetime | None:
    """When the chain shows reviewer `fingerprint` replaced the triage key `certificate`
    certifies (`attest keys new-triage-key` elsewhere), or None if it does not.

    Reads this reviewer's `triage-key-replaced` entries and the certificates their triage
    entries carry; only certificates made by `main_signing_key` count, so a planted row
    cannot lock a reviewer out.
    """
    from storage.crypto.triage import TriageCertificate

    rows = conn.execute(
        select(audit_log.c.action, audit_log.c.detail, audit_log.c.signature).where(
            audit_log.c.actor == f"reviewer:{fingerprint}",
            (audit_log.c.action == REPLACED_ACTION) | audit_log.c.signature.like(f"{PREFIX}%"),
        )
    )
    texts: set[str] = set()
    for row in rows:
        if row.action == REPLACED_ACTION:
            try:
                text_ = json.loads(row.detail).get("certificate")
            except (ValueError, AttributeError):
                continue
        else:
            text_ = certificate_text(str(row.signature))
        if isinstance(text_, str):
            texts.add(text_)
    found = Replacements()
    for text_ in texts:
        try:
            seen = TriageCertificate.from_text(text_)
        except CorruptData:
            continue
        if (
            seen.replaces_earlier
            and seen.reviewer == fingerprint
            and seen.verifies(main_signing_key)
        ):
            found.note(seen)
    return found.since.get(fingerprint) if found.replaced(certificate) else None


def verify_chain(
    conn: Connection,
    witness: tuple[int, str] | None = None,
    *,
    trusted_reviewers: Mapping[str, bytes] | None = None,
    trusted_nodes: Mapping[str, bytes] | None = None,
    demo_signers: Mapping[str, bytes] | None = None,
) -> AuditReport:
    """Walk the whole chain; with a witness (seq, hash), also check the tail was not cut or rewritten.

    With `trusted_reviewers` (fingerprint -> raw Ed25519 signing key) and `trusted_nodes`,
    every entry from `signed_from` on must carry a valid signature by the actor it names,
    or be an unsigned administrator entry (counted in `by_admin`). An entry validly signed
    by one of `demo_signers` (demo keys pinned for recovery) is counted in `by_demo`, not
    as a problem and not as trusted: its signature says nothing about who wrote it.
    """
    problems: list[AuditProblem] = []
    expected_seq, prev = 1, GENESIS
    count = 0
    history = by_admin = by_demo = 0
    demo_keys = {
        fp: key for fp, key in (demo_signers or {}).items() if fp not in (trusted_reviewers or {})
    }
    witnessed_hash: str | None = None
    check_signatures = trusted_reviewers is not None or trusted_nodes is not None
    replacements = Replacements()
    # Without signature checks only the chain's own columns are read: a field kit made
    # before revision 0006 has no `signature` column and is still checked.
    first_signed = signed_from(conn) if check_signatures else 0
    columns = [c for c in audit_log.c if check_signatures or c.name != "signature"]
    rows = conn.execution_options(yield_per=2000).execute(
        select(*columns).order_by(audit_log.c.seq)
    )
    for row in rows:
        count += 1
        seq = int(row.seq)
        if seq != expected_seq:
            problems.append(
                AuditProblem(
                    seq, N_("Entries are missing before this one (the numbering has a gap).")
                )
            )
        if row.prev_hash != prev:
            problems.append(AuditProblem(seq, N_("This entry does not link to the one before it.")))
        digest = entry_hash(
            seq, row.at, row.actor, row.action, row.account_id, row.detail, row.prev_hash
        )
        if digest != row.hash:
            problems.append(AuditProblem(seq, N_("This entry was changed after it was written.")))
        if check_signatures:
            if seq < first_signed and row.signature is None:
                history += 1
            elif row.actor == ADMIN and row.signature is None:
                by_admin += 1
            else:
                reason = signature_problem(
                    row, trusted_reviewers or {}, trusted_nodes or {}, replacements
                )
                if (
                    reason is not None
                    and demo_keys
                    and signature_problem(row, demo_keys, {}, replacements) is None
                ):
                    by_demo += 1
                elif reason is not None:
                    unpinned = str(row.actor) if reason == NOT_PINNED else None
                    problems.append(AuditProblem(seq, reason, unpinned))
        if witness is not None and seq == witness[0]:
            witnessed_hash = row.hash
        expected_seq, prev = seq + 1, row.hash
    head_seq = expected_seq - 1
    if witness is not None and witness[0] > 0:
        if witnessed_hash is None:
            problems.append(
                AuditProblem(
                    witness[0],
                    N_(
                        "Entries you saw earlier are gone: the log was cut off at the end "
                        "(or replaced)."
                    ),
                )
            )
        elif witnessed_hash != witness[1]:
            problems.append(
                AuditProblem(witness[0], N_("An entry you saw earlier was rewritten since."))
            )
    return AuditReport(
        count, head_seq, prev, tuple(problems), witness is not None, history, by_admin, by_demo
    )


@dataclass(frozen=True)
class ChainReader:
    """The chain's end as a witness reads it (`storage.queue.witness.ChainEnd`)."""

    conn: Connection

    def head(self) -> tuple[int, str]:
        return head(self.conn)

    def hash_at(self, seq: int) -> str | None:
        found = self.conn.execute(
            select(audit_log.c.hash).where(audit_log.c.seq == seq)
        ).scalar_one_or_none()
        return None if found is None else str(found)
