"""The desk's queue page with 100,000 accounts: one page of rows, and the whole page served.

    .venv/bin/python bench/desk_paging.py [--size 100000]

For SQLite, and for PostgreSQL when ATTEST_TEST_DATABASE_URL is set (in a schema of its
own, dropped afterwards), it fills a queue as bench/sync.py does (10 % urgent, a tag on
1 %, three languages) and times, as medians of 21 runs:

    listing   storage.queue.listing.list_page: 50 rows, the filtered total and the
              counts by status, for the first, a middle and the last page, and filtered
    page      GET /queue through the desk application (unlocked, in process, no
              network): reconcile, listing, the filter menus, the template

The target is under 100 ms per page. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from bench.sync import PG_URL, drop_schemas, fill_queue, pg_queue_factory
from review.desk.app import Desk, build_app
from storage.crypto import FAST_KDF, generate_reviewer_key
from storage.queue.admin import migrate_queue, open_queue
from storage.queue.listing import PAGE_SIZE, Filters, list_page

PASSPHRASE = "bench"
PORT = 8731


def median_ms(work: Callable[[], Any], runs: int = 21) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples) * 1000, 2)


def prepare(engine: Engine, size: int) -> None:
    fill_queue(engine, size)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE accounts SET language = CASE WHEN substr(id, 1, 1) IN ('0', '1') "
                "THEN 'ar' WHEN substr(id, 1, 1) IN ('2', '3') THEN 'fa' ELSE 'en' END, "
                "flow = 'survivor'"
            )
        )
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load: statistics, and the visibility map
        # that lets an index-only scan skip the table (without it a deep OFFSET visits
        # every skipped row's heap page).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE accounts")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def measure(engine: Engine, url: str, size: int, work: Path) -> dict[str, float]:
    prepare(engine, size)
    last = max(0, (size - 1) // PAGE_SIZE) * PAGE_SIZE
    results = {
        "first_page": median_ms(lambda: list_page(engine, Filters(), offset=0)),
        "middle_page": median_ms(lambda: list_page(engine, Filters(), offset=last // 2)),
        "last_page": median_ms(lambda: list_page(engine, Filters(), offset=last)),
        "language_ar": median_ms(lambda: list_page(engine, Filters(language="ar"))),
        "tag": median_ms(lambda: list_page(engine, Filters(tag="detention"))),
        "urgent": median_ms(lambda: list_page(engine, Filters(urgent_only=True))),
    }
    work.mkdir(parents=True, exist_ok=True)
    key_path = work / "reviewer.key"
    generate_reviewer_key("x25519").save(key_path, PASSPHRASE, kdf_params=FAST_KDF)
    env = {
        "ATTEST_QUEUE_URL": url,
        "ATTEST_REVIEWER_KEY": str(key_path),
        "ATTEST_DATA_DIR": str(work / "data"),
        "ATTEST_AUDIT_WITNESS": str(work / "witness.json"),
        "ATTEST_TRUSTED_NODES": str(work / "pins.json"),
    }
    desk = Desk(env, port=PORT, idle_seconds=900)
    with TestClient(build_app(desk), base_url=f"http://127.0.0.1:{PORT}") as client:
        page = client.get("/unlock")
        token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        client.post(
            "/unlock",
            data={"csrf": token, "passphrase": PASSPHRASE},
            headers={"origin": f"http://127.0.0.1:{PORT}"},
        )
        assert client.get("/queue").status_code == 200
        results["served_first_page"] = median_ms(lambda: client.get("/queue"))
        middle = last // PAGE_SIZE // 2 + 1
        results["served_middle_page"] = median_ms(lambda: client.get(f"/queue?page={middle}"))
        results["served_last_page"] = median_ms(
            lambda: client.get(f"/queue?page={last // PAGE_SIZE + 1}")
        )
        results["served_language_ar"] = median_ms(lambda: client.get("/queue?language=ar"))
    desk.ctx.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    summary: dict[str, Any] = {"size": args.size}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = str(work / "queue.db")
        engine = open_queue(url)
        migrate_queue(engine)
        summary["sqlite"] = measure(engine, url, args.size, work / "sqlite")
        engine.dispose()
        print("sqlite ms:", summary["sqlite"], file=sys.stderr)
        if PG_URL:
            schemas: list[str] = []
            try:
                engine = pg_queue_factory(schemas)()
                joiner = "&" if "?" in PG_URL else "?"
                pg_url = f"{PG_URL}{joiner}options=-csearch_path%3D{schemas[-1]}"
                summary["postgresql"] = measure(engine, pg_url, args.size, work / "pg")
                engine.dispose()
                print("postgresql ms:", summary["postgresql"], file=sys.stderr)
            finally:
                drop_schemas(schemas)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
