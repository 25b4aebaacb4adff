"""What bootstrap makes, as `keystone-manage bootstrap` (Keystone 30) does: the default roles,
immutable, in the chain admin ⇒ manager ⇒ member ⇒ reader; and a cloud made before the
`manager` role gets it on its next bootstrap."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import delete, or_, select, update

from overcast.cli import bootstrap
from overcast.common.db import Database
from overcast.config import Config
from overcast.identity.models import ImpliedRole, Revision, Role
from tests.functional.conftest import ADMIN_PASSWORD
from tests.functional.identity.conftest import Keystone

CHAIN = {("admin", "manager"), ("manager", "member"), ("member", "reader")}


async def _inferences(keystone: Keystone) -> set[tuple[str, str]]:
    r = await keystone.http.get("/v3/role_inferences", headers=keystone.admin)
    assert r.status_code == 200, r.text
    return {(rule["prior_role"]["name"], implied["name"])
            for rule in r.json()["role_inferences"] for implied in rule["implies"]}


async def _token_roles(keystone: Keystone, token: str) -> set[str]:
    r = await keystone.http.get("/v3/auth/tokens", headers={**keystone.admin,
                                                            "X-Subject-Token": token})
    assert r.status_code == 200, r.text
    return {x["name"] for x in r.json()["token"]["roles"]}


async def test_bootstrap_makes_keystone_30_default_roles(keystone: Keystone) -> None:
    r = await keystone.http.get("/v3/roles", headers=keystone.admin)
    roles: dict[str, dict[str, Any]] = {x["name"]: x for x in r.json()["roles"]}
    keystone_roles = {"admin", "manager", "member", "reader", "service"}
    # and Swift's reseller role, as a Swift deployment adds it (Object Storage is on by default)
    assert set(roles) == keystone_roles | {"ResellerAdmin"}
    # immutable, as keystone-manage bootstrap makes them unless told --no-immutable-roles
    assert all(roles[n]["options"] == {"immutable": True} for n in keystone_roles)
    assert roles["ResellerAdmin"]["options"] == {}
    assert await _inferences(keystone) == CHAIN
    assert await _token_roles(keystone, keystone.admin_token) == {
        "admin", "manager", "member", "reader"}


async def test_immutable_roles_refuse_changes_until_unlocked(keystone: Keystone) -> None:
    """keystone/common/resource_options/options/immutable.py: the only change accepted is
    setting `immutable` to false, alone; delete is refused while immutable."""
    h, http = keystone.admin, keystone.http
    reader = (await http.get("/v3/roles?name=reader", headers=h)).json()["roles"][0]["id"]
    url = f"/v3/roles/{reader}"
    for verb, call in (("update", http.patch(url, headers=h, json={"role": {"description": "x"}})),
                       ("update", http.patch(url, headers=h, json={"role": {
                           "description": "x", "options": {"immutable": False}}})),
                       ("delete", http.delete(url, headers=h))):
        r = await call
        assert (r.status_code, r.json()["error"]["message"]) == (403, (
            f"Unable to {verb} immutable role resource: `{reader}. Set resource option "
            '"immutable" to false first.')), r.text
    r = await http.patch(url, headers=h, json={"role": {"options": {"immutable": False}}})
    assert r.status_code == 200 and r.json()["role"]["options"] == {"immutable": False}, r.text
    r = await http.patch(url, headers=h, json={"role": {"description": "x"}})
    assert r.status_code == 200 and r.json()["role"]["description"] == "x", r.text


async def test_next_bootstrap_gives_an_older_cloud_the_manager_role(
        keystone: Keystone, cloud_config: Config) -> None:
    """A cloud bootstrapped with admin ⇒ member ⇒ reader (no `manager`): the next bootstrap
    adds manager between admin and member and drops admin ⇒ member, as Keystone's; tokens
    already issued show the new role at their next validation."""
    db = Database(cloud_config.database_url("identity"))
    try:
        async with db.transaction() as s:
            ids = {r.name: r.id for r in await s.scalars(select(Role))}
            await s.execute(delete(ImpliedRole).where(or_(
                ImpliedRole.prior_role_id == ids["manager"],
                ImpliedRole.implied_role_id == ids["manager"])))
            await s.execute(delete(Role).where(Role.id == ids["manager"]))
            s.add(ImpliedRole(prior_role_id=ids["admin"], implied_role_id=ids["member"]))
            # as any identity write does, so the running service drops what it cached
            await s.execute(update(Revision).values(value=Revision.value + 1))
    finally:
        await db.dispose()
    await asyncio.sleep(cloud_config.identity.cache_check_interval)
    token = await keystone.token("admin", ADMIN_PASSWORD, "admin")
    assert await _inferences(keystone) == {("admin", "member"), ("member", "reader")}
    assert await _token_roles(keystone, token) == {"admin", "member", "reader"}

    await bootstrap(cloud_config, None)  # what the next `overcast up` runs
    # another process wrote: a running service sees it at its next check
    await asyncio.sleep(cloud_config.identity.cache_check_interval)

    assert await _inferences(keystone) == CHAIN
    assert await _token_roles(keystone, token) == {"admin", "manager", "member", "reader"}
    r = await keystone.http.get("/v3/roles?name=manager", headers=keystone.admin)
    [manager] = r.json()["roles"]
    assert manager["options"] == {"immutable": True}
    # the roles that were there stay as they were: the same ids
    r = await keystone.http.get("/v3/roles?name=admin", headers=keystone.admin)
    assert r.json()["roles"][0]["id"] == ids["admin"]
