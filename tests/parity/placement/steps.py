"""The requests of the Placement parity check, in order: each runs against the state the ones
before it left (fixed uuids, so the real service and Overcast see the same ids). Shared by the
recorder (record_placement.py) and the test (test_placement.py)."""

from __future__ import annotations

import uuid
from typing import Any

__all__ = ["STEPS", "Step", "shape"]

U = [str(uuid.UUID(int=i + 1000)) for i in range(40)]
AGG = [str(uuid.UUID(int=i + 9000)) for i in range(5)]

#: (method, path, JSON body or None, microversion or None for latest)
Step = tuple[str, str, Any, str | None]


def _steps() -> list[Step]:
    P = "/resource_providers"

    def alloc(gen: int | None, res: dict[str, int], ct: str = "INSTANCE") -> dict[str, Any]:
        return {
            "allocations": {U[0]: {"resources": res}},
            "project_id": "p1",
            "user_id": "u1",
            "consumer_generation": gen,
            "consumer_type": ct,
        }

    return [
        ("GET", "/", None, None),
        ("GET", P, None, "1.99"),
        ("GET", P, None, "1.x"),
        ("GET", "/traits", None, "1.5"),
        ("POST", P, {"name": "a", "uuid": U[0]}, "1.19"),
        ("POST", P, {"name": "b", "uuid": U[1]}, None),
        ("POST", P, {"name": "a"}, None),
        ("POST", P, {"name": "c", "uuid": U[1]}, None),
        ("POST", P, {"name": "x", "color": 1}, None),
        ("POST", P, {"name": ""}, None),
        ("POST", P, {"name": "kid", "uuid": U[2], "parent_provider_uuid": U[0]}, None),
        ("POST", P, {"name": "kid2", "parent_provider_uuid": U[30]}, None),
        ("POST", P, {"name": "kid3", "parent_provider_uuid": U[0]}, "1.13"),
        ("GET", f"{P}/{U[0]}", None, None),
        ("GET", f"{P}/{U[0]}", None, "1.0"),
        ("GET", f"{P}/{U[9]}", None, None),
        ("GET", f"{P}/not-a-uuid", None, None),
        ("GET", f"{P}?bogus=1", None, None),
        ("GET", f"{P}?resources=VCPU:x", None, None),
        ("GET", f"{P}?resources=NOPE:1", None, None),
        ("GET", f"{P}?member_of=bad", None, None),
        ("GET", f"{P}?required=NOPE", None, None),
        ("GET", f"{P}?in_tree={U[9]}", None, None),
        ("GET", f"{P}?in_tree={U[2]}", None, None),
        ("DELETE", f"{P}/{U[0]}", None, None),
        ("PUT", f"{P}/{U[2]}", {"name": "kid", "parent_provider_uuid": U[1]}, "1.36"),
        ("PUT", f"{P}/{U[0]}", {"name": "a", "parent_provider_uuid": U[2]}, "1.37"),
        ("PUT", f"{P}/{U[0]}", {"name": "b"}, None),
        (
            "PUT",
            f"{P}/{U[0]}/inventories",
            {
                "resource_provider_generation": 0,
                "inventories": {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 1024, "max_unit": 512}},
            },
            None,
        ),
        (
            "PUT",
            f"{P}/{U[0]}/inventories",
            {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}},
            None,
        ),
        (
            "PUT",
            f"{P}/{U[0]}/inventories",
            {"resource_provider_generation": 1, "inventories": {"VCPU": {"total": 8, "reserved": 9}}},
            None,
        ),
        (
            "PUT",
            f"{P}/{U[0]}/inventories",
            {"resource_provider_generation": 1, "inventories": {"VCPU": {"total": 8, "reserved": 8}}},
            "1.25",
        ),
        (
            "PUT",
            f"{P}/{U[0]}/inventories",
            {"resource_provider_generation": 1, "inventories": {"CUSTOM_NOPE": {"total": 8}}},
            None,
        ),
        (
            "PUT",
            f"{P}/{U[0]}/inventories",
            {"resource_provider_generation": 1, "inventories": {"VCPU": {"total": 0}}},
            None,
        ),
        ("PUT", f"{P}/{U[0]}/inventories", {"inventories": {"VCPU": {"total": 1}}}, None),
        ("GET", f"{P}/{U[0]}/inventories", None, None),
        ("GET", f"{P}/{U[0]}/inventories/VCPU", None, None),
        ("GET", f"{P}/{U[0]}/inventories/DISK_GB", None, None),
        ("PUT", f"{P}/{U[0]}/inventories/DISK_GB", {"resource_provider_generation": 1, "total": 5}, None),
        (
            "POST",
            f"{P}/{U[0]}/inventories",
            {"resource_provider_generation": 1, "resource_class": "DISK_GB", "total": 5},
            None,
        ),
        (
            "POST",
            f"{P}/{U[0]}/inventories",
            {"resource_provider_generation": 2, "resource_class": "DISK_GB", "total": 5},
            None,
        ),
        ("DELETE", f"{P}/{U[0]}/inventories/DISK_GB", None, None),
        ("DELETE", f"{P}/{U[0]}/inventories/DISK_GB", None, None),
        ("PUT", "/traits/CUSTOM_A", None, None),
        ("PUT", "/traits/CUSTOM_A", None, None),
        ("PUT", "/traits/bad", None, None),
        ("GET", "/traits/CUSTOM_A", None, None),
        ("GET", "/traits/CUSTOM_NO", None, None),
        ("GET", "/traits?name=startswith:CUSTOM", None, None),
        ("GET", "/traits?name=bogus", None, None),
        ("PUT", f"{P}/{U[0]}/traits", {"traits": ["CUSTOM_A"], "resource_provider_generation": 4}, None),
        ("PUT", f"{P}/{U[0]}/traits", {"traits": ["CUSTOM_NO"], "resource_provider_generation": 5}, None),
        ("PUT", f"{P}/{U[0]}/traits", {"traits": ["CUSTOM_A"], "resource_provider_generation": 0}, None),
        ("GET", f"{P}/{U[0]}/traits", None, None),
        ("DELETE", "/traits/CUSTOM_A", None, None),
        ("DELETE", "/traits/HW_CPU_X86_AVX", None, None),
        ("GET", "/traits?associated=true", None, None),
        ("POST", "/resource_classes", {"name": "CUSTOM_X"}, None),
        ("POST", "/resource_classes", {"name": "CUSTOM_X"}, None),
        ("POST", "/resource_classes", {"name": "X"}, None),
        ("PUT", "/resource_classes/CUSTOM_Y", None, None),
        ("PUT", "/resource_classes/CUSTOM_Y", None, None),
        ("DELETE", "/resource_classes/VCPU", None, None),
        ("GET", "/resource_classes/CUSTOM_Y", None, None),
        ("GET", "/resource_classes/CUSTOM_NONE", None, None),
        ("DELETE", "/resource_classes/CUSTOM_NONE", None, None),
        ("PUT", f"{P}/{U[0]}/aggregates", {"aggregates": [AGG[0]], "resource_provider_generation": 0}, None),
        ("PUT", f"{P}/{U[0]}/aggregates", {"aggregates": [AGG[0]], "resource_provider_generation": 5}, None),
        ("PUT", f"{P}/{U[0]}/aggregates", [AGG[1]], "1.18"),
        ("GET", f"{P}/{U[0]}/aggregates", None, None),
        ("GET", f"{P}/{U[0]}/aggregates", None, "1.1"),
        ("PUT", f"/allocations/{U[10]}", alloc(None, {"VCPU": 2}), None),
        ("PUT", f"/allocations/{U[11]}", alloc(None, {"VCPU": 200}), None),
        ("PUT", f"/allocations/{U[10]}", alloc(None, {"VCPU": 1}), None),
        ("PUT", f"/allocations/{U[12]}", alloc(None, {"MEMORY_MB": 1000}), None),
        ("PUT", f"/allocations/{U[12]}", alloc(None, {"DISK_GB": 1}), None),
        ("PUT", f"/allocations/{U[12]}", alloc(None, {"VCPU": 0}), None),
        (
            "PUT",
            f"/allocations/{U[12]}",
            {**alloc(None, {"VCPU": 1}), "allocations": {U[30]: {"resources": {"VCPU": 1}}}},
            None,
        ),
        (
            "PUT",
            f"/allocations/{U[12]}",
            {k: v for k, v in alloc(None, {"VCPU": 1}).items() if k != "consumer_type"},
            None,
        ),
        ("PUT", "/allocations/not-a-uuid", alloc(None, {"VCPU": 1}), None),
        ("GET", f"/allocations/{U[10]}", None, None),
        ("GET", f"/allocations/{U[10]}", None, "1.27"),
        ("GET", f"/allocations/{U[10]}", None, "1.0"),
        ("GET", f"/allocations/{U[20]}", None, None),
        ("GET", f"{P}/{U[0]}/allocations", None, None),
        ("GET", f"{P}/{U[0]}/usages", None, None),
        ("GET", "/usages?project_id=p1", None, None),
        ("GET", "/usages?project_id=p1", None, "1.37"),
        ("GET", "/usages", None, None),
        (
            "POST",
            "/allocations",
            {U[13]: {**alloc(None, {"VCPU": 1}), "consumer_type": "MIGRATION"}, U[10]: alloc(1, {"VCPU": 1})},
            None,
        ),
        ("POST", "/allocations", {U[14]: alloc(None, {"VCPU": 1}), U[10]: alloc(7, {"VCPU": 1})}, None),
        ("DELETE", f"{P}/{U[0]}", None, None),
        ("DELETE", f"{P}/{U[0]}/inventories/VCPU", None, None),
        ("GET", "/allocation_candidates?resources=VCPU:1", None, None),
        ("GET", "/allocation_candidates?resources=VCPU:1", None, "1.10"),
        ("GET", "/allocation_candidates?resources=VCPU:1&limit=0", None, None),
        ("GET", "/allocation_candidates?resources1=VCPU:1&resources2=VCPU:1", None, None),
        ("GET", "/allocation_candidates", None, None),
        ("GET", "/allocation_candidates?resources=VCPU:1&required=CUSTOM_A", None, None),
        ("GET", f"/allocation_candidates?resources=VCPU:1&member_of={AGG[0]}", None, None),
        ("GET", "/allocation_candidates?resources=NOPE:1", None, None),
        ("DELETE", f"/allocations/{U[10]}", None, None),
        ("DELETE", f"/allocations/{U[10]}", None, None),
        ("DELETE", f"/allocations/{U[13]}", None, None),
        ("DELETE", f"{P}/{U[0]}/inventories", None, None),
        ("DELETE", f"{P}/{U[2]}", None, None),
        ("DELETE", f"{P}/{U[0]}", None, None),
    ]


STEPS = _steps()


def shape(status: int, body: Any) -> dict[str, Any]:
    """What is compared: the status, for an error its keys and code, else the body's keys."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        error = body["errors"][0]
        return {"status": status, "error_keys": sorted(error), "code": error.get("code")}
    return {"status": status, "keys": sorted(body) if isinstance(body, dict) else None}
