"""/v1/{account}/{container}/{object}: PUT, GET, HEAD, POST, DELETE, COPY.

An object name may hold slashes; an empty one (a trailing slash) names the container, as in
Swift, so these routes also declare the container rules they hand over to."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from overcast.common.app import Ctx
from overcast.object.api.deps import ContainersDep, ObjectsDep, swift_policy
from overcast.object.proxy.access import anonymous_context

__all__ = ["router"]

router = APIRouter(tags=["objects"])

O = "/v1/{account}/{container}/{obj:path}"  # noqa: E741
_FORM = {"multipart/form-data": {"schema": {"type": "object", "description":
                                            "Form POST: files to store under a prefix."}}}


@router.put(O, **swift_policy("swift:put_object", "swift:get_object", "swift:put_container"))
async def put_object(account: str, container: str, obj: str, request: Request, ctx: Ctx,
                     objects: ObjectsDep, containers: ContainersDep) -> Response:
    if not obj:
        return await containers.put(anonymous_context(ctx), request, account, container)
    return await objects.put(anonymous_context(ctx), request, account, container, obj)


@router.get(O, **swift_policy("swift:get_object", "swift:get_container"))
async def get_object(account: str, container: str, obj: str, request: Request, ctx: Ctx,
                     objects: ObjectsDep, containers: ContainersDep) -> Response:
    if not obj:
        from overcast.object.proxy.staticweb import web_get

        ctx = anonymous_context(ctx)
        ctx.can("swift:get_container", {"project_id": objects.p.access.project_of(account)})
        site = await web_get(objects, ctx, request, account, container)
        if site is not None:
            return site
        return await containers.get(ctx, request, account, container)
    return await objects.get(anonymous_context(ctx), request, account, container, obj)


@router.head(O, **swift_policy("swift:head_object", "swift:head_container"))
async def head_object(account: str, container: str, obj: str, request: Request, ctx: Ctx,
                      objects: ObjectsDep, containers: ContainersDep) -> Response:
    if not obj:
        return await containers.head(anonymous_context(ctx), request, account, container)
    return await objects.get(anonymous_context(ctx), request, account, container, obj)


@router.post(O, **swift_policy("swift:post_object", "swift:put_object",
                               "swift:post_container", body=_FORM))
async def post_object(account: str, container: str, obj: str, request: Request, ctx: Ctx,
                      objects: ObjectsDep, containers: ContainersDep) -> Response:
    if (request.headers.get("content-type") or "").startswith("multipart/form-data"):
        from overcast.object.proxy.formpost import form_post

        return await form_post(objects, anonymous_context(ctx), request, account, container,
                               obj)
    if not obj:
        return await containers.post(anonymous_context(ctx), request, account, container)
    return await objects.post(anonymous_context(ctx), request, account, container, obj)


@router.delete(O, **swift_policy("swift:delete_object", "swift:delete_container"))
async def delete_object(account: str, container: str, obj: str, request: Request, ctx: Ctx,
                        objects: ObjectsDep, containers: ContainersDep) -> Response:
    if not obj:
        return await containers.delete(anonymous_context(ctx), request, account, container)
    return await objects.delete(anonymous_context(ctx), request, account, container, obj)


@router.api_route(O, methods=["COPY"], **swift_policy("swift:copy_object", "swift:get_object"))
async def copy_object(account: str, container: str, obj: str, request: Request, ctx: Ctx,
                      objects: ObjectsDep) -> Response:
    return await objects.copy(anonymous_context(ctx), request, account, container, obj)
