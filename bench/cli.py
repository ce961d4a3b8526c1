"""`attest review list` wall time at 100,000 accounts, against start-up baselines.

    .venv/bin/python bench/cli.py [--size 100000] [--runs 9]

Fills a SQLite queue (and a PostgreSQL one in a schema of its own when
ATTEST_TEST_DATABASE_URL is set, dropped afterwards) with `--size` accounts (real sealed
JSON copied under fresh ids, 10 % urgent, a tag on 1 %, as bench/sync.py does), then
times whole processes, median of `--runs`, in the same run:

    python -c pass        the interpreter alone
    attest --help         the CLI's own start-up
    attest review list    the command, on SQLite and on PostgreSQL side by side

Each command runs once untimed first. The timed processes run without
PYTHONDONTWRITEBYTECODE (which a development shell may set), so that warm-up writes the
bytecode of Attest's own modules as an installed deployment has it; otherwise every run
compiled them from source again (~100 ms that no user pays).

Beside each listing the bench says which path served it: on a SQLite queue with nothing
to write first, the read-only one (`storage.queue.readonly`: sqlite3, no SQLAlchemy);
on PostgreSQL, or with receipts or withdrawals to apply, the full one (SQLAlchemy). It
finds out by running the command once in a process that reports whether SQLAlchemy was
imported.

Target (issue 16): `review list` on the SQLite queue under 250 ms wall on the
development machine kind. The figures depend on the machine's load: compare the
ratios, which are measured together. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import create_engine  # noqa: E402

from storage.queue.admin import migrate_queue, open_queue  # noqa: E402

PG_URL = os.environ.get("ATTEST_TEST_DATABASE_URL")
ATTEST = str(Path(sys.executable).with_name("attest"))


# Runs `attest review list` in-process and says whether SQLAlchemy was imported for it.
PATH_PROBE = """
import sys
from bot.cli import main
try:
    main(["review", "list"], standalone_mode=False)
finally:
    print("full (SQLAlchemy)" if "sqlalchemy" in sys.modules else "read-only (sqlite3)",
          file=sys.stderr)
"""


def served_by(env: dict[str, str]) -> str:
    """Which path serves `review list` with `env`: read-only (sqlite3) or full (SQLAlchemy)."""
    done = subprocess.run(
        [sys.executable, "-c", PATH_PROBE], env=env, capture_output=True, text=True, check=True
    )
    return done.stderr.strip().splitlines()[-1]


def wall_ms(command: list[str], env: dict[str, str], runs: int) -> float:
    """Median wall time of `command` in milliseconds (one warm-up run first)."""
    subprocess.run(command, env=env, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def filled_sqlite(directory: Path, size: int) -> str:
    from sync import fill_queue  # bench/sync.py

    url = str(directory / "queue.db")
    engine = open_queue(url)
    migrate_queue(engine)
    fill_queue(engine, size)
    engine.dispose()
    return url


def filled_postgres(size: int, schema: str) -> str:
    from sync import fill_queue

    assert PG_URL
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    admin.dispose()
    joiner = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{joiner}options=-csearch_path%3D{schema}"
    engine = open_queue(url)
    migrate_queue(engine)
    fill_queue(engine, size)
    engine.dispose()
    return url


def drop_schema(schema: str) -> None:
    assert PG_URL
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "ATTEST_DATA_DIR": str(work / "data"), "ATTEST_LOG_LEVEL": "ERROR"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # the warm-up run writes bytecode
        print(f"filling a SQLite queue with {args.size} accounts …", file=sys.stderr)
        sqlite_url = filled_sqlite(work, args.size)
        figures: dict[str, float | str | None] = {
            "python_pass_ms": wall_ms([sys.executable, "-c", "pass"], env, args.runs),
            "attest_help_ms": wall_ms([ATTEST, "--help"], env, args.runs),
        }
        list_command = [ATTEST, "review", "list"]
        sqlite_env = {**env, "ATTEST_QUEUE_URL": sqlite_url}
        figures["sqlite_list_ms"] = wall_ms(list_command, sqlite_env, args.runs)
        figures["sqlite_path"] = served_by(sqlite_env)
        figures["postgres_list_ms"] = figures["postgres_path"] = None
        if PG_URL:
            schema = "bench_cli_" + uuid.uuid4().hex[:8]
            try:
                print(f"filling a PostgreSQL queue with {args.size} accounts …", file=sys.stderr)
                pg_env = {**env, "ATTEST_QUEUE_URL": filled_postgres(args.size, schema)}
                figures["postgres_list_ms"] = wall_ms(list_command, pg_env, args.runs)
                figures["postgres_path"] = served_by(pg_env)
            finally:
                drop_schema(schema)
    base, help_ms = float(figures["python_pass_ms"] or 0), float(figures["attest_help_ms"] or 0)
    print(f"machine load (1 min): {load:.1f}" if load is not None else "machine load: unknown")
    print(f"python -c pass             {base:8.1f} ms")
    print(f"attest --help              {help_ms:8.1f} ms   {help_ms / base:5.2f} x python")
    for name, key in (("SQLite", "sqlite"), ("PostgreSQL", "postgres")):
        label = f"review list ({name})".ljust(26)
        measured = figures[f"{key}_list_ms"]
        if measured is None:
            print(f"{label}   skipped (set ATTEST_TEST_DATABASE_URL)")
            continue
        ms = float(measured)
        target = ""
        if key == "sqlite":
            target = "   target < 250 ms: " + ("met" if ms < 250 else "NOT met")
        print(
            f"{label} {ms:8.1f} ms   {ms / base:5.2f} x python   "
            f"{ms / help_ms:5.2f} x --help   {figures[f'{key}_path']}{target}"
        )
    print(json.dumps({"size": args.size, "runs": args.runs, "load": load, **figures}))


if __name__ == "__main__":
    main()
