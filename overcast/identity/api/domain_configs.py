"""/v3/domains/{domain_id}/config[/{group}[/{option}]] and the defaults,
/v3/domains/config[/{group}[/{option}]]/default."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident
from overcast.identity.api.schemas import ConfigIn

router = APIRouter(prefix="/v3/domains", tags=["domain-configs"])



# -- defaults (before the per-domain routes; no domain is named "config" in these paths) --
@router.get("/config/default", **policy("identity:get_domain_config_default"))
async def show_default_config(ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"config": identity.domain_configs.defaults(ctx)}


@router.get("/config/{group}/default", **policy("identity:get_domain_config_default"))
async def show_default_group(group: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"config": identity.domain_configs.defaults(ctx, group)}


@router.get("/config/{group}/{option}/default", **policy("identity:get_domain_config_default"))
async def show_default_option(group: str, option: str, ctx: Ctx,
                              identity: Ident) -> dict[str, Any]:
    return {"config": identity.domain_configs.defaults(ctx, group, option)}


# -- a domain's configuration --
@router.put("/{domain_id}/config", **policy("identity:create_domain_config"))
async def create_config(domain_id: str, body: ConfigIn, ctx: Ctx, identity: Ident,
                        response: Response) -> dict[str, Any]:
    config, created = await identity.domain_configs.create(ctx, domain_id, body.config)
    response.status_code = 201 if created else 200  # Keystone: 200 when one existed
    return {"config": config}


@router.get("/{domain_id}/config", **policy("identity:get_domain_config"))
async def show_config(domain_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"config": await identity.domain_configs.show(ctx, domain_id)}


@router.patch("/{domain_id}/config", **policy("identity:update_domain_config"))
async def update_config(domain_id: str, body: ConfigIn, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    return {"config": await identity.domain_configs.update(ctx, domain_id, body.config)}


@router.delete("/{domain_id}/config", status_code=204, **policy("identity:delete_domain_config"))
async def delete_config(domain_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.domain_configs.delete(ctx, domain_id)
    return Response(status_code=204)


@router.get("/{domain_id}/config/{group}", **policy("identity:get_domain_config"))
async def show_group(domain_id: str, group: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"config": await identity.domain_configs.show(ctx, domain_id, group)}


@router.patch("/{domain_id}/config/{group}", **policy("identity:update_domain_config"))
async def update_group(domain_id: str, group: str, body: ConfigIn, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    return {"config": await identity.domain_configs.update(ctx, domain_id, body.config, group)}


@router.delete("/{domain_id}/config/{group}", status_code=204, **policy("identity:delete_domain_config"))
async def delete_group(domain_id: str, group: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.domain_configs.delete(ctx, domain_id, group)
    return Response(status_code=204)


@router.get("/{domain_id}/config/{group}/{option}", **policy("identity:get_domain_config"))
async def show_option(domain_id: str, group: str, option: str, ctx: Ctx,
                      identity: Ident) -> dict[str, Any]:
    return {"config": await identity.domain_configs.show(ctx, domain_id, group, option)}


@router.patch("/{domain_id}/config/{group}/{option}", **policy("identity:update_domain_config"))
async def update_option(domain_id: str, group: str, option: str, body: ConfigIn, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    config = await identity.domain_configs.update(ctx, domain_id, body.config, group, option)
    return {"config": config}


@router.delete("/{domain_id}/config/{group}/{option}", status_code=204,
               **policy("identity:delete_domain_config"))
async def delete_option(domain_id: str, group: str, option: str, ctx: Ctx,
                        identity: Ident) -> Response:
    await identity.domain_configs.delete(ctx, domain_id, group, option)
    return Response(status_code=204)
