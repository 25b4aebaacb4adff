"""An in-process Networking service with a real network agent on this machine: the agent's
host has a name of its own per test, so tests running side by side (xdist) wire only their
own ports; every bridge, namespace and dnsmasq a test makes has a unique name (ids are UUIDs)
and is removed at the end, whatever the test left."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from overcast.cli import bootstrap, db_upgrade
from overcast.common.bus import connect
from overcast.config import Config
from overcast.identity.app import create_app as identity_app
from overcast.network.agent.host import NetworkAgent
from overcast.network.agent.runtime import make_agent
from overcast.network.app import create_app as network_app
from overcast.network.messages import tap_name
from tests.conftest import require
from tests.functional.conftest import ADMIN_PASSWORD, make_config, running
from tests.helpers import password_auth

RESYNC = 1.0  # seconds between the agent's full passes in these tests


async def sh(*args: str, check: bool = True, seconds: float = 20) -> tuple[int, str]:
    """Run a command; its exit code and output (stdout and stderr together)."""
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), seconds)
    text = out.decode(errors="replace")
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {proc.returncode}: {text}")
    return proc.returncode or 0, text


async def until(what: Callable[[], Awaitable[bool]], seconds: float = 10.0,
                message: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await what():
        if loop.time() > deadline:
            raise AssertionError(f"{message}: not within {seconds} s")
        await asyncio.sleep(0.1)


async def exists(path: str | Path) -> bool:
    return await asyncio.to_thread(os.path.exists, path)


def _link_exists(name: str) -> bool:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        return bool(ipr.link_lookup(ifname=name))


async def link_exists(name: str) -> bool:
    # pyroute2's synchronous API runs its own event loop: never on the test's
    return await asyncio.to_thread(_link_exists, name)


@dataclass
class Dataplane:
    """The API as admin, the agent, and the guests (namespaces) a test made."""

    http: httpx.AsyncClient
    admin: dict[str, str]
    host: str
    agent: NetworkAgent
    config: Config
    guests: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)

    async def req(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.http.request(method, f"/v2.0/{path}", headers=self.admin, json=body)

    async def make(self, resource: str, **attrs: Any) -> dict[str, Any]:
        r = await self.req("POST", f"{resource}s", {resource: attrs})
        assert r.status_code == 201, r.text
        found: dict[str, Any] = r.json()[resource]
        if resource == "network":
            self.networks.append(found["id"])
        return found

    async def port(self, port_id: str) -> dict[str, Any] | None:
        r = await self.req("GET", f"ports/{port_id}")
        if r.status_code == 404:
            return None
        assert r.status_code == 200, r.text
        return r.json()["port"]  # type: ignore[no-any-return]

    async def ports(self, network_id: str) -> list[dict[str, Any]]:
        r = await self.req("GET", f"ports?network_id={network_id}")
        assert r.status_code == 200, r.text
        return r.json()["ports"]  # type: ignore[no-any-return]

    async def status_is(self, port_id: str, status: str) -> None:
        async def check() -> bool:
            port = await self.port(port_id)
            return port is not None and port["status"] == status
        await until(check, message=f"port {port_id} {status}")

    async def plug_guest(self, port: dict[str, Any]) -> str:
        """A namespace acting as the guest of `port`: a veth whose host end is the port's tap
        (as the compute agent names it) and whose guest end has the port's MAC."""
        ns = f"guest-{uuid.uuid4().hex[:10]}"
        self.guests.append(ns)
        await sh("ip", "netns", "add", ns)
        await sh("ip", "link", "add", tap_name(port["id"]), "type", "veth",
                 "peer", "name", "eth0", "netns", ns)
        await sh("ip", "-n", ns, "link", "set", "eth0", "address", port["mac_address"], "up")
        await sh("ip", "-n", ns, "link", "set", "lo", "up")
        return ns

    async def dhcp(self, ns: str, tries: int = 8) -> dict[str, str] | None:
        """`busybox udhcpc` in the guest: what it was offered and took, or None."""
        script = Path(self.config.state_dir) / "udhcpc.sh"
        if not script.exists():
            script.write_text('#!/bin/sh\n[ "$1" = bound ] && echo "LEASE ip=$ip '
                              'mask=$mask router=$router dns=$dns mtu=$mtu"\nexit 0\n')
            script.chmod(0o755)
        _, out = await sh("ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", "eth0",
                             "-n", "-q", "-f", "-t", str(tries), "-T", "1", "-A", "1",
                             "-O", "mtu", "-s", str(script), check=False,
                           seconds=tries * 3 + 10)
        for line in out.splitlines():
            if line.startswith("LEASE "):
                return dict(kv.split("=", 1) for kv in line.split()[1:])
        return None


def _capable() -> tuple[bool, str]:
    if os.geteuid() != 0:
        return False, "not root"
    if not Path("/proc/self/ns/net").exists():
        return False, "no network namespaces"
    for tool in ("ip", "dnsmasq", "busybox"):
        if shutil.which(tool) is None:
            return False, f"{tool} is not installed"
    return True, ""


@pytest.fixture
async def dataplane(tmp_path: Path) -> AsyncIterator[Dataplane]:
    ok, why = _capable()
    require("root, network namespaces, dnsmasq and busybox", ok, why)
    # A VNI range of this test's own: VXLAN devices are named by VNI on the one kernel.
    vni = random.randrange(100_000, 16_000_000)
    config = make_config(tmp_path, OVERCAST_NETWORK__AGENT_RESYNC_INTERVAL=str(RESYNC),
                         OVERCAST_NETWORK__LOCAL_IP="127.0.0.1",
                         OVERCAST_NETWORK__VNI_RANGES=f"{vni}:{vni + 20}")
    await db_upgrade(config, ["identity", "network"])
    await bootstrap(config, ADMIN_PASSWORD)
    ident = identity_app(config)
    async with running(ident) as ks:
        r = await ks.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        assert r.status_code == 201, r.text
        admin = {"X-Auth-Token": r.headers["X-Subject-Token"]}
        app = network_app(config, lambda: getattr(ident.state, "identity", None))
        async with running(app) as http:
            bus = connect(config.default.bus_url)
            await bus.start()
            host = f"dp-{uuid.uuid4().hex[:10]}"
            agent = make_agent(config, bus, host)
            assert agent is not None
            await agent.wait_for_service()
            await agent.start()
            dp = Dataplane(http, admin, host, agent, config)
            try:
                yield dp
            finally:
                await agent.stop()
                await bus.close()
                for ns in dp.guests:
                    await sh("ip", "netns", "del", ns, check=False)
                for network_id in dp.networks:
                    await agent.backend.remove_network(network_id)


def fdb_now(device: str) -> set[tuple[str, str]]:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=device)[0]
        return {(str(e.get_attr("NDA_LLADDR")), str(e.get_attr("NDA_DST")))
                for e in ipr.fdb("dump", ifindex=index)
                if e["ifindex"] == index and e.get_attr("NDA_DST")}


async def fdb(device: str) -> set[tuple[str, str]]:
    return await asyncio.to_thread(fdb_now, device)


async def master(name: str) -> str | None:
    return await asyncio.to_thread(master_now, name)


def master_now(name: str) -> str | None:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return None
        master = ipr.get_links(found[0])[0].get_attr("IFLA_MASTER")
        if not master:
            return None
        return str(ipr.get_links(master)[0].get_attr("IFLA_IFNAME"))


async def make_network(dp: Dataplane, **subnet: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    net = await dp.make("network", name="dp")
    prefix = f"10.{random.randrange(1, 250)}.{random.randrange(0, 250)}"
    sub = await dp.make("subnet", network_id=net["id"], cidr=f"{prefix}.0/24", ip_version=4,
                        **subnet)
    return net, sub


def dhcp_dir(dp: Dataplane, network_id: str) -> Path:
    return Path(dp.config.state_dir) / "network" / dp.host / "dhcp" / network_id
