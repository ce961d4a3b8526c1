"""storage/ as three packages (crypto/, intake/, queue/): what existed before keeps working.

- A node database and a queue made by the code before the move (stored as SQL, with their
  keys: tests/fixtures/before_house_move/) open with today's code: the unfinished interview
  resumes, both unsynced accounts sync into the old queue, and a reviewer reads all three.
- A built wheel, installed into a fresh virtual environment, carries both migration folders:
  `attest queue init` and a console turn work from it (an editable install would hide a
  migration folder missing from the package data).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path
from typing import Any

import pytest

from storage.queue.admin import QUEUE_HEAD
from tests.console_driver import ATTEST, cooperative, run_console

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
BEFORE = Path(__file__).resolve().parent / "fixtures" / "before_house_move"


def restore(data: Path) -> None:
    """The data directory as the code before the move left it."""
    data.mkdir(mode=0o700)
    for name in ("intake", "queue"):
        with sqlite3.connect(data / f"{name}.db") as conn:
            conn.executescript((BEFORE / f"{name}.sql").read_text(encoding="utf-8"))
        conn.close()
    shutil.copytree(BEFORE / "demo-reviewer", data / "demo-reviewer")
    shutil.copyfile(BEFORE / "node.key", data / "node.key")
    for key in (data / "node.key", data / "demo-reviewer" / "reviewer.key"):
        key.chmod(0o600)


def clean_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTEST_")}
    return {**env, "ATTEST_DATA_DIR": str(data)}


def attest(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([ATTEST, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def test_a_node_and_a_queue_made_before_the_move_keep_working(tmp_path: Path) -> None:
    data = tmp_path / "data"
    restore(data)
    env = clean_env(data)

    seen: list[str] = []
    agree = cooperative("fixture account three")

    def answer(ask: dict[str, Any]) -> str:
        seen.append(ask["step"])
        return agree(ask)

    events, _ = run_console(data, answer, respondent="fixture-b", env=env)
    assert seen[0] == "resume", "the interview paused before the move did not resume"
    assert events[-1]["type"] == "end" and events[-1].get("reference")

    # The account sealed before the move carries its withdrawal tag in the clear (issue 13):
    # sync keeps it on the node and says why, and sends it only when told to.
    synced = attest(env, "sync")
    assert "1 accounts" in synced.stdout and "--send-old-format" in synced.stderr
    assert "1 accounts" in attest(env, "sync", "--send-old-format").stdout
    fingerprint = attest(env, "keys", "node").stdout.split("Node fingerprint: ")[1].split()[0]
    attest(env, "keys", "trust-node", fingerprint)
    listed = json.loads(attest(env, "review", "list", "--json").stdout)
    assert len(listed) == 3
    shown = "\n".join(attest(env, "review", "show", item["id"]).stdout for item in listed)
    for words in ("fixture account one", "fixture account two", "fixture account three"):
        assert words in shown
    assert attest(env, "review", "audit", "verify").returncode == 0

    with sqlite3.connect(data / "intake.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0006",)]
    conn.close()


def fresh_venv_with_the_wheel(tmp_path: Path) -> Path:
    """A new venv holding the built wheel, its dependencies borrowed from this environment."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, source / name)
    for package in ("bot", "flows", "storage", "review"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(wheels), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("attest-*.whl")

    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # Dependencies come from this environment's site-packages, appended as a plain path:
    # its .pth files (the editable install of this checkout among them) are not run.
    (Path(site) / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return target / "bin"


def test_a_wheel_installed_elsewhere_finds_both_migration_folders(tmp_path: Path) -> None:
    bin_dir = fresh_venv_with_the_wheel(tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**clean_env(work / "data"), "ATTEST_QUEUE_URL": str(work / "queue.db")}

    where = subprocess.run(
        [bin_dir / "python", "-c", "import storage.queue, storage.intake; "
         "print(storage.queue.__file__); print(storage.intake.__file__)"],
        cwd=work, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert str(ROOT) not in where and str(tmp_path / "venv") in where

    init = subprocess.run(
        [bin_dir / "attest", "queue", "init"], cwd=work, env=env, capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr

    console = subprocess.run(
        [bin_dir / "attest", "console", "--jsonl", "--respondent", "wheel"],
        cwd=work, env=env, input="1\n", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert console.returncode == 0, console.stderr
    events = [json.loads(line) for line in console.stdout.splitlines()]
    asks = [e for e in events if e["type"] == "ask"]
    assert len(asks) >= 2, "the first answer was not taken"
    with sqlite3.connect(work / "data" / "intake.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0006",)]
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (1,)
    conn.close()
    with sqlite3.connect(work / "queue.db") as conn:
        (version,) = conn.execute("SELECT version_num FROM alembic_version_queue").fetchone()
    conn.close()
    # 0003: hashed withdrawal secrets, checked node keys (issue 13); 0004: the desk's
    # listing index (issue 20); 0005: mode and documenter columns (issue 19); 0006: reseals,
    # node rotations, signed audit entries (issue 15); 0007: listing order and partial
    # indexes (issue 16). QUEUE_HEAD is kept equal to Alembic's head.
    assert version == QUEUE_HEAD == "0007"
