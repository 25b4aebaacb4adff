"""/os-simple-tenant-usage: each project's server hours and the flavor sizes times hours over
a period (`start`, `end`; the end is never later than now), per server with `detailed=1`; one
project's at /{tenant_id}. From 2.40 `limit` and `marker` (a server id) page over the servers,
with a `next` link when a page is full; before, the page is `[compute] max_limit` servers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from overcast.common import clock, faults
from overcast.common.api import Page, policy, state
from overcast.common.app import Ctx
from overcast.common.db import Database
from overcast.compute.api import Cfg, Paged, collection_links, isotime
from overcast.compute.usage import ServerUsage, TenantUsage, usages

router = APIRouter(prefix="/v2.1/os-simple-tenant-usage", tags=["usage"])

Db = Annotated[Database, Depends(state("compute_db", Database))]

_R = "os_compute_api:os-simple-tenant-usage:"
# The forms Nova parses (oslo's parse_strtime), all taken as UTC.
_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def _time(raw: str | None) -> datetime:
    if not raw:
        return clock.utcnow()
    for fmt in _FORMATS:
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise faults.BadRequest("Invalid datetime string: Datetime is in invalid format")


def _period(request: Request) -> tuple[datetime, datetime]:
    start = _time(request.query_params.get("start"))
    stop = _time(request.query_params.get("end"))
    if not start < stop:
        raise faults.BadRequest("Invalid start time. The start time cannot occur after the "
                                "end time.")
    return start, min(stop, clock.utcnow())


def _server(u: ServerUsage) -> dict[str, Any]:
    return {"instance_id": u.instance_id, "name": u.name, "tenant_id": u.tenant_id,
            "flavor": u.flavor, "hours": u.hours, "memory_mb": u.memory_mb,
            "local_gb": u.local_gb, "vcpus": u.vcpus, "started_at": isotime(u.started_at),
            "ended_at": isotime(u.ended_at), "state": u.state, "uptime": u.uptime}


def _tenant(t: TenantUsage, detailed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tenant_id": t.tenant_id, "total_local_gb_usage": t.total_local_gb_usage,
        "total_vcpus_usage": t.total_vcpus_usage,
        "total_memory_mb_usage": t.total_memory_mb_usage, "total_hours": t.total_hours,
        "start": isotime(t.start), "stop": isotime(t.stop)}
    if detailed:
        out["server_usages"] = [_server(s) for s in t.server_usages]
    return out


def _page(ctx: Ctx, page: Page, cfg: Cfg) -> Page:
    """From 2.40 the request's page; before, the first `max_limit` servers."""
    return page if ctx.microversion >= (2, 40) else Page(limit=cfg.max_limit)


@router.get("", **policy(_R + "list"))
async def list_usages(request: Request, ctx: Ctx, db: Db, page: Paged, cfg: Cfg
                      ) -> dict[str, Any]:
    ctx.enforce(_R + "list", {"project_id": ctx.project_id or ""})
    start, stop = _period(request)
    detailed = request.query_params.get("detailed", "0") == "1"
    page = _page(ctx, page, cfg)
    tenants, servers = await usages(db, start, stop, tenant_id=None, limit=page.limit,
                                    marker=page.marker)
    out: dict[str, Any] = {"tenant_usages": [_tenant(t, detailed) for t in tenants]}
    if ctx.microversion >= (2, 40):
        more = collection_links(request, page, len(servers),
                                servers[-1].instance_id if servers else None)
        if more:
            out["tenant_usages_links"] = more
    return out


@router.get("/{tenant_id}", **policy(_R + "show"))
async def show_usage(tenant_id: str, request: Request, ctx: Ctx, db: Db, page: Paged,
                     cfg: Cfg) -> dict[str, Any]:
    ctx.enforce(_R + "show", {"project_id": tenant_id})
    start, stop = _period(request)
    page = _page(ctx, page, cfg)
    tenants, servers = await usages(db, start, stop, tenant_id=tenant_id, limit=page.limit,
                                    marker=page.marker)
    out: dict[str, Any] = {"tenant_usage": _tenant(tenants[0], True) if tenants else {}}
    if ctx.microversion >= (2, 40):
        more = collection_links(request, page, len(servers),
                                servers[-1].instance_id if servers else None)
        if more:
            out["tenant_usage_links"] = more
    return out
