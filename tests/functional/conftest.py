"""An in-process cloud for functional tests: real SQLite (or $OVERCAST_TEST_DATABASE), real
migrations, the app's lifespan entered, httpx over ASGI."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from overcast.cli import bootstrap, db_upgrade
from overcast.config import Config, load_config
from tests.conftest import port_open, require
from tests.helpers import scrubbed_env

ADMIN_PASSWORD = "admin-secret"


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Enter the app's lifespan and give its state to every request, as uvicorn does."""
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            scope = {**scope, "state": dict(state or {})}
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def make_config(tmp_path: Path, **overrides: str) -> Config:
    # Fast tests: the bcrypt cost is not what they are about.
    env = scrubbed_env(OVERCAST_IDENTITY__PASSWORD_HASH_ROUNDS="4", **overrides)
    return load_config(tmp_path / "state", environ=env)


# The same functional tests run on each database kind the project supports.
BACKENDS = {
    "sqlite": None,
    "mariadb": ("127.0.0.1", 3306, "mysql+asyncmy://root@127.0.0.1:3306/{db}"),
    "postgresql": ("127.0.0.1", 5432, "postgresql+asyncpg://postgres@127.0.0.1:5432/{db}"),
}


def new_database_url(backend: str, prefix: str) -> str | None:
    """The URL of a database yet to be made on `backend` (None for SQLite: the state directory's
    file); skips or fails (`require`) when that server is not running."""
    spec = BACKENDS[backend]
    if spec is None:
        return None
    host, port, template = spec
    require(backend, port_open(host, port), f"nothing listens on {host}:{port}")
    return template.format(db=f"{prefix}_{uuid.uuid4().hex[:12]}")


async def _drop_database(url: str) -> None:
    from sqlalchemy import make_url, text
    from sqlalchemy.ext.asyncio import create_async_engine

    u = make_url(url)
    pg = u.get_backend_name() == "postgresql"
    engine = create_async_engine(u._replace(database="postgres" if pg else None),
                                 isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            if pg:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
            else:
                await conn.execute(text(f"DROP DATABASE IF EXISTS `{u.database}`"))
    finally:
        await engine.dispose()


@pytest.fixture(params=list(BACKENDS))
async def cloud_config(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Config]:
    overrides: dict[str, str] = {}
    url = new_database_url(request.param, "oc_test")
    if url is not None:
        overrides["OVERCAST_IDENTITY__DATABASE_URL"] = url
    config = make_config(tmp_path, **overrides)
    await db_upgrade(config, ["identity"])
    await bootstrap(config, ADMIN_PASSWORD)
    try:
        yield config
    finally:
        if url is not None:
            await _drop_database(url)
