"""/v2.0/quotas: Neutron's quota API with details and defaults."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from overcast.common.api import policy, state
from overcast.common.app import Ctx
from overcast.network.quotas import Quotas

router = APIRouter(prefix="/v2.0/quotas", tags=["quotas"])

Q = Annotated[Quotas, Depends(state("quotas", Quotas))]
READ = policy("get_quota", "context_is_admin")


class QuotaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    network: int | None = None
    subnet: int | None = None
    port: int | None = None
    router: int | None = None
    floatingip: int | None = None
    security_group: int | None = None
    security_group_rule: int | None = None
    subnetpool: int | None = None
    rbac_policy: int | None = None


class QuotaBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quota: QuotaIn


@router.get("", **READ)
async def list_quotas(ctx: Ctx, quotas: Q) -> JSONResponse:
    return JSONResponse({"quotas": await quotas.list(ctx)})


@router.get("/{project_id}", **READ)
async def show_quota(project_id: str, ctx: Ctx, quotas: Q) -> JSONResponse:
    return JSONResponse({"quota": await quotas.show(ctx, project_id)})


@router.get("/{project_id}/details", **READ)
async def show_quota_details(project_id: str, ctx: Ctx, quotas: Q) -> JSONResponse:
    return JSONResponse({"quota": await quotas.show(ctx, project_id, details=True)})


@router.get("/{project_id}/default", **READ)
async def show_quota_default(project_id: str, ctx: Ctx, quotas: Q) -> JSONResponse:
    return JSONResponse({"quota": await quotas.show(ctx, project_id, default=True)})


@router.put("/{project_id}", **policy("update_quota", "context_is_admin"))
async def update_quota(project_id: str, body: QuotaBody, ctx: Ctx, quotas: Q) -> JSONResponse:
    values: dict[str, Any] = body.quota.model_dump(exclude_unset=True, exclude_none=True)
    return JSONResponse({"quota": await quotas.update(ctx, project_id, values)})


@router.delete("/{project_id}", status_code=204, **policy("delete_quota", "context_is_admin"))
async def delete_quota(project_id: str, ctx: Ctx, quotas: Q, request: Request) -> Response:
    await quotas.reset(ctx, project_id)
    return Response(status_code=204)
