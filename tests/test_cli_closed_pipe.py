"""`attest review list | head -1`: a reader that stops early ends the command quietly.

The pipe's reading end is closed before Attest writes, so every write fails at once, as
with `head -1` after its line. Python ignores SIGPIPE, so the write raises
BrokenPipeError; Attest must not call that an unexpected error to report.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from storage.crypto import NodeKeys
from tests.console_driver import ATTEST
from tests.queue_support import fresh_queue_url, put_many, save_reviewer


def _closed_pipe_run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [ATTEST, *args], env=env, stdout=write, stderr=subprocess.PIPE, text=True, timeout=120
        )
    finally:
        os.close(write)


def test_a_closed_pipe_ends_every_output_path_quietly(tmp_path: Path) -> None:
    url = next(fresh_queue_url("sqlite", tmp_path))
    put_many(url, NodeKeys.generate(), 60)
    env = {
        **os.environ,
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": url,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
    }
    env.pop("ATTEST_REVIEWER_PASSPHRASE", None)
    for args in (
        ["review", "list"],  # receipts to log first: the full path (SQLAlchemy)
        ["review", "list"],  # nothing to write: the fast read-only path
        ["review", "list", "--json"],
        ["review", "audit", "show"],
        ["--help"],
    ):
        done = _closed_pipe_run(args, env)
        assert done.stderr == "", (args, done.stderr)
        assert done.returncode in (0, 141), (args, done.returncode)
