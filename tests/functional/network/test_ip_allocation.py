"""Addresses under concurrency: never one address twice, and 409 IpAddressGenerationFailure
once a subnet is full, on every database kind (on MariaDB and PostgreSQL the writers really
run side by side on separate connections)."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

from tests.functional.network.conftest import Neutron


async def test_concurrent_ports_get_distinct_addresses_then_409(neutron: Neutron) -> None:
    n = neutron
    net = await n.net(n.alice)
    # A /25 with the gateway at .1: 125 addresses in the pool.
    await n.subnet(n.alice, net["id"], "10.9.0.0/25")

    clients = asyncio.Semaphore(16)  # sixteen clients, each with one request in flight

    async def one() -> tuple[int, Any]:
        async with clients:
            r = await n.req("POST", "ports", n.alice, {"port": {"network_id": net["id"]}})
        return r.status_code, r.json()

    results = await asyncio.gather(*(one() for _ in range(130)))
    made = [b["port"] for code, b in results if code == 201]
    refused = [b for code, b in results if code != 201]
    assert len(made) == 125, [c for c, _ in results if c not in (201, 409)]
    addresses = [p["fixed_ips"][0]["ip_address"] for p in made]
    assert len(set(addresses)) == 125
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network("10.9.0.0/25") for a in addresses)
    assert "10.9.0.1" not in addresses
    assert {b["NeutronError"]["type"] for b in refused} == {"IpAddressGenerationFailure"}
    # The 126th, asked for alone, is refused the same way; freeing one gives it back.
    r = await n.req("POST", "ports", n.alice, {"port": {"network_id": net["id"]}})
    assert r.status_code == 409 and r.json()["NeutronError"]["type"] == \
        "IpAddressGenerationFailure"
    freed = made[7]
    r = await n.req("DELETE", f"ports/{freed['id']}", n.alice)
    assert r.status_code == 204
    again = await n.port(n.alice, net["id"])
    assert again["fixed_ips"][0]["ip_address"] == freed["fixed_ips"][0]["ip_address"]


async def test_a_requested_address_is_given_once(neutron: Neutron) -> None:
    n = neutron
    net = await n.net(n.alice)
    sub = await n.subnet(n.alice, net["id"], "10.8.0.0/24")
    body = {"port": {"network_id": net["id"],
                     "fixed_ips": [{"subnet_id": sub["id"], "ip_address": "10.8.0.50"}]}}
    codes = [r.status_code for r in await asyncio.gather(
        *(n.req("POST", "ports", n.alice, body) for _ in range(10)))]
    assert sorted(codes) == [201] + [409] * 9
    r = await n.req("POST", "ports", n.alice, body)
    assert r.json()["NeutronError"]["type"] == "IpAddressAlreadyAllocated"
