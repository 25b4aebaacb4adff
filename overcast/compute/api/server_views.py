"""Server bodies as Nova's view builder shapes them, per microversion (tempest's schemas
v2_1 ... v2_96): the basic list entry, the detailed view, links, fault, flavor (a link to 2.46,
the embedded flavor from 2.47), and the attributes each microversion added."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request

from overcast.common.api import policy as _policy
from overcast.common.context import RequestContext
from overcast.compute.instance_models import Instance, InstanceFault
from overcast.compute.instance_states import PROGRESS_STATUSES, status_of
from overcast.compute.networking import PortsView

__all__ = ["base_url", "basic", "detail", "host_id", "ips", "iso", "links", "policy"]


def policy(rule: str, *also: str) -> dict[str, Any]:
    """common.api.policy for server routes: each may also ask `context_is_admin`, which
    decides whether another project's server is visible (Nova's project_only reads: 404)."""
    return _policy(rule, *also, "context_is_admin")


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def links(request: Request, collection: str, item: str) -> list[dict[str, str]]:
    base = base_url(request)
    return [{"rel": "self", "href": f"{base}/v2.1/{collection}/{item}"},
            {"rel": "bookmark", "href": f"{base}/{collection}/{item}"}]


def iso(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))


def host_id(host: str | None, project_id: str) -> str:
    """Nova's obfuscated hostId: sha224(project_id + host), "" when unplaced."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def basic(request: Request, inst: Instance) -> dict[str, Any]:
    return {"id": inst.uuid, "name": inst.display_name,
            "links": links(request, "servers", inst.uuid)}


def _flavor(request: Request, ctx: RequestContext, inst: Instance, extra_specs: bool
            ) -> dict[str, Any]:
    f = inst.flavor
    if ctx.microversion >= (2, 47):
        out = {"vcpus": f["vcpus"], "ram": f["memory_mb"], "disk": f["root_gb"],
               "ephemeral": f.get("ephemeral_gb", 0), "swap": f.get("swap", 0),
               "original_name": f["name"]}
        if extra_specs:
            out["extra_specs"] = f.get("extra_specs") or {}
        return out
    return {"id": str(f["id"]),
            "links": [{"rel": "bookmark", "href": f"{base_url(request)}/flavors/{f['id']}"}]}


def _image(request: Request, inst: Instance) -> dict[str, Any] | str:
    if not inst.image_ref:
        return ""
    return {"id": inst.image_ref,
            "links": [{"rel": "bookmark",
                       "href": f"{base_url(request)}/images/{inst.image_ref}"}]}


def _fault(f: InstanceFault | None, admin: bool) -> dict[str, Any] | None:
    if f is None:
        return None
    out: dict[str, Any] = {"code": f.code, "created": iso(f.created_at), "message": f.message}
    if f.details and (admin or f.code != 500):
        out["details"] = f.details
    return out


# What Nova's update and rebuild answers leave out below 2.75 (show(..., show_AZ=False,
# show_config_drive=False, show_extended_attr=False, ...)).
_NOT_IN_UPDATE = ("OS-EXT-AZ:availability_zone", "config_drive", "key_name",
                  "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at", "security_groups",
                  "OS-EXT-STS:task_state", "OS-EXT-STS:vm_state", "OS-EXT-STS:power_state",
                  "os-extended-volumes:volumes_attached", "host_status")


def for_update(ctx: RequestContext, server: dict[str, Any], *, rebuild: bool,
               user_data: str | None) -> dict[str, Any]:
    """The show body as PUT /servers/{id} and the rebuild action answer it."""
    if ctx.microversion >= (2, 75):
        if not rebuild:
            return server
        out = {k: v for k, v in server.items() if k != "OS-EXT-SRV-ATTR:user_data"}
        out["user_data"] = user_data  # rebuild names it itself from 2.57
        return out
    out = {k: v for k, v in server.items()
           if k not in _NOT_IN_UPDATE and not k.startswith("OS-EXT-SRV-ATTR:")}
    out["addresses"] = ips(server.get("addresses") or {})  # extend_address=False below 2.75
    if rebuild and ctx.microversion >= (2, 54):
        out["key_name"] = server.get("key_name")
    if rebuild and ctx.microversion >= (2, 57):
        out["user_data"] = user_data
    if ctx.microversion >= (2, 90):
        out["OS-EXT-SRV-ATTR:hostname"] = server.get("OS-EXT-SRV-ATTR:hostname")
    return out


def disk_config(inst: Instance) -> str:
    """OS-DCF:diskConfig: AUTO or MANUAL (Nova's default, and rows from before it was kept)."""
    return "AUTO" if inst.auto_disk_config else "MANUAL"


def ips(addresses: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """/servers/{id}/ips: Nova's basic address view, version and addr only."""
    return {net: [{"version": a["version"], "addr": a["addr"]} for a in rows]
            for net, rows in addresses.items()}


def detail(request: Request, ctx: RequestContext, inst: Instance, *,
           fault: InstanceFault | None, extended: bool, host_status: bool,
           extra_specs: bool, admin: bool, groups: list[str] | None = None,
           ports: PortsView | None = None) -> dict[str, Any]:
    """The detailed server (show, detail list, update and rebuild answers)."""
    mv = ctx.microversion
    status = status_of(inst.vm_state, inst.task_state, inst.deleted)
    out: dict[str, Any] = {
        "id": inst.uuid, "name": inst.display_name, "status": status,
        "tenant_id": inst.project_id, "user_id": inst.user_id,
        "metadata": {m.key: m.value for m in inst.metadata_items},
        "hostId": host_id(inst.host, inst.project_id),
        "image": _image(request, inst), "flavor": _flavor(request, ctx, inst, extra_specs),
        "created": iso(inst.created_at), "updated": iso(inst.updated_at),
        # From the server's ports (compute/networking.py); {} without Networking.
        "addresses": ports.addresses if ports else {},
        "accessIPv4": inst.access_ip_v4 or "", "accessIPv6": inst.access_ip_v6 or "",
        "links": links(request, "servers", inst.uuid),
        "OS-DCF:diskConfig": disk_config(inst),
        "OS-EXT-AZ:availability_zone": inst.availability_zone or "",
        "config_drive": inst.config_drive,
        "key_name": inst.key_name,
        "OS-SRV-USG:launched_at": (inst.launched_at.replace(tzinfo=None).isoformat()
                                   if inst.launched_at else None),
        "OS-SRV-USG:terminated_at": (inst.terminated_at.replace(tzinfo=None).isoformat()
                                     if inst.terminated_at else None),
        # The groups of its ports; without Networking, Nova's answer for a default boot.
        "security_groups": [{"name": n} for n in ports.security_groups] if ports
        else [{"name": "default"}] if inst.networks != "none" and not inst.requested_networks
        else [],
        "OS-EXT-STS:task_state": inst.task_state,
        "OS-EXT-STS:vm_state": inst.vm_state,
        "OS-EXT-STS:power_state": inst.power_state,
        "os-extended-volumes:volumes_attached": [],
    }
    if not out["security_groups"]:
        del out["security_groups"]
    if status in ("ERROR", "DELETED"):
        f = _fault(fault, admin)
        if f is not None:
            out["fault"] = f
    if status in PROGRESS_STATUSES:
        out["progress"] = inst.progress or (100 if status == "ACTIVE" else 0)
    if extended:
        out["OS-EXT-SRV-ATTR:host"] = inst.host
        out["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{inst.id:08x}"
        out["OS-EXT-SRV-ATTR:hypervisor_hostname"] = inst.node
        if mv >= (2, 3):
            out["OS-EXT-SRV-ATTR:hostname"] = inst.hostname
            out["OS-EXT-SRV-ATTR:kernel_id"] = str(
                inst.image_meta.get("properties", {}).get("kernel_id") or "")
            out["OS-EXT-SRV-ATTR:launch_index"] = inst.launch_index
            out["OS-EXT-SRV-ATTR:ramdisk_id"] = str(
                inst.image_meta.get("properties", {}).get("ramdisk_id") or "")
            out["OS-EXT-SRV-ATTR:reservation_id"] = inst.reservation_id
            out["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda"
            out["OS-EXT-SRV-ATTR:user_data"] = inst.user_data
    if mv >= (2, 9):
        out["locked"] = inst.locked_by is not None
    if mv >= (2, 16) and host_status:
        out["host_status"] = "UP" if inst.host else ""
    if mv >= (2, 19):
        out["description"] = inst.display_description
    if mv >= (2, 26):
        out["tags"] = [t.tag for t in inst.tags]
    if mv >= (2, 63):
        out["trusted_image_certificates"] = None
    if mv >= (2, 71) and groups is not None:
        out["server_groups"] = groups
    if mv >= (2, 73):
        out["locked_reason"] = inst.locked_reason
    if mv >= (2, 90) and not extended:
        out["OS-EXT-SRV-ATTR:hostname"] = inst.hostname
    if mv >= (2, 96):
        out["pinned_availability_zone"] = inst.pinned_availability_zone
    return out
