"""An in-process cloud for functional tests: real SQLite (or $OVERCAST_TEST_DATABASE), real
migrations, the app's lifespan entered, httpx over ASGI."""

from __future__ import annotations

import os
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


def test_config(tmp_path: Path, **overrides: str) -> Config:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERCAST_")}
    env["OVERCAST_IDENTITY__PASSWORD_HASH_ROUNDS"] = "4"  # fast tests; bcrypt cost is not the subject
    if os.environ.get("OVERCAST_TEST_IDENTITY_DATABASE"):
        env["OVERCAST_IDENTITY__DATABASE_URL"] = os.environ["OVERCAST_TEST_IDENTITY_DATABASE"]
    env.update(overrides)
    return load_config(tmp_path / "state", environ=env)


@pytest.fixture
async def cloud_config(tmp_path: Path) -> Config:
    config = test_config(tmp_path)
    await db_upgrade(config, ["identity"])
    await bootstrap(config, ADMIN_PASSWORD)
    return config


def password_auth(user: str, password: str, project: str | None = "admin",
                  domain: str = "Default") -> dict[str, Any]:
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": {"name": domain}, "password": password}}}}}
    if project:
        body["auth"]["scope"] = {"project": {"name": project, "domain": {"name": domain}}}
    return body
