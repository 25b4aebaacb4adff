"""Unified limits: /v3/registered_limits, /v3/limits, /v3/limits/model (flat and
strict_two_level), with Keystone's validation, errors and policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from overcast.cli import bootstrap, db_upgrade
from overcast.identity.app import create_app
from tests.functional.conftest import ADMIN_PASSWORD, make_config, running
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth


async def _service(keystone: Keystone, type_: str = "compute") -> str:
    r = await keystone.http.post("/v3/services", headers=keystone.admin,
                                 json={"service": {"type": type_, "name": f"{type_}-limits"}})
    assert r.status_code == 201, r.text
    return str(r.json()["service"]["id"])


async def _project(keystone: Keystone, name: str, **fields: Any) -> dict[str, Any]:
    r = await keystone.http.post("/v3/projects", headers=keystone.admin,
                                 json={"project": {"name": name, **fields}})
    assert r.status_code == 201, r.text
    project: dict[str, Any] = r.json()["project"]
    return project


async def test_registered_limits_lifecycle(keystone: Keystone) -> None:
    http, h = keystone.http, keystone.admin
    svc = await _service(keystone)
    r = await http.post("/v3/registered_limits", headers=h, json={"registered_limits": [
        {"service_id": svc, "resource_name": "cores", "default_limit": 10,
         "description": "cores per project"},
        {"service_id": svc, "region_id": "RegionOne", "resource_name": "ram",
         "default_limit": 20480}]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"registered_limits"}  # Keystone's answer has no links
    cores, ram = body["registered_limits"]
    assert cores["region_id"] is None and cores["default_limit"] == 10
    assert cores["description"] == "cores per project"
    assert ram["region_id"] == "RegionOne" and ram["description"] is None
    assert cores["links"]["self"].endswith(f"/v3/registered_limits/{cores['id']}")
    assert len(cores["id"]) == 32

    r = await http.get(f"/v3/registered_limits?service_id={svc}&resource_name=ram", headers=h)
    assert [x["id"] for x in r.json()["registered_limits"]] == [ram["id"]]
    assert r.json()["links"]["next"] is None
    r = await http.get("/v3/registered_limits?region_id=RegionOne", headers=h)
    assert [x["id"] for x in r.json()["registered_limits"]] == [ram["id"]]

    # The same service, region and resource twice: Keystone's 409
    r = await http.post("/v3/registered_limits", headers=h, json={"registered_limits": [
        {"service_id": svc, "resource_name": "cores", "default_limit": 1}]})
    assert r.status_code == 409
    assert r.json()["error"]["message"] == ("Conflict occurred attempting to store "
                                            "registered_limit - Duplicate entry.")

    r = await http.patch(f"/v3/registered_limits/{cores['id']}", headers=h,
                         json={"registered_limit": {"default_limit": 12, "description": None}})
    assert r.status_code == 200, r.text
    assert r.json()["registered_limit"]["default_limit"] == 12
    assert r.json()["registered_limit"]["description"] is None
    r = await http.patch(f"/v3/registered_limits/{cores['id']}", headers=h,
                         json={"registered_limit": {"resource_name": "ram",
                                                    "region_id": "RegionOne"}})
    assert r.status_code == 409

    assert (await http.delete(f"/v3/registered_limits/{ram['id']}", headers=h)).status_code == 204
    r = await http.get(f"/v3/registered_limits/{ram['id']}", headers=h)
    assert r.status_code == 404
    assert r.json()["error"]["message"] == f"Could not find registered limit for {ram['id']}."


async def test_registered_limit_validation(keystone: Keystone) -> None:
    http, h = keystone.http, keystone.admin
    svc = await _service(keystone)

    async def refused(item: dict[str, Any]) -> httpx.Response:
        r = await http.post("/v3/registered_limits", headers=h,
                            json={"registered_limits": [item]})
        assert r.status_code == 400, r.text
        return r

    r = await refused({"service_id": "nope", "resource_name": "x", "default_limit": 1})
    assert r.json()["error"]["message"] == ("Invalid input for field/attribute service_id. "
                                            "Value: nope. 'nope' is not a 'uuid'")
    r = await refused({"service_id": svc, "resource_name": "x", "default_limit": -2})
    assert "is less than the minimum of -1" in r.json()["error"]["message"]
    r = await refused({"service_id": svc, "resource_name": "x", "default_limit": 2**31})
    assert "is greater than the maximum of 2147483647" in r.json()["error"]["message"]
    r = await refused({"service_id": svc, "resource_name": "x", "default_limit": "5"})
    assert "is not of type 'integer'" in r.json()["error"]["message"]
    await refused({"service_id": svc, "resource_name": "x", "default_limit": 1, "other": 1})
    await refused({"service_id": svc, "default_limit": 1})
    r = await http.post("/v3/registered_limits", headers=h, json={"registered_limits": []})
    assert r.status_code == 400
    # A service or region that is not there: Keystone's ValidationError naming the attribute
    r = await refused({"service_id": "0" * 32, "resource_name": "x", "default_limit": 1})
    assert r.json()["error"]["message"].startswith(
        "Expecting to find service_id in registered_limit.")
    r = await refused({"service_id": svc, "region_id": "Atlantis", "resource_name": "x",
                       "default_limit": 1})
    assert r.json()["error"]["message"].startswith(
        "Expecting to find region_id in registered_limit.")
    # All or none: a bad second item leaves no first one behind
    r = await http.post("/v3/registered_limits", headers=h, json={"registered_limits": [
        {"service_id": svc, "resource_name": "good", "default_limit": 1},
        {"service_id": "0" * 32, "resource_name": "bad", "default_limit": 1}]})
    assert r.status_code == 400
    r = await http.get("/v3/registered_limits?resource_name=good", headers=h)
    assert r.json()["registered_limits"] == []


async def test_limits_lifecycle_and_registered_limit_in_use(keystone: Keystone) -> None:
    http, h = keystone.http, keystone.admin
    svc = await _service(keystone)
    project = await _project(keystone, "limited")
    r = await http.post("/v3/registered_limits", headers=h, json={"registered_limits": [
        {"service_id": svc, "resource_name": "cores", "default_limit": 10}]})
    reg = r.json()["registered_limits"][0]

    # No registered limit for the resource: Keystone's 403
    r = await http.post("/v3/limits", headers=h, json={"limits": [
        {"service_id": svc, "project_id": project["id"], "resource_name": "gpus",
         "resource_limit": 1}]})
    assert r.status_code == 403
    assert r.json()["error"]["message"] == ("Unable to create a limit that has no "
                                            "corresponding registered limit.")

    r = await http.post("/v3/limits", headers=h, json={"limits": [
        {"service_id": svc, "project_id": project["id"], "resource_name": "cores",
         "resource_limit": 5, "description": "five"},
        {"service_id": svc, "domain_id": "default", "resource_name": "cores",
         "resource_limit": 50}]})
    assert r.status_code == 201, r.text
    mine, dom = r.json()["limits"]
    assert set(r.json()) == {"limits"}
    assert mine["project_id"] == project["id"] and mine["domain_id"] is None
    assert mine["service_id"] == svc and mine["region_id"] is None
    assert mine["resource_name"] == "cores" and mine["resource_limit"] == 5
    assert dom["domain_id"] == "default" and dom["project_id"] is None
    assert mine["links"]["self"].endswith(f"/v3/limits/{mine['id']}")

    r = await http.post("/v3/limits", headers=h, json={"limits": [
        {"service_id": svc, "project_id": project["id"], "resource_name": "cores",
         "resource_limit": 7}]})
    assert r.status_code == 409
    assert r.json()["error"]["message"] == ("Conflict occurred attempting to store limit - "
                                            "Duplicate entry.")

    # A registered limit with limits on it can be neither changed nor deleted
    for call in (http.patch(f"/v3/registered_limits/{reg['id']}", headers=h,
                            json={"registered_limit": {"description": "x"}}),
                 http.delete(f"/v3/registered_limits/{reg['id']}", headers=h)):
        r = await call
        assert r.status_code == 403
        assert r.json()["error"]["message"] == (
            f"Unable to update or delete registered limit {reg['id']} because there are "
            "project limits associated with it.")

    r = await http.get(f"/v3/limits?project_id={project['id']}", headers=h)
    assert [x["id"] for x in r.json()["limits"]] == [mine["id"]]
    r = await http.get("/v3/limits?resource_name=cores", headers=h)
    assert {x["id"] for x in r.json()["limits"]} == {mine["id"], dom["id"]}

    r = await http.patch(f"/v3/limits/{mine['id']}", headers=h,
                         json={"limit": {"resource_limit": 0, "description": None}})
    assert r.status_code == 200, r.text
    assert r.json()["limit"]["resource_limit"] == 0
    assert r.json()["limit"]["description"] is None
    r = await http.patch(f"/v3/limits/{mine['id']}", headers=h,
                         json={"limit": {"project_id": "other"}})
    assert r.status_code == 400

    # Deleting the project deletes its limits
    assert (await http.delete(f"/v3/projects/{project['id']}", headers=h)).status_code == 204
    r = await http.get(f"/v3/limits/{mine['id']}", headers=h)
    assert r.status_code == 404
    assert r.json()["error"]["message"] == f"Could not find limit for {mine['id']}."
    assert (await http.delete(f"/v3/limits/{dom['id']}", headers=h)).status_code == 204
    assert (await http.delete(f"/v3/registered_limits/{reg['id']}", headers=h)).status_code == 204


async def test_limit_names_one_project_or_domain(keystone: Keystone) -> None:
    http, h = keystone.http, keystone.admin
    svc = await _service(keystone)
    project = await _project(keystone, "onlyone")
    await http.post("/v3/registered_limits", headers=h, json={"registered_limits": [
        {"service_id": svc, "resource_name": "cores", "default_limit": 10}]})
    base = {"service_id": svc, "resource_name": "cores", "resource_limit": 1}
    r = await http.post("/v3/limits", headers=h, json={"limits": [base]})
    assert r.status_code == 400
    assert "is not valid under any of the given schemas" in r.json()["error"]["message"]
    r = await http.post("/v3/limits", headers=h, json={"limits": [
        {**base, "project_id": project["id"], "domain_id": "default"}]})
    assert r.status_code == 400
    assert "is valid under each of" in r.json()["error"]["message"]
    r = await http.post("/v3/limits", headers=h, json={"limits": [
        {**base, "project_id": "f" * 32}]})
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("Expecting to find project_id in limit.")
    # A project acting as a domain is taken as the domain (Keystone's _assert_resource_exist)
    r = await http.post("/v3/limits", headers=h, json={"limits": [
        {**base, "project_id": "default"}]})
    assert r.status_code == 201, r.text
    made = r.json()["limits"][0]
    assert made["domain_id"] == "default" and made["project_id"] is None


async def test_limit_visibility_by_scope(keystone: Keystone) -> None:
    http, h = keystone.http, keystone.admin
    svc = await _service(keystone)
    mine = await keystone.make_user("lim-a", "pass-a", "lim-proj-a")
    await keystone.make_user("lim-b", "pass-b", "lim-proj-b")
    projects = {p["name"]: p["id"] for p in
                (await http.get("/v3/projects", headers=h)).json()["projects"]}
    await http.post("/v3/registered_limits", headers=h, json={"registered_limits": [
        {"service_id": svc, "resource_name": "cores", "default_limit": 10}]})
    r = await http.post("/v3/limits", headers=h, json={"limits": [
        {"service_id": svc, "project_id": projects["lim-proj-a"], "resource_name": "cores",
         "resource_limit": 3},
        {"service_id": svc, "project_id": projects["lim-proj-b"], "resource_name": "cores",
         "resource_limit": 4}]})
    a, b = r.json()["limits"]
    member = keystone.as_(await keystone.token("lim-a", "pass-a", "lim-proj-a"))
    # A member sees its project's limits only, every registered limit, and the model
    r = await http.get("/v3/limits", headers=member)
    assert r.status_code == 200 and [x["id"] for x in r.json()["limits"]] == [a["id"]]
    assert (await http.get(f"/v3/limits/{a['id']}", headers=member)).status_code == 200
    r = await http.get(f"/v3/limits/{b['id']}", headers=member)
    assert r.status_code == 403
    assert r.json()["error"]["message"] == ("You are not authorized to perform the requested "
                                            "action: identity:get_limit.")
    assert (await http.get("/v3/registered_limits", headers=member)).status_code == 200
    r = await http.get("/v3/limits/model", headers=member)
    assert r.json() == {"model": {"name": "flat", "description": (
        "Limit enforcement and validation does not take project hierarchy into "
        "consideration.")}}
    # Writing limits is the cloud admin's
    for call in (http.post("/v3/limits", headers=member, json={"limits": [
            {"service_id": svc, "project_id": mine["project_id"], "resource_name": "cores",
             "resource_limit": 100}]}),
            http.patch(f"/v3/limits/{a['id']}", headers=member,
                       json={"limit": {"resource_limit": 100}}),
            http.delete(f"/v3/limits/{a['id']}", headers=member),
            http.post("/v3/registered_limits", headers=member, json={"registered_limits": [
                {"service_id": svc, "resource_name": "ram", "default_limit": 1}]})):
        assert (await call).status_code == 403
    # The cloud admin sees them all
    r = await http.get("/v3/limits", headers=h)
    assert {x["id"] for x in r.json()["limits"]} >= {a["id"], b["id"]}


@pytest.fixture
async def strict(tmp_path: Path) -> AsyncIterator[Keystone]:
    """An identity service whose enforcement model is strict_two_level (SQLite)."""
    config = make_config(tmp_path, OVERCAST_UNIFIED_LIMIT__ENFORCEMENT_MODEL="strict_two_level")
    await db_upgrade(config, ["identity"])
    await bootstrap(config, ADMIN_PASSWORD)
    async with running(create_app(config)) as http:
        r = await http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        yield Keystone(http, r.headers["X-Subject-Token"])


async def test_strict_two_level(strict: Keystone) -> None:
    http, h = strict.http, strict.admin
    r = await http.get("/v3/limits/model", headers=h)
    assert r.json()["model"] == {"name": "strict_two_level", "description": (
        "This model requires project hierarchy never exceeds a depth of two")}
    svc = await _service(strict)
    alpha = await _project(strict, "alpha")
    beta = await _project(strict, "beta", parent_id=alpha["id"])
    # A third level is refused under this model
    r = await http.post("/v3/projects", headers=h,
                        json={"project": {"name": "gamma", "parent_id": beta["id"]}})
    assert r.status_code == 403
    assert r.json()["error"]["message"] == f"Max hierarchy depth reached for {beta['id']} branch."

    await http.post("/v3/registered_limits", headers=h, json={"registered_limits": [
        {"service_id": svc, "resource_name": "cores", "default_limit": 10}]})

    def limit(**owner: str | int) -> dict[str, Any]:
        return {"service_id": svc, "resource_name": "cores", **owner}

    # A top-level project's parent is its domain: without a domain limit, the default (10)
    r = await http.post("/v3/limits", headers=h,
                        json={"limits": [limit(project_id=alpha["id"], resource_limit=11)]})
    assert r.status_code == 403
    assert r.json()["error"]["message"] == (
        f"Invalid resource limit: The resource limit (project_id: {alpha['id']}, "
        f"resource_name: cores, resource_limit: 11, service_id: {svc}, region_id: None) "
        "doesn't satisfy current hierarchy model..")
    # ... unless the domain's own limit comes in the same request
    r = await http.post("/v3/limits", headers=h, json={"limits": [
        limit(domain_id="default", resource_limit=20),
        limit(project_id=alpha["id"], resource_limit=15)]})
    assert r.status_code == 201, r.text
    dom, alpha_limit = r.json()["limits"]
    # Now the domain's limit is the bound
    r = await http.post("/v3/limits", headers=h,
                        json={"limits": [limit(project_id=beta["id"], resource_limit=25)]})
    assert r.status_code == 403
    # The domain's limit may not go below a project's
    r = await http.patch(f"/v3/limits/{dom['id']}", headers=h,
                         json={"limit": {"resource_limit": 14}})
    assert r.status_code == 403
    assert "(domain_id: default," in r.json()["error"]["message"]
    r = await http.patch(f"/v3/limits/{dom['id']}", headers=h,
                         json={"limit": {"resource_limit": 15}})
    assert r.status_code == 200, r.text
    r = await http.patch(f"/v3/limits/{alpha_limit['id']}", headers=h,
                         json={"limit": {"resource_limit": 16}})
    assert r.status_code == 403
