"""Flavors as Nova answers them, per microversion: views, visibility of private flavors,
flavor access, extra specs, paging and filters, and the guides' flavors from bootstrap."""

from __future__ import annotations

import uuid
from typing import Any

from overcast.compute.manage import bootstrap_flavors
from overcast.config import Config
from tests.functional.compute.conftest import Nova


async def _create(nova: Nova, version: str = "2.1", **flavor: Any) -> dict[str, Any]:
    body = {"name": f"f-{uuid.uuid4().hex[:8]}", "ram": 512, "vcpus": 1, "disk": 1, **flavor}
    created: dict[str, Any] = (await nova.ok("POST", "/v2.1/flavors", nova.admin,
                                             version=version, json={"flavor": body}))["flavor"]
    return created


async def test_bootstrap_creates_the_guides_flavors_once(nova: Nova, compute_config: Config
                                                         ) -> None:
    made = await bootstrap_flavors(compute_config)
    assert made == ["m1.nano", "m1.micro", "m1.tiny", "m1.small", "m1.medium", "m1.large",
                    "m1.xlarge"]
    assert await bootstrap_flavors(compute_config) == []
    tiny = (await nova.ok("GET", "/v2.1/flavors/1", nova.alice))["flavor"]
    assert (tiny["name"], tiny["vcpus"], tiny["ram"], tiny["disk"]) == ("m1.tiny", 1, 512, 1)
    nano = (await nova.ok("GET", "/v2.1/flavors/0", nova.alice))["flavor"]
    assert (nano["name"], nano["ram"]) == ("m1.nano", 64)
    small = (await nova.ok("GET", "/v2.1/flavors/2", nova.alice))["flavor"]
    assert (small["vcpus"], small["ram"], small["disk"]) == (1, 2048, 20)


async def test_views_follow_the_microversion(nova: Nova) -> None:
    f = await _create(nova, "2.61", description="for tests", swap=0)
    await nova.ok("POST", f"/v2.1/flavors/{f['id']}/os-extra_specs", nova.admin,
                  json={"extra_specs": {"hw:cpu_policy": "shared"}})
    path = f"/v2.1/flavors/{f['id']}"
    old = (await nova.ok("GET", path, nova.alice))["flavor"]
    assert old["swap"] == "" and "description" not in old and "extra_specs" not in old
    assert old["OS-FLV-EXT-DATA:ephemeral"] == 0 and old["os-flavor-access:is_public"] is True
    assert old["links"][0] == {"rel": "self", "href": f"http://testserver{path}"}
    assert old["links"][1]["href"] == f"http://testserver/flavors/{f['id']}"
    v255 = (await nova.ok("GET", path, nova.alice, version="2.55"))["flavor"]
    assert v255["description"] == "for tests" and "extra_specs" not in v255
    v261 = (await nova.ok("GET", path, nova.alice, version="2.61"))["flavor"]
    assert v261["extra_specs"] == {"hw:cpu_policy": "shared"}
    v275 = (await nova.ok("GET", path, nova.alice, version="2.75"))["flavor"]
    assert v275["swap"] == 0
    listed = (await nova.ok("GET", "/v2.1/flavors", nova.alice, version="2.55"))["flavors"]
    assert {"id": f["id"], "name": f["name"], "description": "for tests",
            "links": v255["links"]} in listed


async def test_create_as_nova_validates_it(nova: Nova) -> None:
    by_int = await _create(nova, id=1234, ram="1024")
    assert by_int["id"] == "1234" and by_int["ram"] == 1024
    auto = await _create(nova)
    assert str(uuid.UUID(auto["id"])) == auto["id"]
    await nova.fault("POST", "/v2.1/flavors", nova.admin, 409,
                     json={"flavor": {"name": by_int["name"], "ram": 1, "vcpus": 1, "disk": 1}})
    await nova.fault("POST", "/v2.1/flavors", nova.admin, 409,
                     json={"flavor": {"name": "other", "id": 1234, "ram": 1, "vcpus": 1,
                                      "disk": 1}})
    for bad in ({"ram": 0}, {"vcpus": "x"}, {"disk": -1}, {"name": " lead"},
                {"rxtx_factor": 0}, {"id": "bad/id"}, {"swap": True}, {"colour": "red"}):
        body = {"name": "ok", "ram": 1, "vcpus": 1, "disk": 1, **bad}
        await nova.fault("POST", "/v2.1/flavors", nova.admin, 400, json={"flavor": body})
    # description is a 2.55 field
    await nova.fault("POST", "/v2.1/flavors", nova.admin, 400, version="2.54",
                     json={"flavor": {"name": "d", "ram": 1, "vcpus": 1, "disk": 1,
                                      "description": "x"}})
    await nova.fault("POST", "/v2.1/flavors", nova.alice, 403,
                     json={"flavor": {"name": "mine", "ram": 1, "vcpus": 1, "disk": 1}})


async def test_update_description_from_255_and_delete(nova: Nova) -> None:
    f = await _create(nova)
    path = f"/v2.1/flavors/{f['id']}"
    await nova.fault("PUT", path, nova.admin, 404, version="2.54",
                     json={"flavor": {"description": "x"}})
    updated = (await nova.ok("PUT", path, nova.admin, version="2.55",
                             json={"flavor": {"description": "new words"}}))["flavor"]
    assert updated["description"] == "new words"
    await nova.fault("PUT", path, nova.alice, 403, version="2.55",
                     json={"flavor": {"description": "mine"}})
    r = await nova.http.delete(path, headers=nova.admin)
    assert r.status_code == 202 and r.content == b""
    await nova.fault("GET", path, nova.admin, 404)
    await nova.fault("DELETE", path, nova.admin, 404)


async def test_private_flavors_and_flavor_access(nova: Nova) -> None:
    f = await _create(nova, **{"os-flavor-access:is_public": "False"})
    path = f"/v2.1/flavors/{f['id']}"
    names = [x["name"] for x in (await nova.ok("GET", "/v2.1/flavors", nova.alice))["flavors"]]
    assert f["name"] not in names
    await nova.fault("GET", path, nova.alice, 404)
    # an admin sees every flavor with is_public=None, only public ones by default
    every = await nova.ok("GET", "/v2.1/flavors?is_public=None", nova.admin)
    assert f["name"] in [x["name"] for x in every["flavors"]]
    assert f["name"] not in [x["name"] for x in
                             (await nova.ok("GET", "/v2.1/flavors", nova.admin))["flavors"]]
    private = await nova.ok("GET", "/v2.1/flavors?is_public=false", nova.admin)
    assert [x["name"] for x in private["flavors"]] == [f["name"]]
    await nova.fault("GET", "/v2.1/flavors?is_public=maybe", nova.admin, 400)

    access = await nova.ok("POST", f"{path}/action", nova.admin,
                           json={"addTenantAccess": {"tenant": nova.alpha}})
    assert access == {"flavor_access": [{"flavor_id": f["id"], "tenant_id": nova.alpha}]}
    await nova.fault("POST", f"{path}/action", nova.admin, 409,
                     json={"addTenantAccess": {"tenant": nova.alpha}})
    assert (await nova.ok("GET", path, nova.alice))["flavor"]["name"] == f["name"]
    await nova.fault("GET", path, nova.bob, 404)
    assert (await nova.ok("GET", f"{path}/os-flavor-access", nova.admin)) == access
    await nova.fault("GET", f"{path}/os-flavor-access", nova.alice, 403)
    await nova.fault("POST", f"{path}/action", nova.alice, 403,
                     json={"removeTenantAccess": {"tenant": nova.alpha}})
    gone = await nova.ok("POST", f"{path}/action", nova.admin,
                         json={"removeTenantAccess": {"tenant": nova.alpha}})
    assert gone == {"flavor_access": []}
    await nova.fault("POST", f"{path}/action", nova.admin, 404,
                     json={"removeTenantAccess": {"tenant": nova.alpha}})
    await nova.fault("GET", path, nova.alice, 404)

    public = await _create(nova)
    await nova.fault("GET", f"/v2.1/flavors/{public['id']}/os-flavor-access", nova.admin, 404)
    await nova.fault("POST", f"/v2.1/flavors/{public['id']}/action", nova.admin, 409,
                     json={"addTenantAccess": {"tenant": nova.alpha}})


async def test_extra_specs(nova: Nova) -> None:
    f = await _create(nova)
    specs = f"/v2.1/flavors/{f['id']}/os-extra_specs"
    body = {"hw:numa_nodes": "1", "hw:cpu_policy": "shared"}
    assert (await nova.ok("POST", specs, nova.admin, json={"extra_specs": body})) == {
        "extra_specs": body}
    assert (await nova.ok("GET", specs, nova.reader))["extra_specs"] == body
    assert await nova.ok("PUT", f"{specs}/hw:numa_nodes", nova.admin,
                         json={"hw:numa_nodes": "2"}) == {"hw:numa_nodes": "2"}
    assert await nova.ok("GET", f"{specs}/hw:numa_nodes", nova.alice) == {"hw:numa_nodes": "2"}
    await nova.fault("PUT", f"{specs}/hw:numa_nodes", nova.admin, 400,
                     json={"hw:cpu_policy": "shared"})
    await nova.fault("PUT", f"{specs}/hw:numa_nodes", nova.admin, 400,
                     json={"hw:numa_nodes": "1", "hw:cpu_policy": "shared"})
    await nova.fault("POST", specs, nova.alice, 403, json={"extra_specs": {"a": "b"}})
    await nova.fault("DELETE", f"{specs}/hw:numa_nodes", nova.alice, 403)
    r = await nova.http.delete(f"{specs}/hw:numa_nodes", headers=nova.admin)
    assert r.status_code == 200
    await nova.fault("DELETE", f"{specs}/hw:numa_nodes", nova.admin, 404)
    await nova.fault("GET", f"{specs}/nothing", nova.admin, 404)
    # 2.86 validates known namespaces; others pass
    await nova.fault("POST", specs, nova.admin, 400, version="2.86",
                     json={"extra_specs": {"hw:cpu_policy": "sometimes"}})
    await nova.fault("POST", specs, nova.admin, 400, version="2.86",
                     json={"extra_specs": {"hw:no_such_thing": "1"}})
    ok = await nova.ok("POST", specs, nova.admin, version="2.86",
                       json={"extra_specs": {"foo:bar": "baz", "hw:cpu_policy": "dedicated"}})
    assert ok["extra_specs"]["foo:bar"] == "baz"
    # before 2.86 anything goes, as Nova
    await nova.ok("POST", specs, nova.admin, json={"extra_specs": {"hw:no_such_thing": "1"}})
    await nova.fault("POST", specs, nova.admin, 400, json={"extra_specs": {"bad/key": "1"}})


async def test_paging_sorting_and_filters(nova: Nova) -> None:
    for i, ram in enumerate((256, 1024, 4096)):
        await _create(nova, id=f"page-{i}", ram=ram, disk=i * 10)
    first = await nova.ok("GET", "/v2.1/flavors?limit=2", nova.alice)
    assert [f["id"] for f in first["flavors"]] == ["page-0", "page-1"]
    (link,) = first["flavors_links"]
    assert link["rel"] == "next"
    assert link["href"] == "http://testserver/v2.1/flavors?limit=2&marker=page-1"
    rest = await nova.ok("GET", link["href"].removeprefix("http://testserver"), nova.alice)
    assert [f["id"] for f in rest["flavors"]] == ["page-2"]
    assert "flavors_links" not in rest
    await nova.fault("GET", "/v2.1/flavors?marker=nope", nova.alice, 400)
    await nova.fault("GET", "/v2.1/flavors?limit=x", nova.alice, 400)
    big = await nova.ok("GET", "/v2.1/flavors/detail?minRam=1000&minDisk=15", nova.alice)
    assert [f["id"] for f in big["flavors"]] == ["page-2"]
    await nova.fault("GET", "/v2.1/flavors?minRam=lots", nova.alice, 400)
    down = await nova.ok("GET", "/v2.1/flavors?sort_key=memory_mb&sort_dir=desc", nova.alice)
    assert [f["id"] for f in down["flavors"]] == ["page-2", "page-1", "page-0"]
    await nova.fault("GET", "/v2.1/flavors?sort_key=colour", nova.alice, 400)
    # unknown query parameters: ignored before 2.75, refused from it
    await nova.ok("GET", "/v2.1/flavors?colour=red", nova.alice, version="2.74")
    await nova.fault("GET", "/v2.1/flavors?colour=red", nova.alice, 400, version="2.75")


async def test_microversion_negotiation_on_compute(nova: Nova) -> None:
    r = await nova.http.get("/v2.1/flavors", headers={
        **nova.alice, "X-OpenStack-Nova-API-Version": "2.60"})
    assert r.status_code == 200
    assert r.headers["OpenStack-API-Version"] == "compute 2.60"
    assert r.headers["X-OpenStack-Nova-API-Version"] == "2.60"
    await nova.fault("GET", "/v2.1/flavors", nova.alice, 406, version="2.97")
    await nova.fault("GET", "/v2.1/flavors", nova.alice, 400, version="2.x")
    r = await nova.http.get("/v2.1/flavors", headers={
        **nova.alice, "OpenStack-API-Version": "compute latest"})
    assert r.headers["OpenStack-API-Version"] == "compute 2.96"
