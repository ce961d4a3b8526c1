"""Privacy canary: no answer text, chat id or token leaves in clear, anywhere.

A whole interview runs at DEBUG log level through the real node (settings, keys, store,
dispatcher, terminal channel), with a forced failure part-way whose exception message
quotes the answer (as a database driver might). Afterwards every file under the data
directory and the temporary directory (database, WAL, journal, logs, temporary files)
and everything written to stdout/stderr is searched for the canaries, in UTF-8, UTF-16,
JSON escapes, base64 and hex.
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from bot.console import run_console
from bot.logs import configure_logging, register_secret
from bot.node import open_node
from bot.settings import load_settings
from tests.console_driver import cooperative

CANARY = "Ωcanary-ДЖ-ઊ-لصق-Ꙭ"  # unique, non-ASCII
CHAT_ID = "7713904455"
TOKEN = "6123456789:AAHcanaryTOKENcanaryTOKENcanary12345"


def encodings(secret: str) -> list[bytes]:
    """Every form the secret could take in a file or a log."""
    raw = secret.encode("utf-8")
    forms = [
        raw,
        secret.encode("utf-16-le"),
        secret.encode("utf-16-be"),
        json.dumps(secret).strip('"').encode(),  # \uXXXX escapes
        raw.hex().encode(),
        raw.hex().upper().encode(),
    ]
    for shift in range(3):  # base64 of the secret at each alignment inside a longer blob
        encoded = base64.b64encode(b"\0" * shift + raw)
        forms.append(encoded[4 : len(encoded) - 4])
        url = base64.urlsafe_b64encode(b"\0" * shift + raw)
        forms.append(url[4 : len(url) - 4])
    return [f for f in forms if len(f) >= 8]


def find(secret: str, blobs: dict[str, bytes]) -> list[str]:
    return [
        f"{name} ({form[:12]!r})"
        for name, blob in blobs.items()
        for form in encodings(secret)
        if form in blob
    ]


class ScriptedStdin(io.StringIO):
    """Answers each ask the console printed, like a person at the keyboard."""

    def __init__(self, stdout: io.StringIO, answer: Any) -> None:
        super().__init__()
        self.stdout = stdout
        self.answer = answer
        self.read_upto = 0

    def isatty(self) -> bool:
        return False

    def readline(self, size: int | None = -1) -> str:
        lines = self.stdout.getvalue().splitlines()
        asks = [json.loads(line) for line in lines if '"type": "ask"' in line]
        return self.answer(asks[-1]) + "\n"


def files_under(*roots: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                found[str(path)] = path.read_bytes()
    return found


async def test_no_canary_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp_dir))
    monkeypatch.setenv("ATTEST_TELEGRAM_TOKEN", TOKEN)
    settings = load_settings({"ATTEST_DATA_DIR": str(data_dir), "ATTEST_LOG_LEVEL": "DEBUG"})
    configure_logging("DEBUG")
    register_secret(os.environ["ATTEST_TELEGRAM_TOKEN"])
    node = await open_node(settings)

    # Fail one turn part-way, with the answer in the exception message.
    commit = node.store.commit_turn
    failures = []

    async def failing_once(respondent: str, turn: Any, **kwargs: Any) -> Any:
        if not failures and turn.session is not None and "impact" in turn.session.answers:
            failures.append(True)
            raise RuntimeError(f"constraint failed for value {CANARY!r} token {TOKEN}")
        return await commit(respondent, turn, **kwargs)

    node.store.commit_turn = failing_once
    stdout = io.StringIO()
    answered = cooperative(f"{CANARY} they came at night")
    try:
        reason = await run_console(
            node.dispatcher,
            respondent_name=CHAT_ID,
            flow=None,
            stdin=ScriptedStdin(stdout, answered),
            stdout=stdout,
            jsonl=True,
        )
    finally:
        await node.close()
        configure_logging("WARNING")
    assert failures, "the forced failure did not happen"
    assert reason == "submitted"
    assert "something went wrong on our side" in stdout.getvalue()

    captured = capfd.readouterr()
    blobs = files_under(data_dir, temp_dir)
    assert any(name.endswith("intake.db") for name in blobs)
    blobs["stderr"] = captured.err.encode()
    blobs["stdout (outside the conversation)"] = captured.out.encode()
    assert "(message withheld)" in captured.err  # the failure was logged, without content
    # The search itself works: the conversation (the person's own screen) has the canary.
    assert find(CANARY, {"conversation": stdout.getvalue().encode("utf-8")})
    for secret in (CANARY, CHAT_ID, TOKEN):
        assert find(secret, blobs) == [], f"{secret[:6]}… leaked"
