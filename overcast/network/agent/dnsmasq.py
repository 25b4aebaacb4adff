"""DHCP for a network: dnsmasq in the namespace `qdhcp-<network id>`, joined to the network's
bridge by a veth (`tap<port>` on the bridge, `ns-<port>` inside, holding the DHCP port's MAC
and addresses), serving static leases only: a port's MAC gets exactly its fixed IP, with the
subnet's router, DNS servers and host routes, as Neutron's DHCP agent does.

The files dnsmasq reads live in STATE/network/<host>/dhcp/<network id>/ (host, opts,
addn_hosts; dnsmasq re-reads them on SIGHUP), beside its pid and lease files. That directory
is also how the agent knows, after a restart, which DHCP servers are its own. A server whose
process died, whose namespace was replaced, or whose command line no longer matches (a subnet
added, the MTU changed) is started again; new host entries only need a SIGHUP.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import shutil
import signal
from pathlib import Path
from typing import Any

from overcast.network.messages import DesiredNetwork, DesiredPort, DesiredSubnet, tap_name

__all__ = ["DhcpServers", "namespace_name"]

log = logging.getLogger("overcast.network.agent")

LEASE_SECONDS = 86400  # Neutron's dhcp_lease_duration
_IFF_UP = 0x1


def namespace_name(network_id: str) -> str:
    return f"qdhcp-{network_id}"


def _served(net: DesiredNetwork) -> list[DesiredSubnet]:
    return [s for s in net.subnets if s.enable_dhcp and s.ip_version == 4]


def _write(path: Path, text: str) -> bool:
    """Write `path` atomically when its content differs; True when it changed."""
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True


def host_entries(net: DesiredNetwork) -> str:
    """dnsmasq's dhcp-hostsfile: `MAC,host-10-0-0-5,10.0.0.5` per fixed IP on a served
    subnet (the DHCP port's own address is not leased)."""
    served = {s.id for s in _served(net)}
    lines = []
    for port in net.ports:
        if port.device_owner == "network:dhcp":
            continue
        for ip in port.fixed_ips:
            if ip.get("subnet_id") in served:
                name = port.dns_name or "host-" + ip["ip_address"].replace(".", "-")
                lines.append(f"{port.mac_address},{name},{ip['ip_address']}")
    return "".join(f"{line}\n" for line in lines)


def addn_hosts(net: DesiredNetwork) -> str:
    """Names guests resolve through the DHCP server's DNS (`host-10-0-0-5.<domain>`)."""
    domain = net.dns_domain.rstrip(".")
    out = []
    for line in host_entries(net).splitlines():
        _mac, name, ip = line.split(",")
        out.append(f"{ip}\t{name}.{domain}\t{name}\n" if domain else f"{ip}\t{name}\n")
    return "".join(out)


def options(net: DesiredNetwork) -> str:
    """dnsmasq's dhcp-optsfile: router (an empty one when the subnet has no gateway, or
    dnsmasq would offer itself), DNS servers, host routes (RFC 3442, with the default route
    beside them since a client that takes classless routes ignores the router option)."""
    lines = []
    for sub in _served(net):
        tag = f"tag:subnet-{sub.id}"
        lines.append(f"{tag},option:router" + (f",{sub.gateway_ip}" if sub.gateway_ip else ""))
        if sub.dns_nameservers:
            lines.append(f"{tag},option:dns-server,{','.join(sub.dns_nameservers)}")
        if sub.host_routes:
            routes = [f"{r['destination']},{r['nexthop']}" for r in sub.host_routes]
            if sub.gateway_ip:
                routes.append(f"0.0.0.0/0,{sub.gateway_ip}")
            lines.append(f"{tag},option:classless-static-route,{','.join(routes)}")
            lines.append(f"{tag},249,{','.join(routes)}")
    return "".join(f"{line}\n" for line in lines)


class DhcpServers:
    def __init__(self, root: Path):
        self.root = root

    def _dir(self, network_id: str) -> Path:
        return self.root / network_id

    async def networks(self) -> set[str]:
        if not self.root.is_dir():
            return set()
        return {p.name for p in self.root.iterdir() if p.is_dir()}

    def args(self, net: DesiredNetwork, port: DesiredPort) -> list[str]:
        d = self._dir(net.id)
        stem = tap_name(port.id)[3:]
        out = ["--no-hosts", "--no-resolv", f"--pid-file={d}/pid",
               f"--dhcp-hostsfile={d}/host", f"--addn-hosts={d}/addn_hosts",
               f"--dhcp-optsfile={d}/opts", f"--dhcp-leasefile={d}/leases",
               "--bind-interfaces", f"--interface=ns-{stem}", "--conf-file=/dev/null",
               # The files sit in the private state directory: dnsmasq keeps root to re-read
               # them on SIGHUP (it would drop to nobody otherwise).
               "--user=root", "--group=root"]
        size = 0
        for sub in _served(net):
            cidr = ipaddress.ip_network(sub.cidr)
            size += cidr.num_addresses
            out.append(f"--dhcp-range=set:subnet-{sub.id},{cidr.network_address},static,"
                       f"{cidr.netmask},{LEASE_SECONDS}s")
        out += [f"--dhcp-option-force=option:mtu,{net.mtu}",
                f"--dhcp-lease-max={min(max(size, 16), 1 << 24)}"]
        if net.dns_domain.rstrip("."):
            out.append(f"--domain={net.dns_domain.rstrip('.')}")
        return out

    async def ensure(self, net: DesiredNetwork, port: DesiredPort, bridge: str) -> bool:
        served = {s.id for s in _served(net)}
        if not served or not any(ip.get("subnet_id") in served for ip in port.fixed_ips):
            await self.remove(net.id)
            return False
        d = self._dir(net.id)
        d.mkdir(parents=True, exist_ok=True)
        await self._ensure_namespace(net, port, bridge)
        changed = False
        for name, text in (("host", host_entries(net)), ("opts", options(net)),
                           ("addn_hosts", addn_hosts(net))):
            changed = _write(d / name, text) or changed
        args = self.args(net, port)
        pid = self._pid(net.id)
        if pid is not None and not self._matches(pid, net.id, args):
            log.info("network %s: dnsmasq %d no longer matches; restarting it", net.id, pid)
            await self._kill(pid)
            pid = None
        if pid is None:
            await self._start(net.id, args)
        elif changed:
            os.kill(pid, signal.SIGHUP)
        return True

    async def remove(self, network_id: str) -> None:
        d = self._dir(network_id)
        pid = self._pid(network_id)
        if pid is not None:
            await self._kill(pid)
        if d.is_dir():
            await self._remove_namespace(network_id)
            shutil.rmtree(d, ignore_errors=True)
            log.info("network %s: DHCP server removed", network_id)

    # -- the process --
    def _pid(self, network_id: str) -> int | None:
        """The running dnsmasq of this network (checked by its command line, so a recycled
        pid is not mistaken for it), or None."""
        try:
            pid = int((self._dir(network_id) / "pid").read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        mark = f"--pid-file={self._dir(network_id)}/pid".encode()
        return pid if mark in cmdline else None

    def _matches(self, pid: int, network_id: str, args: list[str]) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            same_ns = os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(
                f"/run/netns/{namespace_name(network_id)}").st_ino
        except (FileNotFoundError, ProcessLookupError):
            return False
        return same_ns and [a for a in cmdline[1:] if a] == args

    async def _start(self, network_id: str, args: list[str]) -> None:
        proc = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", namespace_name(network_id), "dnsmasq", *args,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        # dnsmasq forks into the background once it listens; the parent's exit says it did
        _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
        if proc.returncode != 0:
            raise RuntimeError(f"dnsmasq for network {network_id} did not start: "
                               f"{err.decode(errors='replace').strip()[-300:]}")
        log.info("network %s: dnsmasq started", network_id)

    @staticmethod
    async def _kill(pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not os.path.exists(f"/proc/{pid}"):  # noqa: ASYNC240 (procfs: never blocks)
                return
            await asyncio.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    # -- the namespace and its veth --
    # Inside the namespace the agent runs `ip -n`, not pyroute2: pyroute2 enters a namespace
    # (and makes one) from a forked child that it ends with SIGTERM, and a child forked from an
    # asyncio process shares its signal wake-up socket, so `overcast up` took that SIGTERM
    # for its own and stopped. In the host's namespace pyroute2 needs no child.
    async def _ensure_namespace(self, net: DesiredNetwork, port: DesiredPort,
                                bridge: str) -> None:
        ns = namespace_name(net.id)
        if not os.path.exists(f"/run/netns/{ns}"):  # noqa: ASYNC240 (a tmpfs: never blocks)
            await _ip("netns", "add", ns)
        stem = tap_name(port.id)[3:]
        inner = f"ns-{stem}"
        code, out = await _ip("-n", ns, "-j", "addr", "show", "dev", inner, check=False)
        links = json.loads(out) if code == 0 and out.strip() else []
        await asyncio.to_thread(self._ensure_veth, net, ns, f"tap{stem}", inner, bridge,
                                bool(links))
        if not links:
            code, out = await _ip("-n", ns, "-j", "addr", "show", "dev", inner)
            links = json.loads(out)
        link = links[0]
        prefixes = {s.id: ipaddress.ip_network(s.cidr).prefixlen for s in _served(net)}
        wanted = {(ip["ip_address"], prefixes[ip["subnet_id"]]) for ip in port.fixed_ips
                  if ip.get("subnet_id") in prefixes}
        if str(link.get("address", "")).lower() != port.mac_address.lower() or \
                link.get("mtu") != net.mtu or "UP" not in link.get("flags", []):
            await _ip("-n", ns, "link", "set", "dev", inner, "address",
                      port.mac_address.lower(), "mtu", str(net.mtu), "up")
        have = {(str(a["local"]), int(a["prefixlen"])) for a in link.get("addr_info", [])
                if a.get("family") == "inet"}
        for ip, plen in sorted(have - wanted):
            await _ip("-n", ns, "addr", "del", f"{ip}/{plen}", "dev", inner)
        for ip, plen in sorted(wanted - have):
            await _ip("-n", ns, "addr", "add", f"{ip}/{plen}", "dev", inner)
        await _ip("-n", ns, "link", "set", "dev", "lo", "up")

    @staticmethod
    def _ensure_veth(net: DesiredNetwork, ns: str, outer: str, inner: str, bridge: str,
                     inside: bool) -> None:
        """The host end of the DHCP veth on the bridge (made with its peer in `ns`)."""
        from pyroute2 import IPRoute

        with IPRoute() as ipr:
            found = ipr.link_lookup(ifname=outer)
            if found and not inside:  # a veth whose other end went with an old namespace
                ipr.link("del", index=found[0])
                found = []
            if not found:
                fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
                try:
                    ipr.link("add", ifname=outer, kind="veth",
                             peer={"ifname": inner, "net_ns_fd": fd})
                finally:
                    os.close(fd)
                found = ipr.link_lookup(ifname=outer)
            link = ipr.get_links(found[0])[0]
            masters = ipr.link_lookup(ifname=bridge)
            change: dict[str, Any] = {}
            if masters and link.get_attr("IFLA_MASTER") != masters[0]:
                change["master"] = masters[0]
            if link.get_attr("IFLA_MTU") != net.mtu:
                change["mtu"] = net.mtu
            if not link["flags"] & _IFF_UP:
                change["state"] = "up"
            if change:
                ipr.link("set", index=found[0], **change)

    async def _remove_namespace(self, network_id: str) -> None:
        ns = namespace_name(network_id)
        if not os.path.exists(f"/run/netns/{ns}"):  # noqa: ASYNC240 (a tmpfs: never blocks)
            return
        code, out = await _ip("-n", ns, "-j", "link", "show", check=False)
        inner = [str(link["ifname"]) for link in (json.loads(out) if code == 0 else [])
                 if str(link.get("ifname", "")).startswith("ns-")]
        # the host end goes at once, not when the kernel gets round to the namespace
        for name in inner:
            await _ip("link", "del", "dev", "tap" + name[3:], check=False)
        await _ip("netns", "del", ns, check=False)


async def _ip(*args: str, check: bool = True) -> tuple[int, str]:
    """`ip ARGS`: its exit code and output; RuntimeError when it fails and `check`."""
    proc = await asyncio.create_subprocess_exec(
        "ip", *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {err.decode(errors='replace').strip()}")
    return proc.returncode or 0, out.decode(errors="replace")
