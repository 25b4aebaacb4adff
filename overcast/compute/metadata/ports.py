"""A server's ports, their subnets and networks, read from the Networking API as Nova's
service user, for network_data.json. Read only: Compute's networking code makes the ports.

Without a Networking endpoint in the catalog (or without the nova user's password here) a
server has no ports, and network_data.json holds three empty lists, as Nova's does for a
server without networks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from overcast.common import service_users
from overcast.common.clients import ServiceAuth, ServiceError
from overcast.config import Config

__all__ = ["PortInfo", "PortReader"]

log = logging.getLogger("overcast.compute.metadata")


@dataclass
class PortInfo:
    ports: list[dict[str, Any]] = field(default_factory=list)
    subnets: dict[str, dict[str, Any]] = field(default_factory=dict)
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    floating_ips: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)


class PortReader:
    def __init__(self, auth: ServiceAuth | None, *, region: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.auth = auth
        self.region = region
        self._http = httpx.AsyncClient(transport=transport, timeout=10)

    @classmethod
    def from_config(cls, config: Config) -> PortReader:
        user = service_users.SERVICE_USERS["compute"]
        try:
            password = service_users.password(config.state_dir, user)
        except FileNotFoundError:
            return cls(None)
        auth = ServiceAuth(f"{config.public_url('identity')}/v3", user, password,
                           project=service_users.SERVICE_PROJECT, catalog=True)
        return cls(auth, region=config.default.region)

    async def close(self) -> None:
        await self._http.aclose()
        if self.auth is not None:
            await self.auth.close()

    async def _get(self, base: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.auth is not None
        r = await self._http.get(f"{base}/v2.0/{path}", params=params,
                                 headers={"X-Auth-Token": await self.auth.token()})
        if r.status_code == 401:
            self.auth.forget()
            r = await self._http.get(f"{base}/v2.0/{path}", params=params,
                                     headers={"X-Auth-Token": await self.auth.token()})
        if r.status_code != 200:
            raise ServiceError(r.status_code, f"GET {path}: {r.status_code}")
        body: dict[str, Any] = r.json()
        return body

    async def of(self, instance_uuid: str) -> PortInfo:
        """The instance's ports; none when Networking is absent or does not answer (the
        guest still gets its other documents)."""
        if self.auth is None:
            return PortInfo()
        try:
            base = await self.auth.endpoint("network", "public", self.region)
            ports = (await self._get(base, "ports", {"device_id": instance_uuid}))["ports"]
            if not ports:
                return PortInfo()
            subnet_ids = sorted({str(f["subnet_id"]) for p in ports
                                 for f in p.get("fixed_ips") or [] if f.get("subnet_id")})
            net_ids = sorted({str(p["network_id"]) for p in ports})
            subnets = (await self._get(base, "subnets", {"id": subnet_ids}))["subnets"] \
                if subnet_ids else []
            networks = (await self._get(base, "networks", {"id": net_ids}))["networks"]
            fips = (await self._get(base, "floatingips",
                                    {"port_id": [p["id"] for p in ports]}))["floatingips"]
            group_ids = sorted({g for p in ports for g in p.get("security_groups") or []})
            groups = (await self._get(base, "security-groups", {"id": group_ids})
                      )["security_groups"] if group_ids else []
        except (ServiceError, httpx.HTTPError, KeyError, ValueError) as exc:
            log.warning("ports of %s unreadable, network_data is empty: %s", instance_uuid, exc)
            return PortInfo()
        return PortInfo(ports=ports, subnets={s["id"]: s for s in subnets},
                        networks={n["id"]: n for n in networks},
                        floating_ips=[f["floating_ip_address"] for f in fips],
                        security_groups=[g["name"] for g in groups])
