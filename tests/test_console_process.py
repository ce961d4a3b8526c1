"""`attest console --jsonl` as a separate process: whole interviews, and a crash mid-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.console_driver import ATTEST, cooperative, run_console

pytestmark = pytest.mark.slow

RECALL = "They closed the girls' school in our district and took the teacher away."


def test_a_whole_interview_ends_with_a_reference_code(tmp_path: Path) -> None:
    events, stderr = run_console(tmp_path / "data", cooperative(RECALL))
    end = events[-1]
    assert end["type"] == "end"
    assert end["reason"] == "submitted"
    assert len(end["reference"].replace("-", "")) >= 10
    asked = [e["step"] for e in events if e["type"] == "ask"]
    # Safety comes before consent, consent before the account, free recall first.
    assert asked.index("safety") < asked.index("consent-archive") < asked.index("recall")
    assert asked[-1] == "review"
    # The reference code is shown to the person, not only in the end event.
    assert any(end["reference"] in e.get("text", "") for e in events if e["type"] == "message")
    # First run: the demo reviewer key is announced loudly, and only on stderr.
    assert "DEMO reviewer key" in stderr
    assert (tmp_path / "data" / "node.key").exists()


def test_every_answer_can_be_skipped_and_the_account_still_sent(tmp_path: Path) -> None:
    base = cooperative(RECALL)
    # The last consent check needs an answer too: /skip there is refused, never a yes.
    consent = {"language", "safety", "route", "age", "consent-archive", "consent-final"}
    consent |= {"review", "more"}

    def skipper(ask: dict[str, Any]) -> str:
        if ask["step"] in consent or ask["step"].startswith("check-in"):
            return base(ask)
        return "/skip"

    events, _ = run_console(tmp_path / "data", skipper)
    assert events[-1]["reason"] == "submitted"
    review = next(e for e in events if e["type"] == "ask" and e["step"] == "review")
    # Issue 14: with every answer about what happened skipped, the review says so
    # gently and asks whether to send it anyway (it was a list of "Skipped").
    assert "nothing about what happened was recorded" in review["text"]


def test_declining_consent_ends_kindly_and_keeps_nothing(tmp_path: Path) -> None:
    base = cooperative(RECALL)

    def decliner(ask: dict[str, Any]) -> str:
        if ask["step"] == "consent-archive":
            values = [o["value"] for o in ask["options"]]
            return str(values.index("no") + 1)
        return base(ask)

    events, _ = run_console(tmp_path / "data", decliner)
    assert events[-1] == {"type": "end", "reason": "declined"}
    # Coming back starts afresh: nothing was kept, so there is nothing to resume.
    events, _ = run_console(tmp_path / "data", lambda ask: "/exit")
    assert events[0]["type"] == "ask" and events[0]["step"] != "resume"


def _spawn(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [ATTEST, "console", "--jsonl", "--respondent", "crash-test"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        env={**os.environ, "ATTEST_DATA_DIR": str(data_dir)},
    )


def test_sigkill_mid_interview_then_resume_with_every_answer_intact(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    answer = cooperative(RECALL)
    process = _spawn(data_dir)
    assert process.stdin and process.stdout
    pending = None
    try:
        while True:
            event = json.loads(process.stdout.readline())
            if event["type"] != "ask":
                continue
            if event["step"] == "when-started":
                # Every earlier answer was acknowledged (the next question was shown).
                pending = event["step"]
                os.kill(process.pid, signal.SIGKILL)
                break
            process.stdin.write(answer(event) + "\n")
            process.stdin.flush()
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert pending == "when-started"

    seen: list[str] = []

    def resumer(ask: dict[str, Any]) -> str:
        seen.append(ask["step"])
        return answer(ask)

    events, _ = run_console(data_dir, resumer, respondent="crash-test")
    asks = [e for e in events if e["type"] == "ask"]
    assert asks[0]["step"] == "resume"
    assert {o["value"] for o in asks[0]["options"]} == {"resume", "restart"}
    assert asks[1]["step"] == pending  # the pending question, asked again
    # The review may come in several messages (long ones are split); the ask is the last.
    at = next(i for i, e in enumerate(events) if e.get("step") == "review")
    start = max(i for i, e in enumerate(events[:at]) if e["type"] == "ask") + 1
    review = "\n".join(e["text"] for e in events[start : at + 1])
    assert RECALL in review  # the free recall from before the crash is intact
    assert "consent-archive" not in seen  # nothing before the crash was asked again
    assert events[-1]["reason"] == "submitted"


def test_quick_exit_by_bare_word_leaves_no_trace_of_the_draft_key(tmp_path: Path) -> None:
    import sqlite3

    data_dir = tmp_path / "data"
    answer = cooperative(RECALL)

    def until_recall(ask: dict[str, Any]) -> str:
        return "/pause" if ask["step"] == "when-started" else answer(ask)

    events, _ = run_console(data_dir, until_recall, respondent="exit-test")
    assert events[-1]["reason"] == "paused"
    with sqlite3.connect(data_dir / "intake.db") as conn:
        wrapped_key, blob = conn.execute("SELECT wrapped_key, blob FROM sessions").fetchone()
    assert len(wrapped_key) >= 32

    events, _ = run_console(data_dir, lambda ask: "EXIT", respondent="exit-test")
    assert events[-1] == {"type": "end", "reason": "exited"}
    for path in data_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert bytes(wrapped_key) not in content, path.name
            assert bytes(blob)[:64] not in content, path.name


def test_a_code_matching_nothing_ends_as_a_request_not_a_withdrawal(tmp_path: Path) -> None:
    """The end event must not say "withdrawn" when the team has yet to find the account."""
    asked: list[str] = []

    def withdraw(ask: dict[str, Any]) -> str:
        asked.append(ask["step"])
        if len(asked) == 1:
            return "/withdraw"
        if ask["step"] == "withdraw-code":
            return "66WQ-96HV-VC"  # a code this node never sent: refused once, then recorded
        return "1"

    events, _ = run_console(tmp_path / "data", withdraw)
    assert asked.count("withdraw-code") == 2
    assert events[-1] == {"type": "end", "reason": "withdrawal-requested"}
