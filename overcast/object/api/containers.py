"""/v1/{account}/{container}: PUT, HEAD, GET (objects), POST, DELETE."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from overcast.common.app import Ctx
from overcast.object.api.deps import ContainersDep, ObjectsDep, swift_policy
from overcast.object.proxy.access import anonymous_context

__all__ = ["router"]

router = APIRouter(tags=["containers"])

C = "/v1/{account}/{container}"
_FORM = {"multipart/form-data": {"schema": {"type": "object", "description":
                                            "Form POST: files to store under a prefix."}}}


@router.put(C, **swift_policy("swift:put_container", "swift:put_object"))
async def put_container(account: str, container: str, request: Request, ctx: Ctx,
                        containers: ContainersDep, objects: ObjectsDep) -> Response:
    if "extract-archive" in request.query_params:
        from overcast.object.proxy.bulk import extract_archive

        return await extract_archive(objects, anonymous_context(ctx), request, account,
                                     container)
    return await containers.put(anonymous_context(ctx), request, account, container)


@router.head(C, **swift_policy("swift:head_container"))
async def head_container(account: str, container: str, request: Request, ctx: Ctx,
                         containers: ContainersDep) -> Response:
    return await containers.head(anonymous_context(ctx), request, account, container)


@router.get(C, **swift_policy("swift:get_container", "swift:get_object"))
async def get_container(account: str, container: str, request: Request, ctx: Ctx,
                        containers: ContainersDep, objects: ObjectsDep) -> Response:
    from overcast.object.proxy.staticweb import web_get

    ctx = anonymous_context(ctx)
    ctx.can("swift:get_container", {"project_id": objects.p.access.project_of(account)})
    site = await web_get(objects, ctx, request, account, container)
    if site is not None:
        return site
    return await containers.get(ctx, request, account, container)


@router.post(C, **swift_policy("swift:post_container", "swift:put_object", body=_FORM))
async def post_container(account: str, container: str, request: Request, ctx: Ctx,
                         containers: ContainersDep, objects: ObjectsDep) -> Response:
    if (request.headers.get("content-type") or "").startswith("multipart/form-data"):
        from overcast.object.proxy.formpost import form_post

        return await form_post(objects, anonymous_context(ctx), request, account, container,
                               "")
    return await containers.post(anonymous_context(ctx), request, account, container)


@router.delete(C, **swift_policy("swift:delete_container"))
async def delete_container(account: str, container: str, request: Request, ctx: Ctx,
                           containers: ContainersDep) -> Response:
    return await containers.delete(anonymous_context(ctx), request, account, container)
