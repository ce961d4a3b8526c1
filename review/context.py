"""What every reviewer command needs, opened lazily: queue, key, pinned nodes, witness.

Nothing is opened until a command asks. The first use of the queue logs receipts and
applies withdrawals (`Queue.reconcile`), signed by this reviewer's key: when there is
something to log and a key is configured, the key is opened first (its passphrase asked
if not in the environment), so the entries name who wrote them. With nothing to log,
`review list` opens no key. With no key configured it writes nothing and says that
arrivals or withdrawals wait for a reviewer with a key.

Claims, releases, tags and status changes (`triage_only`) sign with the reviewer's
triage key instead (`reviewer.triage`, no passphrase: storage/crypto/triage.py) and
never read ATTEST_REVIEWER_PASSPHRASE; receipts and withdrawals, which need the main
key, then wait for a command that unlocks it. A key file without a triage key gets one
on the first such command, the only time it asks for the passphrase.

`review list` asks for `listing_queue` instead: a SQLite queue with nothing to log,
apply or tell is read read-only with the standard library's sqlite3
(`storage.queue.readonly`), so the command never imports SQLAlchemy (issue 16:
start-up). The queue's machinery is therefore imported where it is used, not here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from flows.i18n import Catalog, translator
from review.opened import VerificationFailed
from storage.crypto import CorruptData, CryptoError, KeyFileMissing
from storage.crypto.keyfiles import read_json_file
from storage.errors import N_, CannotSign, KeyFileExposed, StorageError
from storage.queue.items import reviewer_actor
from storage.queue.node_pins import NodePins, pins_path_from_env
from storage.queue.place import display_url, queue_url_from_env
from storage.queue.reach import QueueAccessError, explain
from storage.queue.reviewer_pins import ReviewerPins, reviewer_pins_path_from_env
from storage.queue.schema import HELD_NOTICE, WAITING_NOTICE
from storage.queue.witness import ChainEnd, Witness

if TYPE_CHECKING:
    from storage.crypto import ReviewerPrivateKey, ReviewerPublicKey
    from storage.crypto.triage import TriageKey
    from storage.queue.audit import AuditSigner
    from storage.queue.readonly import ReadOnlyQueue
    from storage.queue.store import Queue

WITNESS_FILE = "audit-witness.json"
# The kinds of key file (storage.crypto.reviewer), here so a listing loads no cryptography.
PRIVATE_KIND = "attest-reviewer-private-key"
PUBLIC_KIND = "attest-reviewer-public-key"
TRIAGE_PROMPT = N_(
    "Your reviewer key has no triage key yet. Passphrase for your reviewer key (asked "
    "once, to make one)"
)

TRIAGE_KEY_REPLACED = N_(
    "The triage key on this computer ({path}) was replaced on {date}, so nothing was "
    "changed. Copy the new reviewer.triage from the computer where it was made, or run "
    "'attest keys new-triage-key' here, which retires the other one. If you did not "
    "replace it, your key may have been copied: tell your team."
)

NODE_KEY_REPLACED = N_(
    "WARNING: the key this queue holds for node {pinned} no longer matches the key you "
    "pinned; the queue's key hashes to {found}. A key always hashes to its own "
    "fingerprint, so someone who can write the queue changed it. Your pin still holds: "
    "accounts signed by that key are refused. Do not pin {found}. Ask whoever runs the "
    "node to read `attest keys node` there and compare it with {pinned}, and tell your "
    "administrator; keep the queue as it is for them to examine."
)


class ReviewerContext:
    """Lazily opened reviewer resources for one command."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.t: Catalog = translator(env.get("ATTEST_REVIEWER_LANGUAGE", "en"))
        self.data_dir = Path(env.get("ATTEST_DATA_DIR", "attest-data")).expanduser()
        self._queue: Queue | None = None
        self._read_only_view: ReadOnlyQueue | None = None
        # Where the queue lives, password hidden: the witness notices a swapped queue id.
        self.where = display_url(queue_url_from_env(env))
        self._key: ReviewerPrivateKey | None = None
        self._signer: AuditSigner | None = None  # given by `sign_with` (the desk)
        self._triage_only = False
        self._read_only = False  # `audit verify`: opens no private key, logs nothing
        self._demo_warned = False
        self._told_replaced: set[tuple[str, str]] = set()
        self._pins: dict[str, bytes] | None = None
        self._reviewer_pins: dict[str, ReviewerPublicKey] | None = None
        witness = env.get("ATTEST_AUDIT_WITNESS")
        self.witness = Witness(
            Path(witness).expanduser() if witness else self.data_dir / WITNESS_FILE
        )

    @property
    def queue(self) -> Queue:
        if self._queue is None:
            from storage.queue.admin import check_schema
            from storage.queue.store import Queue
            from storage.queue.withdrawals import withdrawal_burst_from_env

            queue = Queue.open(
                queue_url_from_env(self.env),
                withdrawal_burst=withdrawal_burst_from_env(self.env),
                create=False,
            )
            self._queue = queue
            queue.queue_id  # noqa: B018 - fails clearly when the queue was never set up
            check_schema(queue.engine)
            triage = self._triage_signer(queue) if self._triage_only else None
            self._reconcile(queue)
            if triage is not None:
                queue.signer = triage
            self.witness_advance()
            if held := queue.held_count():
                click.echo(self.t.gettext(HELD_NOTICE).format(count=held), err=True)
            if waiting := len(queue.waiting_requests()):
                click.echo(self.t.gettext(WAITING_NOTICE).format(count=waiting), err=True)
            self._tell_withdrawn_held(queue)
            self._tell_replaced_nodes(queue)
        return self._queue

    def _reconcile(self, queue: Queue) -> None:
        """Log receipts and apply withdrawals, signed with the main key (never the triage key)."""
        if self._key is not None:
            self._sign_with(self._key)
        elif self._signer is not None:
            queue.signer = self._signer
        if not queue.reconcile_needed():
            return
        if queue.signer is None:
            if self._triage_only or self._read_only:
                click.echo(
                    self.t.gettext(
                        "New accounts or withdrawal requests are waiting to be logged, which "
                        "needs your passphrase; 'attest review list' logs them."
                    ),
                    err=True,
                )
                return
            if not self.key_configured():
                click.echo(
                    self.t.gettext(
                        "New accounts or withdrawal requests are waiting to be logged. They "
                        "are logged, in your name, by your next command with your key set "
                        "(ATTEST_REVIEWER_KEY)."
                    ),
                    err=True,
                )
                return
            self._sign_with(self.key)  # the passphrase is asked only now, if at all
        queue.reconcile()

    def triage_only(self) -> None:
        """This command writes only claims, releases, tags and status changes.

        They are signed with the triage key, so no passphrase is asked (issue 16) and the
        main key is not opened, unless the triage key has to be made first.
        """
        self._triage_only = True

    def read_only(self) -> None:
        """This command only reads (`audit verify`): it never opens the private key.

        Receipts and withdrawals waiting to be logged stay waiting (it says so), and the
        reviewer's own entries are checked against the reviewer.pub beside the key file.
        """
        self._read_only = True

    def sign_with(self, signer: AuditSigner) -> None:
        """Sign every entry with `signer` (the desk: with whatever key is unlocked there)."""
        self._signer = signer
        if self._queue is not None:
            self._queue.signer = signer

    def _triage_signer(self, queue: Queue) -> AuditSigner:
        """The triage key's signer; a key file without one gets one (asking once).

        A key the chain shows was replaced (`attest keys new-triage-key`, here or on
        another computer) is refused: `audit verify` would call its entries stolen.
        """
        from storage.crypto.triage import TriageKey, triage_key_path
        from storage.db import read_connection
        from storage.queue.audit import AuditSigner, triage_replaced_on

        path, demo = self._key_file()
        owner = self._public_of(path)
        triage_path = triage_key_path(path)
        triage = None
        if owner.signing_key is not None:
            with suppress(KeyFileMissing):
                triage = TriageKey.load(triage_path, owner)
        elif not demo:  # an old demo key is upgraded in place when it is opened
            raise CannotSign()
        if triage is not None and owner.signing_key is not None:
            with read_connection(queue.engine) as conn:
                replaced = triage_replaced_on(
                    conn, owner.fingerprint, triage.certificate, owner.signing_key
                )
            if replaced is not None:
                raise click.ClickException(
                    self.t.gettext(TRIAGE_KEY_REPLACED).format(
                        date=replaced.strftime("%Y-%m-%d %H:%M UTC"), path=triage_path
                    )
                )
        if triage is None:
            triage = self._make_triage_key(path, triage_path, demo)
        return AuditSigner(
            reviewer_actor(owner.fingerprint), triage.sign, triage.certificate.to_text()
        )

    def _make_triage_key(self, path: Path, triage_path: Path, demo: bool) -> TriageKey:
        """Certify a triage key with the main key, once; the environment's passphrase is
        not read (a triage command never reads it), the demo key's is public."""
        from storage.crypto.triage import TriageKey, issue_triage_key
        from storage.intake.keyring import DEMO_PASSPHRASE

        passphrase = DEMO_PASSPHRASE if demo else None
        self._key = self._load_key(path, passphrase, self.t.gettext(TRIAGE_PROMPT))
        triage = issue_triage_key(self._key)
        try:
            triage.save(triage_path)
        except FileExistsError:  # another command made one meanwhile: use that
            return TriageKey.load(triage_path, self._key.public)
        click.echo(
            self.t.gettext(
                "Made your triage key {path}: claims, releases, tags and status changes "
                "need no passphrase from now on."
            ).format(path=triage_path),
            err=True,
        )
        return triage

    def listing_queue(self) -> Queue | ReadOnlyQueue:
        """What `review list` reads: the queue read-only when nothing is to be written first.

        The read-only look serves a SQLite queue at the newest revision with no receipt to
        log, no withdrawal to examine or apply, no withdrawn account to tell this reviewer
        of and no node key rotation to pin (`storage.queue.readonly.open_read_only`); it
        advances the witness and tells of held withdrawals as `queue` does. Anything else
        takes `queue`, which does the work first.
        """
        if self._read_only_view is not None:
            return self._read_only_view
        if self._queue is None and self._key is None:
            from storage.queue.readonly import open_read_only

            self._read_only_view = open_read_only(
                queue_url_from_env(self.env),
                reviewer=self._fingerprint_if_known(),
                pins=NodePins(pins_path_from_env(self.env)),
            )
        if self._read_only_view is None:
            return self.queue
        view = self._read_only_view
        assert view.queue_id is not None  # open_read_only serves only a queue set up
        self._pins = NodePins(pins_path_from_env(self.env)).load()  # no rotation to follow
        self._advance_witness(view, view.queue_id)
        if held := view.held_count():
            click.echo(self.t.gettext(HELD_NOTICE).format(count=held), err=True)
        if waiting := view.waiting_count():
            click.echo(self.t.gettext(WAITING_NOTICE).format(count=waiting), err=True)
        self._tell_replaced_nodes(view, self._pins)
        return view

    def _tell_replaced_nodes(
        self, source: Queue | ReadOnlyQueue, pinned: dict[str, bytes] | None = None
    ) -> list[tuple[str, str]]:
        """Warn when the queue's row for a pinned node holds another key (hashed, with
        hashlib only: the fast listing loads no cryptography)."""
        from storage.queue.node_pins import replaced_node_keys

        if pinned is None:
            try:
                pinned = NodePins(pins_path_from_env(self.env)).load()
            except StorageError:
                return []  # a damaged pins file: the commands that need the pins say so
        if not pinned:
            return []
        replaced = replaced_node_keys(pinned, source.node_rows(list(pinned)))
        for fingerprint, found in replaced:
            if (fingerprint, found) in self._told_replaced:
                continue  # a long-running desk says it once, not at every page
            self._told_replaced.add((fingerprint, found))
            click.echo(
                warning(self.t.gettext(NODE_KEY_REPLACED).format(pinned=fingerprint, found=found)),
                err=True,
            )
        return replaced

    def replaced_nodes(self) -> list[tuple[str, str]]:
        """(pinned fingerprint, what the queue's key hashes to) for each pinned node whose
        row holds another key now, told on stderr the first time (the desk asks at every
        unlock and queue page: the row can be replaced while it runs).

        Reads the node rows only: before the desk is unlocked, opening `queue` would log
        receipts, which needs the key (and would ask its passphrase on the terminal).
        """
        if self._queue is not None:
            return self._tell_replaced_nodes(self._queue)
        from storage.queue.admin import open_queue
        from storage.queue.store import Queue

        engine = open_queue(queue_url_from_env(self.env), create=False)
        try:
            return self._tell_replaced_nodes(Queue(engine))
        finally:
            engine.dispose()

    def _tell_withdrawn_held(self, queue: Queue) -> None:
        """Tell a reviewer, once, that an account they held was withdrawn meanwhile."""
        fingerprint = self._fingerprint_if_known()
        if fingerprint is None:
            return
        for account_id in queue.withdrawn_while_held(fingerprint):
            click.echo(
                warning(
                    self.t.gettext(
                        "Account {id}, which you held, was withdrawn by the person who gave "
                        "it. Only its tombstone remains; delete any copy you made of it."
                    ).format(id=account_id)
                ),
                err=True,
            )

    @property
    def fingerprint(self) -> str:
        """This reviewer's key fingerprint, read from the key file without its passphrase.

        Claims, releases, tags and status changes change no sealed data, so they need to
        know who the reviewer is, not to open anything.
        """
        if self._key is not None:
            return self._key.fingerprint
        return self._public_of(self._key_file()[0]).fingerprint

    def _public_of(self, path: Path) -> ReviewerPublicKey:
        """The public half a private key file states, read without its passphrase."""
        try:
            document = read_json_file(path)
        except KeyFileMissing:
            raise click.ClickException(
                self.t.gettext("The reviewer key file {path} does not exist.").format(path=path)
            ) from None
        if document.get("kind") == PUBLIC_KIND:
            raise click.ClickException(self.t.gettext(_public_half()))
        if document.get("kind") != PRIVATE_KIND:
            raise CorruptData("This is not an Attest reviewer private key (version 1 or 2).")
        from storage.crypto import ReviewerPublicKey

        header = {k: v for k, v in document.items() if k not in ("nonce", "wrapped_private_key")}
        return ReviewerPublicKey.from_dict({**header, "kind": PUBLIC_KIND})

    def _fingerprint_if_known(self) -> str | None:
        """The fingerprint a configured key file states, unchecked: only to address a notice.

        Read without loading `cryptography` (every command calls this); commands that act
        as the reviewer use `fingerprint`, which checks it against the key.
        """
        if self._key is not None:
            return self._key.fingerprint
        configured = self.env.get("ATTEST_REVIEWER_KEY")
        if not configured:
            return None
        try:
            document = read_json_file(Path(configured).expanduser())
        except CryptoError:
            return None
        stated = document.get("fingerprint")
        kind_ok = document.get("kind") == PRIVATE_KIND
        return stated if kind_ok and isinstance(stated, str) else None

    def resolve(self, account_id: str) -> str:
        """The whole id for an id or its unique start (6+ characters)."""
        return self.queue.resolve_id(account_id)

    @property
    def pins(self) -> dict[str, bytes]:
        """Pinned node keys, after following rotations certified by a pinned key."""
        if self._pins is None:
            from storage.queue.untrust import rotations_in_queue

            pins = NodePins(pins_path_from_env(self.env))
            for fingerprint in pins.follow_rotations(rotations_in_queue(self.queue)):
                click.echo(
                    self.t.gettext(
                        "Pinned node key {fingerprint}: a node key you trust handed signing "
                        "over to it (attest keys rotate-node)."
                    ).format(fingerprint=fingerprint),
                    err=True,
                )
            self._pins = pins.load()
        return self._pins

    @property
    def node_cutoffs(self) -> dict[str, datetime]:
        """Node keys untrusted after a time (`attest keys untrust-node FP --after TIME`)."""
        return NodePins(pins_path_from_env(self.env)).cutoffs()

    @property
    def reviewer_pins(self) -> dict[str, ReviewerPublicKey]:
        """Pinned reviewer keys, and this reviewer's own key (it trusts its own signature)."""
        if self._reviewer_pins is None:
            pins = ReviewerPins(reviewer_pins_path_from_env(self.env)).load()
            own = self._key.public if self._key is not None else self._own_public()
            if own is not None and own.signing_key is not None:
                pins[own.fingerprint] = own
            self._reviewer_pins = pins
        return self._reviewer_pins

    def _own_public(self) -> ReviewerPublicKey | None:
        """This reviewer's public key without unlocking anything, or None if there is none.

        The reviewer.pub beside the key file when it states the key file's fingerprint,
        else the public half the key file states in its header (as `fingerprint` reads
        it). Both are only as trustworthy as the pins file: whoever can change them can
        change that too.
        """
        from storage.crypto import ReviewerPublicKey
        from storage.intake.keyring import DEMO_DIR, PRIVATE_FILE, PUBLIC_FILE

        configured = self.env.get("ATTEST_REVIEWER_KEY")
        path = (
            Path(configured).expanduser() if configured else self.data_dir / DEMO_DIR / PRIVATE_FILE
        )
        try:
            document = read_json_file(path)
        except CryptoError:
            return None
        if document.get("kind") != PRIVATE_KIND:
            return None
        with suppress(CryptoError):
            public = ReviewerPublicKey.load(path.parent / PUBLIC_FILE)
            if public.fingerprint == document.get("fingerprint"):
                return public
        header = {k: v for k, v in document.items() if k not in ("nonce", "wrapped_private_key")}
        try:
            return ReviewerPublicKey.from_dict({**header, "kind": PUBLIC_KIND})
        except CryptoError:
            return None

    @property
    def demo_reviewer_pins(self) -> dict[str, ReviewerPublicKey]:
        """Demo keys pinned with --demo-recovery: their reseals open accounts, marked."""
        return ReviewerPins(reviewer_pins_path_from_env(self.env)).load_demo()

    @property
    def reseal_signers(self) -> dict[str, ReviewerPublicKey]:
        """Whose reseals open accounts for this reviewer: pinned reviewers and recovery demo keys.

        Only for getting at a content key (which must still open the node-signed body);
        never for audit entries or receipts, which use `reviewer_pins`.
        """
        return {**self.demo_reviewer_pins, **self.reviewer_pins}

    def key_configured(self) -> bool:
        """Whether a reviewer key is set (or the demo key of a first run exists)."""
        if self.env.get("ATTEST_REVIEWER_KEY"):
            return True
        from storage.intake.keyring import DEMO_DIR, PRIVATE_FILE

        return (self.data_dir / DEMO_DIR / PRIVATE_FILE).exists()

    @property
    def key(self) -> ReviewerPrivateKey:
        if self._key is None:
            from storage.intake.keyring import DEMO_PASSPHRASE

            path, demo = self._key_file()
            passphrase = self.env.get("ATTEST_REVIEWER_PASSPHRASE") or None
            if demo:
                passphrase = passphrase or DEMO_PASSPHRASE
            self._key = self._load_key(path, passphrase)
            if self._queue is not None:
                self._sign_with(self._key)
        return self._key

    def _sign_with(self, key: ReviewerPrivateKey) -> None:
        """Every audit entry this command writes is signed by (and names) this reviewer."""
        from storage.queue.audit import AuditSigner

        if not key.can_sign:
            raise CannotSign()
        assert self._queue is not None
        self._queue.signer = AuditSigner(reviewer_actor(key.fingerprint), key.sign)

    def _key_file(self) -> tuple[Path, bool]:
        """The private key file, and whether it is the demo key (whose passphrase is public)."""
        from storage.intake.keyring import DEMO_DIR, PRIVATE_FILE

        configured = self.env.get("ATTEST_REVIEWER_KEY")
        if configured:
            return Path(configured).expanduser(), False
        path = self.data_dir / DEMO_DIR / PRIVATE_FILE
        if not path.exists():
            raise click.ClickException(
                self.t.gettext(
                    "Set ATTEST_REVIEWER_KEY to your private key file (reviewer.key). "
                    "Create one with: attest keys init-reviewer --out DIR"
                )
            )
        if not self._demo_warned:
            self._demo_warned = True
            click.echo(
                warning(
                    self.t.gettext(
                        "WARNING: using the DEMO reviewer key in the data directory. It "
                        "protects nothing; use it only to try Attest."
                    )
                ),
                err=True,
            )
        return path, True

    def _load_key(
        self, path: Path, passphrase: str | None, prompt: str | None = None
    ) -> ReviewerPrivateKey:
        """Open the key at `path` with `passphrase`, or with one asked for (`prompt`)."""
        if not path.exists():
            raise click.ClickException(
                self.t.gettext("The reviewer key file {path} does not exist.").format(path=path)
            )
        if passphrase is None and _is_public_half(path):
            # Before asking for a passphrase that could not open it anyway.
            raise click.ClickException(self.t.gettext(_public_half()))
        if passphrase is None:
            passphrase = click.prompt(
                prompt or self.t.gettext("Passphrase for your reviewer key"),
                hide_input=True,
                err=True,
            )
        from storage.crypto import FAST_KDF, ReviewerPrivateKey
        from storage.intake.keyring import PUBLIC_FILE

        key = ReviewerPrivateKey.load(path, passphrase)
        if not key.can_sign and key.public.demo:
            # A demo key from before signing keys: its passphrase is public, so it is
            # upgraded in place (same fingerprint) rather than stopping a trial run.
            key = key.upgraded("")
            key.replace(path, passphrase, FAST_KDF)
            key.public.save(path.parent / PUBLIC_FILE)
        return key

    def witness_advance(self) -> None:
        """Remember the audit log's new end outside the queue; warn if the old end changed."""
        if self._queue is None:
            return
        from storage.db import read_connection
        from storage.queue.audit import ChainReader

        with read_connection(self._queue.engine) as conn:
            self._advance_witness(ChainReader(conn), self._queue.queue_id)

    def _advance_witness(self, chain: ChainEnd, queue_id: str) -> None:
        if not self.witness.advance(chain, queue_id, self.where):
            click.echo(
                warning(
                    self.t.gettext(
                        "WARNING: the audit log changed since this machine last saw it. "
                        "Run: attest review audit verify"
                    )
                ),
                err=True,
            )

    def close(self) -> None:
        if self._read_only_view is not None:
            self._read_only_view.close()
        if self._queue is not None:
            self._queue.close()


def warning(text: str) -> str:
    """A warning in yellow; click.echo drops the colour when the stream is not a terminal."""
    return click.style(text, fg="yellow", bold=True)


def _public_half() -> str:
    from storage.crypto.reviewer import PUBLIC_HALF

    return PUBLIC_HALF


def _is_public_half(path: Path) -> bool:
    try:
        return read_json_file(path).get("kind") == PUBLIC_KIND
    except CryptoError:
        return False  # damaged or missing: loading it says which


@contextmanager
def fail(ctx: ReviewerContext) -> Iterator[None]:
    """Turn the errors a reviewer can meet into a clear message and exit status 1."""
    try:
        yield
    except VerificationFailed as error:
        message = ctx.t.gettext(str(error))
        detail = ctx.t.gettext("Failed check: {what}.").format(what=error.what)
        raise click.ClickException(f"{message} {detail}") from None
    except KeyFileMissing as error:
        raise click.ClickException(
            ctx.t.gettext("The key file {path} does not exist.").format(path=error.path)
        ) from None
    except (QueueAccessError, KeyFileExposed) as error:
        raise click.ClickException(error.translated(ctx.t.gettext)) from None
    except (CryptoError, StorageError) as error:
        raise click.ClickException(ctx.t.gettext(str(error))) from None
    except Exception as error:
        # A database error in the middle of a command: named, never shown raw.
        explained = explain(error)
        if explained is None:
            raise
        raise click.ClickException(explained.translated(ctx.t)) from None


__all__ = ["ReviewerContext", "fail", "warning"]
