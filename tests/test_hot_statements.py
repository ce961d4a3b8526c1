"""Statements run on the driver's cursor behave as SQLAlchemy's own execution would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from storage.intake.hot import HotStatement
from storage.intake.tables import metadata, processed_updates
from tests.intake_support import store_engine

__all__ = ["store_engine"]  # fixture used below

WHEN = datetime(2026, 11, 27, 3, 0, tzinfo=timezone(timedelta(hours=4, minutes=30)))

INSERT = HotStatement(
    insert(processed_updates).values(
        update_key=bindparam("update_key"),
        processed_at=bindparam("processed_at"),
        respondent=bindparam("respondent"),
        reply=bindparam("reply"),
    )
)
REPLY = HotStatement(
    select(processed_updates.c.reply, processed_updates.c.respondent).where(
        processed_updates.c.update_key == bindparam("update_key")
    )
)
CLEAR = HotStatement(
    update(processed_updates)
    .where(processed_updates.c.update_key == bindparam("update_key"))
    .values(respondent=None, reply=None)
)


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    metadata.create_all(store_engine)
    return store_engine


def row(key: str) -> dict[str, object]:
    return {"update_key": key, "processed_at": WHEN, "respondent": "r" * 64, "reply": b"\x00sealed"}


def test_values_are_stored_as_sqlalchemy_would_store_them(engine: Engine) -> None:
    with engine.begin() as conn:
        INSERT.rowcount(conn, row("telegram:1"))
        conn.execute(insert(processed_updates).values(**row("telegram:2")))
    with engine.connect() as conn:
        got = conn.execute(
            select(processed_updates.c.update_key, processed_updates.c.processed_at).order_by(
                processed_updates.c.update_key
            )
        ).all()
        # The aware time comes back equal (UTC), and orders with SQLAlchemy-written rows.
        assert [(k, t) for k, t in got] == [("telegram:1", WHEN), ("telegram:2", WHEN)]
        assert got[0][1].tzinfo == UTC
        assert REPLY.first(conn, {"update_key": "telegram:1"}) == (b"\x00sealed", "r" * 64)
        assert REPLY.first(conn, {"update_key": "telegram:3"}) is None
        conn.rollback()


def test_rowcount_fixed_nulls_and_the_surrounding_transaction(engine: Engine) -> None:
    with engine.begin() as conn:
        INSERT.rowcount(conn, row("telegram:1"))
    with engine.connect() as conn:
        with conn.begin() as transaction:
            assert CLEAR.rowcount(conn, {"update_key": "telegram:1"}) == 1
            assert REPLY.first(conn, {"update_key": "telegram:1"}) == (None, None)
            transaction.rollback()  # runs inside SQLAlchemy's transaction: undone with it
        with conn.begin():
            assert REPLY.first(conn, {"update_key": "telegram:1"}) == (b"\x00sealed", "r" * 64)
            assert CLEAR.rowcount(conn, {"update_key": "telegram:9"}) == 0


def test_a_driver_error_is_sqlalchemys_error_without_the_values(engine: Engine) -> None:
    with engine.begin() as conn:
        INSERT.rowcount(conn, row("telegram:1"))
    with engine.connect() as conn, conn.begin(), pytest.raises(IntegrityError) as raised:
        INSERT.rowcount(conn, row("telegram:1"))
    assert "sealed" not in str(raised.value) and "rrrr" not in str(raised.value)


def test_a_value_baked_into_the_statement_is_refused(engine: Engine) -> None:
    baked = HotStatement(
        select(processed_updates.c.reply).where(processed_updates.c.update_key == "telegram:1")
    )
    with engine.connect() as conn, pytest.raises(ValueError, match="every value as a parameter"):
        baked.first(conn, {})


def test_a_python_side_column_default_is_refused(engine: Engine) -> None:
    from sqlalchemy import Column, Integer, MetaData, String, Table

    scratch = Table(
        "scratch",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("label", String(10), default="filled in"),
    )
    statement = HotStatement(insert(scratch).values(id=bindparam("id")))
    with engine.connect() as conn, pytest.raises(ValueError, match="column defaults"):
        statement.rowcount(conn, {"id": 1})
