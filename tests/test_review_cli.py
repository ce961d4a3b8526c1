"""The reviewer command line against a real queue: list, show, file, triage, claim, keys."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, text

from bot.cli_queue import trust_node
from review.cli import review
from storage.crypto import NodeKeys
from storage.queue.admin import open_queue
from storage.queue.tables import account_notes, audit_log
from tests.queue_support import (
    BACKENDS,
    PASSPHRASE,
    answer,
    fresh_queue_url,
    make_account,
    put_accounts,
    reviewer,
    save_reviewer,
)

VOICE = b"OggS fake voice note " * 5000


@dataclass
class Desk:
    """A queue with accounts, a reviewer key on disk, and the environment to run commands."""

    url: str
    env: dict[str, str]
    node: NodeKeys
    ids: list[str]
    tmp: Path

    def run(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        return CliRunner().invoke(review, list(args), env={**self.env, **(env or {})}, input=input)

    def trust(self) -> None:
        result = CliRunner().invoke(trust_node, [self.node.fingerprint], env=self.env)
        assert result.exit_code == 0, result.output

    def sql(self, statement: str) -> None:
        engine = open_queue(self.url)
        with engine.begin() as conn:
            conn.execute(text(statement))
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    for url in fresh_queue_url(request.param, tmp_path):
        node = NodeKeys.generate()
        items = [
            make_account(node, [reviewer("a")], attachments=[VOICE]),
            make_account(node, [reviewer("a")], urgent=True),
        ]
        put_accounts(url, node, items)
        key_path = save_reviewer(tmp_path / "reviewer.key")
        env = {
            "ATTEST_DATA_DIR": str(tmp_path / "data"),
            "ATTEST_QUEUE_URL": url,
            "ATTEST_REVIEWER_KEY": str(key_path),
            "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
        }
        yield Desk(url, env, node, [i.sealed.account_id for i in items], tmp_path)


def test_list_shows_urgent_first_and_marks_unpinned_nodes(desk: Desk) -> None:
    result = desk.run("list")
    assert result.exit_code == 0, result.output
    # Issue 16: a header row first, ids by their first 12 characters, "showing N of M" last.
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("ID ")
    assert lines[1].startswith(desk.ids[1][:12]) and "URGENT" in lines[1]
    assert lines[2].startswith(desk.ids[0][:12])
    assert "UNPINNED NODE" in result.output
    desk.trust()
    listed = json.loads(desk.run("list", "--json").output)
    assert [a["id"] for a in listed] == [desk.ids[1], desk.ids[0]]
    assert all(a["node_pinned"] for a in listed)
    assert json.loads(desk.run("list", "--json", "--urgent").output)[0]["id"] == desk.ids[1]


def test_show_refuses_an_unpinned_node(desk: Desk) -> None:
    result = desk.run("show", desk.ids[0])
    assert result.exit_code != 0
    assert "not pinned" in result.output and "attest keys trust-node" in result.output
    assert "girls" not in result.output


def test_show_verifies_then_prints_consent_answers_and_files(desk: Desk) -> None:
    desk.trust()
    result = desk.run("show", desk.ids[0])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("Consent") < out.index("Answers") < out.index("Files")
    assert "Share with accountability mechanisms: named" in out
    assert "In your own words, what happened?" in out
    assert "See the voice note." in out
    entry = make_sha_of(VOICE)
    assert entry in out
    engine = open_queue(desk.url)
    with engine.connect() as conn:
        actions = [
            r.action
            for r in conn.execute(select(audit_log).where(audit_log.c.account_id == desk.ids[0]))
        ]
    engine.dispose()
    assert actions == ["received", "opened"]


def make_sha_of(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_file_decrypts_to_the_exact_bytes(desk: Desk) -> None:
    desk.trust()
    out = desk.tmp / "voice.ogg"
    result = desk.run("file", desk.ids[0], "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == VOICE
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert desk.run("file", desk.ids[0], "2", "--out", str(out)).exit_code != 0


def _tamper_sealed(desk: Desk, account_id: str, change: str) -> None:
    engine = open_queue(desk.url)
    with engine.begin() as conn:
        sealed = json.loads(
            conn.execute(
                text("SELECT sealed FROM accounts WHERE id = :i"), {"i": account_id}
            ).scalar_one()
        )
        if change == "body":
            body = bytearray(base64.b64decode(sealed["body"]))
            body[-1] ^= 1
            sealed["body"] = base64.b64encode(bytes(body)).decode()
        elif change == "signature":
            sig = bytearray(base64.b64decode(sealed["signature"]))
            sig[0] ^= 1
            sealed["signature"] = base64.b64encode(bytes(sig)).decode()
        elif change == "metadata":
            sealed["metadata"]["scopes"]["reports"] = "no"
        conn.execute(
            text("UPDATE accounts SET sealed = :s WHERE id = :i"),
            {"s": json.dumps(sealed), "i": account_id},
        )
    engine.dispose()


@pytest.mark.parametrize(
    "change", ["body", "signature", "metadata", "column", "file", "missing-file"]
)
def test_tampering_makes_show_refuse(desk: Desk, change: str) -> None:
    desk.trust()
    account = desk.ids[0]
    if change in ("body", "signature", "metadata"):
        _tamper_sealed(desk, account, change)
    elif change == "column":
        desk.sql(f"UPDATE accounts SET urgent = true WHERE id = '{account}'")
    elif change == "file":
        engine = open_queue(desk.url)
        with engine.begin() as conn:
            data = bytearray(conn.execute(text("SELECT data FROM account_files")).scalar_one())
            data[100] ^= 1
            conn.execute(text("UPDATE account_files SET data = :d"), {"d": bytes(data)})
        engine.dispose()
    else:
        desk.sql("DELETE FROM account_files")
    result = desk.run("show", account)
    assert result.exit_code == 1, result.output
    assert "not" in result.output and ("changed" in result.output or "integrity" in result.output)
    assert "See the voice note." not in result.output


def test_wrong_passphrase_is_a_clear_error(desk: Desk) -> None:
    desk.trust()
    result = desk.run("show", desk.ids[0], env={"ATTEST_REVIEWER_PASSPHRASE": "not it"})
    assert result.exit_code == 1
    assert "passphrase does not open this key file" in result.output
    # `show` (issue 16: `claim` needs no private key any more, so asks no passphrase).
    prompted = desk.run(
        "show", desk.ids[0], input="still not it\n", env={"ATTEST_REVIEWER_PASSPHRASE": ""}
    )
    assert prompted.exit_code == 1 and "passphrase does not open" in prompted.output


def test_claim_release_and_triage_with_a_sealed_note(desk: Desk) -> None:
    desk.trust()
    claimed = desk.run("claim")
    assert claimed.exit_code == 0, claimed.output
    assert claimed.output.strip() == desk.ids[1]  # urgent first
    assert desk.run("release", desk.ids[1]).exit_code == 0
    note = "Follow up with the clinic on Tuesday."
    result = desk.run(
        "triage",
        desk.ids[0],
        "--status",
        "follow-up",
        "--add-tag",
        "detention",
        "--note",
        "-",
        input=note + "\n",
    )
    assert result.exit_code == 0, result.output
    engine = open_queue(desk.url)
    with engine.connect() as conn:
        blob = conn.execute(select(account_notes.c.sealed)).scalar_one()
    engine.dispose()
    assert note.encode() not in bytes(blob)
    shown = desk.run("show", desk.ids[0]).output
    assert note in shown and "follow-up" in shown and "detention" in shown
    assert (
        json.loads(desk.run("list", "--json", "--tag", "detention").output)[0]["id"] == desk.ids[0]
    )
    removed = desk.run("triage", desk.ids[0], "--remove-tag", "detention")
    assert removed.exit_code == 0
    assert json.loads(desk.run("list", "--json", "--tag", "detention").output) == []


def test_missing_queue_says_to_run_init(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        review,
        ["list"],
        env={"ATTEST_QUEUE_URL": str(tmp_path / "none.db"), "ATTEST_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 1
    assert "attest queue init" in result.output


def test_list_needs_no_key_and_no_passphrase(desk: Desk) -> None:
    result = desk.run("list", env={"ATTEST_REVIEWER_KEY": "", "ATTEST_REVIEWER_PASSPHRASE": ""})
    assert result.exit_code == 0, result.output
    assert desk.ids[0] in result.output


def test_a_tampered_file_is_never_written_out(desk: Desk) -> None:
    desk.trust()
    engine = open_queue(desk.url)
    with engine.begin() as conn:
        data = bytearray(conn.execute(text("SELECT data FROM account_files")).scalar_one())
        data[-5] ^= 1  # inside the last chunk: earlier chunks would decrypt fine
        conn.execute(text("UPDATE account_files SET data = :d"), {"d": bytes(data)})
    engine.dispose()
    out = desk.tmp / "voice.ogg"
    result = desk.run("file", desk.ids[0], "1", "--out", str(out))
    assert result.exit_code == 1 and "integrity check" in result.output
    assert not out.exists() and not list(desk.tmp.glob("*voice.ogg*"))  # no partial file


def test_a_note_moved_to_another_account_is_not_shown(desk: Desk) -> None:
    desk.trust()
    secret = "Her brother is still detained."
    assert desk.run("triage", desk.ids[0], "--note", secret).exit_code == 0
    desk.sql(f"UPDATE account_notes SET account_id = '{desk.ids[1]}'")
    shown = desk.run("show", desk.ids[1])
    assert shown.exit_code == 0, shown.output
    assert secret not in shown.output
    assert "failed its integrity check" in shown.output


def _single(desk: Desk, item: object) -> str:
    put_accounts(desk.url, desk.node, [item])  # type: ignore[list-item]
    return item.sealed.account_id  # type: ignore[attr-defined]


def test_an_answer_that_does_not_match_its_receipt_hash_is_refused(desk: Desk) -> None:
    desk.trust()
    wrong = answer("what-happened", "In your own words, what happened?", "Something else.")
    wrong["sha256"] = "0" * 64
    account = _single(desk, make_account(desk.node, [reviewer("a")], answers=[wrong]))
    result = desk.run("show", account)
    assert result.exit_code == 1
    assert "Failed check: answer what-happened" in result.output
    assert "Something else." not in result.output


def test_scopes_in_the_body_must_equal_the_signed_ones(desk: Desk) -> None:
    desk.trust()
    account = _single(
        desk,
        make_account(
            desk.node,
            [reviewer("a")],
            scopes={"archive": "yes", "reports": "no", "mechanisms": "no"},
            signed_scopes={"archive": "yes", "reports": "yes", "mechanisms": "named"},
        ),
    )
    result = desk.run("show", account)
    assert result.exit_code == 1 and "Failed check: consent scopes" in result.output


def test_an_account_sealed_to_someone_else_says_so(desk: Desk) -> None:
    desk.trust()
    account = _single(desk, make_account(desk.node, [reviewer("b")]))
    result = desk.run("show", account)
    assert result.exit_code == 1
    assert "not sealed to your reviewer key" in result.output


def test_file_is_written_owner_only_whatever_was_left_beside_it(desk: Desk) -> None:
    desk.trust()
    out = desk.tmp / "voice.ogg"
    # A readable leftover with the old partial file's name, and a link planted under it.
    leftover = desk.tmp / "voice.ogg.part"
    leftover.write_bytes(b"old")
    leftover.chmod(0o644)
    elsewhere = desk.tmp / "elsewhere"
    planted = desk.tmp / "notes.txt.part"
    planted.symlink_to(elsewhere)
    for target in (out, desk.tmp / "notes.txt"):
        result = desk.run("file", desk.ids[0], "1", "--out", str(target))
        assert result.exit_code == 0, result.output
        assert target.read_bytes() == VOICE
        assert not target.is_symlink()
        assert target.stat().st_mode & 0o777 == 0o600, target
    assert not elsewhere.exists()  # nothing written through the planted link


CANNOT_WRITE_ADVICE = (
    "Choose a file, not a folder, in a place you are allowed to write to, and try again."
)


def _unwritable(desk: Desk) -> list[Path]:
    """Places no file can be written: a folder, under a file, under a read-only folder."""
    folder = desk.tmp / "a-folder"
    folder.mkdir()
    (desk.tmp / "a-file").write_text("a file where a folder should be")
    places = [folder, desk.tmp / "a-file" / "deeper" / "out"]
    if os.geteuid() != 0:  # root may write anywhere
        locked = desk.tmp / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        places.append(locked / "out")
    return places


def _cannot_write(out: Path) -> str:
    """The one line for `out`; since issue 16 a missing folder is named as such, not made."""
    if not out.is_dir() and not out.parent.is_dir():
        return (
            f"Error: The folder {out.parent} does not exist, so nothing was written. Check the "
            "path (is the USB drive plugged in and mounted?); Attest does not create folders "
            "for --out."
        )
    return f"Error: Cannot write {out}. {CANNOT_WRITE_ADVICE}"


def _error_lines(result: Result) -> list[str]:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    return [line for line in result.output.splitlines() if line.startswith("Error:")]


def test_export_to_a_place_it_cannot_write_says_so_in_one_line(desk: Desk) -> None:
    desk.trust()
    for out in _unwritable(desk):
        result = desk.run("export", "--internal", "--out", str(out))
        assert _error_lines(result) == [_cannot_write(out)]
    # Nothing was exported, so nothing was audited as exported.
    assert " exported " not in desk.run("audit", "show").output
    assert [p.name for p in (desk.tmp / "a-folder").iterdir()] == []
    assert not list(desk.tmp.glob(".tmp-*"))


def test_file_to_a_place_it_cannot_write_says_so_in_one_line(desk: Desk) -> None:
    desk.trust()
    for out in [*_unwritable(desk), desk.tmp / "missing" / "out"]:
        result = desk.run("file", desk.ids[0], "1", "--out", str(out))
        assert _error_lines(result) == [_cannot_write(out)]
    assert "file-decrypted" not in desk.run("audit", "show").output
    assert [p.name for p in (desk.tmp / "a-folder").iterdir()] == []
    assert not list(desk.tmp.glob("*.part"))
