"""Drive `attest console --jsonl` as a separate process, answering like a person would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ATTEST = str(Path(sys.executable).with_name("attest"))

# The answer a cooperative adult survivor gives at each choice, by option value.
PREFERRED = (
    "en",
    "yes",
    "self",
    "adult",
    "18-or-over",
    "over-18",
    "resume",
    "continue",
    "anonymised",
    "done",
    "send",
)


def cooperative(text: str) -> Callable[[dict[str, Any]], str]:
    """An answerer that agrees to everything and types `text` into every text question."""

    def answer(ask: dict[str, Any]) -> str:
        options = ask["options"]
        if ask["kind"] in {"free-text", "approximate-date", "place"}:
            return text
        values = [o["value"] for o in options]
        if ask["kind"] == "multiple-choice":
            firsts = [o for o in options if o["value"] not in {"dont-know", "prefer-not"}]
            return ",".join(str(o["n"]) for o in firsts[:2])
        for wanted in PREFERRED:
            if wanted in values:
                return str(values.index(wanted) + 1)
        return "1"

    return answer


def run_console(
    data_dir: Path,
    answer: Callable[[dict[str, Any]], str],
    *,
    respondent: str = "tester",
    env: Mapping[str, str] | None = None,
    max_turns: int = 300,
    timeout: float = 60,
    args: Sequence[str] = (),
) -> tuple[list[dict[str, Any]], str]:
    """Run one console interview to its end; return (events, stderr)."""
    full_env = {**os.environ, "ATTEST_DATA_DIR": str(data_dir), **(env or {})}
    process = subprocess.Popen(
        [ATTEST, "console", "--jsonl", "--respondent", respondent, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=full_env,
    )
    assert process.stdin and process.stdout
    events: list[dict[str, Any]] = []
    try:
        for _ in range(max_turns * 20):
            line = process.stdout.readline()
            if not line:
                break
            event = json.loads(line)
            events.append(event)
            if event["type"] == "end":
                break
            if event["type"] == "ask":
                process.stdin.write(answer(event) + "\n")
                process.stdin.flush()
        _, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    return events, stderr
