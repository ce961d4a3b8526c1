"""`attest review list` wall time at 100,000 accounts, against start-up baselines.

    .venv/bin/python bench/cli.py [--size 100000] [--runs 9]

Fills a SQLite queue (and a PostgreSQL one in a schema of its own when
ATTEST_TEST_DATABASE_URL is set, dropped afterwards) with `--size` accounts (real sealed
JSON copied under fresh ids, 10 % urgent, a tag on 1 %, as bench/sync.py does), then
times whole processes, median of `--runs`, in the same run:

    python -c pass        the interpreter alone
    attest --help         the CLI's own start-up
    attest review list    the command (SQLite; PostgreSQL printed beside it)

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
        print(f"filling a SQLite queue with {args.size} accounts …", file=sys.stderr)
        sqlite_url = filled_sqlite(work, args.size)
        figures: dict[str, float | None] = {
            "python_pass_ms": wall_ms([sys.executable, "-c", "pass"], env, args.runs),
            "attest_help_ms": wall_ms([ATTEST, "--help"], env, args.runs),
        }
        list_command = [ATTEST, "review", "list"]
        figures["sqlite_list_ms"] = wall_ms(
            list_command, {**env, "ATTEST_QUEUE_URL": sqlite_url}, args.runs
        )
        figures["postgres_list_ms"] = None
        if PG_URL:
            schema = "bench_cli_" + uuid.uuid4().hex[:8]
            try:
                print(f"filling a PostgreSQL queue with {args.size} accounts …", file=sys.stderr)
                pg_url = filled_postgres(args.size, schema)
                figures["postgres_list_ms"] = wall_ms(
                    list_command, {**env, "ATTEST_QUEUE_URL": pg_url}, args.runs
                )
            finally:
                drop_schema(schema)
    base, help_ms, sqlite_ms = (
        figures["python_pass_ms"],
        figures["attest_help_ms"],
        figures["sqlite_list_ms"],
    )
    assert base and help_ms and sqlite_ms
    print(f"machine load (1 min): {load:.1f}" if load is not None else "machine load: unknown")
    print(f"python -c pass        {base:8.1f} ms")
    print(f"attest --help         {help_ms:8.1f} ms   {help_ms / base:5.2f} x python")
    print(
        f"review list (SQLite)  {sqlite_ms:8.1f} ms   {sqlite_ms / base:5.2f} x python   "
        f"{sqlite_ms / help_ms:5.2f} x --help   target < 250 ms: "
        + ("met" if sqlite_ms < 250 else "NOT met")
    )
    pg_ms = figures["postgres_list_ms"]
    if pg_ms is not None:
        print(
            f"review list (Postgres){pg_ms:8.1f} ms   {pg_ms / base:5.2f} x python   "
            f"{pg_ms / help_ms:5.2f} x --help"
        )
    else:
        print("review list (Postgres)  skipped (set ATTEST_TEST_DATABASE_URL)")
    print(json.dumps({"size": args.size, "runs": args.runs, "load": load, **figures}))


if __name__ == "__main__":
    main()
