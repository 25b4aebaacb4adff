"""/v3/{project_id}/types: volume types (list, show incl. `default`, create, update, delete),
their extra specs, and access to private types (os-volume-type-access)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.api import policy, query_bool
from overcast.common.app import Ctx
from overcast.volume.api import Types, cinder_bool
from overcast.volume.volume_types import TypeView

router = APIRouter(prefix="/v3/{project_id}/types", tags=["volume types"])

Spec = dict[str, Annotated[str, Field(max_length=255)]]


class TypeCreate(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(None, max_length=255)
    is_public: Annotated[bool, cinder_bool] = Field(True, alias="os-volume-type-access:is_public")
    extra_specs: Spec = {}


class TypeCreateBody(BaseModel):
    volume_type: TypeCreate


class TypeUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=255)
    is_public: Annotated[bool, cinder_bool] | None = None


class TypeUpdateBody(BaseModel):
    volume_type: TypeUpdate


class SpecsBody(BaseModel):
    extra_specs: Spec


class TypeAction(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")
    add: dict[str, str] | None = Field(None, alias="addProjectAccess")
    remove: dict[str, str] | None = Field(None, alias="removeProjectAccess")


def view(ctx: Ctx, tv: TypeView) -> dict[str, Any]:
    t, specs = tv
    out: dict[str, Any] = {"id": t.id, "name": t.name, "description": t.description,
                           "is_public": t.is_public}
    target = {"project_id": ctx.project_id}
    if ctx.can("volume_extension:volume_type_access", target):
        out["os-volume-type-access:is_public"] = t.is_public
    if ctx.can("volume_extension:access_types_extra_specs", target):
        out["extra_specs"] = specs
    if ctx.can("volume_extension:access_types_qos_specs_id", target):
        out["qos_specs_id"] = None
    return out


_VIEW = ("volume_extension:access_types_extra_specs", "volume_extension:volume_type_access",
         "volume_extension:access_types_qos_specs_id", "volume_extension:types_manage")


@router.get("", **policy("volume_extension:type_get_all", *_VIEW))
async def list_types(project_id: str, request: Request, ctx: Ctx, types: Types
                     ) -> dict[str, Any]:
    raw = request.query_params.get("is_public")
    is_public = True if raw is None else (None if raw.lower() == "none" else query_bool(
        raw, "is_public", strict=False))
    return {"volume_types": [view(ctx, t) for t in await types.list(ctx, is_public)]}


@router.get("/{type_id}", **policy("volume_extension:type_get", *_VIEW))
async def show_type(project_id: str, type_id: str, ctx: Ctx, types: Types) -> dict[str, Any]:
    return {"volume_type": view(ctx, await types.get(ctx, type_id))}


@router.post("", **policy("volume_extension:types_manage", *_VIEW))
async def create_type(project_id: str, body: TypeCreateBody, ctx: Ctx, types: Types
                      ) -> dict[str, Any]:
    b = body.volume_type
    return {"volume_type": view(ctx, await types.create(
        ctx, b.name.strip(), b.description, b.is_public, b.extra_specs))}


@router.put("/{type_id}", **policy("volume_extension:types_manage", *_VIEW))
async def update_type(project_id: str, type_id: str, body: TypeUpdateBody, ctx: Ctx,
                      types: Types) -> dict[str, Any]:
    b = body.volume_type
    if b.name is None and b.description is None and b.is_public is None:
        raise faults.BadRequest("Specify volume type name, description, is_public or a "
                                "combination thereof.")
    return {"volume_type": view(ctx, await types.update(ctx, type_id, b.name, b.description,
                                                        b.is_public))}


@router.delete("/{type_id}", response_class=Response, status_code=202,
               **policy("volume_extension:types_manage"))
async def delete_type(project_id: str, type_id: str, ctx: Ctx, types: Types) -> Response:
    await types.delete(ctx, type_id)
    return Response(status_code=202)


@router.get("/{type_id}/extra_specs", **policy("volume_extension:types_extra_specs:index"))
async def list_specs(project_id: str, type_id: str, ctx: Ctx, types: Types) -> dict[str, Any]:
    return {"extra_specs": await types.specs(ctx, type_id,
                                             "volume_extension:types_extra_specs:index")}


@router.post("/{type_id}/extra_specs", **policy("volume_extension:types_extra_specs:create"))
async def set_specs(project_id: str, type_id: str, body: SpecsBody, ctx: Ctx, types: Types
                    ) -> dict[str, Any]:
    return {"extra_specs": await types.set_specs(
        ctx, type_id, body.extra_specs, "volume_extension:types_extra_specs:create")}


@router.get("/{type_id}/extra_specs/{key}", **policy("volume_extension:types_extra_specs:show"))
async def show_spec(project_id: str, type_id: str, key: str, ctx: Ctx, types: Types
                    ) -> dict[str, Any]:
    specs = await types.specs(ctx, type_id, "volume_extension:types_extra_specs:show")
    if key not in specs:
        raise faults.NotFound(f"Volume Type {type_id} has no extra specs with key {key}.")
    return {key: specs[key]}


@router.put("/{type_id}/extra_specs/{key}",
            **policy("volume_extension:types_extra_specs:update"))
async def update_spec(project_id: str, type_id: str, key: str, body: dict[str, str],
                      ctx: Ctx, types: Types) -> dict[str, Any]:
    if key not in body or len(body) != 1:
        raise faults.BadRequest("Request body and URI mismatch")
    return await types.set_specs(ctx, type_id, body, "volume_extension:types_extra_specs:update")


@router.delete("/{type_id}/extra_specs/{key}", response_class=Response, status_code=202,
               **policy("volume_extension:types_extra_specs:delete"))
async def delete_spec(project_id: str, type_id: str, key: str, ctx: Ctx, types: Types
                      ) -> Response:
    await types.delete_spec(ctx, type_id, key)
    return Response(status_code=202)


@router.get("/{type_id}/os-volume-type-access",
            **policy("volume_extension:volume_type_access:get_all_for_type"))
async def list_access(project_id: str, type_id: str, ctx: Ctx, types: Types) -> dict[str, Any]:
    return {"volume_type_access": [{"volume_type_id": type_id, "project_id": p}
                                   for p in await types.access(ctx, type_id)]}


@router.post("/{type_id}/action", response_class=Response, status_code=202, **policy(
    "volume_extension:volume_type_access:addProjectAccess",
    "volume_extension:volume_type_access:removeProjectAccess"))
async def type_action(project_id: str, type_id: str, body: TypeAction, ctx: Ctx, types: Types
                      ) -> Response:
    action = body.add if body.add is not None else body.remove
    if action is None:
        raise faults.BadRequest("Invalid request body: addProjectAccess or "
                                "removeProjectAccess is expected.")
    if not action.get("project"):
        raise faults.BadRequest("Missing required element 'project'.")
    await types.set_access(ctx, type_id, action["project"], body.add is not None)
    return Response(status_code=202)
