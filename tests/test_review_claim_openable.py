"""`attest review claim` hands out only accounts the claiming reviewer's key can open."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from storage.crypto import NodeKeys
from storage.queue.admin import open_queue
from storage.queue.tables import accounts
from tests.queue_support import (
    fresh_queue_url,
    make_account,
    put_accounts,
    reviewer,
    save_reviewer,
)


def _statuses(url: str) -> dict[str, tuple[str, str | None]]:
    engine = open_queue(url)
    with engine.connect() as conn:
        rows = conn.execute(select(accounts.c.id, accounts.c.status, accounts.c.assignee))
        found = {r.id: (r.status, r.assignee) for r in rows}
    engine.dispose()
    return found


def test_claim_skips_an_account_sealed_only_to_another_key(tmp_path: Path) -> None:
    url = next(fresh_queue_url("sqlite", tmp_path))
    node = NodeKeys.generate()
    # Urgent, so first in the queue's order: sealed only to key b (the demo key, say).
    other = make_account(node, [reviewer("b")], urgent=True)
    mine = make_account(node, [reviewer("a")])
    put_accounts(url, node, [other, mine])
    env = {
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": url,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
    }
    first = CliRunner().invoke(main, ["review", "claim"], env=env)
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == mine.sealed.account_id
    assert _statuses(url)[other.sealed.account_id] == ("new", None)
    again = CliRunner().invoke(main, ["review", "claim"], env=env)
    assert again.exit_code == 1
    assert "your key cannot open" in " ".join(again.output.split())
    assert _statuses(url)[other.sealed.account_id] == ("new", None)
