"""SQLite connections for SQLAlchemy's aiosqlite dialect that cost one thread hop a statement.

aiosqlite runs each sqlite3 call in the connection's own thread and hands the result back to
the event loop: a hop (a queue put, a thread wake-up, a loop wake-up) costs far more CPU than
a small indexed SELECT itself. Through SQLAlchemy's adapter a statement is four hops (make a
cursor, execute, fetch the rows, close the cursor) and a BEGIN three. Here a cursor is a
buffer on the loop's side, and one hop does the whole statement: make the sqlite3 cursor,
execute, fetch every row, close. A transaction's BEGIN goes in the hop of its first statement,
and a COMMIT or ROLLBACK with no transaction open (the pool's reset of every connection it
takes back) costs none. SQLAlchemy fetches every row at once anyway (it buffers
results; Overcast uses no server-side cursors), so nothing is read that would not have been.

The sqlite3 work still runs off the event loop, as before: a statement that waits on a lock
(busy_timeout) never blocks other requests.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL

__all__ = ["OneHopConnection", "connector"]

_Description = tuple[tuple[Any, ...], ...] | None
_Done = tuple[_Description, int, int | None, list[Any]]


def _run(conn: sqlite3.Connection, sql: str, parameters: Any, many: bool,
         begin: str | None) -> _Done:
    """One statement, whole, in the connection's thread; after `begin` (the transaction's
    BEGIN, sent with its first statement)."""
    cur = conn.cursor()
    try:
        if begin is not None:
            cur.execute(begin)
        if many:
            cur.executemany(sql, parameters)
        else:
            cur.execute(sql, parameters)
        rows = cur.fetchall() if cur.description else []
        return cur.description, cur.rowcount, cur.lastrowid, rows
    finally:
        cur.close()


class _Cursor:
    """The part of aiosqlite's Cursor SQLAlchemy's adapter uses, over rows already fetched."""

    def __init__(self, conn: OneHopConnection):
        self._conn = conn
        self._rows: list[Any] = []
        self.description: _Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def _do(self, sql: str, parameters: Any, many: bool) -> _Cursor:
        begin, self._conn.pending_begin = self._conn.pending_begin, None
        done: _Done = await self._conn._execute(  # type: ignore[no-untyped-call]
            _run, self._conn._conn, sql, parameters, many, begin)
        self.description, self.rowcount, self.lastrowid, self._rows = done
        return self

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> _Cursor:
        return await self._do(sql, () if parameters is None else parameters, False)

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> _Cursor:
        return await self._do(sql, list(parameters), True)

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        n = self.arraysize if size is None else size
        out, self._rows = self._rows[:n], self._rows[n:]
        return out

    async def fetchall(self) -> list[Any]:
        out, self._rows = self._rows, []
        return out

    async def close(self) -> None:
        self._rows = []

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        return None

    async def __aiter__(self) -> AsyncIterator[Any]:
        while self._rows:
            yield self._rows.pop(0)


class OneHopConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors do each statement in one hop."""

    #: A transaction's BEGIN, held until its first statement and sent in that one's hop
    #: (common/db.py sets it where SQLAlchemy begins a transaction).
    pending_begin: str | None = None

    def cursor(self) -> _Cursor:  # type: ignore[override]
        # Made on the loop's side: no hop (SQLAlchemy awaits its __aenter__).
        return _Cursor(self)

    # With no transaction open, sqlite3's commit and rollback do nothing: no hop for them
    # (the pool rolls back every connection it takes back, after a commit too).
    async def commit(self) -> None:
        self.pending_begin = None  # begun, no statement: nothing was ever sent
        if self._connection is not None and not self._connection.in_transaction:
            return
        await super().commit()

    async def rollback(self) -> None:
        self.pending_begin = None
        if self._connection is not None and not self._connection.in_transaction:
            return
        await super().rollback()


def connector(url: URL) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """An `async_creator` for create_async_engine: connections to the SQLite database of
    `url`, opened with the arguments SQLAlchemy's aiosqlite dialect would give sqlite3."""
    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(url)
    connect = partial(sqlite3.connect, *args, **kwargs)

    async def create() -> aiosqlite.Connection:
        conn = OneHopConnection(connect, 64)
        conn._thread.daemon = True  # as SQLAlchemy's own connect does: never holds up exit
        return await conn

    return create
