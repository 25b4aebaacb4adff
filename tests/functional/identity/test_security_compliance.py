"""`[security_compliance]`: Keystone's options, defaults and error bodies.

Facts: keystone/conf/security_compliance.py (names, defaults), keystone/identity/backends/
sql.py and sql_model.py (lockout, expiry, history, minimum age, first use, inactivity),
keystone/common/validation/validators.py (password_regex), keystone/exception.py (messages).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest
from sqlalchemy import update

from overcast.cli import bootstrap, db_upgrade
from overcast.common.clock import utcnow
from overcast.common.db import Database
from overcast.config import Config
from overcast.identity.app import create_app
from overcast.identity.models import Revision, User
from tests.functional.conftest import ADMIN_PASSWORD, make_config, running
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth

GENERIC_401 = "The request you have made requires authentication."


@asynccontextmanager
async def cloud(tmp_path: Path, **options: str) -> AsyncIterator[tuple[Keystone, Config]]:
    env = {f"OVERCAST_SECURITY_COMPLIANCE__{k.upper()}": v for k, v in options.items()}
    config = make_config(tmp_path, **env)
    await db_upgrade(config, ["identity"])
    await bootstrap(config, ADMIN_PASSWORD)
    async with running(create_app(config)) as http:
        r = await http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        assert r.status_code == 201, r.text
        yield Keystone(http, r.headers["X-Subject-Token"]), config


async def login(k: Keystone, name: str, password: str) -> httpx.Response:
    return await k.http.post("/v3/auth/tokens", json=password_auth(name, password, None))


def error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["message"]


async def change(k: Keystone, user_id: str, token: str, old: str, new: str) -> httpx.Response:
    return await k.http.post(f"/v3/users/{user_id}/password", headers=k.as_(token),
                             json={"user": {"original_password": old, "password": new}})


async def edit_user(config: Config, user_id: str, fn: Callable[[User], None]) -> None:
    """Move a user's clock (what days of waiting would do), as another process would write."""
    db = Database(config.database_url("identity"))
    try:
        async with db.transaction() as s:
            user = await s.get(User, user_id)
            assert user is not None
            fn(user)
            await s.execute(update(Revision).values(value=Revision.value + 1))
    finally:
        await db.dispose()


async def test_lockout_after_failures_and_unlock_after_duration(tmp_path: Path) -> None:
    async with cloud(tmp_path, lockout_failure_attempts="2", lockout_duration="2") as (k, _):
        uid = (await k.make_user("alice", "alice-pw-1"))["user_id"]
        assert (await login(k, "alice", "alice-pw-1")).status_code == 201
        for _ in range(2):
            assert error(await login(k, "alice", "wrong")) == (401, GENERIC_401)
        # locked: even the right password is refused, in Keystone's words
        assert error(await login(k, "alice", "alice-pw-1")) == (
            401, f"The account is locked for user: {uid}.")
        await asyncio.sleep(2.1)
        # the lockout is over: one more failure counts as the first of a new series
        assert error(await login(k, "alice", "wrong")) == (401, GENERIC_401)
        assert (await login(k, "alice", "alice-pw-1")).status_code == 201
        # the count starts again from zero after a success
        assert error(await login(k, "alice", "wrong")) == (401, GENERIC_401)
        assert (await login(k, "alice", "alice-pw-1")).status_code == 201


async def test_lockout_exemption_and_unlock_by_enabling(tmp_path: Path) -> None:
    async with cloud(tmp_path, lockout_failure_attempts="1") as (k, _):
        uid = (await k.make_user("bob", "bob-pw-1"))["user_id"]
        await login(k, "bob", "wrong")
        assert error(await login(k, "bob", "bob-pw-1"))[1] == f"The account is locked for user: {uid}."
        # an administrator re-enabling the user clears the lockout (Keystone's enabled setter)
        r = await k.http.patch(f"/v3/users/{uid}", headers=k.admin,
                               json={"user": {"enabled": True}})
        assert r.status_code == 200
        assert (await login(k, "bob", "bob-pw-1")).status_code == 201
        r = await k.http.patch(f"/v3/users/{uid}", headers=k.admin, json={"user": {
            "options": {"ignore_lockout_failure_attempts": True}}})
        assert r.json()["user"]["options"] == {"ignore_lockout_failure_attempts": True}
        for _ in range(3):
            await login(k, "bob", "wrong")
        assert (await login(k, "bob", "bob-pw-1")).status_code == 201


async def test_unknown_user_costs_a_hash_and_locked_user_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A login for nobody pays bcrypt as a wrong password does (same answer, same cost); a
    locked account is refused before any hash."""
    async with cloud(tmp_path, lockout_failure_attempts="1") as (k, _):
        await k.make_user("carol", "carol-pw-1")
        calls: list[str] = []
        real = bcrypt.checkpw

        def counting(pw: bytes, hashed: bytes) -> bool:
            calls.append("hash")
            return real(pw, hashed)

        monkeypatch.setattr(bcrypt, "checkpw", counting)
        assert error(await login(k, "nobody", "x")) == (401, GENERIC_401)
        assert calls == ["hash"]
        calls.clear()
        assert error(await login(k, "carol", "wrong")) == (401, GENERIC_401)
        assert calls == ["hash"]
        calls.clear()
        r = await login(k, "carol", "carol-pw-1")
        assert r.status_code == 401 and "locked" in r.json()["error"]["message"]
        assert calls == []


async def test_password_expiry_and_exemption(tmp_path: Path) -> None:
    async with cloud(tmp_path, password_expires_days="1") as (k, config):
        uid = (await k.make_user("dave", "dave-pw-1"))["user_id"]
        r = await k.http.get(f"/v3/users/{uid}", headers=k.admin)
        expires = r.json()["user"]["password_expires_at"]
        assert expires is not None and expires.endswith("Z")
        assert (await login(k, "dave", "dave-pw-1")).status_code == 201
        await edit_user(config, uid, lambda u: setattr(
            u, "password_expires_at", utcnow() - timedelta(seconds=1)))
        await asyncio.sleep(config.identity.cache_check_interval)
        assert error(await login(k, "dave", "dave-pw-1")) == (
            401, f"The password is expired and needs to be changed for user: {uid}.")
        # an expired password may still be changed by its user, with no token (tempest's way
        # is with a token; Keystone's change_password lets PasswordExpired through)
        admin_token = k.admin_token
        r = await change(k, uid, admin_token, "dave-pw-1", "dave-pw-2")
        assert r.status_code == 204, r.text
        assert (await login(k, "dave", "dave-pw-2")).status_code == 201
        r = await k.http.patch(f"/v3/users/{uid}", headers=k.admin, json={"user": {
            "options": {"ignore_password_expiry": True}}})
        await edit_user(config, uid, lambda u: setattr(
            u, "password_expires_at", utcnow() - timedelta(seconds=1)))
        await asyncio.sleep(config.identity.cache_check_interval)
        assert (await login(k, "dave", "dave-pw-2")).status_code == 201


async def test_history_minimum_age_regex_and_lock_password(tmp_path: Path) -> None:
    async with cloud(tmp_path, unique_last_password_count="2", minimum_password_age="1",
                     password_regex="^(?=.*\\d).{8,}$",
                     password_regex_description="at least 8 characters and a digit") as (k, config):
        r = await k.http.post("/v3/users", headers=k.admin,
                              json={"user": {"name": "erin", "password": "short"}})
        assert error(r) == (400, "The password does not match the requirements: at least 8 "
                                 "characters and a digit.")
        uid = (await k.make_user("erin", "erin-pw-1"))["user_id"]
        token = (await login(k, "erin", "erin-pw-1")).headers["X-Subject-Token"]
        # the current password is in the history
        assert error(await change(k, uid, token, "erin-pw-1", "erin-pw-1")) == (
            400, "The new password cannot be identical to a previous password. The total "
                 "number which includes the new password must be unique is 2.")
        assert error(await change(k, uid, token, "erin-pw-1", "nodigits!")) == (
            400, "The password does not match the requirements: at least 8 characters and a "
                 "digit.")
        # a password set by an administrator has no minimum age
        r = await change(k, uid, token, "erin-pw-1", "erin-pw-2")
        assert r.status_code == 204, r.text
        token = (await login(k, "erin", "erin-pw-2")).headers["X-Subject-Token"]
        assert error(await change(k, uid, token, "erin-pw-2", "erin-pw-3")) == (
            400, "You cannot change your password at this time due to the minimum password "
                 "age. Once you change your password, it must be used for 1 day(s) before it "
                 "can be changed. Please try again in 0 day(s) or contact your administrator "
                 "to reset your password.")
        await edit_user(config, uid, lambda u: setattr(
            u, "password_created_at", utcnow() - timedelta(days=2)))
        await asyncio.sleep(config.identity.cache_check_interval)
        token = (await login(k, "erin", "erin-pw-2")).headers["X-Subject-Token"]
        assert error(await change(k, uid, token, "erin-pw-2", "erin-pw-1"))[0] == 400  # history
        assert (await change(k, uid, token, "erin-pw-2", "erin-pw-3")).status_code == 204
        # the administrator's reset is not checked against the history (tempest's
        # test_password_history_not_enforced_in_admin_reset)
        r = await k.http.patch(f"/v3/users/{uid}", headers=k.admin,
                               json={"user": {"password": "erin-pw-3"}})
        assert r.status_code == 200, r.text
        r = await k.http.patch(f"/v3/users/{uid}", headers=k.admin,
                               json={"user": {"options": {"lock_password": True}}})
        token = (await login(k, "erin", "erin-pw-3")).headers["X-Subject-Token"]
        assert error(await change(k, uid, token, "erin-pw-3", "erin-pw-9")) == (
            400, "You cannot change your password at this time due to password policy "
                 "disallowing password changes. Please contact your administrator to reset "
                 "your password.")


async def test_change_password_upon_first_use(tmp_path: Path) -> None:
    async with cloud(tmp_path, change_password_upon_first_use="true") as (k, _):
        uid = (await k.make_user("frank", "frank-pw-1"))["user_id"]
        assert error(await login(k, "frank", "frank-pw-1")) == (
            401, f"The password is expired and needs to be changed for user: {uid}.")
        r = await change(k, uid, k.admin_token, "frank-pw-1", "frank-pw-2")
        assert r.status_code == 204, r.text
        assert (await login(k, "frank", "frank-pw-2")).status_code == 201
        other = await k.http.post("/v3/users", headers=k.admin, json={"user": {
            "name": "gina", "password": "gina-pw-1",
            "options": {"ignore_change_password_upon_first_use": True}}})
        assert other.status_code == 201, other.text
        assert (await login(k, "gina", "gina-pw-1")).status_code == 201


async def test_inactive_users_count_as_disabled(tmp_path: Path) -> None:
    async with cloud(tmp_path, disable_user_account_days_inactive="10") as (k, config):
        uid = (await k.make_user("hank", "hank-pw-1"))["user_id"]
        assert (await login(k, "hank", "hank-pw-1")).status_code == 201
        await edit_user(config, uid, lambda u: setattr(
            u, "last_active_at", (utcnow() - timedelta(days=11)).date()))
        await asyncio.sleep(config.identity.cache_check_interval)
        assert error(await login(k, "hank", "hank-pw-1")) == (401, GENERIC_401)
        await k.http.patch(f"/v3/users/{uid}", headers=k.admin,
                           json={"user": {"options": {"ignore_user_inactivity": True}}})
        assert (await login(k, "hank", "hank-pw-1")).status_code == 201


async def test_options_are_checked_as_keystone_checks_them(tmp_path: Path) -> None:
    async with cloud(tmp_path) as (k, _):
        uid = (await k.make_user("ivy", "ivy-pw-1"))["user_id"]
        bad: dict[str, Any]
        for bad in ({"lock_password": "yes"}, {"no_such_option": True},
                    {"multi_factor_auth_rules": [["password"], ["password"]]},
                    {"multi_factor_auth_rules": [[]]}):
            r = await k.http.patch(f"/v3/users/{uid}", headers=k.admin,
                                   json={"user": {"options": bad}})
            assert r.status_code == 400, (bad, r.text)
        r = await k.http.patch(f"/v3/users/{uid}", headers=k.admin, json={"user": {"options": {
            "lock_password": True, "multi_factor_auth_rules": [["password", "totp"]]}}})
        assert r.json()["user"]["options"] == {"lock_password": True,
                                               "multi_factor_auth_rules": [["password", "totp"]]}
        # null removes one option, the others stay
        r = await k.http.patch(f"/v3/users/{uid}", headers=k.admin,
                               json={"user": {"options": {"lock_password": None}}})
        body: dict[str, Any] = r.json()["user"]
        assert body["options"] == {"multi_factor_auth_rules": [["password", "totp"]]}
