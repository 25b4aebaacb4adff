"""/servers: create (single and min/max_count, return_reservation_id), list and detail with
Nova's filters, sorting and paging, show, update, delete.

Networks: with the Networking service, `networks` ("auto", "none", or a list of `uuid`,
`port`, `fixed_ip`) gives the server its ports (compute/networking.py) and `addresses` come from
them; without it "none" and "auto" (and an absent value below 2.37) boot without ports and a
list is a 400. block_device_mapping_v2 is taken only when it boots the image (source and destination
"image"/"local"); volumes come with Block Storage.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal, TypedDict

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import clock, faults
from overcast.common.api import query_bool, state
from overcast.common.app import Ctx
from overcast.common.context import RequestContext
from overcast.compute.api import server_views as views
from overcast.compute.api.server_views import policy
from overcast.compute.networking import parse_requests
from overcast.compute.servers import SORT_COLUMNS, BuildRequest, ListFilters, ServerService

router = APIRouter(prefix="/v2.1/servers", tags=["servers"])

Servers = Annotated[ServerService, Depends(state("servers", ServerService))]


class BlockDevice(BaseModel):
    model_config = ConfigDict(extra="allow")
    source_type: str | None = None
    destination_type: str | None = None
    uuid: str | None = None
    boot_index: int | str | None = None


class ServerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=255)
    imageRef: str | None = None
    flavorRef: str | int = Field(...)
    adminPass: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    networks: Literal["none", "auto"] | list[dict[str, Any]] | None = None
    security_groups: list[dict[str, Any]] | None = None
    user_data: str | None = Field(None, max_length=65535)
    availability_zone: str | None = Field(None, min_length=1, max_length=255)
    key_name: str | None = Field(None, min_length=1, max_length=255)
    config_drive: bool | str | None = None
    min_count: int | str = 1
    max_count: int | str | None = None
    return_reservation_id: bool | str = False
    block_device_mapping_v2: list[BlockDevice] | None = None
    block_device_mapping: list[dict[str, Any]] | None = None
    disk_config: str | None = Field(None, alias="OS-DCF:diskConfig")
    accessIPv4: str | None = None
    accessIPv6: str | None = None
    personality: list[dict[str, Any]] | None = None
    description: str | None = Field(None, max_length=255)
    tags: list[str] | None = None
    hostname: str | None = None
    trusted_image_certificates: list[str] | None = None
    host: str | None = None
    hypervisor_hostname: str | None = None


class ServerCreate(BaseModel):
    """POST /servers: Nova's create_v2x schemas (one server, scheduler hints beside it)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    server: ServerSpec
    scheduler_hints: dict[str, Any] | None = Field(None, alias="os:scheduler_hints")
    scheduler_hints_legacy: dict[str, Any] | None = Field(
        None, alias="OS-SCH-HNT:scheduler_hints")


class ServerChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=255)
    hostname: str | None = None
    accessIPv4: str | None = None
    accessIPv6: str | None = None
    disk_config: str | None = Field(None, alias="OS-DCF:diskConfig")


class ServerUpdate(BaseModel):
    """PUT /servers/{id}: name, description (2.19), hostname (2.90), access IPs."""

    model_config = ConfigDict(extra="forbid")
    server: ServerChanges


def access_ip(value: str | None, version: int) -> str | None:
    """An accessIPv4/v6 as Nova stores it (the address's canonical text); 400 if it is not
    one. An empty string clears it."""
    if not value:
        return None
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        addr = None
    if addr is None or addr.version != version:
        name = "accessIPv4" if version == 4 else "accessIPv6"
        raise faults.BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                                f"'{value}' is not a 'ipv{version}'")
    return addr.compressed


def disk_config(value: str | None) -> bool | None:
    """OS-DCF:diskConfig as Nova stores it (auto_disk_config): True for AUTO, False for
    MANUAL, None when not given; anything else is Nova's schema 400."""
    if value is None:
        return None
    if value not in ("AUTO", "MANUAL"):
        raise faults.BadRequest(f"Invalid input for field/attribute OS-DCF:diskConfig. Value: "
                                f"{value}. '{value}' is not one of ['AUTO', 'MANUAL']")
    return value == "AUTO"


def _int(value: int | str | None, name: str, default: int) -> int:
    if value is None:
        return default
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise faults.BadRequest(f"Invalid input for field/attribute {name}.") from None
    if n < 1:
        raise faults.BadRequest(f"Invalid input for field/attribute {name}. Value: {value}.")
    return n


def _bool(value: bool | str | None) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes", "y", "on")
    return bool(value)


def _image_from_bdm(bdms: list[BlockDevice] | None) -> str | None:
    for bdm in bdms or []:
        if bdm.source_type == "image" and bdm.destination_type in (None, "local"):
            return bdm.uuid
        if bdm.source_type in ("volume", "snapshot") or bdm.destination_type == "volume":
            raise faults.BadRequest("Block Device Mapping is Invalid: volumes are not "
                                    "supported yet (no Block Storage service).")
    return None


def _token(request: Request) -> str:
    return request.headers.get("x-auth-token", "")


class ViewFlags(TypedDict):
    extended: bool
    host_status: bool
    extra_specs: bool
    admin: bool


def _view_flags(ctx: RequestContext, project_id: str | None = None) -> ViewFlags:
    target = {"project_id": project_id or ctx.project_id}
    return {
        "extended": ctx.can("os_compute_api:os-extended-server-attributes", target),
        "host_status": ctx.microversion >= (2, 16)
        and ctx.can("os_compute_api:servers:show:host_status", target),
        "extra_specs": ctx.microversion >= (2, 47)
        and ctx.can("os_compute_api:servers:show:flavor-extra-specs", target),
        "admin": ctx.can("os_compute_api:servers:create:forced_host", target),
    }


@router.post("", status_code=202, **policy("os_compute_api:servers:create",
                                            "os_compute_api:servers:create:forced_host",
                                            "network:attach_external_network",
                                            "os_compute_api:os-extended-server-attributes",
                                            "os_compute_api:servers:show:host_status",
                                            "os_compute_api:servers:show:flavor-extra-specs"))
async def create_server(body: ServerCreate, request: Request, response: Response, ctx: Ctx,
                        servers: Servers) -> dict[str, Any]:
    spec = body.server
    ctx.enforce("os_compute_api:servers:create", {"project_id": ctx.project_id})
    # Nova's legacy request id header; tempest reads it from the create answer.
    response.headers["X-Compute-Request-Id"] = ctx.request_id
    for key, value in spec.metadata.items():
        if not key or len(key) > 255 or len(value) > 255:
            raise faults.BadRequest("Invalid input for field/attribute metadata: keys and "
                                    "values must be 1 to 255 characters.")
    mv = ctx.microversion
    networks: str | list[dict[str, Any]] = "auto"
    if isinstance(spec.networks, list):
        networks = parse_requests(spec.networks) if spec.networks else "none"
    elif spec.networks is not None:
        networks = spec.networks
    elif mv >= (2, 37):
        raise faults.BadRequest("Invalid input for field/attribute networks. Value: None. "
                                "'networks' is a required property")
    if spec.personality is not None and mv >= (2, 57):
        raise faults.BadRequest("Additional properties are not allowed ('personality' was "
                                "unexpected)")
    if spec.description is not None and mv < (2, 19):
        raise faults.BadRequest("Additional properties are not allowed ('description' was "
                                "unexpected)")
    if spec.tags is not None and mv < (2, 52):
        raise faults.BadRequest("Additional properties are not allowed ('tags' was unexpected)")
    min_count = _int(spec.min_count, "min_count", 1)
    max_count = _int(spec.max_count, "max_count", min_count)
    if min_count > max_count:
        raise faults.BadRequest("min_count must be <= max_count")
    image_ref = spec.imageRef or _image_from_bdm(spec.block_device_mapping_v2) or ""
    hints = body.scheduler_hints or body.scheduler_hints_legacy or {}
    req = BuildRequest(
        name=spec.name, flavor_ref=str(spec.flavorRef), image_ref=image_ref,
        key_name=spec.key_name, user_data=spec.user_data, metadata=spec.metadata,
        availability_zone=spec.availability_zone, config_drive=_bool(spec.config_drive),
        networks=networks, min_count=min_count, max_count=max_count,
        description=spec.description, tags=spec.tags or [], hostname=spec.hostname,
        scheduler_hints=hints, access_ip_v4=access_ip(spec.accessIPv4, 4),
        access_ip_v6=access_ip(spec.accessIPv6, 6),
        auto_disk_config=bool(disk_config(spec.disk_config)),
        security_groups=[str(g.get("name", "")) for g in spec.security_groups or []])
    insts, reservation = await servers.create(ctx, req, _token(request), ctx.request_id)
    if _bool(spec.return_reservation_id):
        return {"reservation_id": reservation}
    inst = insts[0]
    server: dict[str, Any] = {"id": inst.uuid, "links": views.links(request, "servers",
                                                                   inst.uuid),
                              "OS-DCF:diskConfig": views.disk_config(inst),
                              "security_groups": spec.security_groups or [{"name": "default"}],
                              "adminPass": spec.adminPass or _password()}
    return {"server": server}


def _password() -> str:
    import secrets

    return secrets.token_urlsafe(9)[:12]


_ADMIN_FILTERS = {"host", "node", "project_id", "user_id", "deleted", "all_tenants",
                  "tenant_id"}


async def _filters(request: Request, ctx: RequestContext, detail: bool) -> ListFilters:
    q = request.query_params
    flt = ListFilters()
    rule = "os_compute_api:servers:detail" if detail else "os_compute_api:servers:index"
    ctx.enforce(rule, {"project_id": ctx.project_id})
    all_tenants = q.get("all_tenants")
    if all_tenants is not None:
        flag = query_bool(all_tenants, "all_tenants", empty=True, strict=False)
        if flag:
            ctx.enforce(rule + ":get_all_tenants", {"project_id": ctx.project_id})
            flt.all_tenants = True
    admin = ctx.can("os_compute_api:servers:allow_all_filters", {"project_id": ctx.project_id})
    try:
        limit = int(q.get("limit", 1000))
    except ValueError:
        raise faults.BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise faults.BadRequest("limit param must be positive")
    flt.limit = min(limit, 1000)
    flt.marker = q.get("marker")
    flt.name = q.get("name")
    flt.status = q.get("status")
    flt.image = q.get("image")
    flt.flavor = q.get("flavor")
    flt.reservation_id = q.get("reservation_id")
    flt.ip = q.get("ip") or q.get("ip6")
    flt.availability_zone = q.get("availability_zone")
    if q.get("locked") is not None and ctx.microversion >= (2, 73):
        flt.locked = query_bool(q.get("locked"), "locked", strict=True)
    for name in ("changes-since", "changes-before"):
        raw = q.get(name)
        if raw is not None:
            try:
                when = clock.parse_iso(raw)
            except ValueError:
                raise faults.BadRequest(f"Invalid filter field: {name}.") from None
            setattr(flt, name.replace("-", "_"), when)
    if flt.changes_since and flt.changes_before and flt.changes_since > flt.changes_before:
        raise faults.BadRequest("The value of changes-since must be less than or equal to "
                                "changes-before.")
    if ctx.microversion >= (2, 26):
        for key in ("tags", "tags-any", "not-tags", "not-tags-any"):
            raw = q.get(key)
            if raw:
                setattr(flt, key.replace("-", "_"), [t for t in raw.split(",") if t])
    if admin:
        flt.host = q.get("host")
        if q.get("project_id") or q.get("tenant_id"):
            flt.project_id = q.get("project_id") or q.get("tenant_id")
            flt.all_tenants = flt.all_tenants or bool(flt.project_id)
        flt.user_id = q.get("user_id")
        flt.deleted = bool(query_bool(q.get("deleted"), "deleted", strict=False))
    elif ctx.microversion >= (2, 83):
        flt.user_id = q.get("user_id")
    keys = q.getlist("sort_key")
    dirs = q.getlist("sort_dir")
    for i, key in enumerate(keys):
        if key not in SORT_COLUMNS:
            raise faults.BadRequest(f"Invalid sort_key {key}")
        if key in ("host", "node") and not admin:
            raise faults.Forbidden(f"Only administrators can sort servers by {key}")
        direction = dirs[i] if i < len(dirs) else (dirs[-1] if dirs else "desc")
        if direction not in ("asc", "desc"):
            raise faults.BadRequest(f"Invalid sort_dir {direction}")
        flt.sort.append((key, direction))
    return flt


def _next_link(request: Request, path: str, items: list[Any], limit: int) -> list[dict[str, str]]:
    if not items or len(items) < limit:
        return []
    from urllib.parse import urlencode

    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    params.append(("marker", items[-1].uuid))
    return [{"rel": "next",
             "href": f"{views.base_url(request)}/v2.1/{path}?{urlencode(params)}"}]


@router.get("", **policy("os_compute_api:servers:index",
                         "os_compute_api:servers:index:get_all_tenants",
                         "os_compute_api:servers:allow_all_filters"))
async def list_servers(request: Request, ctx: Ctx, servers: Servers) -> dict[str, Any]:
    flt = await _filters(request, ctx, detail=False)
    insts = await servers.list_servers(ctx, flt, _token(request))
    out: dict[str, Any] = {"servers": [views.basic(request, i) for i in insts]}
    link = _next_link(request, "servers", insts, flt.limit)
    if link:
        out["servers_links"] = link
    return out


@router.get("/detail", **policy("os_compute_api:servers:detail",
                                "os_compute_api:servers:detail:get_all_tenants",
                                "os_compute_api:servers:allow_all_filters",
                                "os_compute_api:os-extended-server-attributes",
                                "os_compute_api:servers:show:host_status",
                                "os_compute_api:servers:show:flavor-extra-specs",
                                "os_compute_api:servers:create:forced_host"))
async def list_servers_detail(request: Request, ctx: Ctx, servers: Servers) -> dict[str, Any]:
    flt = await _filters(request, ctx, detail=True)
    insts = await servers.list_servers(ctx, flt, _token(request))
    flags = _view_flags(ctx)
    found = await servers.faults_of([i.uuid for i in insts])
    ports = await servers.port_views(_token(request), insts)
    out: dict[str, Any] = {"servers": [views.detail(request, ctx, i, fault=found.get(i.uuid),
                                                    ports=ports.get(i.uuid), **flags)
                                       for i in insts]}
    link = _next_link(request, "servers/detail", insts, flt.limit)
    if link:
        out["servers_links"] = link
    return out


async def show_view(request: Request, ctx: RequestContext, servers: ServerService,
                    server_id: str) -> dict[str, Any]:
    """The single-server body (show; update and rebuild trim it with views.for_update)."""
    inst = await servers.get(ctx, server_id)
    flags = _view_flags(ctx, inst.project_id)
    found = await servers.faults_of([inst.uuid])
    groups = [inst.group_uuid] if inst.group_uuid else []
    ports = await servers.port_views(_token(request), [inst])
    return {"server": views.detail(request, ctx, inst, fault=found.get(inst.uuid),
                                   ports=ports.get(inst.uuid), groups=groups, **flags)}


_SHOW_RULES = ("os_compute_api:servers:show", "os_compute_api:os-extended-server-attributes",
               "os_compute_api:servers:show:host_status",
               "os_compute_api:servers:show:flavor-extra-specs",
               "os_compute_api:servers:create:forced_host")


@router.get("/{server_id}", **policy(*_SHOW_RULES))
async def show_server(server_id: str, request: Request, ctx: Ctx, servers: Servers
                      ) -> dict[str, Any]:
    inst = await servers.get(ctx, server_id)
    ctx.enforce("os_compute_api:servers:show", {"project_id": inst.project_id})
    return await show_view(request, ctx, servers, server_id)


@router.put("/{server_id}", **policy("os_compute_api:servers:update", *_SHOW_RULES[1:]))
async def update_server(server_id: str, body: ServerUpdate, request: Request, ctx: Ctx,
                        servers: Servers) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    c = body.server
    if c.name is not None:
        changes["name"] = c.name
    if "description" in c.model_fields_set:
        if ctx.microversion < (2, 19):
            raise faults.BadRequest("Additional properties are not allowed ('description' was "
                                    "unexpected)")
        changes["description"] = c.description
    if c.hostname is not None:
        if ctx.microversion < (2, 90):
            raise faults.BadRequest("Additional properties are not allowed ('hostname' was "
                                    "unexpected)")
        changes["hostname"] = c.hostname
    if c.accessIPv4 is not None:
        changes["access_ip_v4"] = access_ip(c.accessIPv4, 4)
    if c.accessIPv6 is not None:
        changes["access_ip_v6"] = access_ip(c.accessIPv6, 6)
    if c.disk_config is not None:
        changes["auto_disk_config"] = disk_config(c.disk_config)
    await servers.update(ctx, server_id, changes)
    view = await show_view(request, ctx, servers, server_id)
    return {"server": views.for_update(ctx, view["server"], rebuild=False, user_data=None)}


@router.delete("/{server_id}", status_code=204,
               **policy("os_compute_api:servers:delete",
                        "os_compute_api:os-lock-server:unlock:unlock_override"))
async def delete_server(server_id: str, ctx: Ctx, servers: Servers) -> Response:
    await servers.delete(ctx, server_id, ctx.request_id)
    return Response(status_code=204)


@router.get("/{server_id}/ips", **policy("os_compute_api:ips:index"))
async def list_ips(server_id: str, request: Request, ctx: Ctx, servers: Servers
                   ) -> dict[str, Any]:
    inst = await servers.get(ctx, server_id)
    ctx.enforce("os_compute_api:ips:index", {"project_id": inst.project_id})
    found = (await servers.port_views(_token(request), [inst])).get(inst.uuid)
    return {"addresses": views.ips(found.addresses if found else {})}


@router.get("/{server_id}/ips/{network_label}", **policy("os_compute_api:ips:show"))
async def show_ips(server_id: str, network_label: str, request: Request, ctx: Ctx,
                   servers: Servers) -> dict[str, Any]:
    inst = await servers.get(ctx, server_id)
    ctx.enforce("os_compute_api:ips:show", {"project_id": inst.project_id})
    view = (await servers.port_views(_token(request), [inst])).get(inst.uuid)
    found = views.ips(view.addresses if view else {})
    if network_label not in found:
        raise faults.NotFound("Unable to find address")
    return {network_label: found[network_label]}
