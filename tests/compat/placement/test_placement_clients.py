"""Placement through the real clients: the `openstack` CLI with osc-placement, openstacksdk,
and Overcast's own PlacementClient as a service user, against `overcast up`; then claims
racing through real HTTP into three placement processes sharing one database."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from overcast.common.clients import PlacementClient
from overcast.config import load_config
from tests.compat.conftest import Cloud, start_cloud, stop_cloud
from tests.conftest import port_open, require
from tests.functional.conftest import _drop_database
from tests.helpers import free_port, wait_http

pytestmark = pytest.mark.compat

MV = ["--os-placement-api-version", "1.39"]


@pytest.fixture(scope="module")
def pcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    require("osc-placement", _has_osc_placement(), "pip install osc-placement")
    c = start_cloud(tmp_path_factory.mktemp("placement"),
                    {"OVERCAST_PLACEMENT__ENABLED": "true"})
    wait_http(f"http://127.0.0.1:{c.ports['placement']}/", proc=c.process, log=c.log, status=200,
              seconds=180)
    yield c
    stop_cloud(c)


def _has_osc_placement() -> bool:
    try:
        import osc_placement  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def _json(cloud: Cloud, *args: str) -> Any:
    return cloud.openstack_json(*MV, *args)


def test_catalog_names_placement(pcloud: Cloud) -> None:
    services = _json(pcloud, "catalog", "list")
    entry = next(s for s in services if s["Type"] == "placement")
    assert entry["Name"] == "placement"
    urls = {e["url"] for e in entry["Endpoints"]}
    assert urls == {f"http://127.0.0.1:{pcloud.ports['placement']}"}


def test_cli_provider_inventory_trait_and_candidates(pcloud: Cloud) -> None:
    rp = _json(pcloud, "resource", "provider", "create", "cli-cn1")
    assert rp["name"] == "cli-cn1" and rp["generation"] == 0
    listed = _json(pcloud, "resource", "provider", "list")
    assert rp["uuid"] in [p["uuid"] for p in listed]
    inv = _json(pcloud, "resource", "provider", "inventory", "set", rp["uuid"],
                "--resource", "VCPU=8", "--resource", "VCPU:allocation_ratio=4.0",
                "--resource", "MEMORY_MB=4096", "--resource", "DISK_GB=100")
    by_class = {i["resource_class"]: i for i in inv}
    assert by_class["VCPU"]["allocation_ratio"] == 4.0 and by_class["MEMORY_MB"]["total"] == 4096
    shown = _json(pcloud, "resource", "provider", "inventory", "list", rp["uuid"])
    assert {i["resource_class"] for i in shown} == {"VCPU", "MEMORY_MB", "DISK_GB"}

    pcloud.openstack(*MV, "trait", "create", "CUSTOM_CLI_FAST")
    traits = [t["name"] for t in _json(pcloud, "trait", "list")]
    assert "CUSTOM_CLI_FAST" in traits and "HW_CPU_X86_AVX2" in traits
    _json(pcloud, "resource", "provider", "trait", "set", rp["uuid"],
          "--trait", "CUSTOM_CLI_FAST", "--trait", "HW_CPU_X86_AVX2")
    got = {t["name"] for t in _json(pcloud, "resource", "provider", "trait", "list", rp["uuid"])}
    assert got == {"CUSTOM_CLI_FAST", "HW_CPU_X86_AVX2"}

    cands = _json(pcloud, "allocation", "candidate", "list", "--resource", "VCPU=2",
                  "--resource", "MEMORY_MB=512", "--required", "CUSTOM_CLI_FAST")
    assert {c["resource provider"] for c in cands} == {rp["uuid"]}
    cands = _json(pcloud, "allocation", "candidate", "list", "--resource", "VCPU=64")
    assert cands == []

    classes = [c["name"] for c in _json(pcloud, "resource", "class", "list")]
    assert "VCPU" in classes
    pcloud.openstack(*MV, "resource", "class", "create", "CUSTOM_CLI_GPU")

    consumer = str(uuid.uuid4())
    project = str(uuid.uuid4())
    _json(pcloud, "resource", "provider", "allocation", "set", consumer,
          "--allocation", f"rp={rp['uuid']},VCPU=2,MEMORY_MB=512",
          "--project-id", project, "--user-id", str(uuid.uuid4()), "--consumer-type", "INSTANCE")
    usage = _json(pcloud, "resource", "provider", "usage", "show", rp["uuid"])
    assert {u["resource_class"]: u["usage"] for u in usage}["VCPU"] == 2
    # osc-placement reads /usages in its pre-1.38 shape (1.38 groups it by consumer type)
    totals = pcloud.openstack_json("--os-placement-api-version", "1.9", "resource", "usage",
                                   "show", project)
    assert {u["resource_class"]: u["usage"] for u in totals} == {  # type: ignore[union-attr]
        "VCPU": 2, "MEMORY_MB": 512}

    # Refusals come back through the client as errors, not crashes.
    r = pcloud.openstack(*MV, "resource", "provider", "delete", rp["uuid"], check=False)
    assert r.returncode != 0 and "allocations" in r.stderr
    r = pcloud.openstack(*MV, "resource", "provider", "create", "cli-cn1", check=False)
    assert r.returncode != 0 and "already exists" in r.stderr

    pcloud.openstack(*MV, "resource", "provider", "allocation", "delete", consumer)
    pcloud.openstack(*MV, "resource", "provider", "delete", rp["uuid"])
    assert rp["uuid"] not in [p["uuid"] for p in _json(pcloud, "resource", "provider", "list")]


def test_openstacksdk_placement_proxy(pcloud: Cloud) -> None:
    import openstack

    conn = openstack.connect(auth_url=pcloud.auth_url, username="admin",
                             password=pcloud.admin_password, project_name="admin",
                             user_domain_name="Default", project_domain_name="Default")
    try:
        rp = conn.placement.create_resource_provider(name="sdk-cn")
        assert rp.generation == 0
        assert "sdk-cn" in [p.name for p in conn.placement.resource_providers()]
        classes = [c.name for c in conn.placement.resource_classes()]
        assert "DISK_GB" in classes
        conn.placement.delete_resource_provider(rp)
    finally:
        conn.close()


def test_placement_client_as_service_user(pcloud: Cloud) -> None:
    config = load_config(pcloud.state_dir, environ=pcloud.env)

    async def run() -> None:
        client = PlacementClient.from_config(config)
        try:
            rp = str(uuid.uuid4())
            assert await client.ensure_provider(rp, f"svc-{rp[:8]}") == 0
            assert await client.ensure_provider(rp, f"svc-{rp[:8]}") == 0
            gen = await client.set_inventory(rp, {"VCPU": {"total": 2},
                                                  "MEMORY_MB": {"total": 1024}})
            assert gen == 1
            await client.set_traits(rp, ["CUSTOM_SVC", "COMPUTE_NET_ATTACH_INTERFACE"])
            cands = await client.allocation_candidates({"VCPU": 2, "MEMORY_MB": 512},
                                                       required_traits=["CUSTOM_SVC"])
            assert cands.allocation_requests == [{rp: {"VCPU": 2, "MEMORY_MB": 512}}]
            vm, other, migration = (str(uuid.uuid4()) for _ in range(3))
            assert await client.claim(vm, cands.allocation_requests[0], "p", "u")
            assert not await client.claim(other, {rp: {"VCPU": 1}}, "p", "u")
            assert await client.usages(rp) == {"VCPU": 2, "MEMORY_MB": 512}
            assert await client.move_allocations(vm, migration)
            moved = await client.allocations(migration)
            assert moved["consumer_type"] == "MIGRATION"
            assert (await client.allocations(vm))["allocations"] == {}
            assert await client.delete_allocations(migration)
            assert not await client.delete_allocations(migration)
            assert await client.delete_provider(rp)
        finally:
            await client.close()

    asyncio.run(run())


# -- racing claims through real HTTP, three processes, one database --
def _serve_placement(cloud: Cloud, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """`overcast serve placement` beside the cloud, on the same database: another process."""
    port = free_port()
    exe = Path(sys.executable).parent / "overcast"
    log = cloud.state_dir.parent / f"placement-{port}.log"
    proc = subprocess.Popen([str(exe), "serve", "placement", "--state-dir",
                             str(cloud.state_dir), "--port", str(port)],
                            env={**cloud.env, **env}, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc=proc, log=log, status=200, seconds=180)
    except RuntimeError:
        proc.kill()
        raise
    return proc, port


def _race_three(cloud: Cloud, env: dict[str, str], claims: int, room: int) -> list[int]:
    """The race over the cloud's placement and two more `overcast serve placement`."""
    extra = [_serve_placement(cloud, env) for _ in range(2)]
    try:
        return asyncio.run(_race(cloud, [cloud.ports["placement"], *(p for _, p in extra)],
                                 claims, room))
    finally:
        for proc, _ in extra:
            proc.terminate()
            proc.wait(timeout=20)


async def _race(cloud: Cloud, ports: list[int], claims: int, room: int) -> list[int]:
    """`claims` claims of 1 VCPU at once, spread over the placement processes at `ports`,
    against a provider with room for `room`; the status codes."""
    async with httpx.AsyncClient(timeout=60) as http:
        r = await http.post(f"{cloud.auth_url}/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "password": cloud.admin_password,
                "domain": {"id": "default"}}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        http.headers.update({"X-Auth-Token": r.headers["X-Subject-Token"],
                             "OpenStack-API-Version": "placement 1.39"})
        base = f"http://127.0.0.1:{ports[0]}"
        r = await http.post(f"{base}/resource_providers", json={"name": f"race-{uuid.uuid4()}"})
        rp = r.json()["uuid"]
        r = await http.put(f"{base}/resource_providers/{rp}/inventories", json={
            "resource_provider_generation": 0, "inventories": {"VCPU": {"total": room}}})
        assert r.status_code == 200, r.text

        async def claim(i: int) -> int:
            url = f"http://127.0.0.1:{ports[i % len(ports)]}/allocations/{uuid.uuid4()}"
            resp = await http.put(url, json={
                "allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": "p",
                "user_id": "u", "consumer_generation": None, "consumer_type": "INSTANCE"})
            return resp.status_code

        codes = await asyncio.gather(*(claim(i) for i in range(claims)))
        usage = (await http.get(f"{base}/resource_providers/{rp}/usages")).json()["usages"]
        assert usage == {"VCPU": room}, (usage, sorted(codes))
    return sorted(codes)


def test_racing_claims_over_real_http_on_sqlite(pcloud: Cloud) -> None:
    codes = _race_three(pcloud, {}, 30, 7)
    assert codes.count(204) == 7 and codes.count(409) == 23, codes


def test_racing_claims_over_real_http_on_mariadb(tmp_path: Path) -> None:
    require("mariadb", port_open("127.0.0.1", 3306), "nothing listens on 127.0.0.1:3306")
    url = f"mysql+asyncmy://root@127.0.0.1:3306/oc_plrace_{uuid.uuid4().hex[:10]}"
    env = {"OVERCAST_PLACEMENT__ENABLED": "true", "OVERCAST_PLACEMENT__DATABASE_URL": url}
    cloud = start_cloud(tmp_path, env)
    try:
        wait_http(f"http://127.0.0.1:{cloud.ports['placement']}/", proc=cloud.process,
                  log=cloud.log, status=200, seconds=180)
        codes = _race_three(cloud, env, 40, 9)
        assert codes.count(204) == 9 and codes.count(409) == 31, codes
    finally:
        stop_cloud(cloud)
        asyncio.run(_drop_database(url))
