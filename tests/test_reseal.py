"""`attest review reseal` (issue 15, item 3): a new reviewer key opens what an old one can.

The attacks: a reseal whose wrapped key or signature was changed in the queue, and a
reseal made by someone whose key the reader never pinned. Both are refused; the account
itself and the node's signature over its original recipients are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, text, update

from bot.cli_key_lifecycle import trust_reviewer_command
from bot.cli_queue import trust_node
from review.cli import review
from storage.crypto import (
    FAST_KDF,
    NodeKeys,
    NotARecipient,
    ReviewerPrivateKey,
    ReviewerPublicKey,
    open_account,
    reseal_account,
    verify_account,
)
from storage.crypto.seal import SealedAccount
from storage.queue.admin import node_role_grants, open_queue
from storage.queue.tables import accounts, audit_log, reseals
from tests.queue_support import (
    BACKENDS,
    PASSPHRASE,
    answer,
    fresh_queue_url,
    make_account,
    put_accounts,
    reviewer,
)


@dataclass
class Team:
    url: str
    node: NodeKeys
    ids: list[str]
    tmp: Path

    def env(self, name: str) -> dict[str, str]:
        return {
            "ATTEST_DATA_DIR": str(self.tmp / f"data-{name}"),
            "ATTEST_QUEUE_URL": self.url,
            "ATTEST_REVIEWER_KEY": str(self.tmp / name / "reviewer.key"),
            "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
        }

    def run(self, name: str, *args: str) -> Result:
        return CliRunner().invoke(review, list(args), env=self.env(name))

    def pin_node(self, name: str) -> None:
        result = CliRunner().invoke(trust_node, [self.node.fingerprint], env=self.env(name))
        assert result.exit_code == 0, result.output

    def pin_reviewer(self, who: str, whom: str) -> None:
        result = CliRunner().invoke(
            trust_reviewer_command, [str(self.tmp / whom / "reviewer.pub")], env=self.env(who)
        )
        assert result.exit_code == 0, result.output

    def sql(self, statement: str) -> None:
        engine = open_queue(self.url)
        with engine.begin() as conn:
            conn.execute(text(statement))
        engine.dispose()


def _save(tmp: Path, name: str) -> None:
    folder = tmp / name
    folder.mkdir()
    reviewer(name).save(folder / "reviewer.key", PASSPHRASE, FAST_KDF)
    reviewer(name).public.save(folder / "reviewer.pub")


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    for url in fresh_queue_url(request.param, tmp_path):
        node = NodeKeys.generate()
        items = [
            make_account(node, [reviewer("a")], answers=[answer("what", "What?", "story one")]),
            make_account(node, [reviewer("a")]),
        ]
        put_accounts(url, node, items)
        for name in ("a", "b", "c"):
            _save(tmp_path, name)
        found = Team(url, node, [i.sealed.account_id for i in items], tmp_path)
        for name in ("a", "b", "c"):
            found.pin_node(name)
        yield found


def _sealed_rows(url: str) -> dict[str, str]:
    engine = open_queue(url)
    with engine.connect() as conn:
        rows = {r.id: r.sealed for r in conn.execute(select(accounts.c.id, accounts.c.sealed))}
    engine.dispose()
    return rows


def test_a_new_key_opens_after_a_reseal_and_not_before(team: Team) -> None:
    refused = team.run("b", "show", team.ids[0])
    assert refused.exit_code == 1
    assert "not sealed to your reviewer key" in refused.output
    before = _sealed_rows(team.url)

    done = team.run("a", "reseal", "--to", str(team.tmp / "b" / "reviewer.pub"))
    assert done.exit_code == 0, done.output
    assert "Resealed 2 account(s)" in done.output
    # Again: nothing new to do, nothing stored twice.
    again = team.run("a", "reseal", "--to", str(team.tmp / "b" / "reviewer.pub"))
    assert "Resealed 0 account(s)" in again.output

    team.pin_reviewer("b", "a")
    shown = team.run("b", "show", team.ids[0])
    assert shown.exit_code == 0, shown.output
    assert "story one" in shown.output
    # The original key still opens it; the account row is exactly what the node sent.
    assert team.run("a", "show", team.ids[0]).exit_code == 0
    assert _sealed_rows(team.url) == before
    for raw in before.values():
        sealed = SealedAccount.from_dict(json.loads(raw))
        verify_account(sealed, {team.node.fingerprint: team.node.public_key_bytes})
        assert set(sealed.recipients) == {reviewer("a").fingerprint}
        # A key that was neither sealed to nor resealed to still opens nothing.
        with pytest.raises(NotARecipient):
            open_account(sealed, reviewer("c"), {team.node.fingerprint: team.node.public_key_bytes})

    engine = open_queue(team.url)
    with engine.connect() as conn:
        actors = conn.execute(
            select(audit_log.c.actor).where(audit_log.c.action == "resealed")
        ).scalars()
        assert set(actors) == {f"reviewer:{reviewer('a').fingerprint}"}
    engine.dispose()


def test_a_reseal_by_a_reviewer_not_pinned_is_refused(team: Team) -> None:
    assert team.run("a", "reseal", "--to", str(team.tmp / "b" / "reviewer.pub")).exit_code == 0
    # b never pinned a: whoever wrote that reseal could be anyone with queue access.
    refused = team.run("b", "show", team.ids[0])
    assert refused.exit_code == 1
    assert "resealed for you by a reviewer whose key you have not marked as trusted" in (
        refused.output
    )
    assert "story one" not in refused.output


def test_a_forged_reseal_from_someone_who_cannot_open_the_account_is_refused(
    team: Team,
) -> None:
    # c cannot open the account; it plants a reseal for b with a content key of its own.
    engine = open_queue(team.url)
    with engine.connect() as conn:
        raw = conn.execute(select(accounts.c.sealed).where(accounts.c.id == team.ids[0])).scalar()
    sealed = SealedAccount.from_dict(json.loads(raw))
    with pytest.raises(Exception):  # noqa: B017 - the body check refuses a wrong content key
        reseal_account(sealed, b"\x01" * 32, reviewer("b").public, reviewer("c"))
    from storage.crypto.reseal import make_reseal
    from storage.crypto.seal import _key_info

    forged = make_reseal(
        sealed.account_id,
        b"\x01" * 32,
        reviewer("b").public,
        reviewer("c"),
        _key_info(sealed.account_id, reviewer("b").fingerprint),
    )
    from datetime import UTC, datetime

    with engine.begin() as conn:
        conn.execute(
            reseals.insert().values(
                account_id=forged.account_id,
                recipient=forged.recipient,
                wrapped=forged.wrapped,
                resealer=forged.resealer,
                signature=forged.signature,
                created_at=datetime.now(UTC),
            )
        )
    engine.dispose()
    team.pin_reviewer("b", "c")  # even trusted, c's key does not open the node's body
    refused = team.run("b", "show", team.ids[0])
    assert refused.exit_code == 1
    assert "failed its integrity check" in refused.output


@pytest.mark.parametrize("column", ["wrapped", "signature"])
def test_a_tampered_reseal_is_refused(team: Team, column: str) -> None:
    assert team.run("a", "reseal", "--to", str(team.tmp / "b" / "reviewer.pub")).exit_code == 0
    team.pin_reviewer("b", "a")
    engine = open_queue(team.url)
    with engine.begin() as conn:
        value = conn.execute(
            select(reseals.c[column]).where(reseals.c.account_id == team.ids[0])
        ).scalar_one()
        changed = bytes(value[:-1]) + bytes([value[-1] ^ 1])
        conn.execute(
            update(reseals).where(reseals.c.account_id == team.ids[0]).values({column: changed})
        )
    engine.dispose()
    refused = team.run("b", "show", team.ids[0])
    assert refused.exit_code == 1
    assert "failed its integrity check" in refused.output
    assert "story one" not in refused.output
    # The other account's reseal is intact and still opens.
    assert team.run("b", "show", team.ids[1]).exit_code == 0


def test_reseal_refuses_a_demo_key_and_a_key_that_cannot_sign(team: Team) -> None:
    demo = reviewer("a").public.to_dict() | {"demo": True}
    (team.tmp / "demo.pub").write_text(json.dumps(demo))
    refused = team.run("a", "reseal", "--to", str(team.tmp / "demo.pub"))
    assert refused.exit_code != 0
    assert "demo" in refused.output

    old = team.tmp / "old"
    old.mkdir()
    version_1(reviewer("a")).save(old / "reviewer.key", PASSPHRASE, FAST_KDF)
    result = CliRunner().invoke(
        review,
        ["reseal", "--to", str(team.tmp / "b" / "reviewer.pub")],
        env={**team.env("a"), "ATTEST_REVIEWER_KEY": str(old / "reviewer.key")},
    )
    assert result.exit_code == 1
    assert "attest keys upgrade" in result.output
    engine = open_queue(team.url)
    with engine.connect() as conn:
        assert conn.execute(select(reseals.c.account_id)).first() is None
    engine.dispose()


def version_1(key: ReviewerPrivateKey) -> ReviewerPrivateKey:
    """The same HPKE key pair as an old (version 1) key: no signing key, no name."""
    public = ReviewerPublicKey(key.public.suite, key.public.public_bytes)
    return ReviewerPrivateKey(public, key._private_raw)


def test_upgrade_gives_a_version_1_key_a_signing_key_with_the_same_passphrase(
    tmp_path: Path,
) -> None:
    from bot.cli_key_lifecycle import upgrade_command

    folder = tmp_path / "alice"
    folder.mkdir()
    old = version_1(reviewer("a"))
    old.save(folder / "reviewer.key", PASSPHRASE, FAST_KDF)
    old.public.save(folder / "reviewer.pub")
    env = {"ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE, "ATTEST_LANGUAGE": None}
    wrong = CliRunner().invoke(
        upgrade_command,
        ["--key", str(folder / "reviewer.key")],
        env={**env, "ATTEST_REVIEWER_PASSPHRASE": "not it at all"},
    )
    assert wrong.exit_code == 1
    assert "does not open" in wrong.output
    assert not ReviewerPrivateKey.load(folder / "reviewer.key", PASSPHRASE).can_sign
    result = CliRunner().invoke(
        upgrade_command, ["--key", str(folder / "reviewer.key"), "--name", "Alice"], env=env
    )
    assert result.exit_code == 0, result.output
    upgraded = ReviewerPrivateKey.load(folder / "reviewer.key", PASSPHRASE)
    assert upgraded.can_sign and upgraded.public.name == "Alice"
    assert upgraded.fingerprint == old.fingerprint
    public = ReviewerPublicKey.load(folder / "reviewer.pub")
    assert public == upgraded.public and public.version == 2
    assert public.verify(upgraded.sign(b"entry"), b"entry")
    again = CliRunner().invoke(upgrade_command, ["--key", str(folder / "reviewer.key")], env=env)
    assert again.exit_code == 1


def test_the_node_role_gets_nothing_on_reseals() -> None:
    assert not any("reseals" in grant for grant in node_role_grants("attest_node", "q"))
