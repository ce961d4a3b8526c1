"""`attest review list | head -1`: a reader that stops early ends the command quietly.

The pipe's reading end is closed before Attest writes, so every write fails at once, as
with `head -1` after its line. Python ignores SIGPIPE, so the write raises
BrokenPipeError; Attest must not call that an unexpected error to report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import update

from storage.crypto import NodeKeys
from storage.queue.admin import open_queue
from storage.queue.tables import accounts
from tests.console_driver import ATTEST
from tests.queue_support import PASSPHRASE, fresh_queue_url, put_many, save_reviewer

LOADED = """
import atexit, sys
from bot.cli import main
atexit.register(lambda: print({module!r} in sys.modules, file=sys.stderr))
main({args!r}, prog_name="attest")
"""


def _closed_pipe_run(
    args: list[str], env: dict[str, str], loaded: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`attest ARGS` writing into a pipe nobody reads any more; with `loaded`, stderr's
    last line says whether that module was imported (which path the command took)."""
    read, write = os.pipe()
    os.close(read)
    command = (
        [ATTEST, *args]
        if loaded is None
        else [sys.executable, "-c", LOADED.format(module=loaded, args=args)]
    )
    try:
        return subprocess.run(
            command, env=env, stdout=write, stderr=subprocess.PIPE, text=True, timeout=120
        )
    finally:
        os.close(write)


def test_a_closed_pipe_ends_every_output_path_quietly(tmp_path: Path) -> None:
    url = next(fresh_queue_url("sqlite", tmp_path))
    put_many(url, NodeKeys.generate(), 60)
    engine = open_queue(url)
    with engine.begin() as conn:  # receipts to log: the next listing takes the full path
        conn.execute(update(accounts).values(receipt_logged=False))
    engine.dispose()
    env = {
        **os.environ,
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": url,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
        "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,  # to log them, without a prompt
    }
    full = _closed_pipe_run(["review", "list"], env, loaded="sqlalchemy")
    assert full.stderr.splitlines() == ["True"], full.stderr  # SQLAlchemy: the full path
    assert full.returncode in (0, 141)
    env.pop("ATTEST_REVIEWER_PASSPHRASE")
    fast = _closed_pipe_run(["review", "list"], env, loaded="sqlalchemy")
    assert fast.stderr.splitlines() == ["False"], fast.stderr  # the fast read-only path
    assert fast.returncode in (0, 141)
    for args in (
        ["review", "list"],
        ["review", "list", "--json"],
        ["review", "audit", "show"],
        ["--help"],
    ):
        done = _closed_pipe_run(args, env)
        assert done.stderr == "", (args, done.stderr)
        assert done.returncode in (0, 141), (args, done.returncode)
