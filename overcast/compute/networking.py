"""Servers' ports on the Networking service, as Nova's network API (nova/network/neutron.py)
uses Neutron: validate what a create asks for, create and bind the ports a server needs once it
is scheduled, show its addresses, attach and detach interfaces, and give the ports back when
it is deleted.

- At create (the API, the user's token): `networks` "auto" takes the one network the project
  may use (its own non-shared ones and the shared ones; several: 409 NetworkAmbiguous, none:
  400 UnableToAutoAllocateNetwork, since there is no get-me-a-network); a list names networks,
  ports or fixed IPs, checked as Nova checks them (400 network or port not found, 409 port in
  use, 400 fixed IP in use, 400 network without subnet). A request becomes a list of
  `{"network_id", "port_id", "fixed_ip", "tag"}` stored on the instance.
- Once scheduled (the conductor): each request gets its port, created on the user's token
  (or as the nova user for the instance's project when the token is gone, e.g. a rebuild
  after a restart) with device_id = server and device_owner `compute:<az>`, then bound to the
  host as nova (`binding:host_id` is admin-only). A failure deletes the ports this pass made
  and unbinds those passed in: nothing is left half-made. Each port becomes a VIF record in
  `instances.network_info` (Nova's info cache), `preserve_on_delete` for ports the user gave.
- At delete: ports Compute made are deleted, ports the user gave are unbound and kept.
- Addresses are read from Neutron on every show (the server's ports, their networks and
  floating IPs), so a floating IP associated through the Networking API shows at once, as
  Nova shows it after Neutron's network-changed event; the VIF records are the fallback when
  Neutron does not answer.

Not here (the network data plane issue's job): waiting for `network-vif-plugged` before a
server goes ACTIVE. The fake driver has no data plane, so servers go ACTIVE at once.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from overcast.common import faults
from overcast.common.clients import NetworkClient, ServiceError

__all__ = ["NetworkRequest", "PortsView", "ServerNetworks", "parse_requests"]

log = logging.getLogger("overcast.compute.networking")

#: A validated network request: {"network_id", "port_id", "fixed_ip", "tag"} (None = absent).
NetworkRequest = dict[str, Any]
#: A server's VIF record: {"port_id", "network_id", "preserve_on_delete", "tag",
#: "network_name", "mac_address", "fixed_ips"}.
Vif = dict[str, Any]


@dataclass
class PortsView:
    """What a server's ports show in its body: `addresses` and `security_groups` (names)."""

    addresses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    security_groups: list[str] = field(default_factory=list)


def _is_uuid(value: object) -> bool:
    try:
        uuidlib.UUID(str(value))
    except ValueError:
        return False
    return True


def parse_requests(networks: list[dict[str, Any]]) -> list[NetworkRequest]:
    """The API's checks of a `networks` list (Nova's _get_requested_networks), before any
    service is asked."""
    out: list[NetworkRequest] = []
    ports: list[str] = []
    for item in networks:
        if not isinstance(item, dict):
            raise faults.BadRequest("Bad networks format")
        unknown = set(item) - {"uuid", "port", "fixed_ip", "tag"}
        if unknown:
            raise faults.BadRequest("Invalid input for field/attribute networks. Additional "
                                    f"properties are not allowed ({sorted(unknown)[0]!r} was "
                                    "unexpected)")
        fixed = item.get("fixed_ip")
        if fixed is not None:
            try:
                ipaddress.ip_address(str(fixed))
            except ValueError:
                raise faults.BadRequest(f"Invalid input for field/attribute fixed_ip. Value: "
                                        f"{fixed}. '{fixed}' is not a 'ip-address'") from None
        port = item.get("port")
        if port:
            if not _is_uuid(port):
                raise faults.BadRequest(f"Invalid input for field/attribute port. Value: "
                                        f"{port}. '{port}' is not a 'uuid'")
            if port in ports:
                raise faults.BadRequest(f"Port ID '{port}' was specified twice: you cannot "
                                        "attach a port multiple times.")
            if fixed is not None:
                raise faults.BadRequest(f"Specified Fixed IP '{fixed}' cannot be used with "
                                        f"port '{port}': the two cannot be specified together.")
            ports.append(str(port))
            out.append({"network_id": None, "port_id": str(port), "fixed_ip": None,
                        "tag": item.get("tag")})
            continue
        if "uuid" not in item:
            raise faults.BadRequest("Bad network format: missing 'uuid'")
        if not _is_uuid(item["uuid"]):
            raise faults.BadRequest("Bad networks format: network uuid is not in proper format "
                                    f"({item['uuid']})")
        out.append({"network_id": str(item["uuid"]), "port_id": None,
                    "fixed_ip": None if fixed is None else str(fixed), "tag": item.get("tag")})
    return out


def _bad_service(exc: ServiceError) -> faults.Fault:
    """An unexpected answer of Neutron, as the user sees it (never a 500)."""
    if exc.status >= 500:
        return faults.ServiceUnavailable(f"The Networking service failed: {exc.message}")
    return faults.BadRequest(exc.message or str(exc))


def _nova_rule(rule: dict[str, Any], groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A Neutron security group rule as Nova shows it: ports -1 (or the whole range for tcp
    and udp) when Neutron has none, and either the remote group or the CIDR (0.0.0.0/0
    when Neutron has neither)."""
    proto = rule.get("protocol")
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if proto and low is None and high is None:
        low, high = (1, 65535) if str(proto).lower() in ("tcp", "udp") else (-1, -1)
    out: dict[str, Any] = {"id": rule["id"], "parent_group_id": rule.get("security_group_id"),
                           "ip_protocol": proto, "from_port": low, "to_port": high,
                           "group": {}, "ip_range": {}}
    remote = rule.get("remote_group_id")
    if remote:
        g = groups.get(remote, {})
        out["group"] = {"name": g.get("name"),
                        "tenant_id": g.get("project_id") or g.get("tenant_id")}
    else:
        out["ip_range"] = {"cidr": rule.get("remote_ip_prefix") or "0.0.0.0/0"}
    return out


class ServerNetworks:
    """The Networking side of servers; `client` is None when this cloud has no Networking."""

    def __init__(self, client: NetworkClient | None):
        self.client = client

    async def enabled(self) -> bool:
        """Whether servers get ports: a client, and Networking in its catalog (503 when
        Identity cannot say)."""
        if self.client is None:
            return False
        try:
            return await self.client.available()
        except ServiceError as exc:
            raise faults.ServiceUnavailable(f"The Networking service cannot be found: "
                                            f"{exc.message}") from exc

    def _c(self) -> NetworkClient:
        assert self.client is not None
        return self.client

    # --- create: validation -------------------------------------------------------------

    async def validate(self, token: str, project_id: str, networks: str | list[NetworkRequest],
                       count: int, may_attach_external: bool,
                       security_groups: Sequence[str] = ()) -> list[NetworkRequest]:
        """The concrete requests every instance of this create gets (Nova's
        validate_networks), each with the ids of the `security_groups` named (names or ids;
        none: Neutron's default group), or a fault."""
        if networks == "none":
            return []
        try:
            groups = await self._groups(token, project_id, security_groups)
            if networks == "auto":
                checked = [await self._auto(token, project_id)]
            else:
                assert isinstance(networks, list)
                checked = await self._check_list(token, networks, count, may_attach_external)
        except ServiceError as exc:
            raise _bad_service(exc) from exc
        if groups:
            for req in checked:
                if not req["port_id"]:  # a user's port keeps its own groups, as Nova
                    req["security_groups"] = groups
        return checked

    async def _groups(self, token: str, project_id: str, names: Sequence[str]) -> list[str]:
        """Security group ids for names or ids (Nova's _process_security_groups): 400
        SecurityGroupNotFound, 409 NoUniqueMatch for a name two groups share."""
        wanted = list(dict.fromkeys(n for n in names if n))
        if not wanted or wanted == ["default"]:
            return []
        visible = await self._c().list_security_groups(token, tenant_id=project_id)
        out = []
        for name in wanted:
            by_id = [g for g in visible if g["id"] == name]
            by_name = [g for g in visible if g.get("name") == name]
            if by_id:
                out.append(by_id[0]["id"])
            elif len(by_name) > 1:
                raise faults.Conflict(f"Multiple security groups found matching '{name}'. "
                                      "Use an ID to be more specific.")
            elif by_name:
                out.append(by_name[0]["id"])
            else:
                raise faults.BadRequest(f"Security group {name} not found.")
        return out

    async def _available(self, token: str, project_id: str) -> list[dict[str, Any]]:
        """Nova's _get_available_networks: the project's own non-shared networks, then the
        shared ones."""
        c = self._c()
        own = await c.list_networks(token, tenant_id=project_id, shared="False")
        return own + await c.list_networks(token, shared="True")

    async def _auto(self, token: str, project_id: str) -> NetworkRequest:
        nets = await self._available(token, project_id)
        if len(nets) > 1:
            raise faults.Conflict("Multiple possible networks found, use a Network ID to be "
                                  "more specific.")
        if not nets:
            # No get-me-a-network (auto-allocated-topology): Nova's answer when it cannot.
            raise faults.BadRequest("Unable to automatically allocate a network for project "
                                    f"{project_id}")
        net = nets[0]
        if not net.get("subnets"):
            raise faults.BadRequest(f"Network {net['id']} requires a subnet in order to boot "
                                    "instances on.")
        return {"network_id": net["id"], "port_id": None, "fixed_ip": None, "tag": None}

    async def _check_list(self, token: str, requests: list[NetworkRequest], count: int,
                          may_attach_external: bool) -> list[NetworkRequest]:
        c = self._c()
        out = []
        net_ids: list[str] = []
        for req in requests:
            if req["port_id"]:
                if count > 1:
                    raise faults.BadRequest(
                        "Failed to launch instances: Unable to launch multiple instances with "
                        "a single configured port ID. Please launch your instance one by one "
                        "with different ports.")
                port = await c.get_port(token, req["port_id"])
                if port is None:
                    raise faults.BadRequest(f"Port id {req['port_id']} could not be found.")
                if port.get("device_id"):
                    raise faults.Conflict(f"Port {req['port_id']} is still in use.")
                if not port.get("fixed_ips"):
                    raise faults.BadRequest(f"Port {req['port_id']} requires a FixedIP in order "
                                            "to be used.")
                out.append({**req, "network_id": port["network_id"]})
                continue
            if req["fixed_ip"]:
                if count > 1:
                    raise faults.BadRequest(
                        "Failed to launch instances: max_count cannot be greater than 1 if an "
                        "fixed_ip is specified.")
                used = await c.list_ports(token, network_id=req["network_id"],
                                          fixed_ips=f"ip_address={req['fixed_ip']}")
                if used:
                    raise faults.BadRequest(
                        f"Fixed IP address {req['fixed_ip']} is already in use on instance "
                        f"{used[0].get('device_id', '')}.")
            net_ids.append(req["network_id"])
            out.append(dict(req))
        if net_ids:
            nets = {n["id"]: n for n in await c.list_networks(token, id=sorted(set(net_ids)))}
            for net_id in dict.fromkeys(net_ids):
                net = nets.get(net_id)
                if net is None:
                    raise faults.BadRequest(f"Network {net_id} could not be found.")
                if not net.get("subnets"):
                    raise faults.BadRequest(f"Network {net_id} requires a subnet in order to "
                                            "boot instances on.")
                if net.get("router:external") and not net.get("shared") \
                        and not may_attach_external:
                    raise faults.Forbidden("It is not allowed to create an interface on "
                                           f"external network {net_id}")
        return out

    # --- build: ports for a scheduled server --------------------------------------------

    async def allocate(self, *, server: str, project_id: str, host: str, zone: str,
                       requests: Sequence[NetworkRequest], vifs: Sequence[Vif],
                       token: str | None) -> list[Vif]:
        """Every request's port, bound to `host` (ports of `vifs` from an earlier pass are
        only bound again). On failure the ports made by this pass are deleted and the ports
        passed in unbound, and ServiceError or a Fault is raised."""
        c = self._c()
        done: list[Vif] = [dict(v) for v in vifs]
        made: list[Vif] = []
        try:
            for index, req in enumerate(requests):
                known = next((v for v in done if v.get("request") == index), None)
                if known is not None:
                    port = await c.update_port(None, known["port_id"], {"binding:host_id": host})
                    if port is None:
                        raise faults.BadRequest(f"Port id {known['port_id']} could not be "
                                                "found.")
                    known.update(self._vif_facts(port))
                    continue
                vif = await self._port_for(c, req, server=server, project_id=project_id,
                                           host=host, zone=zone, token=token)
                vif["request"] = index
                made.append(vif)
                done.append(vif)
        except (ServiceError, faults.Fault):
            await self.release(made)
            raise
        await self._names(done, token)
        return done

    async def _port_for(self, c: NetworkClient, req: NetworkRequest, *, server: str,
                        project_id: str, host: str, zone: str, token: str | None) -> Vif:
        owner = {"device_id": server, "device_owner": f"compute:{zone}"}
        if req["port_id"]:
            port = await c.update_port(None, req["port_id"],
                                       {**owner, "binding:host_id": host})
            if port is None:
                raise faults.BadRequest(f"Port id {req['port_id']} could not be found.")
            return {**self._vif_facts(port), "preserve_on_delete": True, "tag": req["tag"]}
        attrs: dict[str, Any] = {"network_id": req["network_id"], **owner}
        if req.get("security_groups"):
            attrs["security_groups"] = list(req["security_groups"])
        if req["fixed_ip"]:
            attrs["fixed_ips"] = [{"ip_address": req["fixed_ip"]}]
        if token is None:
            attrs["project_id"] = project_id  # as nova, on the server's project's behalf
        port = await c.create_port(token, attrs)
        vif = {**self._vif_facts(port), "preserve_on_delete": False, "tag": req["tag"]}
        try:
            bound = await c.update_port(None, port["id"], {"binding:host_id": host})
        except ServiceError:
            await self.release([vif])
            raise
        if bound is not None:
            vif.update(self._vif_facts(bound))
        return vif

    @staticmethod
    def _vif_facts(port: dict[str, Any]) -> Vif:
        return {"port_id": port["id"], "network_id": port["network_id"],
                "mac_address": port.get("mac_address", ""),
                "fixed_ips": [ip["ip_address"] for ip in port.get("fixed_ips", [])]}

    async def _names(self, vifs: list[Vif], token: str | None) -> None:
        ids = sorted({v["network_id"] for v in vifs})
        if not ids:
            return
        try:
            nets = {n["id"]: n.get("name", "") for n in
                    await self._c().list_networks(None, id=ids)}
        except ServiceError as exc:
            log.warning("network names not read: %s", exc)
            return
        for v in vifs:
            v["network_name"] = nets.get(v["network_id"], v.get("network_name", ""))

    async def release(self, vifs: Sequence[Vif], server: str | None = None) -> None:
        """Give a server's ports back, as nova: ports Compute made are deleted, ports the
        user gave unbound (and kept). With `server`, ports still naming it that no record
        holds (a crash between create and record) are deleted too. Best effort: a port that
        cannot be reached is logged; the reconcile of the Networking side is not ours."""
        if self.client is None:
            return
        c = self.client
        keep = {v["port_id"] for v in vifs if v.get("preserve_on_delete")}
        drop = [v["port_id"] for v in vifs if not v.get("preserve_on_delete")]
        try:
            if server is not None:
                for port in await c.list_ports(None, device_id=server):
                    if port["id"] not in keep and port["id"] not in drop:
                        drop.append(port["id"])
            for port_id in drop:
                await c.delete_port(None, port_id)
            for port_id in keep:
                await c.update_port(None, port_id, {"device_id": "", "device_owner": "",
                                                    "binding:host_id": ""})
        except ServiceError as exc:
            log.warning("ports of %s not released: %s", server or "a server", exc)

    # --- addresses ----------------------------------------------------------------------

    async def views(self, token: str, servers: Sequence[tuple[str, Sequence[Vif]]]
                    ) -> dict[str, PortsView]:
        """server id -> its `addresses` (Nova's {network name: [{"version", "addr",
        "OS-EXT-IPS:type", "OS-EXT-IPS-MAC:mac_addr"}]}, fixed then floating per address,
        ports in the order they were attached) and the names of its ports' security groups.
        Read from Neutron; the VIF records when it does not answer."""
        out = {s: PortsView() for s, _ in servers}
        if self.client is None or not servers:
            return out
        ids = [s for s, _ in servers]
        try:
            ports: list[dict[str, Any]] = []
            for i in range(0, len(ids), 100):  # keep the query string short
                ports += await self.client.list_ports(token, device_id=ids[i:i + 100])
            nets: dict[str, str] = {}
            fips: dict[str, list[dict[str, Any]]] = {}
            groups: dict[str, str] = {}
            if ports:
                net_ids = sorted({p["network_id"] for p in ports})
                nets = {n["id"]: n.get("name", "") for n in
                        await self.client.list_networks(token, id=net_ids)}
                for fip in await self.client.list_floatingips(
                        token, port_id=[p["id"] for p in ports]):
                    fips.setdefault(fip["port_id"], []).append(fip)
                group_ids = sorted({g for p in ports for g in p.get("security_groups", [])})
                if group_ids:
                    groups = {g["id"]: g.get("name", "") for g in
                              await self.client.list_security_groups(token, id=group_ids)}
        except ServiceError as exc:
            log.warning("addresses read from the VIF records: %s", exc)
            return self._cached(out, servers)
        order = {v["port_id"]: i for _, vifs in servers for i, v in enumerate(vifs)}
        ports.sort(key=lambda p: (order.get(p["id"], len(order)), p.get("created_at", "")))
        for port in ports:
            view = out.get(port.get("device_id", ""))
            if view is None:
                continue
            for gid in port.get("security_groups", []):
                name = groups.get(gid, gid)
                if name not in view.security_groups:
                    view.security_groups.append(name)
            rows = view.addresses.setdefault(nets.get(port["network_id"], port["network_id"]),
                                             [])
            for ip in port.get("fixed_ips", []):
                rows.append(self._address(ip["ip_address"], "fixed", port["mac_address"]))
                for fip in fips.get(port["id"], []):
                    if fip.get("fixed_ip_address") == ip["ip_address"]:
                        rows.append(self._address(fip["floating_ip_address"], "floating",
                                                  port["mac_address"]))
        return out

    def _cached(self, out: dict[str, PortsView], servers: Sequence[tuple[str, Sequence[Vif]]]
                ) -> dict[str, PortsView]:
        for server, vifs in servers:
            for v in vifs:
                rows = out[server].addresses.setdefault(v.get("network_name") or v["network_id"],
                                                        [])
                rows += [self._address(ip, "fixed", v.get("mac_address", ""))
                         for ip in v.get("fixed_ips", [])]
        return out

    @staticmethod
    def _address(addr: str, kind: str, mac: str) -> dict[str, Any]:
        return {"version": ipaddress.ip_address(addr).version, "addr": addr,
                "OS-EXT-IPS:type": kind, "OS-EXT-IPS-MAC:mac_addr": mac}

    async def servers_by_ip(self, token: str, pattern: str) -> set[str]:
        """Servers with a fixed IP that Nova's `ip`/`ip6` list filter matches (a regular
        expression matched at the start of the address): Neutron narrows by the literal
        part (`fixed_ips=ip_address_substr=`), the expression decides."""
        try:
            regex = re.compile(pattern)
        except re.error:
            regex = re.compile(re.escape(pattern))
        literal = re.split(r"[\\^$*+?{}\[\]|()]", pattern.lstrip("^").replace("\\.", "."),
                           maxsplit=1)[0]
        filters: dict[str, str | list[str]] = {}
        if literal:
            filters["fixed_ips"] = f"ip_address_substr={literal}"
        try:
            ports = await self._c().list_ports(token, **filters)
        except ServiceError as exc:
            raise _bad_service(exc) from exc
        return {p["device_id"] for p in ports if p.get("device_id") and any(
            regex.match(ip["ip_address"]) for ip in p.get("fixed_ips", []))}

    async def change_group(self, token: str, server: str, name: str, add: bool) -> None:
        """addSecurityGroup / removeSecurityGroup: the group (a name or an id the caller
        sees) on every port of the server, or off all of them (Nova's faults: 404 unknown
        group or no port, 409 ambiguous name, 400 already there / not there)."""
        c = self._c()
        try:
            ports = await c.list_ports(token, device_id=server)
            visible = await c.list_security_groups(token)
        except ServiceError as exc:
            raise _bad_service(exc) from exc
        matches = [g for g in visible if g["id"] == name] or \
            [g for g in visible if g.get("name") == name]
        if not matches:
            raise faults.NotFound(f"Security group {name} not found.")
        if len(matches) > 1:
            raise faults.Conflict(f"Multiple security groups found matching '{name}'. Use an "
                                  "ID to be more specific.")
        gid = matches[0]["id"]
        if not ports:
            raise faults.NotFound(f"Security group {name} not found: server {server} has no "
                                  "ports.")
        having = [p for p in ports if gid in p.get("security_groups", [])]
        if add and len(having) == len(ports):
            raise faults.BadRequest(f"Security group {name} is already associated with the "
                                    f"instance {server}")
        if not add and not having:
            raise faults.BadRequest(f"Security group {name} not associated with the instance "
                                    f"{server}")
        try:
            for p in ports:
                current = list(p.get("security_groups", []))
                wanted = ([*current, gid] if gid not in current else current) if add \
                    else [g for g in current if g != gid]
                if wanted != current:
                    await c.update_port(token, p["id"], {"security_groups": wanted})
        except ServiceError as exc:
            raise _bad_service(exc) from exc

    async def server_groups(self, token: str, server: str) -> list[dict[str, Any]]:
        """GET /servers/{id}/os-security-groups: the groups of the server's ports in Nova's
        shape (id, name, description, tenant_id, and its ingress rules as nova-network had
        them; Nova drops egress rules)."""
        c = self._c()
        try:
            ports = await c.list_ports(token, device_id=server)
            ids = sorted({g for p in ports for g in p.get("security_groups", [])})
            groups = await c.list_security_groups(token, id=ids) if ids else []
            known = {g["id"]: g for g in groups}
            remote = sorted({r["remote_group_id"] for g in groups
                             for r in g.get("security_group_rules", [])
                             if r.get("remote_group_id") and r["remote_group_id"] not in known})
            if remote:
                known.update({g["id"]: g for g in
                              await c.list_security_groups(token, id=remote)})
        except ServiceError as exc:
            raise _bad_service(exc) from exc
        return [{"id": g["id"], "name": g.get("name", ""),
                 "description": g.get("description", ""),
                 "tenant_id": g.get("project_id") or g.get("tenant_id", ""),
                 "rules": [_nova_rule(r, known) for r in g.get("security_group_rules", [])
                           if r.get("direction") == "ingress"]}
                for g in sorted(groups, key=lambda g: (g.get("name", ""), g["id"]))]

    # --- interfaces (os-interface) ------------------------------------------------------

    async def interfaces(self, token: str, server: str) -> list[dict[str, Any]]:
        try:
            return await self._c().list_ports(token, device_id=server)
        except ServiceError as exc:
            raise _bad_service(exc) from exc

    async def interface(self, token: str, server: str, port_id: str) -> dict[str, Any]:
        try:
            port = await self._c().get_port(token, port_id)
        except ServiceError as exc:
            raise _bad_service(exc) from exc
        if port is None or port.get("device_id") != server:
            raise faults.NotFound(f"Instance {server} does not have a port with id {port_id}")
        return port

    async def attach(self, token: str, *, server: str, project_id: str, host: str, zone: str,
                     net_id: str | None, port_id: str | None, fixed_ip: str | None,
                     tag: str | None, may_attach_external: bool) -> Vif:
        """A new port (on `net_id`, or the one network "auto" would pick) or the user's
        `port_id`, bound to the server's host."""
        req: NetworkRequest = {"network_id": net_id, "port_id": port_id, "fixed_ip": fixed_ip,
                               "tag": tag}
        if net_id is None and port_id is None:
            checked = [await self._auto(token, project_id)]
        else:
            try:
                checked = await self._check_list(token, [req], 1, may_attach_external)
            except ServiceError as exc:
                raise _bad_service(exc) from exc
        try:
            vif = await self._port_for(self._c(), checked[0], server=server,
                                       project_id=project_id, host=host, zone=zone,
                                       token=token)
        except ServiceError as exc:
            if exc.kind in ("IpAddressAlreadyAllocated", "IpAddressInUse"):
                raise faults.BadRequest(f"Fixed IP address {fixed_ip} is already in use on "
                                        "instance.") from exc
            raise _bad_service(exc) from exc
        await self._names([vif], token)
        return vif
