"""Database access for one service: engine, transactions, migrations.

Each service has its own URL (SQLite file by default; MariaDB and PostgreSQL supported) and its
own Alembic history in `<service>/migrations/`. Two context managers are the whole interface:

    async with db.transaction() as s:   # a write: commits on success, rolls back on error
    async with db.read() as s:          # a read-only snapshot

SQLite refuses to upgrade a deferred read transaction to a write when another writer holds the
lock ("database is locked", which real Keystone leaks as a 500). So on SQLite every write
transaction starts with BEGIN IMMEDIATE, the process serialises its own writers on an
asyncio lock (no busy-waiting in threads), WAL lets readers run beside the writer, and
busy_timeout covers writers in other processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import DateTime, MetaData, event, make_url
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from overcast.common.clock import as_utc
from overcast.common.sqlite import OneHopConnection
from overcast.common.sqlite import connector as sqlite_connector

__all__ = ["NAMING_CONVENTION", "Database", "Timestamp", "alembic_config", "ensure_database", "migrate",
           "new_metadata"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 30_000

class Timestamp(TypeDecorator[datetime]):
    """A point in time: stored as naive UTC (SQLite has no zone), read back as aware UTC.

    Code only ever sees aware datetimes (common/clock.py); a naive value bound here is taken
    as UTC. MariaDB's DATETIME keeps whole seconds unless told otherwise; token revocation and
    list ordering compare times to the microsecond, so every backend must keep them.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def new_metadata() -> MetaData:
    """A MetaData for a service's Base, with constraint names equal on every backend."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _tune_sqlite(engine: AsyncEngine, begin: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so that BEGIN is ours to choose.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        driver = conn.connection.driver_connection
        if isinstance(driver, OneHopConnection):
            driver.pending_begin = begin  # sent with the first statement, in its hop
        else:
            conn.exec_driver_sql(begin)


class Database:
    """Engines and sessions for one service's database."""

    def __init__(self, url: str, *, echo: bool = False):
        self.url = make_url(url)
        self.sqlite = _is_sqlite(self.url)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.sqlite:
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            # One thread hop a statement instead of aiosqlite's four (common/sqlite.py)
            kwargs["async_creator"] = sqlite_connector(self.url)
            self._writer = create_async_engine(self.url, **kwargs)
            self._reader = create_async_engine(self.url, **kwargs)
            _tune_sqlite(self._writer, "BEGIN IMMEDIATE")
            _tune_sqlite(self._reader, "BEGIN")
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20, pool_recycle=3600)
            self._writer = create_async_engine(self.url, **kwargs)
            self._reader = self._writer
        self._write_sessions = async_sessionmaker(self._writer, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self._reader, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.sqlite else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        if self._write_lock is not None:
            async with self._write_lock, self._write_sessions() as session, session.begin():
                yield session
        else:
            async with self._write_sessions() as session, session.begin():
                yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session; nothing it does is committed."""
        async with self._read_sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()


def migrate(service: str, url: str, revision: str = "head") -> None:
    """Upgrade the service's database to `revision` (Alembic's command API)."""
    cfg = alembic_config(service, url)
    command.upgrade(cfg, revision)


def alembic_config(service: str, url: str) -> AlembicConfig:
    """Alembic configuration for `overcast.<service>.migrations` against `url`."""
    import importlib

    module = importlib.import_module(f"overcast.{service}.migrations")
    location = Path(module.__file__ or "").parent
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


async def ensure_database(url: str) -> None:
    """Create the MariaDB/PostgreSQL database named in `url` if it does not exist."""
    u = make_url(url)
    if _is_sqlite(u) or not u.database:
        return
    from sqlalchemy import text

    backend = u.get_backend_name()
    admin = u._replace(database="postgres" if backend == "postgresql" else None)
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            if backend == "postgresql":
                found = await conn.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": u.database})
                if not found:
                    await conn.execute(text(f'CREATE DATABASE "{u.database}"'))
            else:
                await conn.execute(text(
                    f"CREATE DATABASE IF NOT EXISTS `{u.database}` CHARACTER SET utf8mb4"))
    finally:
        await engine.dispose()
