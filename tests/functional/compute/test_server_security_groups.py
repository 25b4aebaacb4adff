"""GET /servers/{id}/os-security-groups on Networking: Compute and Networking in-process,
Compute reading the server's ports and their groups from Neutron and answering in Nova's
shape (ingress rules only, ports and remote as nova-network showed them)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from overcast.config import Config
from tests.functional.compute.conftest import mv
from tests.functional.compute.servers_cloud import Cloud, servers_cloud

pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)


@pytest.fixture
async def cloud(compute_config: Config) -> AsyncIterator[Cloud]:
    async with servers_cloud(compute_config, driver="fake", hosts=1, image=b"x" * 4096,
                             disk_format="raw", network=True) as c:
        yield c


async def _neutron(c: Cloud, method: str, path: str, body: Any = None, status: int = 201
                   ) -> Any:
    assert c.neutron is not None
    r = await c.neutron.request(method, f"/v2.0/{path}", headers=c.alice, json=body)
    assert r.status_code == status, r.text
    return r.json()


async def _rule(c: Cloud, group: str, **attrs: Any) -> str:
    body = {"security_group_rule": {"security_group_id": group, "direction": "ingress",
                                    "ethertype": "IPv4", **attrs}}
    return str((await _neutron(c, "POST", "security-group-rules", body))
               ["security_group_rule"]["id"])


async def test_a_servers_groups_come_from_its_ports(cloud: Cloud) -> None:
    c = cloud
    net = (await _neutron(c, "POST", "networks", {"network": {"name": "n"}}))["network"]["id"]
    await _neutron(c, "POST", "subnets", {"subnet": {"network_id": net, "cidr": "10.1.0.0/24",
                                                     "ip_version": 4}})
    web = (await _neutron(c, "POST", "security-groups", {"security_group": {
        "name": "web", "description": "web servers"}}))["security_group"]
    peers = (await _neutron(c, "POST", "security-groups", {"security_group": {
        "name": "peers"}}))["security_group"]
    ssh = await _rule(c, web["id"], protocol="tcp", port_range_min=22, port_range_max=22,
                      remote_ip_prefix="192.0.2.0/24")
    ping = await _rule(c, web["id"], protocol="icmp", remote_group_id=peers["id"])
    anytcp = await _rule(c, web["id"], protocol="tcp")
    r = await c.http.post("/v2.1/servers", headers=mv("2.96", c.alice), json={"server": {
        "name": "vm", "imageRef": c.image, "flavorRef": "1", "networks": [{"uuid": net}],
        "security_groups": [{"name": "web"}]}})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    for _ in range(1500):
        r = await c.http.get(f"/v2.1/servers/{sid}", headers=c.alice)
        if r.json()["server"]["status"] == "ACTIVE":
            break
        await asyncio.sleep(0.02)
    r = await c.http.get(f"/v2.1/servers/{sid}/os-security-groups", headers=c.alice)
    assert r.status_code == 200, r.text
    (group,) = r.json()["security_groups"]
    rules = {x["id"]: x for x in group.pop("rules")}
    assert group == {"id": web["id"], "name": "web", "description": "web servers",
                     "tenant_id": web["project_id"]}
    # Neutron's two default egress rules are not shown, as in Nova.
    assert set(rules) == {ssh, ping, anytcp}
    assert rules[ssh] == {"id": ssh, "parent_group_id": web["id"], "ip_protocol": "tcp",
                          "from_port": 22, "to_port": 22, "group": {},
                          "ip_range": {"cidr": "192.0.2.0/24"}}
    assert rules[ping] == {"id": ping, "parent_group_id": web["id"], "ip_protocol": "icmp",
                           "from_port": -1, "to_port": -1, "ip_range": {},
                           "group": {"name": "peers", "tenant_id": web["project_id"]}}
    assert (rules[anytcp]["from_port"], rules[anytcp]["to_port"],
            rules[anytcp]["ip_range"]) == (1, 65535, {"cidr": "0.0.0.0/0"})
    # addSecurityGroup changes the ports, and so the answer.
    r = await c.http.post(f"/v2.1/servers/{sid}/action", headers=c.alice,
                          json={"addSecurityGroup": {"name": "peers"}})
    assert r.status_code == 202, r.text
    r = await c.http.get(f"/v2.1/servers/{sid}/os-security-groups", headers=c.alice)
    assert sorted(g["name"] for g in r.json()["security_groups"]) == ["peers", "web"]
    r = await c.http.get(f"/v2.1/servers/{sid}/os-security-groups", headers=c.bob)
    assert r.status_code == 404, r.text
