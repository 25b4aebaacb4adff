"""/os-hypervisors: compute nodes (admins). Per microversion as Nova: cpu_info an object from
2.28, paging from 2.33, UUID ids and the `hypervisor_hostname_pattern`/`with_servers` queries
from 2.53 (search and servers routes gone), `servers: []` when asked from 2.75, and from 2.88
no resource figures, no statistics or uptime routes, `uptime` in the detail instead."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request

from overcast.common import faults
from overcast.common.api import Page, policy, query_bool
from overcast.common.app import Ctx
from overcast.common.microversion import available
from overcast.compute.api import Hsts, Paged, collection_links, only_params
from overcast.compute.hosts import Hypervisor

router = APIRouter(prefix="/v2.1/os-hypervisors", tags=["hypervisors"])

_FIGURES = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used",
            "free_ram_mb", "free_disk_gb", "current_workload", "running_vms",
            "disk_available_least")


def _view(ctx: Ctx, h: Hypervisor, *, detail: bool, with_servers: bool = False
          ) -> dict[str, Any]:
    n, svc = h.node, h.service
    uuids = ctx.microversion >= (2, 53)
    view: dict[str, Any] = {
        "id": n.uuid if uuids else n.id, "hypervisor_hostname": n.hypervisor_hostname,
        "state": "up" if h.up else "down",
        "status": "disabled" if svc is not None and svc.disabled else "enabled"}
    if detail:
        view.update({"hypervisor_type": n.hypervisor_type,
                     "hypervisor_version": n.hypervisor_version, "host_ip": n.host_ip,
                     "service": {"id": (svc.uuid if uuids else svc.id) if svc else None,
                                 "host": n.host,
                                 "disabled_reason": svc.disabled_reason if svc else None}})
        if ctx.microversion < (2, 88):
            figures = {"vcpus": n.vcpus, "memory_mb": n.memory_mb, "local_gb": n.local_gb,
                       "vcpus_used": n.vcpus_used, "memory_mb_used": n.memory_mb_used,
                       "local_gb_used": n.local_gb_used,
                       "free_ram_mb": n.memory_mb - n.memory_mb_used,
                       "free_disk_gb": n.local_gb - n.local_gb_used,
                       "current_workload": n.current_workload, "running_vms": n.running_vms,
                       "disk_available_least": n.disk_available_least}
            view.update(figures)
            view["cpu_info"] = (n.cpu_info or {}) if ctx.microversion >= (2, 28) else \
                json.dumps(n.cpu_info or {})
        else:
            view["uptime"] = n.uptime
    if h.servers:
        view["servers"] = [{"name": name, "uuid": u} for u, name in h.servers]
    elif with_servers and ctx.microversion >= (2, 75):
        view["servers"] = []
    return view


async def _list(request: Request, ctx: Ctx, hosts: Hsts, page: Page, *, detail: bool
                ) -> dict[str, Any]:
    mv = ctx.microversion
    q = request.query_params
    if mv >= (2, 75):
        only_params(request, ("limit", "marker", "hypervisor_hostname_pattern", "with_servers"))
    pattern = q.get("hypervisor_hostname_pattern") if mv >= (2, 53) else None
    with_servers = bool(query_bool(q.get("with_servers"), "with_servers")) \
        if mv >= (2, 53) else False
    paged = mv >= (2, 33) and pattern is None
    if pattern is not None and ("limit" in q or "marker" in q):
        raise faults.BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern "
                                "query parameter is not supported.")
    rule = "os_compute_api:os-hypervisors:list-detail" if detail else \
        "os_compute_api:os-hypervisors:list"
    if mv >= (2, 53) and page.marker is not None:
        try:
            uuid.UUID(page.marker)
        except ValueError:
            raise faults.BadRequest(f"marker [{page.marker}] not found") from None
    found = await hosts.hypervisors(
        ctx, rule, hostname_pattern=pattern, by_uuid=mv >= (2, 53), with_servers=with_servers,
        limit=page.limit if paged else None, marker=page.marker if paged else None)
    if pattern is not None and not found:
        raise faults.NotFound(f"No hypervisor matching '{pattern}' could be found.")
    body: dict[str, Any] = {"hypervisors": [
        _view(ctx, h, detail=detail, with_servers=with_servers) for h in found]}
    if paged:
        last = found[-1].node if found else None
        more = collection_links(request, page, len(found),
                                None if last is None else (last.uuid if mv >= (2, 53)
                                                           else last.id))
        if more:
            body["hypervisors_links"] = more
    return body


@router.get("", **policy("os_compute_api:os-hypervisors:list"))
async def list_hypervisors(request: Request, ctx: Ctx, hosts: Hsts, page: Paged
                           ) -> dict[str, Any]:
    return await _list(request, ctx, hosts, page, detail=False)


@router.get("/detail", **policy("os_compute_api:os-hypervisors:list-detail"))
async def list_hypervisors_detail(request: Request, ctx: Ctx, hosts: Hsts, page: Paged
                                  ) -> dict[str, Any]:
    return await _list(request, ctx, hosts, page, detail=True)


@router.get("/statistics", dependencies=[available(maximum=(2, 87))],
            **policy("os_compute_api:os-hypervisors:statistics"))
async def hypervisor_statistics(ctx: Ctx, hosts: Hsts) -> dict[str, Any]:
    found = await hosts.hypervisors(ctx, "os_compute_api:os-hypervisors:statistics")
    stats = dict.fromkeys(("count", *_FIGURES), 0)
    for h in found:
        n = h.node
        stats["count"] += 1
        for key, value in (("vcpus", n.vcpus), ("memory_mb", n.memory_mb),
                           ("local_gb", n.local_gb), ("vcpus_used", n.vcpus_used),
                           ("memory_mb_used", n.memory_mb_used),
                           ("local_gb_used", n.local_gb_used),
                           ("free_ram_mb", n.memory_mb - n.memory_mb_used),
                           ("free_disk_gb", n.local_gb - n.local_gb_used),
                           ("current_workload", n.current_workload),
                           ("running_vms", n.running_vms),
                           ("disk_available_least", n.disk_available_least or 0)):
            stats[key] += value
    return {"hypervisor_statistics": stats}


def _one(ctx: Ctx, hypervisor_id: str) -> None:
    if ctx.microversion >= (2, 53):
        try:
            uuid.UUID(hypervisor_id)
        except ValueError:
            raise faults.BadRequest(f"Invalid uuid {hypervisor_id}") from None


@router.get("/{hypervisor_id}", **policy("os_compute_api:os-hypervisors:show"))
async def show_hypervisor(hypervisor_id: str, request: Request, ctx: Ctx, hosts: Hsts
                          ) -> dict[str, Any]:
    _one(ctx, hypervisor_id)
    with_servers = ctx.microversion >= (2, 53) and bool(
        query_bool(request.query_params.get("with_servers"), "with_servers"))
    found = await hosts.hypervisors(ctx, "os_compute_api:os-hypervisors:show",
                                    node_id=hypervisor_id, by_uuid=ctx.microversion >= (2, 53),
                                    with_servers=with_servers)
    if not found:
        raise faults.NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
    return {"hypervisor": _view(ctx, found[0], detail=True, with_servers=with_servers)}


@router.get("/{hypervisor_id}/uptime", dependencies=[available(maximum=(2, 87))],
            **policy("os_compute_api:os-hypervisors:uptime"))
async def hypervisor_uptime(hypervisor_id: str, ctx: Ctx, hosts: Hsts) -> dict[str, Any]:
    _one(ctx, hypervisor_id)
    found = await hosts.hypervisors(ctx, "os_compute_api:os-hypervisors:uptime",
                                    node_id=hypervisor_id, by_uuid=ctx.microversion >= (2, 53))
    if not found:
        raise faults.NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
    view = _view(ctx, found[0], detail=False)
    view["uptime"] = found[0].node.uptime or ""
    return {"hypervisor": view}


@router.get("/{hypervisor_hostname_pattern}/search", dependencies=[available(maximum=(2, 52))],
            **policy("os_compute_api:os-hypervisors:search"))
async def search_hypervisors(hypervisor_hostname_pattern: str, ctx: Ctx, hosts: Hsts
                             ) -> dict[str, Any]:
    found = await hosts.hypervisors(ctx, "os_compute_api:os-hypervisors:search",
                                    hostname_pattern=hypervisor_hostname_pattern)
    if not found:
        raise faults.NotFound(
            f"No hypervisor matching '{hypervisor_hostname_pattern}' could be found.")
    return {"hypervisors": [_view(ctx, h, detail=False) for h in found]}


@router.get("/{hypervisor_hostname_pattern}/servers",
            dependencies=[available(maximum=(2, 52))],
            **policy("os_compute_api:os-hypervisors:servers"))
async def hypervisor_servers(hypervisor_hostname_pattern: str, ctx: Ctx, hosts: Hsts
                             ) -> dict[str, Any]:
    found = await hosts.hypervisors(ctx, "os_compute_api:os-hypervisors:servers",
                                    hostname_pattern=hypervisor_hostname_pattern,
                                    with_servers=True)
    if not found:
        raise faults.NotFound(
            f"No hypervisor matching '{hypervisor_hostname_pattern}' could be found.")
    return {"hypervisors": [_view(ctx, h, detail=False) for h in found]}
