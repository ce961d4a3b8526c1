"""Triage keys (issues 15 and 16 together): claims, tags and status without a passphrase.

Each reviewer has a second Ed25519 key, `reviewer.triage` beside `reviewer.key`, kept
without a passphrase (0600) and certified by the reviewer's main signing key. It signs
claims, releases, tag and status changes, and nothing else. The attacks first: what
`audit verify` must refuse although each entry is correctly numbered, linked and hashed.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from bot.cli import main
from review.cli import review
from storage.crypto import FAST_KDF, CorruptData, CryptoError, ReviewerPrivateKey
from storage.crypto.triage import TriageCertificate, TriageKey, issue_triage_key, triage_key_path
from storage.queue import audit
from storage.queue.admin import open_queue
from storage.queue.audit import AuditSigner, entry_hash, signed_bytes
from storage.queue.tables import audit_log
from tests.queue_support import BACKENDS, PASSPHRASE, make_account, reviewer, triage_key
from tests.test_audit_signatures import Log, signed_log, verify


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Log]:
    """Reviewers a and b pin each other, nobody pins c; seven signed entries."""
    yield from signed_log(request.param, tmp_path)


REFUSED_ACTION = "may sign only claims, releases, tags and status changes"
NOT_ITS_CERTIFICATE = "certificate belongs to another reviewer"
FORGED_CERTIFICATE = "certificate was not made by this reviewer's key"
NO_MATCH = "This entry's signature does not match it"
REPLACED = "replaced since"


def actor(name: str) -> str:
    return f"reviewer:{reviewer(name).fingerprint}"


def append(log: Log, who: str, action: str, detail: dict[str, object], sign: object) -> int:
    """Append a well-numbered, well-hashed entry; `sign(digest) -> signature text`."""
    seq, prev = log.head()
    at = "2026-12-01T12:00:00.000000+00:00"
    detail_text = json.dumps(detail, sort_keys=True, separators=(",", ":"))
    digest = entry_hash(seq + 1, at, who, action, log.ids[0], detail_text, prev)
    engine = open_queue(log.url)
    with engine.begin() as conn:
        conn.execute(
            audit_log.insert().values(
                seq=seq + 1,
                at=at,
                actor=who,
                action=action,
                account_id=log.ids[0],
                detail=detail_text,
                prev_hash=prev,
                hash=digest,
                signature=sign(digest),  # type: ignore[operator]
            )
        )
    engine.dispose()
    return seq + 1


def by_triage(key: TriageKey, certificate: str | None = None) -> object:
    """Sign as the audit chain does with a triage key, carrying `certificate` (default: its own)."""
    text = key.certificate.to_text() if certificate is None else certificate
    return AuditSigner("unused", key.sign, text).signature_for


def problems(result: Result) -> dict[int, str]:
    found = {}
    for line in result.output.splitlines():
        if line.strip().startswith("entry "):
            number, _, reason = line.strip()[len("entry ") :].partition(": ")
            if number.isdigit():  # not "entry N is signed by a key you have not pinned"
                found[int(number)] = reason
    return found


def test_a_triage_key_cannot_sign_what_needs_the_main_key(team: Log) -> None:
    a = triage_key("a")
    needs_the_main_key = [
        ("exported", {"purpose": "reports", "accounts": 1}),
        ("opened", {}),
        ("file-decrypted", {"file": "f1"}),
        ("resealed", {"to": "x" * 32}),
        ("received", {"node": team.node.fingerprint}),
        ("withdrawn", {"exported_before": 0}),
        ("changed", {"note": "n1"}),
        ("changed", {"status": ["new", "closed"], "note": "n2"}),
        ("changed", {}),
        ("claimed", {"anything": 1}),
    ]
    seqs = [
        append(team, actor("a"), act, detail, by_triage(a)) for act, detail in needs_the_main_key
    ]
    result = verify(team, "b")
    assert result.exit_code == 2, result.output
    found = problems(result)
    assert sorted(found) == seqs
    assert all(REFUSED_ACTION in reason for reason in found.values()), found
    # And the queue never writes one: the signer is refused before anything is stored.
    signer = AuditSigner(actor("a"), a.sign, a.certificate.to_text())
    engine = open_queue(team.url)
    for act, detail in needs_the_main_key:
        with pytest.raises(ValueError, match="triage key"), engine.begin() as conn:
            audit.append(conn, actor("a"), act, team.ids[0], detail, signer=signer)
    engine.dispose()


def test_claims_tags_and_status_signed_by_a_certified_triage_key_verify(team: Log) -> None:
    a, b = triage_key("a"), triage_key("b")
    append(team, actor("a"), "claimed", {}, by_triage(a))
    append(team, actor("a"), "changed", {"tags_added": ["medical"]}, by_triage(a))
    append(team, actor("b"), "changed", {"status": ["in-review", "follow-up"]}, by_triage(b))
    append(team, actor("a"), "released", {}, by_triage(a))
    for name in ("a", "b"):
        result = verify(team, name)
        assert result.exit_code == 0, result.output


def test_a_triage_key_certified_by_an_unpinned_reviewer_is_refused(team: Log) -> None:
    c = triage_key("c")  # certified by c's main key; nobody pinned c
    unpinned = append(team, actor("c"), "claimed", {}, by_triage(c))
    # c's triage key with a certificate that names a, signed by c's main key: forged.
    claim = c.certificate
    forged = TriageCertificate(
        reviewer("a").fingerprint, claim.triage_key, claim.issued_at, False, b""
    )
    forged = forged.signed_by(reviewer("c"))
    as_a = append(team, actor("a"), "claimed", {}, by_triage(c, forged.to_text()))
    result = verify(team, "b")
    assert result.exit_code == 2
    found = problems(result)
    assert f"entry {unpinned} is signed by a reviewer key you have not pinned" in result.output
    assert unpinned not in found  # not pinned is not counted as tampering ...
    assert FORGED_CERTIFICATE in found[as_a]  # ... a forged certificate is


def test_a_certificate_for_one_reviewer_in_an_entry_naming_another_is_refused(team: Log) -> None:
    a = triage_key("a")  # a genuine certificate of a, and a's own triage key
    seq = append(team, actor("b"), "claimed", {}, by_triage(a))
    result = verify(team, "a")
    assert result.exit_code == 2
    assert NOT_ITS_CERTIFICATE in problems(result)[seq]


def _b64(document: object) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def test_a_forged_or_garbled_certificate_is_refused(team: Log) -> None:
    a, thief = triage_key("a"), issue_triage_key(reviewer("c"))
    genuine = a.certificate.to_dict()
    flipped = bytearray(a.certificate.signature)
    flipped[0] ^= 1
    garbled = {
        "not base64": "!!!",
        "not JSON": base64.b64encode(b"{not json").decode(),
        "a list": _b64([1, 2]),
        "no signature": _b64({k: v for k, v in genuine.items() if k != "signature"}),
        "short key": _b64({**genuine, "triage_key": base64.b64encode(b"k").decode()}),
        "bad time": _b64({**genuine, "issued_at": "yesterday"}),
        # The thief's own triage key put into a's certificate: the signature no longer fits.
        "swapped key": _b64({**genuine, "triage_key": thief.certificate.to_dict()["triage_key"]}),
        "later time": _b64({**genuine, "issued_at": "2099-01-01T00:00:00.000000+00:00"}),
        "replacing": _b64({**genuine, "replaces_earlier": True}),
        "flipped signature": _b64({**genuine, "signature": base64.b64encode(flipped).decode()}),
    }
    seqs = {}
    for what, text in garbled.items():
        signer = thief if what == "swapped key" else a
        seqs[what] = append(team, actor("a"), "claimed", {}, by_triage(signer, text))
    sig = base64.b64encode(a.sign(signed_bytes("0" * 64))).decode()
    for what, raw in {"no parts": "triage:", "extra parts": f"triage:a:b:{sig}"}.items():
        seqs[what] = append(team, actor("a"), "claimed", {}, lambda _d, raw=raw: raw)
    result = verify(team, "b")
    assert result.exit_code == 2
    found = problems(result)
    assert set(found) == set(seqs.values()), (found, seqs)
    for what in ("swapped key", "later time", "replacing", "flipped signature"):
        assert FORGED_CERTIFICATE in found[seqs[what]], (what, found[seqs[what]])


def test_an_entry_whose_triage_signature_does_not_match_is_refused(team: Log) -> None:
    a, b = triage_key("a"), triage_key("b")
    certificate = a.certificate.to_text()
    # a's genuine certificate, signed by b's triage key; then by a's, but over another entry.
    wrong_key = append(team, actor("a"), "claimed", {}, by_triage(b, certificate))
    other = by_triage(a)
    wrong_entry = append(team, actor("a"), "claimed", {}, lambda _d: other("f" * 64))  # type: ignore[operator]
    result = verify(team, "b")
    assert result.exit_code == 2
    found = problems(result)
    assert NO_MATCH in found[wrong_key] and NO_MATCH in found[wrong_entry]


def test_a_replaced_triage_key_is_refused_from_the_new_ones_first_entry_on(team: Log) -> None:
    old = triage_key("a")
    before = append(team, actor("a"), "claimed", {}, by_triage(old))
    later = datetime.now(UTC) + timedelta(seconds=1)
    # Another machine of a's made its own key (not a replacement): both stay good.
    second = issue_triage_key(reviewer("a"), now=later)
    append(team, actor("a"), "released", {}, by_triage(second))
    new = issue_triage_key(reviewer("a"), replaces_earlier=True, now=later + timedelta(seconds=1))
    # Until the new certificate is in the team, the old key is not known to be replaced.
    window = append(team, actor("a"), "claimed", {}, by_triage(old))
    first_new = append(team, actor("a"), "released", {}, by_triage(new))
    stolen = append(team, actor("a"), "claimed", {}, by_triage(old))
    other_machine = append(team, actor("a"), "claimed", {}, by_triage(second))
    after = issue_triage_key(reviewer("a"), now=later + timedelta(seconds=2))
    newer = append(team, actor("a"), "released", {}, by_triage(after))
    result = verify(team, "b")
    assert result.exit_code == 2
    found = problems(result)
    assert set(found) == {stolen, other_machine}, found
    assert all(REPLACED in reason for reason in found.values())
    assert before not in found and window not in found and first_new not in found
    assert newer not in found


# -- the key file ----------------------------------------------------------------------


def assert_no_main_key_material(path: Path, main: ReviewerPrivateKey) -> None:
    raw = path.read_bytes()
    document = json.loads(raw)
    assert set(document) == {"kind", "version", "reviewer", "private_key", "certificate"}
    secret = main._secret()
    for piece in (secret, secret[:-32], secret[-32:]):
        assert base64.b64encode(piece) not in raw and piece.hex().encode() not in raw
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_triage_key_file_round_trips_and_refuses_another_reviewers(tmp_path: Path) -> None:
    path = tmp_path / "reviewer.triage"
    key = issue_triage_key(reviewer("a"))
    key.save(path)
    assert_no_main_key_material(path, reviewer("a"))
    loaded = TriageKey.load(path, reviewer("a").public)
    assert loaded.certificate == key.certificate
    assert loaded.sign(b"x") == key.sign(b"x")
    with pytest.raises(FileExistsError):
        issue_triage_key(reviewer("a")).save(path)
    with pytest.raises(CorruptData):
        TriageKey.load(path, reviewer("b").public)  # b's key file with a's triage key beside
    document = json.loads(path.read_text())
    document["private_key"] = base64.b64encode(bytes(32)).decode()
    path.write_text(json.dumps(document))
    with pytest.raises(CorruptData):
        TriageKey.load(path, reviewer("a").public)
    assert triage_key_path(tmp_path / "reviewer.key") == path
    assert "private" not in repr(key) and key.certificate.reviewer in repr(key)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"ATTEST_DATA_DIR": str(tmp_path / "data"), "ATTEST_LANGUAGE": "en", **extra}


def test_init_reviewer_upgrade_and_new_triage_key_write_a_certified_file(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "keys"
    made = runner.invoke(
        main,
        ["keys", "init-reviewer", "--out", str(out), "--suite", "x25519"],
        env=_env(tmp_path),
        input=f"{PASSPHRASE}\n{PASSPHRASE}\n",
    )
    assert made.exit_code == 0, made.output
    key_file = out / "reviewer.key"
    main_key = ReviewerPrivateKey.load(key_file, PASSPHRASE)
    first = TriageKey.load(out / "reviewer.triage", main_key.public)
    assert_no_main_key_material(out / "reviewer.triage", main_key)
    assert not first.certificate.replaces_earlier
    # A wrong passphrase replaces nothing.
    before = (out / "reviewer.triage").read_bytes()
    refused = runner.invoke(
        main,
        ["keys", "new-triage-key", "--key", str(key_file)],
        env=_env(tmp_path),
        input="not the passphrase\n",
    )
    assert refused.exit_code == 1 and "does not open" in refused.output
    assert (out / "reviewer.triage").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [
        "reviewer.key",
        "reviewer.pub",
        "reviewer.triage",
    ]
    renewed = runner.invoke(
        main,
        ["keys", "new-triage-key"],
        env=_env(tmp_path, ATTEST_REVIEWER_KEY=str(key_file)),
        input=f"{PASSPHRASE}\n",
    )
    # Made and in place; with no queue here the replacement is not yet recorded: status 1.
    assert renewed.exit_code == 1 and "not recorded in the queue" in renewed.output
    second = TriageKey.load(out / "reviewer.triage", main_key.public)
    assert second.certificate.replaces_earlier
    assert second.certificate.triage_key != first.certificate.triage_key
    assert_no_main_key_material(out / "reviewer.triage", main_key)
    # `keys upgrade` (a version 1 key gains a signing key) makes one too.
    from tests.test_reseal import version_1

    old_dir = tmp_path / "old"
    old_dir.mkdir()
    version_1(reviewer("a")).save(old_dir / "reviewer.key", PASSPHRASE, FAST_KDF)
    upgraded = runner.invoke(
        main,
        ["keys", "upgrade", "--key", str(old_dir / "reviewer.key")],
        env=_env(tmp_path),
        input=f"{PASSPHRASE}\n",
    )
    assert upgraded.exit_code == 0, upgraded.output
    now_v2 = ReviewerPrivateKey.load(old_dir / "reviewer.key", PASSPHRASE)
    TriageKey.load(old_dir / "reviewer.triage", now_v2.public)
    assert_no_main_key_material(old_dir / "reviewer.triage", now_v2)


# -- the commands ----------------------------------------------------------------------


def test_the_first_triage_command_makes_the_key_once_then_never_asks(team: Log) -> None:
    """A version 2 key file made before triage keys: one passphrase, then none again."""
    folder = team.tmp / "a"
    triage_key_path(folder / "reviewer.key").unlink()
    no_passphrase = {**team.env("a"), "ATTEST_REVIEWER_PASSPHRASE": ""}
    rows = team.rows()
    files = sorted(p.name for p in folder.iterdir())

    def run(*args: str, input: str = "", env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(main, ["review", *args], env=env or no_passphrase, input=input)

    wrong = run("claim", input="not the passphrase\n")
    assert wrong.exit_code == 1 and "does not open" in wrong.output
    # ATTEST_REVIEWER_PASSPHRASE is never read by a triage command: it asks.
    ignored = run("claim", env=team.env("a"))
    assert ignored.exit_code == 1 and "Passphrase" in ignored.output
    assert "No passphrase given." in ignored.output
    assert sorted(p.name for p in folder.iterdir()) == files  # nothing written, no temp file
    assert team.rows() == rows

    made = run("claim", input=f"{PASSPHRASE}\n")
    assert made.exit_code == 0, made.output
    asked, *told = [line for line in made.output.splitlines() if "triage key" in line]
    assert asked.startswith("Your reviewer key has no triage key yet. Passphrase"), made.output
    assert len(told) == 1 and "reviewer.triage" in told[0], made.output
    account = made.stdout.strip()
    assert_no_main_key_material(folder / "reviewer.triage", reviewer("a"))
    for args in (
        ("triage", account, "--add-tag", "medical"),
        ("triage", account, "--status", "follow-up"),
        ("release", account),
    ):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "Passphrase" not in result.output and "triage key" not in result.output
    signatures = [r["signature"] for r in team.rows()[len(rows) :]]
    assert len(signatures) == 4 and all(str(s).startswith("triage:") for s in signatures)
    assert verify(team, "b").exit_code == 0


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_triage_key_file_others_can_read_is_refused_with_how_to_fix(team: Log) -> None:
    """The mistake: reviewer.triage copied to a second computer with `cp` (umask 022) or
    unpacked from an archive ends up readable by group or others. It has no passphrase,
    so whoever can read it can claim, release and tag in this reviewer's name. It is
    refused, like ssh refuses an open private key, with the fix, and nothing is written."""
    path = team.tmp / "a" / "reviewer.triage"
    secret = json.loads(path.read_text())["private_key"]
    no_passphrase = {**team.env("a"), "ATTEST_REVIEWER_PASSPHRASE": ""}
    rows = team.rows()
    for mode in (0o644, 0o640, 0o604):
        path.chmod(mode)
        with pytest.raises(CryptoError):
            TriageKey.load(path, reviewer("a").public)
        refused = CliRunner().invoke(main, ["review", "claim"], env=no_passphrase, input="")
        assert refused.exit_code == 1, (oct(mode), refused.output)
        text = " ".join(refused.output.split())
        assert str(path) in text and f"chmod 600 {path}" in text, text
        assert "new-triage-key" in text  # someone may have copied it meanwhile
        assert "Passphrase" not in text and secret not in refused.output
        assert "Traceback" not in refused.output
        assert stat.S_IMODE(path.stat().st_mode) == mode  # told, not changed behind its back
        assert team.rows() == rows
    path.chmod(0o600)
    claimed = CliRunner().invoke(main, ["review", "claim"], env=no_passphrase, input="")
    assert claimed.exit_code == 0, claimed.output


def test_a_note_still_needs_the_passphrase(team: Log) -> None:
    no_passphrase = {**team.env("a"), "ATTEST_REVIEWER_PASSPHRASE": ""}
    noted = CliRunner().invoke(
        main, ["review", "triage", team.ids[0], "--note", "seen"], env=no_passphrase, input=""
    )
    assert noted.exit_code == 1 and "Passphrase" in noted.output
    assert "No passphrase given." in noted.output
    signed = CliRunner().invoke(
        review, ["triage", team.ids[0], "--note", "seen"], env=team.env("a")
    )
    assert signed.exit_code == 0, signed.output
    entry = team.rows()[-1]
    assert entry["action"] == "changed" and not str(entry["signature"]).startswith("triage:")
    assert verify(team, "b").exit_code == 0


def test_waiting_receipts_do_not_make_a_claim_ask_for_the_passphrase(team: Log) -> None:
    from storage.queue.tables import accounts
    from storage.sync import insert_accounts

    item = make_account(team.node, [reviewer("a")])
    engine = open_queue(team.url)
    with engine.begin() as conn:
        insert_accounts(
            conn, [item], datetime.now(UTC), {team.node.fingerprint: team.node.public_key_bytes}
        )
    engine.dispose()
    no_passphrase = {**team.env("a"), "ATTEST_REVIEWER_PASSPHRASE": ""}
    claimed = CliRunner().invoke(main, ["review", "claim"], env=no_passphrase, input="")
    assert claimed.exit_code == 0, claimed.output
    assert "Passphrase" not in claimed.output
    assert "waiting to be logged" in claimed.output and "attest review list" in claimed.output
    assert not [r for r in team.rows() if r["action"] == "received" and r["seq"] > 7]
    listed = CliRunner().invoke(review, ["list"], env=team.env("a"))
    assert listed.exit_code == 0, listed.output
    engine = open_queue(team.url)
    with engine.connect() as conn:
        logged = conn.execute(
            select(accounts.c.receipt_logged).where(accounts.c.id == item.sealed.account_id)
        ).scalar_one()
    engine.dispose()
    assert logged
    assert verify(team, "b").exit_code == 0


def test_new_triage_key_retires_the_old_one_at_once_and_a_copied_one_is_refused(
    team: Log,
) -> None:
    """The attack: someone copied a's reviewer.triage. a runs `new-triage-key`; whatever
    the copy signs afterwards is refused by verify at once, not only after a's next claim,
    and a triage command run with the copy refuses to write anything."""
    import shutil

    folder = team.tmp / "a"
    copied = team.tmp / "copied"
    copied.mkdir()
    shutil.copy(folder / "reviewer.key", copied / "reviewer.key")
    shutil.copy(folder / "reviewer.triage", copied / "reviewer.triage")
    old = TriageKey.load(copied / "reviewer.triage", reviewer("a").public)
    renewed = CliRunner().invoke(main, ["keys", "new-triage-key"], env=team.env("a"))
    assert renewed.exit_code == 0, renewed.output
    assert "recorded" in renewed.output and "queue" in renewed.output, renewed.output
    entry = team.rows()[-1]
    assert (entry["actor"], entry["action"], entry["account_id"]) == (
        actor("a"),
        "triage-key-replaced",
        None,
    )
    assert entry["signature"] and not str(entry["signature"]).startswith("triage:")
    new = TriageKey.load(folder / "reviewer.triage", reviewer("a").public)
    assert json.loads(str(entry["detail"])) == {"certificate": new.certificate.to_text()}
    assert verify(team, "b").exit_code == 0
    # Written with the copy after the replacement, before a has claimed anything since.
    stolen = append(team, actor("a"), "claimed", {}, by_triage(old))
    result = verify(team, "b")
    assert result.exit_code == 2, result.output
    assert set(problems(result)) == {stolen} and REPLACED in problems(result)[stolen]
    # A triage command with the replaced key says so and writes nothing.
    rows = team.rows()
    with_copy = {**team.env("a"), "ATTEST_REVIEWER_KEY": str(copied / "reviewer.key")}
    refused = CliRunner().invoke(main, ["review", "claim"], env=with_copy, input="")
    assert refused.exit_code == 1, refused.output
    assert "was replaced on" in refused.output and "new-triage-key" in refused.output
    assert "tell your team" in refused.output and "Passphrase" not in refused.output
    assert team.rows() == rows
    # a's own, new key goes on working.
    claimed = CliRunner().invoke(main, ["review", "claim"], env=team.env("a"))
    assert claimed.exit_code == 0, claimed.output


def test_new_triage_key_says_so_when_the_queue_cannot_be_reached(team: Log) -> None:
    unreachable = {**team.env("a"), "ATTEST_QUEUE_URL": str(team.tmp / "nowhere" / "q.db")}
    renewed = CliRunner().invoke(main, ["keys", "new-triage-key"], env=unreachable)
    assert renewed.exit_code == 1, renewed.output
    assert "not recorded" in renewed.output and "still count" in renewed.output
    assert "new-triage-key" in renewed.output
    new = TriageKey.load(team.tmp / "a" / "reviewer.triage", reviewer("a").public)
    assert new.certificate.replaces_earlier
    assert not [r for r in team.rows() if r["action"] == "triage-key-replaced"]


def test_small_messages_of_the_key_commands(tmp_path: Path) -> None:
    """`keys upgrade` names the triage key it made; `new-triage-key --key reviewer.pub`
    says so before asking anything and names --key; end of input at a passphrase prompt
    is "No passphrase given." with its own status, not Ctrl-C's 130."""
    from tests.test_reseal import version_1

    runner = CliRunner()
    old_dir = tmp_path / "old"
    old_dir.mkdir()
    version_1(reviewer("a")).save(old_dir / "reviewer.key", PASSPHRASE, FAST_KDF)
    upgraded = runner.invoke(
        main,
        ["keys", "upgrade", "--key", str(old_dir / "reviewer.key")],
        env=_env(tmp_path),
        input=f"{PASSPHRASE}\n",
    )
    assert upgraded.exit_code == 0, upgraded.output
    assert (
        f"Triage key (signs claims, releases, tags and status without a passphrase): {old_dir / 'reviewer.triage'}"
        in upgraded.output
    )
    public = runner.invoke(
        main,
        ["keys", "new-triage-key", "--key", str(old_dir / "reviewer.pub")],
        env=_env(tmp_path),
        input="",
    )
    assert public.exit_code == 1, public.output
    assert "Passphrase" not in public.output and "public half" in public.output
    assert "--key" in public.output and "ATTEST_REVIEWER_KEY" not in public.output
    for args in (
        ["keys", "new-triage-key", "--key", str(old_dir / "reviewer.key")],
        ["keys", "upgrade", "--key", str(old_dir / "reviewer.key")],
    ):
        ended = runner.invoke(
            main,
            args,
            env=_env(tmp_path, ATTEST_REVIEWER_KEY=str(old_dir / "reviewer.key")),
            input="",
        )
        assert ended.exit_code not in (0, 130), (args, ended.output)
        assert ended.output.strip().splitlines()[-1] == "No passphrase given.", ended.output
        assert "Stopped." not in ended.output
