"""/os-instance_usage_audit_log (admins): the instance usage audit of the last completed
period, or of the period completed before a time (`YYYY-MM-DD HH:MM:SS[.ffffff]`, else 400)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from overcast.common import faults
from overcast.common.api import policy, state
from overcast.common.app import Ctx
from overcast.compute.audit_log import AuditLog

__all__ = ["router"]

router = APIRouter(prefix="/v2.1/os-instance_usage_audit_log", tags=["usage audit log"])

Audit = Annotated[AuditLog, Depends(state("audit_log", AuditLog))]
_P = "os_compute_api:os-instance-usage-audit-log:"


@router.get("", **policy(_P + "list"))
async def list_audit_logs(ctx: Ctx, audit: Audit) -> dict[str, Any]:
    ctx.enforce(_P + "list", {"project_id": ctx.project_id})
    return {"instance_usage_audit_logs": await audit.report()}


@router.get("/{before_timestamp}", **policy(_P + "show"))
async def show_audit_log(before_timestamp: str, ctx: Ctx, audit: Audit) -> dict[str, Any]:
    ctx.enforce(_P + "show", {"project_id": ctx.project_id})
    form = "%Y-%m-%d %H:%M:%S.%f" if "." in before_timestamp else "%Y-%m-%d %H:%M:%S"
    try:
        before = datetime.strptime(before_timestamp, form)
    except ValueError:
        raise faults.BadRequest(f"Invalid timestamp for date {before_timestamp}") from None
    return {"instance_usage_audit_log": await audit.report(before)}
