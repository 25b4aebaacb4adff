"""A server's interfaces (os-interface: list, show, attach, detach) and the external events
Networking sends (os-server-external-events), on top of compute/networking.py.

Attach and detach change the server's VIF records (`instances.network_info`) in the
transaction that checked its state; the ports themselves are Networking's. With the fake
driver there is no device to hot-plug; a data plane's driver would be told by the agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from overcast.common import clock, faults
from overcast.common.context import RequestContext
from overcast.compute.instance_models import Instance, InstanceAction
from overcast.compute.instance_states import VmState as V
from overcast.compute.networking import ServerNetworks
from overcast.compute.servers import ServerService

__all__ = ["EVENT_NAMES", "ExternalEvent", "Interfaces", "attachment"]

#: The states in which Nova attaches or detaches an interface.
_ATTACHABLE = (V.ACTIVE, V.PAUSED, V.STOPPED, V.SUSPENDED, V.SHELVED, V.SHELVED_OFFLOADED)
#: Event names by the microversion that added them (Nova's server_external_events schemas).
EVENT_NAMES: dict[str, tuple[int, int]] = {
    "network-changed": (2, 0), "network-vif-plugged": (2, 0), "network-vif-unplugged": (2, 0),
    "network-vif-deleted": (2, 0), "volume-extended": (2, 51), "power-update": (2, 76),
    "accelerator-request-bound": (2, 82), "volume-reimaged": (2, 93)}
#: Events that must name the port (or volume) they are about.
_TAG_REQUIRED = ("network-vif-deleted", "volume-extended", "volume-reimaged",
                 "accelerator-request-bound")


@dataclass
class ExternalEvent:
    name: str
    server_uuid: str
    status: str = "completed"
    tag: str | None = None


def attachment(port: dict[str, Any], with_tag: bool) -> dict[str, Any]:
    """Nova's interfaceAttachment view of a port."""
    out: dict[str, Any] = {
        "port_state": port.get("status"), "port_id": port["id"], "net_id": port["network_id"],
        "mac_addr": port.get("mac_address"),
        "fixed_ips": [{"subnet_id": ip.get("subnet_id"), "ip_address": ip["ip_address"]}
                      for ip in port.get("fixed_ips", [])]}
    if with_tag:
        out["tag"] = port.get("tag")
    return out


class Interfaces:
    def __init__(self, servers: ServerService):
        self.servers = servers
        self.db = servers.db

    @property
    def networks(self) -> ServerNetworks:
        return self.servers.networks

    async def _require(self) -> None:
        if not await self.networks.enabled():
            raise faults.NotImplementedFault("Network interfaces need the Networking service, "
                                             "which this cloud does not run.")

    async def list_interfaces(self, ctx: RequestContext, server_id: str, token: str
                   ) -> list[dict[str, Any]]:
        inst = await self.servers.get(ctx, server_id)
        ctx.enforce("os_compute_api:os-attach-interfaces:list", {"project_id": inst.project_id})
        await self._require()
        tags = {v["port_id"]: v.get("tag") for v in inst.network_info or []}
        return [{**p, "tag": tags.get(p["id"])}
                for p in await self.networks.interfaces(token, inst.uuid)]

    async def show_interface(self, ctx: RequestContext, server_id: str, port_id: str, token: str
                   ) -> dict[str, Any]:
        inst = await self.servers.get(ctx, server_id)
        ctx.enforce("os_compute_api:os-attach-interfaces:show", {"project_id": inst.project_id})
        await self._require()
        tags = {v["port_id"]: v.get("tag") for v in inst.network_info or []}
        port = await self.networks.interface(token, inst.uuid, port_id)
        return {**port, "tag": tags.get(port["id"])}

    def _check_state(self, ctx: RequestContext, inst: Instance, what: str) -> None:
        if inst.locked_by is not None and not ctx.can(
                "os_compute_api:os-lock-server:unlock:unlock_override",
                {"project_id": inst.project_id}):
            raise faults.Conflict(f"Instance {inst.uuid} is locked")
        if inst.vm_state not in _ATTACHABLE or inst.task_state is not None:
            attr, state = (("task_state", inst.task_state) if inst.task_state
                           else ("vm_state", inst.vm_state))
            raise faults.Conflict(f"Cannot '{what}' instance {inst.uuid} while it is in "
                                  f"{attr} {state}")

    async def attach(self, ctx: RequestContext, server_id: str, token: str, request_id: str, *,
                     net_id: str | None, port_id: str | None, fixed_ip: str | None,
                     tag: str | None) -> dict[str, Any]:
        async with self.db.read() as s:
            inst = await self.servers.load(s, ctx, server_id)
        ctx.enforce("os_compute_api:os-attach-interfaces:create",
                    {"project_id": inst.project_id})
        self._check_state(ctx, inst, "attach_interface")
        await self._require()
        vif = await self.networks.attach(
            token, server=inst.uuid, project_id=inst.project_id, host=inst.host or "",
            zone=inst.availability_zone or self.servers.config.default_availability_zone,
            net_id=net_id, port_id=port_id, fixed_ip=fixed_ip, tag=tag,
            may_attach_external=ctx.can("network:attach_external_network",
                                        {"project_id": inst.project_id}))
        async with self.db.transaction() as s:
            row = await self.servers.load(s, ctx, server_id)
            row.network_info = [*(row.network_info or []), vif]
            row.updated_at = clock.utcnow()
            s.add(InstanceAction(action="attach_interface", instance_uuid=row.uuid,
                                 request_id=request_id, user_id=ctx.user_id,
                                 project_id=row.project_id, start_time=clock.utcnow(),
                                 finish_time=clock.utcnow()))
        port = await self.networks.interface(token, inst.uuid, vif["port_id"])
        return {**port, "tag": tag}

    async def detach(self, ctx: RequestContext, server_id: str, port_id: str, token: str,
                     request_id: str) -> None:
        async with self.db.read() as s:
            inst = await self.servers.load(s, ctx, server_id)
        ctx.enforce("os_compute_api:os-attach-interfaces:delete",
                    {"project_id": inst.project_id})
        self._check_state(ctx, inst, "detach_interface")
        await self._require()
        try:
            port = await self.networks.interface(token, inst.uuid, port_id)
        except faults.NotFound:
            raise faults.NotFound(f"Port {port_id} is not attached") from None
        vif = next((v for v in inst.network_info or [] if v["port_id"] == port_id),
                   {"port_id": port["id"], "preserve_on_delete": True})
        await self.networks.release([vif])
        async with self.db.transaction() as s:
            row = await self.servers.load(s, ctx, server_id)
            row.network_info = [v for v in row.network_info or [] if v["port_id"] != port_id]
            row.updated_at = clock.utcnow()
            s.add(InstanceAction(action="detach_interface", instance_uuid=row.uuid,
                                 request_id=request_id, user_id=ctx.user_id,
                                 project_id=row.project_id, start_time=clock.utcnow(),
                                 finish_time=clock.utcnow()))

    async def security_group(self, ctx: RequestContext, server_id: str, token: str,
                             name: str, add: bool) -> None:
        """The addSecurityGroup / removeSecurityGroup actions, on the server's ports."""
        inst = await self.servers.get(ctx, server_id)
        rule = "os_compute_api:os-security-groups:" + ("add" if add else "remove")
        ctx.enforce(rule, {"project_id": inst.project_id})
        await self._require()
        if not name:
            raise faults.BadRequest("Security group name cannot be empty")
        await self.networks.change_group(token, inst.uuid, name, add)

    async def security_groups(self, ctx: RequestContext, server_id: str, token: str
                              ) -> list[dict[str, Any]]:
        """GET /servers/{id}/os-security-groups; without Networking the server has no ports,
        so no groups."""
        inst = await self.servers.get(ctx, server_id)
        ctx.enforce("os_compute_api:os-security-groups:list", {"project_id": inst.project_id})
        if not await self.networks.enabled():
            return []
        return await self.networks.server_groups(token, inst.uuid)

    async def external_events(self, ctx: RequestContext, events: list[ExternalEvent]
                              ) -> tuple[list[dict[str, Any]], int]:
        """Nova's answer: each event with its status and code (200 accepted, 404 unknown
        server, 422 server on no host, 400 tag missing), and 207 unless all were accepted.
        network-vif-deleted drops the port's VIF record; network-changed needs nothing,
        since addresses are read from Networking; network-vif-plugged has no waiter until
        the data plane exists (the network data plane issue makes spawn wait for it)."""
        ctx.enforce("os_compute_api:os-server-external-events:create", {})
        out: list[dict[str, Any]] = []
        code = 200
        async with self.db.transaction() as s:
            uuids = list({e.server_uuid for e in events})
            rows = {i.uuid: i for i in (await s.scalars(select(Instance).where(
                Instance.uuid.in_(uuids), Instance.deleted.is_(False)))).all()}
            for e in events:
                view: dict[str, Any] = {"name": e.name, "server_uuid": e.server_uuid,
                                        "status": e.status}
                if e.tag is not None:
                    view["tag"] = e.tag
                inst = rows.get(e.server_uuid)
                if inst is None:
                    view.update(status="failed", code=404)
                elif e.name in _TAG_REQUIRED and not e.tag:
                    view.update(status="failed", code=400)
                elif not inst.host:
                    view.update(status="failed", code=422)
                else:
                    view.update(status="completed", code=200)
                    if e.name == "network-vif-deleted":
                        inst.network_info = [v for v in inst.network_info or []
                                             if v["port_id"] != e.tag]
                if view["code"] != 200:
                    code = 207
                out.append(view)
        return out, code

