"""`attest console` under a person's Ctrl-C: it stops at once and keeps what was answered."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.console_driver import ATTEST, cooperative, run_console

pytestmark = pytest.mark.slow

RECALL = "They took my sister from the market."


def _spawn(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [ATTEST, "console", "--jsonl", "--respondent", "ctrl-c"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        env={**os.environ, "ATTEST_DATA_DIR": str(data_dir)},
    )


def _wait(process: subprocess.Popen[str], seconds: float) -> int | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return process.returncode
        time.sleep(0.05)
    return None


def test_ctrl_c_at_the_prompt_stops_at_once_and_keeps_earlier_answers(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    answer = cooperative(RECALL)
    process = _spawn(data_dir)
    assert process.stdin and process.stdout
    try:
        while True:
            event = json.loads(process.stdout.readline())
            if event["type"] != "ask":
                continue
            if event["step"] == "when-started":
                break  # the recall was acknowledged: the next question is shown
            process.stdin.write(answer(event) + "\n")
            process.stdin.flush()
        time.sleep(0.2)  # waiting at the prompt, as a person would be
        process.send_signal(signal.SIGINT)
        # Standard input stays open: Ctrl-C alone must stop the console, not the next line.
        returncode = _wait(process, 10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert returncode == 130

    seen: list[str] = []

    def resumer(ask: dict[str, Any]) -> str:
        seen.append(ask["step"])
        return answer(ask)

    events, _ = run_console(data_dir, resumer, respondent="ctrl-c")
    asks = [e for e in events if e["type"] == "ask"]
    assert asks[0]["step"] == "resume"
    assert asks[1]["step"] == "when-started"
    review = next(e for e in asks if e["step"] == "review")
    assert RECALL in review["text"]
    assert events[-1]["reason"] == "submitted"
