"""os-migrations (every server's resizes and moves, admin) and /servers/{id}/migrations
(a server's live migrations under way, 2.23), with Nova's fields by microversion:
`migration_type` and `links` from 2.23, `uuid`, paging and newest first from 2.59, `changes-before` from
2.66, `user_id`/`project_id` (fields and filters) from 2.80."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from overcast.common import clock, faults
from overcast.common.api import policy as admin_policy
from overcast.common.app import Ctx
from overcast.common.microversion import available
from overcast.compute.api import Paged, collection_links, isotime, only_params
from overcast.compute.api.server_views import base_url, policy
from overcast.compute.api.servers import Servers
from overcast.compute.instance_models import Migration
from overcast.compute.servers import LIVE_MIGRATION_IN_PROGRESS

router = APIRouter(prefix="/v2.1", tags=["migrations"])

_SM = "os_compute_api:servers:migrations:"


def _common(m: Migration, mv: tuple[int, int]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": m.id, "status": m.status, "source_compute": m.source_compute,
                           "source_node": m.source_node, "dest_compute": m.dest_compute,
                           "dest_node": m.dest_node, "dest_host": m.dest_host,
                           "created_at": isotime(m.created_at),
                           "updated_at": isotime(m.updated_at)}
    if mv >= (2, 59):
        out["uuid"] = m.uuid
    if mv >= (2, 80):
        out["user_id"] = m.user_id
        out["project_id"] = m.project_id
    return out


def _migration(request: Request, m: Migration, mv: tuple[int, int]) -> dict[str, Any]:
    out = _common(m, mv)
    out.update(instance_uuid=m.instance_uuid, old_instance_type_id=m.old_instance_type_id,
               new_instance_type_id=m.new_instance_type_id)
    if mv >= (2, 23):
        out["migration_type"] = m.migration_type
        if (m.migration_type == "live-migration"
                and m.status in LIVE_MIGRATION_IN_PROGRESS):
            base = base_url(request)
            path = f"servers/{m.instance_uuid}/migrations/{m.id}"
            out["links"] = [{"rel": "self", "href": f"{base}/v2.1/{path}"},
                            {"rel": "bookmark", "href": f"{base}/{path}"}]
    return out


@router.get("/os-migrations", **admin_policy("os_compute_api:os-migrations:index"))
async def list_migrations(request: Request, ctx: Ctx, servers: Servers, page: Paged
                          ) -> dict[str, Any]:
    ctx.enforce("os_compute_api:os-migrations:index")
    mv = ctx.microversion
    q = request.query_params
    names = ["host", "status", "instance_uuid", "source_compute", "migration_type"]
    if mv >= (2, 80):
        names += ["user_id", "project_id"]
    if mv >= (2, 59):
        only_params(request, [*names, "hidden", "cell_name", "limit", "marker", "changes-since",
                              *(["changes-before"] if mv >= (2, 66) else [])])
    flt = {n: q[n] for n in names if q.get(n) is not None}
    times: dict[str, Any] = {}
    for name in ("changes-since", "changes-before"):
        raw = q.get(name)
        if raw is None or mv < ((2, 59) if name == "changes-since" else (2, 66)):
            continue
        try:
            times[name] = clock.parse_iso(raw)
        except ValueError:
            raise faults.BadRequest(f"Invalid input for query parameters {name}.") from None
    since, before = times.get("changes-since"), times.get("changes-before")
    if since and before and since > before:
        raise faults.BadRequest("The value of changes-since must be less than or equal to "
                                "changes-before.")
    paged = mv >= (2, 59)
    # Before 2.59 Nova does not sort: the database's order, oldest first.
    rows = await servers.migrations(flt, since=since, before=before, newest_first=paged,
                                    limit=page.limit if paged else None,
                                    marker=page.marker if paged else None)
    out: dict[str, Any] = {"migrations": [_migration(request, m, mv) for m in rows]}
    if paged:
        nxt = collection_links(request, page, len(rows), rows[-1].uuid if rows else None)
        if nxt:
            out["migrations_links"] = nxt
    return out


def _live(m: Migration, mv: tuple[int, int]) -> dict[str, Any]:
    out = _common(m, mv)
    out.update(server_uuid=m.instance_uuid, memory_total_bytes=None,
               memory_processed_bytes=None, memory_remaining_bytes=None,
               disk_total_bytes=None, disk_processed_bytes=None, disk_remaining_bytes=None)
    return out


@router.get("/servers/{server_id}/migrations", dependencies=[available(minimum=(2, 23))],
            **policy(_SM + "index"))
async def list_server_migrations(server_id: str, ctx: Ctx, servers: Servers
                                 ) -> dict[str, Any]:
    rows = await servers.server_migrations(ctx, server_id, _SM + "index",
                                           live_in_progress=True)
    return {"migrations": [_live(m, ctx.microversion) for m in rows]}


@router.get("/servers/{server_id}/migrations/{migration_id}",
            dependencies=[available(minimum=(2, 23))], **policy(_SM + "show"))
async def show_server_migration(server_id: str, migration_id: str, ctx: Ctx, servers: Servers
                                ) -> dict[str, Any]:
    found = [m for m in await servers.server_migrations(ctx, server_id, _SM + "show",
                                                          live_in_progress=False)
             if str(m.id) == migration_id]
    if not found:
        raise faults.NotFound(f"In-progress live migration {migration_id} is not found for "
                              f"server {server_id}.")
    m = found[0]
    if m.migration_type != "live-migration":
        raise faults.NotFound(f"Migration {migration_id} for server {server_id} is not "
                              "live-migration.")
    if m.status not in LIVE_MIGRATION_IN_PROGRESS:
        raise faults.NotFound(f"Live migration {migration_id} for server {server_id} is not "
                              "in progress.")
    return {"migration": _live(m, ctx.microversion)}
