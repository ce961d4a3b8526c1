"""The statements every turn runs, compiled once per database and run on the driver's cursor.

`conn.execute(statement, params)` costs about 40 us in SQLAlchemy (execution context,
cache key, parameter processing, result object) before the driver does anything; the
driver itself takes about 10 us for these one-row statements (bench/telegram.py: the
store's reads and writes share the event loop's core through the GIL). A `HotStatement`
is a Core statement compiled for the connection's dialect the first time it runs there,
then executed on the connection's own DBAPI cursor, inside whatever transaction (and
savepoint) SQLAlchemy has open on it, with the same bind processors SQLAlchemy would
apply (UTC datetimes as SQLite text, for one).

Driver errors are raised as SQLAlchemy's `DBAPIError` subclasses, parameters hidden, so
callers handle them as they handle any statement's (a failure while fetching too). Only
plain statements belong here: bind parameters by name, no expanding IN, no Python-side
column defaults, results without type conversion beyond bytes. The compiled form is kept
per database and driver name for the process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    names: tuple[str, ...]  # in placeholder order when positional
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    fixed: tuple[tuple[str, Any], ...]  # binds with a value of their own (not passed)


class HotStatement:
    """One Core statement, compiled per dialect, run on the DBAPI cursor."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)
        found = self._compiled.get(key)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            if compiled.insert_prefetch or compiled.update_prefetch:
                # Python-side column defaults are computed by SQLAlchemy's execution.
                raise ValueError("hot statements cannot fill in Python-side column defaults")
            binds = compiled.binds
            processors = []
            fixed = []
            for name, bind in binds.items():
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors.append((name, processor))
                if (not bind.required and bind.value is not None) or bind.callable is not None:
                    raise ValueError("hot statements take every value as a parameter")
                if not bind.required:
                    fixed.append((name, None))
            names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(binds)
            found = _Compiled(
                str(compiled), compiled.positional, names, tuple(processors), tuple(fixed)
            )
            self._compiled[key] = found
        return found

    def _run(self, conn: Connection, params: Mapping[str, Any], *, fetch: bool) -> tuple[Any, int]:
        compiled = self._for(conn.dialect)
        values = dict(params)
        for name, value in compiled.fixed:
            values.setdefault(name, value)
        for name, processor in compiled.processors:
            values[name] = processor(values[name])
        bound: Any = tuple(values[n] for n in compiled.names) if compiled.positional else values
        dbapi_connection = conn.connection.dbapi_connection
        assert dbapi_connection is not None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, bound)
            return (cursor.fetchone() if fetch else None), cursor.rowcount
        except conn.dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(
                compiled.sql,
                None,
                error,
                conn.dialect.loaded_dbapi.Error,
                hide_parameters=True,
                dialect=conn.dialect,
            ) from error
        finally:
            cursor.close()

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row (bytes as bytes), or None."""
        row, _ = self._run(conn, params, fetch=True)
        if row is None:
            return None
        return tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)

    def rowcount(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run it; how many rows it changed."""
        _, count = self._run(conn, params, fetch=False)
        return int(count)
