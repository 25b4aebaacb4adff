"""/flavors: list, detail, show, create, update (2.55), delete; extra specs; flavor access.

Shapes per microversion: `description` from 2.55, `extra_specs` in flavor bodies from 2.61
(when the caller may list them), `swap` 0 instead of "" from 2.75, and strict list queries from
2.75 (tempest's schemas v2_1, v2_55, v2_61)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator, model_validator

from overcast.common import faults
from overcast.common.api import policy, query_bool
from overcast.common.app import Ctx
from overcast.common.microversion import available
from overcast.compute.api import (
    Flvs,
    NonNegativeInt,
    Paged,
    PositiveInt,
    collection_links,
    links,
    nova_bool,
    only_params,
    query_int,
)
from overcast.compute.flavors import SORT_KEYS, FlavorSpec
from overcast.compute.models import Flavor

router = APIRouter(prefix="/v2.1/flavors", tags=["flavors"])

LIST_PARAMS = ("limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir")
_ID_PATTERN = r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"
_KEY_PATTERN = r"^[a-zA-Z0-9-_:. ]{1,255}$"


def _printable_name(value: str) -> str:
    if not value or value != value.strip() or not value.isprintable():
        raise ValueError("printable characters, not starting or ending with whitespace")
    return value


class FlavorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=255)
    id: str | int | None = None
    ram: PositiveInt
    vcpus: PositiveInt
    disk: NonNegativeInt
    ephemeral: NonNegativeInt = Field(0, alias="OS-FLV-EXT-DATA:ephemeral")
    swap: NonNegativeInt = 0
    rxtx_factor: float | str = 1.0
    is_public: Annotated[bool, nova_bool] = Field(True, alias="os-flavor-access:is_public")
    description: str | None = Field(None, max_length=65535)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _printable_name(value)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | int | None) -> str | int | None:
        import re

        if isinstance(value, bool):
            raise ValueError("must be a string, a number or null")
        if value is not None and (len(str(value)) > 255 or
                                  not re.fullmatch(_ID_PATTERN, str(value))):
            raise ValueError(f"{value!r} does not match {_ID_PATTERN}")
        return value

    @field_validator("rxtx_factor")
    @classmethod
    def _rxtx(cls, value: float | str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
        if not 0 < number <= 3.40282e+38:
            raise ValueError("must be greater than 0")
        return number


class FlavorCreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flavor: FlavorCreate


class FlavorUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str | None = Field(max_length=65535)


class FlavorUpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flavor: FlavorUpdate


def _spec_value(value: Any) -> str:
    # Nova's schema: a string of at most 255 characters, or a number or boolean it stores as
    # its string form.
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and len(value) <= 255:
        return value
    raise ValueError("extra spec values are strings (at most 255 characters) or numbers")


def _check_specs(specs: dict[str, Any]) -> dict[str, str]:
    import re

    out = {}
    for key, value in specs.items():
        if not re.fullmatch(_KEY_PATTERN, key):
            raise ValueError(f"extra spec key {key!r} does not match {_KEY_PATTERN}")
        out[key] = _spec_value(value)
    return out


class ExtraSpecsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    extra_specs: dict[str, Any]

    @field_validator("extra_specs")
    @classmethod
    def _specs(cls, value: dict[str, Any]) -> dict[str, str]:
        return _check_specs(value)


class ExtraSpecBody(RootModel[dict[str, Any]]):
    """PUT of one key: `{"<key>": "<value>"}`, the key as in the URL."""

    @model_validator(mode="after")
    def _one(self) -> ExtraSpecBody:
        _check_specs(self.root)
        return self


class Tenant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant: str = Field(min_length=1, max_length=255)


class FlavorAction(BaseModel):
    """POST /flavors/{id}/action: exactly one of addTenantAccess, removeTenantAccess."""

    model_config = ConfigDict(extra="forbid")
    addTenantAccess: Tenant | None = None
    removeTenantAccess: Tenant | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> FlavorAction:
        if (self.addTenantAccess is None) == (self.removeTenantAccess is None):
            raise ValueError("exactly one of addTenantAccess, removeTenantAccess")
        return self


# -- views --
def basic_view(request: Request, ctx: Ctx, f: Flavor) -> dict[str, Any]:
    view: dict[str, Any] = {"id": f.flavorid, "name": f.name,
                            "links": links(request, "flavors", f.flavorid)}
    if ctx.microversion >= (2, 55):
        view["description"] = f.description
    return view


def detail_view(request: Request, ctx: Ctx, f: Flavor, show_specs: bool) -> dict[str, Any]:
    swap: int | str = f.swap if f.swap or ctx.microversion >= (2, 75) else ""
    view: dict[str, Any] = {
        "id": f.flavorid, "name": f.name, "ram": f.memory_mb, "disk": f.root_gb, "swap": swap,
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral_gb, "OS-FLV-DISABLED:disabled": f.disabled,
        "vcpus": f.vcpus, "os-flavor-access:is_public": f.is_public,
        "rxtx_factor": f.rxtx_factor, "links": links(request, "flavors", f.flavorid)}
    if ctx.microversion >= (2, 55):
        view["description"] = f.description
    if show_specs:
        view["extra_specs"] = {e.key: e.value for e in f.extra_specs}
    return view


def _shows_specs(ctx: Ctx) -> bool:
    return ctx.microversion >= (2, 61) and ctx.can(
        "os_compute_api:os-flavor-extra-specs:index", {"project_id": ctx.project_id})


def _access_view(flavorid: str, projects: list[str]) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavorid, "tenant_id": p} for p in projects]}


# -- lists --
async def _list(request: Request, ctx: Ctx, flavors: Flvs, page: Paged) -> list[Flavor]:
    if ctx.microversion >= (2, 75):
        only_params(request, LIST_PARAMS)
    q = request.query_params
    admin = ctx.can("context_is_admin", {"project_id": ctx.project_id})
    is_public: bool | None = True
    raw = q.get("is_public")
    if raw is not None and raw.strip().lower() == "none":
        is_public = None
    elif raw is not None:
        try:
            is_public = query_bool(raw, "is_public")
        except faults.BadRequest:
            raise faults.BadRequest(f"Invalid is_public filter [{raw}]") from None
    sort_key = q.get("sort_key", "flavorid")
    sort_dir = q.get("sort_dir", "asc")
    if sort_key not in SORT_KEYS or sort_dir not in ("asc", "desc"):
        raise faults.BadRequest(f"Invalid sort_key or sort_dir: {sort_key} {sort_dir}")
    return await flavors.index(
        ctx, admin=admin, is_public=is_public, min_ram=query_int(request, "minRam"),
        min_disk=query_int(request, "minDisk"), sort_key=sort_key, sort_dir=sort_dir,
        limit=page.limit, marker=page.marker)


def _listing(request: Request, page: Paged, items: list[dict[str, Any]], found: list[Flavor]
             ) -> dict[str, Any]:
    body: dict[str, Any] = {"flavors": items}
    more = collection_links(request, page, len(found), found[-1].flavorid if found else None)
    if more:
        body["flavors_links"] = more
    return body


LIST_RULES = ("os_compute_api:flavors", "context_is_admin")


@router.get("", **policy(*LIST_RULES))
async def list_flavors(request: Request, ctx: Ctx, flavors: Flvs, page: Paged
                       ) -> dict[str, Any]:
    found = await _list(request, ctx, flavors, page)
    return _listing(request, page, [basic_view(request, ctx, f) for f in found], found)


@router.get("/detail", **policy(*LIST_RULES, "os_compute_api:os-flavor-extra-specs:index"))
async def list_flavors_detail(request: Request, ctx: Ctx, flavors: Flvs, page: Paged
                              ) -> dict[str, Any]:
    found = await _list(request, ctx, flavors, page)
    specs = _shows_specs(ctx)
    return _listing(request, page, [detail_view(request, ctx, f, specs) for f in found], found)


@router.get("/{flavor_id}", **policy(*LIST_RULES, "os_compute_api:os-flavor-extra-specs:index"))
async def show_flavor(flavor_id: str, request: Request, ctx: Ctx, flavors: Flvs
                      ) -> dict[str, Any]:
    admin = ctx.can("context_is_admin", {"project_id": ctx.project_id})
    flavor = await flavors.get(ctx, flavor_id, admin=admin)
    return {"flavor": detail_view(request, ctx, flavor, _shows_specs(ctx))}


# -- flavor-manage --
@router.post("", **policy("os_compute_api:os-flavor-manage:create",
                          "os_compute_api:os-flavor-extra-specs:index"))
async def create_flavor(body: FlavorCreateBody, request: Request, ctx: Ctx, flavors: Flvs
                        ) -> dict[str, Any]:
    f = body.flavor
    if "description" in f.model_fields_set and ctx.microversion < (2, 55):
        raise faults.BadRequest("Invalid input for field/attribute flavor. Additional "
                                "properties are not allowed ('description' was unexpected)")
    assert isinstance(f.rxtx_factor, float)
    spec = FlavorSpec(name=f.name, flavorid=None if f.id is None else str(f.id), ram=f.ram,
                      vcpus=f.vcpus, disk=f.disk, ephemeral=f.ephemeral, swap=f.swap,
                      rxtx_factor=f.rxtx_factor, is_public=f.is_public,
                      description=f.description)
    flavor = await flavors.create(ctx, spec)
    return {"flavor": detail_view(request, ctx, flavor, _shows_specs(ctx))}


@router.put("/{flavor_id}", dependencies=[available(minimum=(2, 55))],
            **policy("os_compute_api:os-flavor-manage:update",
                     "os_compute_api:os-flavor-extra-specs:index"))
async def update_flavor(flavor_id: str, body: FlavorUpdateBody, request: Request, ctx: Ctx,
                        flavors: Flvs) -> dict[str, Any]:
    flavor = await flavors.update_description(ctx, flavor_id, body.flavor.description)
    return {"flavor": detail_view(request, ctx, flavor, _shows_specs(ctx))}


@router.delete("/{flavor_id}", **policy("os_compute_api:os-flavor-manage:delete"))
async def delete_flavor(flavor_id: str, ctx: Ctx, flavors: Flvs) -> Response:
    await flavors.delete(ctx, flavor_id)
    return Response(status_code=202)


# -- extra specs --
@router.get("/{flavor_id}/os-extra_specs",
            **policy("os_compute_api:os-flavor-extra-specs:index", "context_is_admin"))
async def list_extra_specs(flavor_id: str, ctx: Ctx, flavors: Flvs) -> dict[str, Any]:
    admin = ctx.can("context_is_admin", {"project_id": ctx.project_id})
    return {"extra_specs": await flavors.extra_specs(ctx, flavor_id, admin=admin)}


@router.post("/{flavor_id}/os-extra_specs",
             **policy("os_compute_api:os-flavor-extra-specs:create"))
async def create_extra_specs(flavor_id: str, body: ExtraSpecsBody, ctx: Ctx, flavors: Flvs
                             ) -> dict[str, Any]:
    specs = await flavors.set_extra_specs(
        ctx, flavor_id, body.extra_specs, rule="os_compute_api:os-flavor-extra-specs:create",
        validate=ctx.microversion >= (2, 86))
    return {"extra_specs": specs}


@router.get("/{flavor_id}/os-extra_specs/{key}",
            **policy("os_compute_api:os-flavor-extra-specs:show", "context_is_admin"))
async def show_extra_spec(flavor_id: str, key: str, ctx: Ctx, flavors: Flvs) -> dict[str, str]:
    admin = ctx.can("context_is_admin", {"project_id": ctx.project_id})
    return {key: await flavors.extra_spec(ctx, flavor_id, key, admin=admin)}


@router.put("/{flavor_id}/os-extra_specs/{key}",
            **policy("os_compute_api:os-flavor-extra-specs:update"))
async def update_extra_spec(flavor_id: str, key: str, body: ExtraSpecBody, ctx: Ctx,
                            flavors: Flvs) -> dict[str, str]:
    specs = {k: _spec_value(v) for k, v in body.root.items()}
    if len(specs) > 1:
        raise faults.BadRequest("Request body contains too many items")
    if key not in specs:
        raise faults.BadRequest("Request body and URI mismatch")
    return await flavors.set_extra_specs(
        ctx, flavor_id, specs, rule="os_compute_api:os-flavor-extra-specs:update",
        validate=ctx.microversion >= (2, 86))


@router.delete("/{flavor_id}/os-extra_specs/{key}",
               **policy("os_compute_api:os-flavor-extra-specs:delete"))
async def delete_extra_spec(flavor_id: str, key: str, ctx: Ctx, flavors: Flvs) -> Response:
    await flavors.delete_extra_spec(ctx, flavor_id, key)
    return Response(status_code=200)


# -- flavor access --
@router.get("/{flavor_id}/os-flavor-access", **policy("os_compute_api:os-flavor-access"))
async def list_flavor_access(flavor_id: str, ctx: Ctx, flavors: Flvs) -> dict[str, Any]:
    return _access_view(flavor_id, await flavors.access(ctx, flavor_id))


@router.post("/{flavor_id}/action",
             **policy("os_compute_api:os-flavor-access:add_tenant_access",
                      "os_compute_api:os-flavor-access:remove_tenant_access"))
async def flavor_action(flavor_id: str, body: FlavorAction, ctx: Ctx, flavors: Flvs
                        ) -> dict[str, Any]:
    if body.addTenantAccess is not None:
        projects = await flavors.add_access(ctx, flavor_id, body.addTenantAccess.tenant)
    else:
        assert body.removeTenantAccess is not None
        projects = await flavors.remove_access(ctx, flavor_id, body.removeTenantAccess.tenant)
    return _access_view(flavor_id, projects)
