"""Server groups as Nova answers them per microversion (policies list to 2.63, policy and
rules from 2.64, soft policies from 2.15), scoped to their project, with their quota."""

from __future__ import annotations

from typing import Any

from tests.functional.compute.conftest import Nova

PATH = "/v2.1/os-server-groups"


async def _group(nova: Nova, who: dict[str, str], version: str = "2.1", **body: Any
                 ) -> dict[str, Any]:
    made: dict[str, Any] = (await nova.ok("POST", PATH, who, version=version,
                                          json={"server_group": body}))["server_group"]
    return made


async def test_views_per_microversion(nova: Nova) -> None:
    old = await _group(nova, nova.alice, name="g1", policies=["affinity"])
    assert old == {"id": old["id"], "name": "g1", "policies": ["affinity"], "members": [],
                   "metadata": {}}
    v213 = (await nova.ok("GET", f"{PATH}/{old['id']}", nova.alice, version="2.13"))
    assert v213["server_group"]["project_id"] == nova.alpha
    assert v213["server_group"]["user_id"] == nova.alice_id
    new = await _group(nova, nova.alice, "2.64", name="g2", policy="anti-affinity",
                       rules={"max_server_per_host": 2})
    assert new["policy"] == "anti-affinity" and new["rules"] == {"max_server_per_host": 2}
    assert "policies" not in new and "metadata" not in new
    as_old = (await nova.ok("GET", f"{PATH}/{new['id']}", nova.alice))["server_group"]
    assert as_old["policies"] == ["anti-affinity"]


async def test_validation(nova: Nova) -> None:
    await nova.fault("POST", PATH, nova.alice, 400,
                     json={"server_group": {"name": "g", "policies": ["soft-affinity"]}})
    soft = await _group(nova, nova.alice, "2.15", name="s", policies=["soft-affinity"])
    assert soft["policies"] == ["soft-affinity"]
    for body in ({"name": "g", "policies": ["affinity", "anti-affinity"]},
                 {"name": "g", "policies": ["cosy"]}, {"name": "", "policies": ["affinity"]},
                 {"name": "g", "policy": "affinity"}, {"name": "g"}):
        await nova.fault("POST", PATH, nova.alice, 400, json={"server_group": body})
    for body in ({"name": "g", "policies": ["affinity"]},
                 {"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}},
                 {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 0}},
                 {"name": "g", "policy": "anti-affinity", "rules": {"other": 1}}):
        await nova.fault("POST", PATH, nova.alice, 400, version="2.64",
                         json={"server_group": body})
    await nova.fault("POST", PATH, nova.reader, 403,
                     json={"server_group": {"name": "r", "policies": ["affinity"]}})


async def test_scoping_listing_and_delete(nova: Nova) -> None:
    mine = await _group(nova, nova.alice, name="mine", policies=["affinity"])
    theirs = await _group(nova, nova.bob, name="theirs", policies=["affinity"])
    listed = await nova.ok("GET", PATH, nova.alice)
    assert [g["name"] for g in listed["server_groups"]] == ["mine"]
    assert [g["name"] for g in (await nova.ok("GET", PATH, nova.reader))["server_groups"]] == [
        "mine"]
    # all_projects: every project's for an admin, ignored for others
    every = await nova.ok("GET", f"{PATH}?all_projects=True", nova.admin)
    assert {g["name"] for g in every["server_groups"]} >= {"mine", "theirs"}
    ignored = await nova.ok("GET", f"{PATH}?all_projects=True", nova.alice)
    assert [g["name"] for g in ignored["server_groups"]] == ["mine"]
    paged = await nova.ok("GET", f"{PATH}?all_projects=True&limit=1&offset=1", nova.admin)
    assert [g["name"] for g in paged["server_groups"]] == ["theirs"]
    await nova.fault("GET", f"{PATH}/{theirs['id']}", nova.alice, 403)
    await nova.fault("DELETE", f"{PATH}/{theirs['id']}", nova.alice, 403)
    await nova.fault("DELETE", f"{PATH}/{mine['id']}", nova.reader, 403)
    r = await nova.http.delete(f"{PATH}/{mine['id']}", headers=nova.alice)
    assert r.status_code == 204
    await nova.fault("GET", f"{PATH}/{mine['id']}", nova.alice, 404)
    await nova.fault("DELETE", f"{PATH}/{mine['id']}", nova.alice, 404)


async def test_quota(nova: Nova) -> None:
    await nova.ok("PUT", f"/v2.1/os-quota-sets/{nova.alpha}", nova.admin,
                  json={"quota_set": {"server_groups": 1}})
    await _group(nova, nova.alice, name="one", policies=["affinity"])
    message = await nova.fault("POST", PATH, nova.alice, 403,
                               json={"server_group": {"name": "two", "policies": ["affinity"]}})
    assert "Quota exceeded" in message
