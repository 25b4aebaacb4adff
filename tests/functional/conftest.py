"""An in-process cloud for functional tests: real SQLite (or $OVERCAST_TEST_DATABASE), real
migrations, the app's lifespan entered, httpx over ASGI."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from overcast.cli import bootstrap, db_upgrade
from overcast.config import Config, load_config
from tests.conftest import port_open, require

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
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERCAST_")}
    # Fast tests: the bcrypt cost is not what they are about.
    env["OVERCAST_IDENTITY__PASSWORD_HASH_ROUNDS"] = "4"
    env.update(overrides)
    return load_config(tmp_path / "state", environ=env)


# The same functional tests run on each database kind the project supports.
BACKENDS = {
    "sqlite": None,
    "mariadb": ("127.0.0.1", 3306, "mysql+asyncmy://root@127.0.0.1:3306/{db}"),
    "postgresql": ("127.0.0.1", 5432, "postgresql+asyncpg://postgres@127.0.0.1:5432/{db}"),
}


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
    backend = BACKENDS[request.param]
    overrides: dict[str, str] = {}
    url = None
    if backend is not None:
        host, port, template = backend
        require(request.param, port_open(host, port), f"nothing listens on {host}:{port}")
        url = template.format(db=f"oc_test_{uuid.uuid4().hex[:12]}")
        overrides["OVERCAST_IDENTITY__DATABASE_URL"] = url
    config = make_config(tmp_path, **overrides)
    await db_upgrade(config, ["identity"])
    await bootstrap(config, ADMIN_PASSWORD)
    try:
        yield config
    finally:
        if url is not None:
            await _drop_database(url)


def password_auth(user: str, password: str, project: str | None = "admin",
                  domain: str = "Default") -> dict[str, Any]:
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": {"name": domain}, "password": password}}}}}
    if project:
        body["auth"]["scope"] = {"project": {"name": project, "domain": {"name": domain}}}
    return body
