"""/v1/{account}: HEAD, GET (containers), POST (metadata, quotas; bulk delete)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.object.api.deps import AccountsDep, ObjectsDep, swift_policy
from overcast.object.proxy.access import anonymous_context

__all__ = ["router"]

router = APIRouter(tags=["accounts"])

_TAR = {"application/x-tar": {"schema": {"type": "string", "format": "binary",
                                          "description": "Archive extraction: a tar file."}}}

_BULK = {"text/plain": {"schema": {"type": "string", "description":
                                   "Bulk delete: one /container[/object] a line."}}}


@router.head("/v1/{account}", **swift_policy("swift:head_account"))
async def head_account(account: str, request: Request, ctx: Ctx,
                       accounts: AccountsDep) -> Response:
    return await accounts.head(anonymous_context(ctx), request, account)


@router.get("/v1/{account}", **swift_policy("swift:get_account"))
async def get_account(account: str, request: Request, ctx: Ctx,
                      accounts: AccountsDep) -> Response:
    return await accounts.get(anonymous_context(ctx), request, account)


@router.post("/v1/{account}", **swift_policy("swift:post_account", "swift:reseller_request",
                                             "swift:delete_object", "swift:delete_container", body=_BULK))
async def post_account(account: str, request: Request, ctx: Ctx, accounts: AccountsDep,
                       objects: ObjectsDep) -> Response:
    if "bulk-delete" in request.query_params:
        from overcast.object.proxy.bulk import bulk_delete

        return await bulk_delete(objects, anonymous_context(ctx), request, account)
    return await accounts.post(anonymous_context(ctx), request, account)


@router.put("/v1/{account}", **swift_policy("swift:put_object", body=_TAR))
async def put_account(account: str, request: Request, ctx: Ctx,
                      objects: ObjectsDep) -> Response:
    """Archive extraction (?extract-archive=tar|tar.gz|tar.bz2); Swift keeps account PUT
    itself for reseller tools and answers 405 otherwise."""
    from overcast.object.proxy.bulk import extract_archive

    return await extract_archive(objects, anonymous_context(ctx), request, account, None)


@router.delete("/v1/{account}", **swift_policy("swift:delete_object", "swift:delete_container"))
async def delete_account(account: str, request: Request, ctx: Ctx,
                         objects: ObjectsDep) -> Response:
    """Bulk delete (?bulk-delete, the list in the body); deleting an account itself is left to
    reseller tools in Swift (allow_account_management is off): 405."""
    if "bulk-delete" not in request.query_params:
        raise faults.MethodNotAllowed()
    from overcast.object.proxy.bulk import bulk_delete

    return await bulk_delete(objects, anonymous_context(ctx), request, account)
