"""The whole path as separate processes: interview, sync, pin, list, show; then withdrawal.

attest console --jsonl  ->  attest sync  ->  attest keys trust-node FP
->  attest review list  ->  attest review show ID  (answers printed)
attest console --jsonl (/withdraw CODE)  ->  attest sync  ->  gone from list and show
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console_driver import ATTEST, cooperative, run_console
from tests.queue_support import BACKENDS, create_schema, drop_schema, pg_schema_url, require_backend

pytestmark = pytest.mark.slow
RECALL = "They closed the girls' school in our district and took the teacher away."


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    require_backend(request.param)
    base = {**os.environ, "ATTEST_DATA_DIR": str(tmp_path / "data")}
    for name in ("ATTEST_REVIEWER_KEY", "ATTEST_REVIEWER_PASSPHRASE", "ATTEST_TRUSTED_NODES"):
        base.pop(name, None)
    if request.param == "sqlite":
        yield {**base, "ATTEST_QUEUE_URL": str(tmp_path / "queue.db")}
        return
    schema = create_schema()
    try:
        environment = {**base, "ATTEST_QUEUE_URL": pg_schema_url(schema)}
        attest(environment, "queue", "init")
        yield environment
    finally:
        drop_schema(schema)


def attest(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([ATTEST, *args], env=env, capture_output=True, text=True, timeout=120)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def test_an_interview_reaches_a_reviewer_and_a_withdrawal_removes_it(env: dict[str, str]) -> None:
    data = Path(env["ATTEST_DATA_DIR"])
    events, _ = run_console(data, cooperative(RECALL), env=env)
    reference = events[-1]["reference"]

    synced = attest(env, "sync")
    assert "1 accounts" in synced.stdout
    listed = attest(env, "review", "list").stdout
    account_id = listed.splitlines()[1].split()[0]  # under the header row (issue 16)
    assert "UNPINNED NODE" in listed
    refused = attest(env, "review", "show", account_id, ok=False)
    assert refused.returncode == 1 and RECALL not in refused.stdout

    fingerprint = attest(env, "keys", "node").stdout.split("Node fingerprint: ")[1].split()[0]
    attest(env, "keys", "trust-node", fingerprint)
    shown = attest(env, "review", "show", account_id)
    assert "DEMO reviewer key" in shown.stderr
    out = shown.stdout
    assert out.index("Consent") < out.index("Answers")
    assert "In your own words, what happened?" in out
    assert RECALL in out

    said: list[Any] = []

    def withdraw(ask: dict[str, Any]) -> str:
        said.append(ask["step"])
        if len(said) == 1:
            return "/withdraw"
        if ask["step"] == "withdraw-code":
            return reference.lower().replace("-", " ")
        return "1"

    events, _ = run_console(data, withdraw, env=env, respondent="someone-else")
    assert events[-1]["reason"] == "withdrawn"
    assert "1 withdrawal requests" in attest(env, "sync").stdout
    assert attest(env, "review", "list").stdout.strip() == "No accounts match."
    gone = attest(env, "review", "show", account_id, ok=False)
    assert "withdrawn" in gone.stderr and RECALL not in gone.stdout
    assert attest(env, "review", "audit", "verify").returncode == 0
