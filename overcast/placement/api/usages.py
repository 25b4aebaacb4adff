"""/resource_providers/{uuid}/usages and /usages (1.9; by consumer type from 1.38)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from overcast.common import faults
from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.common.microversion import available
from overcast.placement.api import VERSIONED, Uses, check_query, reply

router = APIRouter(tags=["usages"], dependencies=[VERSIONED])


@router.get("/resource_providers/{uuid}/usages", **policy("placement:resource_providers:usages"))
async def provider_usages(uuid: str, ctx: Ctx, usages: Uses) -> Response:
    ctx.enforce("placement:resource_providers:usages")
    found = await usages.of_provider(uuid)
    return reply(ctx, {"usages": found.usages,
                       "resource_provider_generation": found.generation})


@router.get("/usages", dependencies=[available(minimum=(1, 9))], **policy("placement:usages"))
async def project_usages(request: Request, ctx: Ctx, usages: Uses) -> Response:
    allowed = {"project_id", "user_id"} | ({"consumer_type"} if ctx.microversion >= (1, 38)
                                            else set())
    check_query(request, allowed)
    project_id = request.query_params.get("project_id")
    if not project_id:
        raise faults.BadRequest("Invalid query string parameters: 'project_id' is a required "
                                "property")
    ctx.enforce("placement:usages", {"project_id": project_id})
    by_type = ctx.microversion >= (1, 38)
    found = await usages.of_project(project_id, request.query_params.get("user_id"),
                                    request.query_params.get("consumer_type"), by_type)
    return reply(ctx, {"usages": found})
