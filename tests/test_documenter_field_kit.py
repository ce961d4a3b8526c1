"""The field kit, as separate processes, and what reviewers see of a documenter's account.

On the laptop (no connection): attest documenters invite -> attest console --documenter
CODE -> attest sync into a carried queue file. At the office: attest queue import FILE ->
attest keys trust-node -> attest review list --mode/--documenter -> review show / export.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.console_driver import ATTEST, cooperative, run_console

pytestmark = pytest.mark.slow
RECALL = "They closed the girls' school in our district and took the teacher away."


def attest(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([ATTEST, *args], env=env, capture_output=True, text=True, timeout=120)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def hearsay(ask: dict[str, Any]) -> str:
    """A documenter who heard the account from others (source 3), otherwise cooperative."""
    if ask["step"].endswith("-source"):
        return "3"
    return cooperative(RECALL)(ask)


def test_an_account_recorded_offline_reaches_reviewers_with_its_documenter(
    tmp_path: Path,
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ATTEST_")}
    kit = tmp_path / "carried-queue.db"
    laptop = {**base, "ATTEST_DATA_DIR": str(tmp_path / "laptop"), "ATTEST_QUEUE_URL": str(kit)}

    issued = attest(laptop, "documenters", "invite", "--note", "Team north", "--expires", "3")
    code = issued.stdout.split("): ")[1].split()[0]
    pseudonym = issued.stdout.split("Documenter: ")[1].split()[0]
    assert "Team north" not in issued.stderr

    wrong, _ = run_console(tmp_path / "laptop", hearsay, env=laptop, args=["--documenter", "X"])
    assert wrong[-1] == {"type": "end", "reason": "documenter-refused"}

    events, _ = run_console(
        tmp_path / "laptop", hearsay, env=laptop, args=["--documenter", code], respondent="amal"
    )
    assert events[-1]["reason"] == "submitted"
    # Bound once: the same console person records the next account without the code.
    again, _ = run_console(tmp_path / "laptop", hearsay, env=laptop, respondent="amal")
    assert again[-1]["reason"] == "submitted"

    listed = attest(laptop, "documenters", "list").stdout
    assert pseudonym in listed and "Team north" in listed
    assert "\t2\t" in listed  # accounts recorded

    assert "2 accounts" in attest(laptop, "sync").stdout

    office = {
        **base,
        "ATTEST_DATA_DIR": str(tmp_path / "office"),
        "ATTEST_QUEUE_URL": str(tmp_path / "queue.db"),
        "ATTEST_REVIEWER_KEY": str(tmp_path / "laptop" / "demo-reviewer" / "reviewer.key"),
        "ATTEST_REVIEWER_PASSPHRASE": "demo",
    }
    attest(office, "queue", "init")
    attest(office, "queue", "import", str(kit))
    fingerprint = attest(laptop, "keys", "node").stdout.split("Node fingerprint: ")[1].split()[0]
    attest(office, "keys", "trust-node", fingerprint)

    mine = json.loads(attest(office, "review", "list", "--documenter", pseudonym, "--json").stdout)
    assert len(mine) == 2 and {i["mode"] for i in mine} == {"documenter"}
    assert json.loads(attest(office, "review", "list", "--mode", "survivor", "--json").stdout) == []
    assert (
        len(json.loads(attest(office, "review", "list", "--mode", "documenter", "--json").stdout))
        == 2
    )
    nobody = attest(office, "review", "list", "--documenter", "doc-000000000000").stdout
    assert nobody.strip() == "No accounts match."

    shown = attest(office, "review", "show", mine[0]["id"]).stdout
    assert f"Recorded by documenter {pseudonym}" in shown
    assert "source: heard from others" in shown
    assert "(affirmed by a documenter)" in shown
    assert "Team north" not in shown

    exported = attest(office, "review", "export", "--format", "json", "--internal").stdout
    document = json.loads(exported)
    records = document["accounts"] if isinstance(document, dict) else document
    recall = next(a for a in records[0]["answers"] if a["step"] == "recall")
    assert recall["source"] == "heard-from-others"
    assert records[0]["documenter"] == pseudonym
    assert records[0]["consent"]["affirmed_by_documenter"] is True
