"""Allocations (every body shape), consumer generations, usages, the reshaper, and claims that
race: exactly as many succeed as there is room for, on every database kind."""

from __future__ import annotations

import asyncio
import uuid

from tests.functional.placement.conftest import Placement, error_code


async def test_claim_show_and_release(placement: Placement) -> None:
    rp = await placement.provider("cn", VCPU=4, MEMORY_MB=2048)
    vm = str(uuid.uuid4())
    r = await placement.claim(vm, {rp: {"VCPU": 2, "MEMORY_MB": 512}})
    assert r.status_code == 204, r.text
    r = await placement.req("GET", f"/allocations/{vm}")
    body = r.json()
    assert body["allocations"] == {rp: {"generation": 2,
                                        "resources": {"VCPU": 2, "MEMORY_MB": 512}}}
    assert (body["project_id"], body["user_id"], body["consumer_generation"],
            body["consumer_type"]) == (placement.project_id, "u1", 1, "INSTANCE")
    r = await placement.req("GET", f"/resource_providers/{rp}/allocations")
    assert r.json() == {"allocations": {vm: {"resources": {"VCPU": 2, "MEMORY_MB": 512}}},
                        "resource_provider_generation": 2}
    r = await placement.req("GET", f"/resource_providers/{rp}/usages")
    assert r.json()["usages"] == {"VCPU": 2, "MEMORY_MB": 512}
    # Over capacity: 409 with the words, nothing written.
    r = await placement.claim(str(uuid.uuid4()), {rp: {"VCPU": 3}})
    assert r.status_code == 409 and "exceed the capacity" in r.json()["errors"][0]["detail"]
    # A new consumer must say null; an existing one its generation.
    r = await placement.claim(vm, {rp: {"VCPU": 1}}, generation=None)
    assert r.status_code == 409 and error_code(r) == "placement.concurrent_update"
    r = await placement.claim(vm, {rp: {"VCPU": 1}}, generation=1)
    assert r.status_code == 204
    # An empty allocations object with the generation deletes safely (1.28+).
    r = await placement.claim(vm, {}, generation=2)
    assert r.status_code == 204
    assert (await placement.req("GET", f"/allocations/{vm}")).json() == {"allocations": {}}
    assert (await placement.req("DELETE", f"/allocations/{vm}")).status_code == 404


async def test_bad_allocations(placement: Placement) -> None:
    rp = await placement.provider("cn", VCPU=4, DISK_GB={"total": 100, "step_size": 10,
                                                          "max_unit": 50})
    vm = str(uuid.uuid4())
    r = await placement.claim(vm, {str(uuid.uuid4()): {"VCPU": 1}})
    assert r.status_code == 400
    r = await placement.claim(vm, {rp: {"MEMORY_MB": 1}})
    assert r.status_code == 409  # no such inventory on that provider
    r = await placement.claim(vm, {rp: {"DISK_GB": 15}})
    assert r.status_code == 409  # not a multiple of step_size
    r = await placement.claim(vm, {rp: {"DISK_GB": 60}})
    assert r.status_code == 409  # beyond max_unit
    r = await placement.claim(vm, {rp: {"VCPU": 0}})
    assert r.status_code == 400
    r = await placement.claim(vm, {rp: {"CUSTOM_NOPE": 1}})
    assert r.status_code == 400
    r = await placement.req("PUT", "/allocations/not-a-uuid", json={})
    assert r.status_code == 400
    # consumer_type is required at 1.38, unknown at 1.37
    body = {"allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u",
            "consumer_generation": None}
    assert (await placement.req("PUT", f"/allocations/{vm}", json=body)).status_code == 400
    r = await placement.req("PUT", f"/allocations/{vm}", mv="1.37",
                            json={**body, "consumer_type": "INSTANCE"})
    assert r.status_code == 400
    assert (await placement.req("PUT", f"/allocations/{vm}", mv="1.37", json=body)).status_code \
        == 204
    assert (await placement.req("GET", f"/allocations/{vm}")).json()["consumer_type"] == "unknown"


async def test_old_body_shapes(placement: Placement) -> None:
    rp = await placement.provider("cn", VCPU=8)
    vm = str(uuid.uuid4())
    r = await placement.req("PUT", f"/allocations/{vm}", mv="1.0", json={"allocations": [
        {"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}}]})
    assert r.status_code == 204, r.text
    r = await placement.req("GET", f"/allocations/{vm}", mv="1.0")
    assert r.json() == {"allocations": {rp: {"generation": 2, "resources": {"VCPU": 1}}}}
    r = await placement.req("PUT", f"/allocations/{vm}", mv="1.8", json={"allocations": [
        {"resource_provider": {"uuid": rp}, "resources": {"VCPU": 2}}]})
    assert r.status_code == 400  # project_id and user_id are required from 1.8
    r = await placement.req("PUT", f"/allocations/{vm}", mv="1.12", json={
        "allocations": {rp: {"resources": {"VCPU": 2}}}, "project_id": "p", "user_id": "u"})
    assert r.status_code == 204
    r = await placement.req("GET", f"/allocations/{vm}", mv="1.12")
    assert r.json()["project_id"] == "p" and "consumer_generation" not in r.json()


async def test_post_allocations_moves_between_consumers(placement: Placement) -> None:
    rp = await placement.provider("cn", VCPU=4)
    vm, migration = str(uuid.uuid4()), str(uuid.uuid4())
    assert (await placement.claim(vm, {rp: {"VCPU": 4}})).status_code == 204
    common = {"project_id": placement.project_id, "user_id": "u1"}
    r = await placement.req("POST", "/allocations", json={
        vm: {"allocations": {}, "consumer_generation": 1, "consumer_type": "INSTANCE", **common},
        migration: {"allocations": {rp: {"resources": {"VCPU": 4}}}, "consumer_generation": None,
                    "consumer_type": "MIGRATION", **common}})
    assert r.status_code == 204, r.text
    assert (await placement.req("GET", f"/allocations/{vm}")).json()["allocations"] == {}
    r = await placement.req("GET", f"/allocations/{migration}")
    assert r.json()["consumer_type"] == "MIGRATION"
    # All or nothing: one bad consumer fails the whole request.
    other = str(uuid.uuid4())
    r = await placement.req("POST", "/allocations", json={
        other: {"allocations": {rp: {"resources": {"VCPU": 1}}}, "consumer_generation": None,
                "consumer_type": "INSTANCE", **common},
        migration: {"allocations": {}, "consumer_generation": 7, "consumer_type": "MIGRATION",
                    **common}})
    assert r.status_code == 409
    assert (await placement.req("GET", f"/allocations/{other}")).json()["allocations"] == {}


async def test_usages_by_project_and_consumer_type(placement: Placement) -> None:
    rp = await placement.provider("cn", VCPU=16, MEMORY_MB=8192)
    for kind in ("INSTANCE", "INSTANCE", "MIGRATION"):
        r = await placement.claim(str(uuid.uuid4()), {rp: {"VCPU": 2, "MEMORY_MB": 256}},
                                  consumer_type=kind)
        assert r.status_code == 204
    await placement.claim(str(uuid.uuid4()), {rp: {"VCPU": 1}}, project_id="someone-else")
    r = await placement.req("GET", "/usages", params={"project_id": placement.project_id})
    assert r.json()["usages"] == {
        "INSTANCE": {"VCPU": 4, "MEMORY_MB": 512, "consumer_count": 2},
        "MIGRATION": {"VCPU": 2, "MEMORY_MB": 256, "consumer_count": 1}}
    r = await placement.req("GET", "/usages", params={"project_id": placement.project_id,
                                                      "consumer_type": "all"})
    assert r.json()["usages"] == {"all": {"VCPU": 6, "MEMORY_MB": 768, "consumer_count": 3}}
    r = await placement.req("GET", "/usages", mv="1.9", params={"project_id": placement.project_id})
    assert r.json()["usages"] == {"VCPU": 6, "MEMORY_MB": 768}
    assert (await placement.req("GET", "/usages")).status_code == 400


async def test_inventory_in_use_cannot_go(placement: Placement) -> None:
    rp = await placement.provider("cn", VCPU=4, DISK_GB=10)
    assert (await placement.claim(str(uuid.uuid4()), {rp: {"VCPU": 1}})).status_code == 204
    r = await placement.req("DELETE", f"/resource_providers/{rp}/inventories/VCPU")
    # Placement's handler names this one concurrent_update
    assert r.status_code == 409 and error_code(r) == "placement.concurrent_update"
    r = await placement.req("DELETE", f"/resource_providers/{rp}/inventories")
    assert r.status_code == 409 and error_code(r) == "placement.inventory.inuse"
    gen = await placement.generation(rp)
    r = await placement.req("PUT", f"/resource_providers/{rp}/inventories", json={
        "resource_provider_generation": gen, "inventories": {"DISK_GB": {"total": 10}}})
    assert r.status_code == 409 and error_code(r) == "placement.inventory.inuse"
    r = await placement.req("DELETE", f"/resource_providers/{rp}")
    assert r.status_code == 409 and error_code(r) == "placement.resource_provider.inuse"


async def test_reshaper_moves_inventory_and_allocations_to_a_child(placement: Placement) -> None:
    root = await placement.provider("cn", VCPU=4, VGPU=2)
    child = await placement.provider("gpu0", parent=root)
    vm = str(uuid.uuid4())
    assert (await placement.claim(vm, {root: {"VCPU": 1, "VGPU": 1}})).status_code == 204
    common = {"project_id": placement.project_id, "user_id": "u1", "consumer_type": "INSTANCE"}
    r = await placement.req("POST", "/reshaper", who="service", json={
        "inventories": {
            root: {"resource_provider_generation": await placement.generation(root),
                   "inventories": {"VCPU": {"total": 4}}},
            child: {"resource_provider_generation": await placement.generation(child),
                    "inventories": {"VGPU": {"total": 2}}}},
        "allocations": {vm: {"allocations": {root: {"resources": {"VCPU": 1}},
                                             child: {"resources": {"VGPU": 1}}},
                             "consumer_generation": 1, **common}}})
    assert r.status_code == 204, r.text
    r = await placement.req("GET", f"/allocations/{vm}")
    assert {rp: a["resources"] for rp, a in r.json()["allocations"].items()} == {
        root: {"VCPU": 1}, child: {"VGPU": 1}}
    # A reshape that would strand an allocation fails as a whole.
    r = await placement.req("POST", "/reshaper", who="service", json={
        "inventories": {child: {"resource_provider_generation": await placement.generation(child),
                                "inventories": {}}}, "allocations": {}})
    assert r.status_code == 409
    # The reshaper is for services: an admin without the service role is refused.
    r = await placement.req("POST", "/reshaper", json={"inventories": {}, "allocations": {}})
    assert r.status_code == 403


async def test_racing_claims_never_overcommit(placement: Placement) -> None:
    # 4 VCPU of room, 12 claims of 1 VCPU at once (each on two providers, so writers touch
    # rows in different orders): exactly 4 succeed, the rest are 409s, none a 5xx.
    a = await placement.provider("cn-a", VCPU=4)
    b = await placement.provider("cn-b", MEMORY_MB=1 << 20)
    consumers = [str(uuid.uuid4()) for _ in range(12)]
    results = await asyncio.gather(*(
        placement.claim(c, {a: {"VCPU": 1}, b: {"MEMORY_MB": 64}}) for c in consumers))
    codes = sorted(r.status_code for r in results)
    assert codes.count(204) == 4 and codes.count(409) == 8, codes
    r = await placement.req("GET", f"/resource_providers/{a}/usages")
    assert r.json()["usages"] == {"VCPU": 4}
    r = await placement.req("GET", f"/resource_providers/{a}/allocations")
    assert len(r.json()["allocations"]) == 4
