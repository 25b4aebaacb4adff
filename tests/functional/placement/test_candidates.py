"""GET /allocation_candidates: capacity, traits (required, forbidden, any-of), aggregates,
limits, nested trees with granular groups, sharing providers, and the older response shapes."""

from __future__ import annotations

import uuid
from typing import Any

from tests.functional.placement.conftest import Placement

Q = dict[str, str]


async def _candidates(placement: Placement, params: Q, mv: str = "latest") -> dict[str, Any]:
    r = await placement.req("GET", "/allocation_candidates", params=params, mv=mv)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _providers(body: dict[str, Any]) -> list[set[str]]:
    return [set(ar["allocations"]) for ar in body["allocation_requests"]]


async def test_flat_hosts_by_capacity_traits_and_aggregates(placement: Placement) -> None:
    small = await placement.provider("small", VCPU=2, MEMORY_MB=1024, DISK_GB=10)
    big = await placement.provider("big", VCPU={"total": 8, "allocation_ratio": 2.0},
                                   MEMORY_MB=8192, DISK_GB=100)
    full = await placement.provider("full", VCPU=4, MEMORY_MB=4096, DISK_GB=100)
    assert (await placement.claim(str(uuid.uuid4()), {full: {"VCPU": 4}})).status_code == 204
    want = {"resources": "VCPU:2,MEMORY_MB:512,DISK_GB:5"}
    body = await _candidates(placement, want)
    assert _providers(body) == [{small}, {big}]
    assert body["allocation_requests"][0] == {
        "allocations": {small: {"resources": {"VCPU": 2, "MEMORY_MB": 512, "DISK_GB": 5}}},
        "mappings": {"": [small]}}
    summary = body["provider_summaries"][big]
    assert summary["resources"]["VCPU"] == {"capacity": 16, "used": 0}
    assert summary["root_provider_uuid"] == big and summary["parent_provider_uuid"] is None
    body = await _candidates(placement, {"resources": "VCPU:3"})
    assert _providers(body) == [{big}]
    body = await _candidates(placement, {**want, "limit": "1"})
    assert _providers(body) == [{small}] and set(body["provider_summaries"]) == {small}
    # traits: required, forbidden, any-of (1.39)
    gen = await placement.generation(big)
    r = await placement.req("PUT", f"/resource_providers/{big}/traits", json={
        "traits": ["HW_CPU_X86_AVX2"], "resource_provider_generation": gen})
    assert r.status_code == 200
    body = await _candidates(placement, {**want, "required": "HW_CPU_X86_AVX2"})
    assert _providers(body) == [{big}]
    assert body["provider_summaries"][big]["traits"] == ["HW_CPU_X86_AVX2"]
    body = await _candidates(placement, {**want, "required": "!HW_CPU_X86_AVX2"})
    assert _providers(body) == [{small}]
    body = await _candidates(placement, {**want, "required": "in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE"})
    assert _providers(body) == [{big}]
    r = await placement.req("GET", "/allocation_candidates", params={**want, "required": "NOPE"})
    assert r.status_code == 400
    # aggregates
    agg = str(uuid.uuid4())
    r = await placement.req("PUT", f"/resource_providers/{small}/aggregates", json={
        "aggregates": [agg], "resource_provider_generation": await placement.generation(small)})
    assert r.status_code == 200
    body = await _candidates(placement, {**want, "member_of": agg})
    assert _providers(body) == [{small}]
    body = await _candidates(placement, {**want, "member_of": f"!{agg}"})
    assert _providers(body) == [{big}]


async def test_older_response_shapes(placement: Placement) -> None:
    rp = await placement.provider("cn", VCPU=4, MEMORY_MB=1024)
    body = await _candidates(placement, {"resources": "VCPU:1"}, mv="1.10")
    assert body["allocation_requests"] == [
        {"allocations": [{"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}}]}]
    # before 1.27 only the classes asked for are summarised; no traits before 1.17
    assert body["provider_summaries"] == {rp: {"resources": {"VCPU": {"capacity": 4,
                                                                       "used": 0}}}}
    body = await _candidates(placement, {"resources": "VCPU:1"}, mv="1.12")
    assert body["allocation_requests"] == [{"allocations": {rp: {"resources": {"VCPU": 1}}}}]
    r = await placement.req("GET", "/allocation_candidates", mv="1.9",
                            params={"resources": "VCPU:1"})
    assert r.status_code == 404
    r = await placement.req("GET", "/allocation_candidates", mv="1.10")
    assert r.status_code == 400
    r = await placement.req("GET", "/allocation_candidates", mv="1.15",
                            params={"resources": "VCPU:1", "limit": "1"})
    assert r.status_code == 400  # limit came in 1.16


async def test_nested_numa_with_granular_groups(placement: Placement) -> None:
    host = await placement.provider("host", DISK_GB=100)
    numa0 = await placement.provider("numa0", parent=host, VCPU=4, MEMORY_MB=2048)
    numa1 = await placement.provider("numa1", parent=host, VCPU=4, MEMORY_MB=2048)
    body = await _candidates(placement, {"resources": "DISK_GB:10",
                                         "resources1": "VCPU:2,MEMORY_MB:1024",
                                         "resources2": "VCPU:2,MEMORY_MB:1024",
                                         "group_policy": "isolate"})
    got = {(*ar["mappings"]["1"], *ar["mappings"]["2"]) for ar in body["allocation_requests"]}
    assert got == {(numa0, numa1), (numa1, numa0)} and len(body["allocation_requests"]) == 2
    assert set(body["provider_summaries"]) == {host, numa0, numa1}
    assert body["provider_summaries"][numa0]["parent_provider_uuid"] == host
    # group_policy none lets both groups land on one NUMA node (and they are merged)
    body = await _candidates(placement, {"resources1": "VCPU:2", "resources2": "VCPU:2",
                                         "group_policy": "none"})
    allocs = [ar["allocations"] for ar in body["allocation_requests"]]
    assert {numa0: {"resources": {"VCPU": 4}}} in allocs
    # too much for one node, fine for the tree when the unnumbered group may spread
    body = await _candidates(placement, {"resources1": "VCPU:6"})
    assert body["allocation_requests"] == []
    r = await placement.req("GET", "/allocation_candidates",
                            params={"resources1": "VCPU:1", "resources2": "VCPU:1"})
    assert r.status_code == 400  # two groups need a group_policy
    # in_tree narrows to one tree; root_required looks at the root's traits
    other = await placement.provider("other", VCPU=8)
    body = await _candidates(placement, {"resources": "VCPU:1", "in_tree": other})
    assert _providers(body) == [{other}]
    body = await _candidates(placement, {"resources": "VCPU:1",
                                         "root_required": "!COMPUTE_STATUS_DISABLED"})
    assert {other} in _providers(body)
    gen = await placement.generation(other)
    await placement.req("PUT", f"/resource_providers/{other}/traits", json={
        "traits": ["COMPUTE_STATUS_DISABLED"], "resource_provider_generation": gen})
    body = await _candidates(placement, {"resources": "VCPU:1",
                                         "root_required": "!COMPUTE_STATUS_DISABLED"})
    assert {other} not in _providers(body) and _providers(body)


async def test_same_subtree_with_a_resourceless_group(placement: Placement) -> None:
    host = await placement.provider("host")
    nic0 = await placement.provider("nic0", parent=host)
    pf0 = await placement.provider("pf0", parent=nic0, NET_BW_EGR_KILOBIT_PER_SEC=1000)
    nic1 = await placement.provider("nic1", parent=host)
    await placement.provider("pf1", parent=nic1, NET_BW_EGR_KILOBIT_PER_SEC=1000)
    await placement.req("PUT", f"/resource_providers/{nic0}/traits", json={
        "traits": ["HW_NIC_SRIOV"],
        "resource_provider_generation": await placement.generation(nic0)})
    body = await _candidates(placement, {"required_NIC": "HW_NIC_SRIOV",
                                         "resources_BW": "NET_BW_EGR_KILOBIT_PER_SEC:10",
                                         "same_subtree": "_NIC,_BW", "group_policy": "none"})
    assert _providers(body) == [{pf0}]
    assert body["allocation_requests"][0]["mappings"] == {"_BW": [pf0], "_NIC": [nic0]}


async def test_sharing_provider_serves_disk(placement: Placement) -> None:
    agg = str(uuid.uuid4())
    cn = await placement.provider("cn", VCPU=4)
    ss = await placement.provider("shared-storage", DISK_GB=1000)
    for rp in (cn, ss):
        r = await placement.req("PUT", f"/resource_providers/{rp}/aggregates", json={
            "aggregates": [agg], "resource_provider_generation": await placement.generation(rp)})
        assert r.status_code == 200
    r = await placement.req("PUT", f"/resource_providers/{ss}/traits", json={
        "traits": ["MISC_SHARES_VIA_AGGREGATE"],
        "resource_provider_generation": await placement.generation(ss)})
    assert r.status_code == 200
    body = await _candidates(placement, {"resources": "VCPU:1,DISK_GB:100"})
    assert _providers(body) == [{cn, ss}]
    assert body["allocation_requests"][0]["allocations"] == {
        cn: {"resources": {"VCPU": 1}}, ss: {"resources": {"DISK_GB": 100}}}
