"""The batched reader: many reads share one transaction, and one failing read fails alone."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Connection, Engine, text

from storage.intake.reader import BatchReader, ReaderClosed
from tests.intake_support import store_engine

__all__ = ["store_engine"]  # fixture used below


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    return store_engine


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
