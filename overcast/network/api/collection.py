"""The routes every Neutron resource has, built once for each: list (filters, fields, sorting,
pagination with `<collection>_links`), show (`fields=`), create (one, or a bulk list), update
(`If-Match: revision_number=N`), delete, and the tag API.

(No `from __future__ import annotations` here: FastAPI reads each route's body model from its
signature, and the models are parameters of `resource_routes`.)"""

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from overcast.common.api import lifespan_state, policy, state
from overcast.common.app import Ctx
from overcast.common.faults import Fault
from overcast.network import errors
from overcast.network.notifications import Notifier
from overcast.network.policy import attribute_rules
from overcast.network.resources import Collection, Listed, ListQuery

__all__ = ["TagsBody", "WireModel", "links", "list_query", "resource_routes", "rules_of"]


class WireModel(BaseModel):
    """A Neutron resource body: unknown attributes refused, colon names by alias."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def attrs(self) -> dict[str, Any]:
        """The attributes the client sent, by their wire names."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class TagsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: list[Annotated[str, Field(max_length=255)]]


def rules_of(op: str, resource: str) -> tuple[str, ...]:
    """What a route of `op` on `resource` declares: its rule, the attribute rules it may
    check, the read rules of the answer, and context_is_admin (scoping)."""
    rules = [f"{op}_{resource}", *attribute_rules(op, resource)]
    if op != "get":
        rules += [f"get_{resource}", *attribute_rules("get", resource)]
    return (*dict.fromkeys(rules), "context_is_admin")


def list_query(request: Request, max_limit: int = -1) -> ListQuery:
    return ListQuery.parse(request.query_params.multi_items(), max_limit)


def links(request: Request, collection: str, page: Listed, q: ListQuery) -> dict[str, Any]:
    """Neutron's `<collection>_links`: next when more rows follow, previous after a marker."""
    if q.limit is None or not page.items or "id" not in page.items[0]:
        return {}
    base = f"{str(request.base_url).rstrip('/')}{request.url.path}"
    keep = [(k, v) for k, v in request.query_params.multi_items()
            if k not in ("marker", "page_reverse", "limit")]
    out = []
    first, last = page.items[0]["id"], page.items[-1]["id"]
    more_after = page.more if not page.reverse else bool(page.marker)
    more_before = bool(page.marker) if not page.reverse else page.more
    if more_after:
        out.append({"rel": "next", "href": base + "?" + urlencode(
            [*keep, ("limit", str(q.limit)), ("marker", last)])})
    if more_before:
        out.append({"rel": "previous", "href": base + "?" + urlencode(
            [*keep, ("limit", str(q.limit)), ("marker", first), ("page_reverse", "True")])})
    return {f"{collection}_links": out} if out else {}


def resource_routes(router: APIRouter, *, path: str, resource: str, collection: str,
                    key: str, kind: type[Collection], create_model: type[BaseModel],
                    update_model: type[BaseModel], bulk: bool = True,
                    tags: bool = True, create: bool = True) -> None:
    """Add the shared routes of one resource to `router` (prefix /v2.0); `create=False` for
    a resource the API never makes (a POST then answers 405)."""

    async def service(request: Request) -> Any:
        return lifespan_state(request, key, kind)

    Service = Annotated[Any, Depends(service)]
    Notify = Annotated[Notifier, Depends(state("notifier", Notifier))]
    plural, one = f"/{path}", f"/{path}/{{ident}}"

    @router.get(plural, **policy(*rules_of("get", resource)), name=f"list_{collection}")
    async def list_items(request: Request, ctx: Ctx, svc: Service) -> JSONResponse:
        q = list_query(request, svc.max_limit)
        page = await svc.list(ctx, q)
        return JSONResponse({collection: page.items, **links(request, collection, page, q)})

    @router.get(one, **policy(*rules_of("get", resource)), name=f"show_{resource}")
    async def show_item(ident: str, request: Request, ctx: Ctx, svc: Service) -> JSONResponse:
        q = list_query(request)
        return JSONResponse({resource: await svc.show(ctx, ident, q.fields)})

    async def create_item(ctx: Ctx, svc: Service, notifier: Notify,
                          body: Annotated[create_model, Body()]) -> JSONResponse:  # type: ignore[valid-type]
        one_item = getattr(body, resource, None)
        many = getattr(body, collection, None) if bulk else None
        if (one_item is None) == (many is None):
            raise errors.BadRequest(f"Resource body required: give '{resource}'" +
                                    (f" or '{collection}'." if bulk else "."))
        if many is not None:
            asked = [m.attrs() for m in many]
        else:
            assert one_item is not None
            asked = [one_item.attrs()]
        made = await svc.create(ctx, asked) if bulk else [await svc.create(ctx, asked[0])]
        if many is not None:
            await notifier.created(ctx, resource, collection, asked, made)
            return JSONResponse({collection: made}, status_code=201)
        await notifier.created(ctx, resource, resource, asked[0], made[0])
        return JSONResponse({resource: made[0]}, status_code=201)

    if create:
        router.post(plural, status_code=201, **policy(*rules_of("create", resource)),
                    name=f"create_{resource}")(create_item)

    @router.put(one, **policy(*rules_of("update", resource)), name=f"update_{resource}")
    async def update_item(ident: str, ctx: Ctx, svc: Service, notifier: Notify,
                          body: Annotated[update_model, Body()],  # type: ignore[valid-type]
                          if_match: Annotated[str | None, Header()] = None) -> JSONResponse:
        attrs = getattr(body, resource).attrs()
        obj = await svc.update(ctx, ident, attrs, if_match)
        await notifier.updated(ctx, resource, ident, attrs, obj)
        return JSONResponse({resource: obj})

    @router.delete(one, status_code=204, **policy(*rules_of("delete", resource)),
                   name=f"delete_{resource}")
    async def delete_item(ident: str, ctx: Ctx, svc: Service, notifier: Notify) -> Response:
        obj = None
        if notifier.bus is not None:
            # delete.end carries the object as it was (Neutron reads it before deleting)
            try:
                obj = await svc.show(ctx, ident)
            except Fault:
                pass  # the delete answers for itself
        await svc.delete(ctx, ident)
        await notifier.deleted(ctx, resource, ident, obj)
        return Response(status_code=204)

    if not tags:
        return
    read = policy(*rules_of("get", resource))
    write = policy(f"update_{resource}", *rules_of("get", resource))

    @router.get(f"{one}/tags", **read, name=f"list_{resource}_tags")
    async def list_tags(ident: str, ctx: Ctx, svc: Service) -> JSONResponse:
        return JSONResponse({"tags": await svc.tag_ops(ctx, ident, "get")})

    @router.put(f"{one}/tags", **write, name=f"replace_{resource}_tags")
    async def replace_tags(ident: str, ctx: Ctx, svc: Service, body: TagsBody) -> JSONResponse:
        return JSONResponse({"tags": await svc.tag_ops(ctx, ident, "replace", body.tags)})

    @router.delete(f"{one}/tags", status_code=204, **write, name=f"clear_{resource}_tags")
    async def clear_tags(ident: str, ctx: Ctx, svc: Service) -> Response:
        await svc.tag_ops(ctx, ident, "clear")
        return Response(status_code=204)

    @router.get(f"{one}/tags/{{tag}}", status_code=204, **read, name=f"check_{resource}_tag")
    async def check_tag(ident: str, tag: str, ctx: Ctx, svc: Service) -> Response:
        await svc.tag_ops(ctx, ident, "has", [tag])
        return Response(status_code=204)

    @router.put(f"{one}/tags/{{tag}}", status_code=201, **write, name=f"add_{resource}_tag")
    async def add_tag(ident: str, tag: str, ctx: Ctx, svc: Service) -> Response:
        if len(tag) > 255:
            raise errors.InvalidInput(f"'{tag}' exceeds maximum length of 255")
        await svc.tag_ops(ctx, ident, "add", [tag])
        return Response(status_code=201)

    @router.delete(f"{one}/tags/{{tag}}", status_code=204, **write,
                   name=f"remove_{resource}_tag")
    async def remove_tag(ident: str, tag: str, ctx: Ctx, svc: Service) -> Response:
        await svc.tag_ops(ctx, ident, "remove", [tag])
        return Response(status_code=204)
