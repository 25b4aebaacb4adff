"""Resource providers, inventories, resource classes, traits and aggregates, through the API
as Placement's api-ref and gabbits describe them; errors in Placement's shape and codes."""

from __future__ import annotations

import uuid

from tests.functional.placement.conftest import Placement, error_code


async def test_root_is_public_and_names_the_versions(placement: Placement) -> None:
    r = await placement.http.get("/")
    assert r.status_code == 200
    (v,) = r.json()["versions"]
    assert (v["id"], v["min_version"], v["max_version"], v["status"]) == (
        "v1.0", "1.0", "1.39", "CURRENT")


async def test_microversion_negotiation_and_fault_shape(placement: Placement) -> None:
    r = await placement.req("GET", "/resource_providers", mv="none")
    assert r.status_code == 200
    assert r.headers["OpenStack-API-Version"] == "placement 1.0"
    r = await placement.req("GET", "/resource_providers", mv="latest")
    assert r.headers["OpenStack-API-Version"] == "placement 1.39"
    assert "Last-Modified" in r.headers and r.headers["Cache-Control"] == "no-cache"
    r = await placement.req("GET", "/resource_providers", mv="1.99")
    assert r.status_code == 406
    (err,) = r.json()["errors"]
    # no version was negotiated, so no `code` (it came in 1.23), as Placement answers
    assert set(err) == {"status", "title", "detail", "request_id"}
    assert err["request_id"] == r.headers["X-Openstack-Request-Id"]
    r = await placement.req("GET", f"/resource_providers/{uuid.uuid4()}", mv="1.22")
    assert r.status_code == 404 and "code" not in r.json()["errors"][0]
    assert r.json()["errors"][0]["detail"].startswith("The resource could not be found.\n\n ")
    r = await placement.req("GET", "/resource_providers", mv="1.x")
    assert r.status_code == 400
    # A route that came later is a 404 before its version.
    r = await placement.req("GET", "/traits", mv="1.5")
    assert r.status_code == 404


async def test_provider_lifecycle(placement: Placement) -> None:
    r = await placement.req("POST", "/resource_providers", mv="1.19", json={"name": "old"})
    assert r.status_code == 201 and r.content == b""
    assert r.headers["Location"].startswith("/resource_providers/")
    fixed = str(uuid.uuid4())
    r = await placement.req("POST", "/resource_providers", json={"name": "cn1", "uuid": fixed})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["uuid"] == fixed and body["generation"] == 0
    assert body["root_provider_uuid"] == fixed and body["parent_provider_uuid"] is None
    assert {link["rel"] for link in body["links"]} == {
        "self", "aggregates", "inventories", "usages", "traits", "allocations"}
    r = await placement.req("POST", "/resource_providers", json={"name": "cn1"})
    assert r.status_code == 409 and error_code(r) == "placement.duplicate_name"
    r = await placement.req("GET", "/resource_providers", params={"name": "cn1"})
    assert [p["uuid"] for p in r.json()["resource_providers"]] == [fixed]
    r = await placement.req("PUT", f"/resource_providers/{fixed}", json={"name": "cn1-renamed"})
    assert r.status_code == 200 and r.json()["name"] == "cn1-renamed"
    r = await placement.req("GET", f"/resource_providers/{uuid.uuid4()}")
    assert r.status_code == 404 and error_code(r) == "placement.undefined_code"
    r = await placement.req("DELETE", f"/resource_providers/{fixed}")
    assert r.status_code == 204
    assert (await placement.req("GET", f"/resource_providers/{fixed}")).status_code == 404


async def test_bad_bodies_and_queries_are_400s(placement: Placement) -> None:
    r = await placement.req("POST", "/resource_providers", json={"name": "x", "color": "red"})
    assert r.status_code == 400
    r = await placement.req("POST", "/resource_providers", json={"name": ""})
    assert r.status_code == 400
    r = await placement.req("GET", "/resource_providers", params={"bogus": "1"})
    assert r.status_code == 400
    r = await placement.req("GET", "/resource_providers", params={"resources": "VCPU:x"})
    assert r.status_code == 400
    r = await placement.req("GET", "/resource_providers", params={"resources": "NOPE:1"})
    assert r.status_code == 400
    r = await placement.req("GET", "/resource_providers", params={"member_of": "not-a-uuid"})
    assert r.status_code == 400 and error_code(r) == "placement.undefined_code"
    r = await placement.req("GET", "/resource_providers", params={"in_tree": str(uuid.uuid4())})
    assert r.status_code == 200 and r.json()["resource_providers"] == []
    # parent_provider_uuid is unknown before 1.14
    r = await placement.req("POST", "/resource_providers", mv="1.13",
                            json={"name": "y", "parent_provider_uuid": str(uuid.uuid4())})
    assert r.status_code == 400


async def test_trees(placement: Placement) -> None:
    root = await placement.provider("root")
    child = await placement.provider("numa0", parent=root)
    grandchild = await placement.provider("pf0", parent=child)
    other = await placement.provider("other")
    r = await placement.req("GET", f"/resource_providers/{grandchild}")
    assert r.json()["root_provider_uuid"] == root and r.json()["parent_provider_uuid"] == child
    r = await placement.req("GET", "/resource_providers", params={"in_tree": child})
    assert {p["uuid"] for p in r.json()["resource_providers"]} == {root, child, grandchild}
    r = await placement.req("DELETE", f"/resource_providers/{root}")
    assert r.status_code == 409
    assert error_code(r) == "placement.resource_provider.cannot_delete_parent"
    # Re-parenting: refused before 1.37, allowed after, but never into its own subtree.
    r = await placement.req("PUT", f"/resource_providers/{child}", mv="1.36",
                            json={"name": "numa0", "parent_provider_uuid": other})
    assert r.status_code == 400
    r = await placement.req("PUT", f"/resource_providers/{child}", mv="1.37",
                            json={"name": "numa0", "parent_provider_uuid": grandchild})
    assert r.status_code == 400
    r = await placement.req("PUT", f"/resource_providers/{child}", mv="1.37",
                            json={"name": "numa0", "parent_provider_uuid": other})
    assert r.status_code == 200
    r = await placement.req("GET", f"/resource_providers/{grandchild}")
    assert r.json()["root_provider_uuid"] == other
    r = await placement.req("PUT", f"/resource_providers/{child}", mv="1.37",
                            json={"name": "numa0", "parent_provider_uuid": None})
    assert r.json()["root_provider_uuid"] == child


async def test_inventories(placement: Placement) -> None:
    rp = await placement.provider("cn")
    base = f"/resource_providers/{rp}/inventories"
    r = await placement.req("PUT", base, json={"resource_provider_generation": 0, "inventories": {
        "VCPU": {"total": 8, "allocation_ratio": 16.0},
        "MEMORY_MB": {"total": 4096, "reserved": 512, "max_unit": 4096}}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["resource_provider_generation"] == 1
    assert body["inventories"]["VCPU"] == {"total": 8, "reserved": 0, "min_unit": 1,
                                           "max_unit": 2147483647, "step_size": 1,
                                           "allocation_ratio": 16.0}
    # A stale generation is a conflict with Placement's code.
    r = await placement.req("PUT", base, json={"resource_provider_generation": 0,
                                               "inventories": {"VCPU": {"total": 1}}})
    assert r.status_code == 409 and error_code(r) == "placement.concurrent_update"
    r = await placement.req("PUT", f"{base}/VCPU", json={"resource_provider_generation": 1,
                                                         "total": 16})
    assert r.status_code == 200 and r.json()["resource_provider_generation"] == 2
    r = await placement.req("GET", f"{base}/VCPU")
    assert r.json()["total"] == 16
    r = await placement.req("GET", f"{base}/DISK_GB")
    assert r.status_code == 404
    r = await placement.req("PUT", base, json={"resource_provider_generation": 2, "inventories": {
        "VCPU": {"total": 4, "reserved": 5}}})
    assert r.status_code == 400
    # reserved == total: refused before 1.26, allowed from it
    r = await placement.req("PUT", base, mv="1.25", json={
        "resource_provider_generation": 2, "inventories": {"VCPU": {"total": 4, "reserved": 4}}})
    assert r.status_code == 400
    r = await placement.req("PUT", base, mv="1.26", json={
        "resource_provider_generation": 2, "inventories": {"VCPU": {"total": 4, "reserved": 4}}})
    assert r.status_code == 200
    r = await placement.req("PUT", base, json={"resource_provider_generation": 3,
                                               "inventories": {"CUSTOM_NOPE": {"total": 1}}})
    assert r.status_code == 400
    r = await placement.req("POST", base, json={"resource_provider_generation": 3,
                                                "resource_class": "DISK_GB", "total": 100})
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith("/inventories/DISK_GB")
    r = await placement.req("DELETE", f"{base}/DISK_GB")
    assert r.status_code == 204
    r = await placement.req("DELETE", base)
    assert r.status_code == 204
    assert (await placement.req("GET", base)).json()["inventories"] == {}


async def test_resource_classes(placement: Placement) -> None:
    r = await placement.req("GET", "/resource_classes")
    names = [c["name"] for c in r.json()["resource_classes"]]
    assert names[:3] == ["VCPU", "MEMORY_MB", "DISK_GB"]
    r = await placement.req("POST", "/resource_classes", json={"name": "CUSTOM_GPU"})
    assert r.status_code == 201
    r = await placement.req("POST", "/resource_classes", json={"name": "CUSTOM_GPU"})
    assert r.status_code == 409 and error_code(r) == "placement.undefined_code"
    r = await placement.req("POST", "/resource_classes", json={"name": "GPU"})
    assert r.status_code == 400
    r = await placement.req("PUT", "/resource_classes/CUSTOM_FPGA")
    assert r.status_code == 201
    r = await placement.req("PUT", "/resource_classes/CUSTOM_FPGA")
    assert r.status_code == 204
    r = await placement.req("GET", "/resource_classes/CUSTOM_FPGA")
    assert r.json()["name"] == "CUSTOM_FPGA"
    r = await placement.req("DELETE", "/resource_classes/VCPU")
    assert r.status_code == 400
    await placement.provider("gpu-host", CUSTOM_GPU=2)
    r = await placement.req("DELETE", "/resource_classes/CUSTOM_GPU")
    assert r.status_code == 409
    r = await placement.req("DELETE", "/resource_classes/CUSTOM_FPGA")
    assert r.status_code == 204


async def test_traits(placement: Placement) -> None:
    r = await placement.req("GET", "/traits")
    assert "HW_CPU_X86_AVX" in r.json()["traits"] and "COMPUTE_STATUS_DISABLED" in r.json()["traits"]
    r = await placement.req("PUT", "/traits/CUSTOM_MAGIC")
    assert r.status_code == 201
    r = await placement.req("PUT", "/traits/CUSTOM_MAGIC")
    assert r.status_code == 204
    assert (await placement.req("PUT", "/traits/magic")).status_code == 400
    assert (await placement.req("GET", "/traits/CUSTOM_MAGIC")).status_code == 204
    assert (await placement.req("GET", "/traits/CUSTOM_NONE")).status_code == 404
    r = await placement.req("GET", "/traits", params={"name": "startswith:CUSTOM"})
    assert r.json()["traits"] == ["CUSTOM_MAGIC"]
    rp = await placement.provider("cn")
    path = f"/resource_providers/{rp}/traits"
    r = await placement.req("PUT", path, json={"traits": ["CUSTOM_MAGIC", "HW_CPU_X86_AVX"],
                                               "resource_provider_generation": 0})
    assert r.status_code == 200 and r.json()["resource_provider_generation"] == 1
    r = await placement.req("PUT", path, json={"traits": ["CUSTOM_UNKNOWN"],
                                               "resource_provider_generation": 1})
    assert r.status_code == 400
    r = await placement.req("PUT", path, json={"traits": [], "resource_provider_generation": 0})
    assert r.status_code == 409 and error_code(r) == "placement.concurrent_update"
    r = await placement.req("GET", "/traits", params={"associated": "true"})
    assert r.json()["traits"] == ["CUSTOM_MAGIC", "HW_CPU_X86_AVX"]
    r = await placement.req("GET", "/resource_providers", params={"required": "CUSTOM_MAGIC"})
    assert [p["uuid"] for p in r.json()["resource_providers"]] == [rp]
    r = await placement.req("GET", "/resource_providers", params={"required": "!CUSTOM_MAGIC"})
    assert r.json()["resource_providers"] == []
    r = await placement.req("DELETE", "/traits/CUSTOM_MAGIC")
    assert r.status_code == 409
    assert (await placement.req("DELETE", "/traits/HW_CPU_X86_AVX")).status_code == 400
    assert (await placement.req("DELETE", path)).status_code == 204
    assert (await placement.req("DELETE", "/traits/CUSTOM_MAGIC")).status_code == 204


async def test_aggregates(placement: Placement) -> None:
    rp = await placement.provider("cn")
    path = f"/resource_providers/{rp}/aggregates"
    agg1, agg2 = str(uuid.uuid4()), str(uuid.uuid4())
    r = await placement.req("PUT", path, mv="1.1", json=[agg1])
    assert r.status_code == 200 and r.json() == {"aggregates": [agg1]}
    r = await placement.req("GET", path)
    assert r.json() == {"aggregates": [agg1], "resource_provider_generation": 1}
    r = await placement.req("PUT", path, json={"aggregates": [agg1, agg2],
                                               "resource_provider_generation": 0})
    assert r.status_code == 409 and error_code(r) == "placement.concurrent_update"
    r = await placement.req("PUT", path, json={"aggregates": [agg1, agg2],
                                               "resource_provider_generation": 1})
    assert r.status_code == 200 and sorted(r.json()["aggregates"]) == sorted([agg1, agg2])
    r = await placement.req("GET", "/resource_providers", params={"member_of": f"in:{agg2}"})
    assert [p["uuid"] for p in r.json()["resource_providers"]] == [rp]
    r = await placement.req("GET", "/resource_providers", params={"member_of": f"!{agg2}"})
    assert r.json()["resource_providers"] == []


async def test_policy_personas(placement: Placement) -> None:
    # The service user (role service in project service) may manage providers...
    r = await placement.req("POST", "/resource_providers", who="service", json={"name": "svc"})
    assert r.status_code == 200, r.text
    # ...a project reader may not, and sees only its own project's usages.
    r = await placement.req("GET", "/resource_providers", who="member")
    assert r.status_code == 403
    r = await placement.req("GET", "/usages", who="member",
                            params={"project_id": placement.project_id})
    assert r.status_code == 200
    r = await placement.req("GET", "/usages", who="member", params={"project_id": "other"})
    assert r.status_code == 403
    r = await placement.http.get("/resource_providers")
    assert r.status_code == 401
