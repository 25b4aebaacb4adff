"""The body of every service's Alembic env.py: run migrations on the service's async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

__all__ = ["run_migrations"]


def _configure(connection: Connection | None, metadata: MetaData, url: str | None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
        literal_binds=connection is None,
    )


def _run_sync(connection: Connection, metadata: MetaData) -> None:
    _configure(connection, metadata, None)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str, metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run_sync, metadata)
            await conn.commit()
    finally:
        await engine.dispose()


def run_migrations(metadata: MetaData) -> None:
    """Called by `<service>/migrations/env.py` with that service's metadata."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is set by overcast.common.db.alembic_config"
    if context.is_offline_mode():
        _configure(None, metadata, url)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, metadata))
