"""The database work of a password login, and the cache freshness it must keep.

Issue 14 bounds the CPU a login spends besides its bcrypt; most of it is database round trips
(bench/identity/sql_count.py prints them). These tests count them with SQLAlchemy's events,
not time, so they hold on a loaded machine: a ceiling that a regression (a session of its own
for the caches' revision check, a query more) breaks. And the in-session check must still see
what another worker wrote within the check interval, LDAP domains included.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event

from overcast.cli import bootstrap, db_upgrade
from overcast.config import Config
from overcast.identity.app import create_app
from tests.functional.conftest import ADMIN_PASSWORD, make_config, running
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth


@contextmanager
def counted(app: FastAPI) -> Iterator[collections.Counter[str]]:
    """Round trips to the identity database while the block runs: each statement by its first
    word, each COMMIT and ROLLBACK, and CHECKOUT for each connection taken from a pool (a
    session)."""
    seen: collections.Counter[str] = collections.Counter()
    db = app.state.identity.state.db
    engines = {id(e): e.sync_engine for e in (db._writer, db._reader)}.values()

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen[statement.split(None, 1)[0].upper()] += 1

    def on_commit(conn: Any) -> None:
        seen["COMMIT"] += 1

    def on_rollback(conn: Any) -> None:
        seen["ROLLBACK"] += 1

    def on_checkout(*args: Any) -> None:
        seen["CHECKOUT"] += 1

    hooks = [(e, "before_cursor_execute", on_execute) for e in engines]
    hooks += [(e, "commit", on_commit) for e in engines]
    hooks += [(e, "rollback", on_rollback) for e in engines]
    hooks += [(e.pool, "checkout", on_checkout) for e in engines]
    for target, name, fn in hooks:
        event.listen(target, name, fn)
    try:
        yield seen
    finally:
        for target, name, fn in hooks:
            event.remove(target, name, fn)


def trips(seen: collections.Counter[str]) -> int:
    return sum(n for kind, n in seen.items() if kind != "CHECKOUT")


async def test_a_login_after_the_check_interval_is_one_session(keystone: Keystone,
                                                               cloud_config: Config) -> None:
    """A password login that comes after the check interval (every login that pays bcrypt,
    on a server that is not busy) checks the caches' revision with its own first query: one
    session, the user, the project and the roles read in three queries. Before, the check took
    a session of its own: 2 checkouts and 8 round trips on SQLite."""
    app = keystone.http._transport.app  # type: ignore[attr-defined]
    identity = _identity(keystone)
    body = password_auth("admin", ADMIN_PASSWORD, "admin")
    r = await keystone.http.post("/v3/auth/tokens", json=body)  # caches warm
    assert r.status_code == 201
    identity.state.hasher._verified.clear()  # no verified-password cache: bcrypt, as in the bench
    await asyncio.sleep(cloud_config.identity.cache_check_interval + 0.05)
    assert identity.state.due()
    checked = identity.state._checked_at
    with counted(_app(app)) as seen:
        r = await keystone.http.post("/v3/auth/tokens", json=body)
    assert r.status_code == 201, r.text
    assert identity.state._checked_at > checked  # the check was made
    assert seen["CHECKOUT"] == 1, seen
    assert seen["SELECT"] == 3, seen
    # BEGIN and COMMIT around them where the driver sends them as statements (SQLite)
    assert trips(seen) <= 5, seen


@pytest.fixture
async def sqlite_config(tmp_path: Path) -> Config:
    """One database kind for the freshness tests: what they check is the caches' logic, which
    is the same on each (the counts above are not)."""
    config = make_config(tmp_path)
    await db_upgrade(config, ["identity"])
    await bootstrap(config, ADMIN_PASSWORD)
    return config


async def test_a_write_of_another_worker_is_seen_by_the_next_login(sqlite_config: Config) -> None:
    """The revision check riding on the login's query still drops the caches when another
    worker wrote: a role renamed there is named anew in the next token made here."""
    async with running(create_app(sqlite_config)) as here, \
            running(create_app(sqlite_config)) as there:
        body = password_auth("admin", ADMIN_PASSWORD, "admin")
        r = await there.post("/v3/auth/tokens", json=body)
        admin = {"X-Auth-Token": r.headers["X-Subject-Token"]}
        user, project = r.json()["token"]["user"]["id"], r.json()["token"]["project"]["id"]
        r = await there.post("/v3/roles", headers=admin, json={"role": {"name": "auditor"}})
        role = r.json()["role"]["id"]
        r = await there.put(f"/v3/projects/{project}/users/{user}/roles/{role}", headers=admin)
        assert r.status_code == 204, r.text
        await asyncio.sleep(sqlite_config.identity.cache_check_interval + 0.05)
        r = await here.post("/v3/auth/tokens", json=body)  # role names cached here
        assert "auditor" in {role["name"] for role in r.json()["token"]["roles"]}
        r = await there.patch(f"/v3/roles/{role}", headers=admin,
                              json={"role": {"name": "inspector"}})
        assert r.status_code == 200, r.text
        await asyncio.sleep(sqlite_config.identity.cache_check_interval + 0.05)
        r = await here.post("/v3/auth/tokens", json=body)
        assert r.status_code == 201
        names = {role["name"] for role in r.json()["token"]["roles"]}
        assert "inspector" in names and "auditor" not in names


async def test_an_ldap_domain_configured_elsewhere_decides_the_next_login(
        sqlite_config: Config) -> None:
    """The LDAP domains a login consults are as fresh as the other caches: a domain another
    worker has just made LDAP-backed no longer lets its SQL user in through the SQL table
    (here its LDAP server is down: 503, never the 201 of a stale cache)."""
    async with running(create_app(sqlite_config)) as here, \
            running(create_app(sqlite_config)) as there:
        admin_body = password_auth("admin", ADMIN_PASSWORD, "admin")
        token = (await there.post("/v3/auth/tokens", json=admin_body)).headers["X-Subject-Token"]
        admin = {"X-Auth-Token": token}
        r = await there.post("/v3/domains", headers=admin, json={"domain": {"name": "soon-ldap"}})
        domain = r.json()["domain"]["id"]
        r = await there.post("/v3/users", headers=admin, json={"user": {
            "name": "sql-user", "password": "sql-user-pw", "domain_id": domain}})
        assert r.status_code == 201, r.text
        body = password_auth("sql-user", "sql-user-pw", None, "soon-ldap")
        r = await here.post("/v3/auth/tokens", json=body)
        assert r.status_code == 201, r.text  # here: no LDAP domain, known as such
        r = await there.put(f"/v3/domains/{domain}/config", headers=admin, json={"config": {
            "identity": {"driver": "ldap"},
            "ldap": {"url": "ldap://127.0.0.1:9", "suffix": "dc=example,dc=org"}}})
        assert r.status_code == 201, r.text
        await asyncio.sleep(sqlite_config.identity.cache_check_interval + 0.05)
        r = await here.post("/v3/auth/tokens", json=body)
        assert r.status_code == 503, r.text


def _app(transported: Any) -> FastAPI:
    """The FastAPI app behind the fixture's ASGI wrapper (tests/functional/conftest.py)."""
    for cell in transported.__closure__ or ():
        if isinstance(cell.cell_contents, FastAPI):
            return cell.cell_contents
    raise AssertionError("no app behind the transport")


def _identity(keystone: Keystone) -> Any:
    return _app(keystone.http._transport.app).state.identity  # type: ignore[attr-defined]

