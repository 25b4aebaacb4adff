"""The metadata API's port reader (compute/metadata/ports.py) against a stand-in Networking API:
what network_data.json and the EC2 tree take from Neutron, and nothing when it fails."""

from __future__ import annotations

from typing import Any

import httpx

from overcast.compute import instance_metadata as render
from overcast.compute.metadata.ports import PortReader

UUID = "0b5c3e7a-2f1d-4c8b-9e6a-7d4f2a1b3c5d"
PORT = {"id": "p1", "network_id": "n1", "mac_address": "fa:16:3e:00:00:01",
        "security_groups": ["sg1"], "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.7"}]}


class _Auth:
    async def token(self) -> str:
        return "nova-token"

    async def endpoint(self, service_type: str, interface: str = "public",
                       region: str | None = None) -> str:
        return "http://neutron"

    def forget(self) -> None:
        pass

    async def close(self) -> None:
        pass


def _neutron(seen: list[str], fail: bool = False) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.path}?{request.url.query.decode()}")
        assert request.headers["X-Auth-Token"] == "nova-token"
        if fail:
            return httpx.Response(503, json={"NeutronError": {"message": "down"}})
        bodies: dict[str, dict[str, Any]] = {
            "/v2.0/ports": {"ports": [PORT]},
            "/v2.0/subnets": {"subnets": [{"id": "s1", "ip_version": 4, "cidr": "10.0.0.0/24",
                                           "enable_dhcp": True, "gateway_ip": "10.0.0.1",
                                           "dns_nameservers": ["10.0.0.2"]}]},
            "/v2.0/networks": {"networks": [{"id": "n1", "mtu": 1450}]},
            "/v2.0/floatingips": {"floatingips": [{"floating_ip_address": "203.0.113.102"}]},
            "/v2.0/security-groups": {"security_groups": [{"id": "sg1", "name": "default"}]},
        }
        return httpx.Response(200, json=bodies[request.url.path])
    return httpx.MockTransport(handle)


async def test_ports_subnets_networks_floating_ips_and_groups() -> None:
    seen: list[str] = []
    reader = PortReader(_Auth(), transport=_neutron(seen))  # type: ignore[arg-type]
    info = await reader.of(UUID)
    await reader.close()
    assert seen[0] == f"/v2.0/ports?device_id={UUID}"
    assert info.floating_ips == ["203.0.113.102"] and info.security_groups == ["default"]
    doc = render.network_data(info.ports, info.subnets, info.networks)
    assert doc["links"][0]["mtu"] == 1450
    assert doc["networks"][0]["type"] == "ipv4_dhcp"
    assert doc["services"] == [{"type": "dns", "address": "10.0.0.2"}]


async def test_networking_down_or_absent_means_no_ports() -> None:
    reader = PortReader(_Auth(), transport=_neutron([], fail=True))  # type: ignore[arg-type]
    assert (await reader.of(UUID)).ports == []
    await reader.close()
    assert (await PortReader(None).of(UUID)).ports == []
