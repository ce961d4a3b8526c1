"""The batched reader: many reads share one transaction, and one failing read fails alone."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from storage.db import create_store_engine
from storage.reader import BatchReader, ReaderClosed


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url: str | Path = tmp_path / "r.db"
    else:
        url = os.environ.get("ATTEST_TEST_DATABASE_URL", "")
        if not url:
            pytest.skip("ATTEST_TEST_DATABASE_URL is not set")
    made = create_store_engine(url)
    yield made
    made.dispose()


async def test_a_batch_of_reads_each_get_their_own_answer(engine) -> None:  # type: ignore[no-untyped-def]
    reader = BatchReader(engine)

    def number(n: int):  # type: ignore[no-untyped-def]
        return lambda conn: conn.execute(text(f"SELECT {n}")).scalar_one()

    results = await asyncio.gather(*(reader.run(number(n)) for n in range(300)))
    assert results == list(range(300))
    await reader.close()


async def test_a_failing_read_fails_alone_even_after_a_database_error(engine) -> None:  # type: ignore[no-untyped-def]
    reader = BatchReader(engine)

    def broken(conn: Connection) -> int:
        raise ValueError("cannot open")

    def bad_sql(conn: Connection) -> int:
        return int(conn.execute(text("SELECT * FROM no_such_table")).scalar_one())

    def fine(conn: Connection) -> int:
        return int(conn.execute(text("SELECT 7")).scalar_one())

    outcomes = await asyncio.gather(
        reader.run(fine),
        reader.run(broken),
        reader.run(bad_sql),
        reader.run(fine),
        return_exceptions=True,
    )
    assert outcomes[0] == 7 and outcomes[3] == 7
    assert isinstance(outcomes[1], ValueError)
    assert isinstance(outcomes[2], Exception)
    await reader.close()
    with pytest.raises(ReaderClosed):
        await reader.run(fine)
