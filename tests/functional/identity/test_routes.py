"""Keystone's list_limit and the one boolean query parser, as identity's lists use them (the
route/rule/body shape of every service is checked in tests/unit/test_structure.py)."""

from __future__ import annotations

from overcast.config import Config
from overcast.identity.app import create_app
from tests.functional.conftest import running
from tests.functional.identity.conftest import Keystone


async def test_list_limit_truncates_as_keystone(keystone: Keystone, cloud_config: Config) -> None:
    h = keystone.admin
    await keystone.make_user("ll-user", "ll-pass", "ll-proj")  # a third role assignment
    for name in ("ll-a", "ll-b", "ll-c"):
        r = await keystone.http.post("/v3/projects", headers=h, json={"project": {"name": name}})
        assert r.status_code == 201
    limited = cloud_config.model_copy(update={"identity": cloud_config.identity.model_copy(
        update={"list_limit": 2})})
    async with running(create_app(limited)) as http:
        r = await http.get("/v3/projects", headers=h)
        body = r.json()
        assert r.status_code == 200 and len(body["projects"]) == 2 and body["truncated"] is True
        r = await http.get("/v3/projects?name=ll-b", headers=h)
        assert [p["name"] for p in r.json()["projects"]] == ["ll-b"]
        assert "truncated" not in r.json()
        r = await http.get("/v3/domains", headers=h)
        assert len(r.json()["domains"]) == 1 and "truncated" not in r.json()
        r = await http.get("/v3/role_assignments", headers=h)
        assert len(r.json()["role_assignments"]) == 2 and r.json()["truncated"] is True
    # without the limit, all of them
    r = await keystone.http.get("/v3/projects", headers=h)
    assert len(r.json()["projects"]) >= 6 and "truncated" not in r.json()


async def test_boolean_filters_read_as_keystone(keystone: Keystone) -> None:
    h = keystone.admin
    ids = await keystone.make_user("off-user", "off-pass")
    await keystone.http.patch(f"/v3/users/{ids['user_id']}", headers=h,
                              json={"user": {"enabled": False}})
    for query, has_off in (("enabled", False), ("enabled=true", False), ("enabled=1", False),
                           ("enabled=false", True), ("enabled=0", True), ("enabled=no", True)):
        r = await keystone.http.get(f"/v3/users?{query}", headers=h)
        names = {u["name"] for u in r.json()["users"]}
        assert ("off-user" in names) is has_off and ("admin" in names) is not has_off, query
    r = await keystone.http.get("/v3/users?enabled=maybe", headers=h)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Invalid value 'maybe' for enabled: use true or false."
