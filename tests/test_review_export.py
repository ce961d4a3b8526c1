"""Export honours each consent scope, drops identifying answers when anonymised, and is audited."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from bot.cli_queue import trust_node
from review.cli import review
from storage.crypto import NodeKeys
from storage.db import insert_ignore
from storage.queue.admin import open_queue
from storage.queue.tables import withdrawals
from tests.queue_support import (
    BACKENDS,
    PASSPHRASE,
    T0,
    answer,
    fresh_queue_url,
    make_account,
    put_accounts,
    reviewer,
    save_reviewer,
)

SCOPES = {
    "named": {"archive": "yes", "reports": "yes", "mechanisms": "named"},
    "anon-mech": {"archive": "yes", "reports": "no", "mechanisms": "anonymised"},
    "reports-only": {"archive": "yes", "reports": "yes", "mechanisms": "no"},
    "archive-only": {"archive": "yes", "reports": "no", "mechanisms": "no"},
}


@dataclass
class Exporting:
    env: dict[str, str]
    ids: dict[str, str]
    node: NodeKeys
    url: str

    def export(self, *args: str) -> tuple[dict, str]:
        result = CliRunner().invoke(review, ["export", *args], env=self.env)
        assert result.exit_code == 0, result.output
        return (json.loads(result.stdout) if "csv" not in args else {}), result.output

    def exported(self, *args: str) -> dict[str, dict]:
        document, _ = self.export(*args)
        return {a["account_id"]: a for a in document["accounts"]}


@pytest.fixture(params=BACKENDS)
def exporting(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Exporting]:
    for url in fresh_queue_url(request.param, tmp_path):
        node = NodeKeys.generate()
        items = {
            name: make_account(node, [reviewer("a")], scopes=scopes, reference=f"REF{name}")
            for name, scopes in SCOPES.items()
        }
        put_accounts(url, node, list(items.values()))
        env = {
            "ATTEST_DATA_DIR": str(tmp_path / "data"),
            "ATTEST_QUEUE_URL": url,
            "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
            "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
        }
        assert CliRunner().invoke(trust_node, [node.fingerprint], env=env).exit_code == 0
        yield Exporting(env, {n: i.sealed.account_id for n, i in items.items()}, node, url)


def _names(exporting: Exporting, accounts: dict[str, dict]) -> set[str]:
    back = {v: k for k, v in exporting.ids.items()}
    return {back[a] for a in accounts}


def _steps(account: dict) -> set[str]:
    return {a["step"] for a in account["answers"]}


def test_reports_need_scope_reports_and_are_anonymised(exporting: Exporting) -> None:
    accounts = exporting.exported("--purpose", "reports")
    assert _names(exporting, accounts) == {"named", "reports-only"}
    for account in accounts.values():
        assert account["sharing"] == "anonymised"
        assert _steps(account) == {"what-happened"}  # the identifying "name" step is gone
        assert "files" not in account and "message_ids" not in account["answers"][0]
        assert "Layla" not in json.dumps(account)


def test_mechanisms_follow_named_or_anonymised(exporting: Exporting) -> None:
    accounts = exporting.exported("--purpose", "mechanisms")
    assert _names(exporting, accounts) == {"named", "anon-mech"}
    named = accounts[exporting.ids["named"]]
    anonymised = accounts[exporting.ids["anon-mech"]]
    assert named["sharing"] == "named" and _steps(named) == {"what-happened", "name"}
    assert anonymised["sharing"] == "anonymised" and _steps(anonymised) == {"what-happened"}


def test_internal_has_everything_and_every_export_is_audited(exporting: Exporting) -> None:
    document, output = exporting.export("--internal")
    assert document["schema"] == "attest-export/3" and document["purpose"] == "internal"
    assert len(document["accounts"]) == 4
    assert "Exported 4 account(s)" in output
    exporting.export("--purpose", "reports")
    engine = open_queue(exporting.url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT account_id, detail FROM audit_log WHERE action = 'exported'")
        ).all()
    engine.dispose()
    purposes = sorted(json.loads(r.detail)["purpose"] for r in rows)
    assert purposes == ["internal"] * 4 + ["reports"] * 2


def test_withdrawn_accounts_never_appear(exporting: Exporting) -> None:
    exporting.export("--purpose", "reports")
    engine = open_queue(exporting.url)
    with engine.begin() as conn:
        secret = exporting.node.withdrawal_secret("REFnamed")
        insert_ignore(conn, withdrawals, [{"secret": secret, "requested_at": T0}])
    engine.dispose()
    accounts = exporting.exported("--internal")
    assert exporting.ids["named"] not in accounts and len(accounts) == 3
    engine = open_queue(exporting.url)
    with engine.connect() as conn:
        detail = conn.execute(
            text("SELECT detail FROM audit_log WHERE action = 'withdrawn'")
        ).scalar_one()
    engine.dispose()
    assert json.loads(detail) == {"exported_before": 1}  # the copy to follow up


def test_scopes_come_from_the_verified_body_not_the_queue_column(exporting: Exporting) -> None:
    engine = open_queue(exporting.url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE accounts SET scopes = :s WHERE id = :i"),
            {
                "s": json.dumps({"archive": "yes", "reports": "yes", "mechanisms": "named"}),
                "i": exporting.ids["archive-only"],
            },
        )
    engine.dispose()
    document, _ = exporting.export("--purpose", "reports")
    assert exporting.ids["archive-only"] not in {a["account_id"] for a in document["accounts"]}
    assert document["left_out"]["unverified"] == 1


def test_left_out_accounts_are_counted_by_why_not_all_as_failed_verification(
    exporting: Exporting, tmp_path: Path
) -> None:
    """An account sealed only to a colleague, one from a node this reviewer has not pinned
    and one resealed by a reviewer they have not pinned failed nothing: each is counted
    for what it is. Only an account changed after signing "failed verification"."""
    from storage.crypto import reseal_account
    from storage.crypto.seal import open_content_key
    from storage.queue.reseals import store_reseals
    from storage.queue.store import Queue

    node, other_node = exporting.node, NodeKeys.generate()
    for_b = make_account(node, [reviewer("b")], scopes=SCOPES["named"])
    elsewhere = make_account(other_node, [reviewer("a")], scopes=SCOPES["named"])
    via_c = make_account(node, [reviewer("c")], scopes=SCOPES["named"])
    put_accounts(exporting.url, node, [for_b, via_c])
    put_accounts(exporting.url, other_node, [elsewhere])
    content_key = open_content_key(
        via_c.sealed, reviewer("c"), {node.fingerprint: node.public_key_bytes}
    )
    reseal = reseal_account(via_c.sealed, content_key, reviewer("a").public, reviewer("c"))
    engine = open_queue(exporting.url)
    store_reseals(Queue(engine), [reseal])
    engine.dispose()
    engine = open_queue(exporting.url)
    with engine.begin() as conn:  # and one really changed after signing
        conn.execute(
            text("UPDATE accounts SET language = 'fr' WHERE id = :i"),
            {"i": exporting.ids["named"]},
        )
    engine.dispose()

    document, said = exporting.export("--internal")
    assert document["left_out"] == {
        "not_consented": 0,
        "unverified": 1,
        "sealed_to_other_keys": 1,
        "resealed_by_demo_key": 0,
        "untrusted_keys": 2,
    }
    said = " ".join(said.split())
    assert "1 that failed verification" in said, said
    assert "1 sealed only to reviewer keys you do not hold" in said, said
    assert "2 signed by a node key or resealed by a reviewer key you have not trusted" in said


def test_csv_has_one_row_per_answer_and_defuses_formulas(
    tmp_path: Path, exporting: Exporting
) -> None:
    node = exporting.node
    risky = make_account(
        node,
        [reviewer("a")],
        answers=[
            answer("what-happened", "In your own words, what happened?", '=HYPERLINK("http://x")')
        ],
    )
    put_accounts(exporting.url, node, [risky])
    out = tmp_path / "export.csv"
    result = CliRunner().invoke(
        review,
        ["export", "--format", "csv", "--purpose", "mechanisms", "--out", str(out)],
        env=exporting.env,
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert {r["account_id"] for r in rows} == {
        exporting.ids["named"],
        exporting.ids["anon-mech"],
        risky.sealed.account_id,
    }
    assert len(rows) == 2 + 1 + 1
    assert [r["value"] for r in rows if r["account_id"] == risky.sealed.account_id] == [
        '\'=HYPERLINK("http://x")'
    ]


def test_export_needs_exactly_one_purpose(exporting: Exporting) -> None:
    result = CliRunner().invoke(review, ["export"], env=exporting.env)
    assert result.exit_code == 2 and "--internal" in result.output
