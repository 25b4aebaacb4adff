"""/v2/metadefs: the metadata definitions catalog. Namespaces (CRUD, list with filters and
pages), their objects, properties, tags and resource type associations, and the list of
resource types.

Views leave out what is unset, as Glance's (WSME) serializer does. Policy is enforced by the
domain (metadefs.py) on the namespace it loads, as Glance's MetadefAPIPolicy: a refused rule
is 404 when the caller may not even see the namespace, 403 otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Header, Request, Response

from overcast.common import faults
from overcast.common.api import next_link, policy, query_bool
from overcast.common.app import Ctx, RequestContext
from overcast.image.api import Mdefs, Paged
from overcast.image.api.bodies import validate
from overcast.image.api.images import wire_time
from overcast.image.api.metadef_bodies import (
    AssociationBody,
    NamespaceBody,
    ObjectBody,
    PropertyBody,
    TagBody,
    TagsBody,
)
from overcast.image.metadef_models import (
    MetadefNamespace,
    MetadefNamespaceResourceType,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefTag,
)
from overcast.image.metadefs import (
    CHILD_SORT_KEYS,
    NAMESPACE_SORT_KEYS,
    NAMESPACE_VISIBILITIES,
    ListQuery,
    NamespaceDetail,
)

router = APIRouter(prefix="/v2/metadefs", tags=["metadefs"])

_NS = "/namespaces/{namespace}"


# -- views -----------------------------------------------------------------------------------------

def _present(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def namespace_view(ns: MetadefNamespace) -> dict[str, Any]:
    return _present({
        "namespace": ns.namespace, "display_name": ns.display_name,
        "description": ns.description, "visibility": ns.visibility, "protected": ns.protected,
        "owner": ns.owner, "created_at": wire_time(ns.created_at), "updated_at": wire_time(ns.updated_at),
        "self": f"/v2/metadefs/namespaces/{ns.namespace}",
        "schema": "/v2/schemas/metadefs/namespace",
    })


def association_view(a: MetadefNamespaceResourceType) -> dict[str, Any]:
    return _present({"name": a.resource_type, "prefix": a.prefix,
                     "properties_target": a.properties_target,
                     "created_at": wire_time(a.created_at), "updated_at": wire_time(a.updated_at)})


def resource_type_view(rt: MetadefResourceType) -> dict[str, Any]:
    return {"name": rt.name, "created_at": wire_time(rt.created_at),
            "updated_at": wire_time(rt.updated_at)}


def property_view(p: MetadefProperty) -> dict[str, Any]:
    return {"name": p.name, **p.json_schema}


def object_view(namespace: str, o: MetadefObject, prefix: str = "") -> dict[str, Any]:
    return _present({
        "name": o.name, "description": o.description,
        "required": [prefix + r for r in o.required] if o.required is not None else None,
        "properties": {prefix + k: v for k, v in o.json_schema.items()},
        "created_at": wire_time(o.created_at), "updated_at": wire_time(o.updated_at),
        "self": f"/v2/metadefs/namespaces/{namespace}/objects/{o.name}",
        "schema": "/v2/schemas/metadefs/object",
    })


def tag_view(t: MetadefTag) -> dict[str, Any]:
    return {"name": t.name, "created_at": wire_time(t.created_at), "updated_at": wire_time(t.updated_at)}


def detail_view(d: NamespaceDetail, resource_type: str | None = None) -> dict[str, Any]:
    """A namespace with what it holds (each part only when not empty); with `resource_type`,
    property names take that association's prefix."""
    prefix = next((a.prefix or "" for a in d.associations
                   if resource_type and a.resource_type == resource_type), "")
    name = d.namespace.namespace
    body = namespace_view(d.namespace)
    if d.associations:
        body["resource_type_associations"] = [association_view(a) for a in d.associations]
    if d.properties:
        body["properties"] = {prefix + p.name: p.json_schema for p in d.properties}
    if d.objects:
        body["objects"] = [object_view(name, o, prefix) for o in d.objects]
    if d.tags:
        body["tags"] = [{"name": t.name} for t in d.tags]
    return body


# -- query parameters ---------------------------------------------------------------------------

def _list_query(request: Request, page: Paged, sort_keys: tuple[str, ...]) -> ListQuery:
    params = request.query_params
    sort_key, sort_dir = params.get("sort_key", "created_at"), params.get("sort_dir", "desc")
    if sort_key not in sort_keys:
        raise faults.BadRequest(f"Invalid sort key: {sort_key[:80]}")
    if sort_dir not in ("asc", "desc"):
        raise faults.BadRequest(f"Invalid sort direction: {sort_dir[:80]}")
    visibility = params.get("visibility")
    if visibility is not None and visibility not in NAMESPACE_VISIBILITIES:
        raise faults.BadRequest(f"Invalid visibility value: {visibility[:80]}")
    return ListQuery(limit=page.limit, marker=page.marker, sort_key=sort_key,
                     sort_dir=sort_dir,  # type: ignore[arg-type]
                     visibility=visibility,
                     resource_types=[r.strip() for r in params.get("resource_types", "")
                                     .split(",") if r.strip()])


async def namespace_query(request: Request, page: Paged) -> ListQuery:
    return _list_query(request, page, NAMESPACE_SORT_KEYS)


async def child_query(request: Request, page: Paged) -> ListQuery:
    return _list_query(request, page, CHILD_SORT_KEYS)


Namespaces = Annotated[ListQuery, Depends(namespace_query)]
Children = Annotated[ListQuery, Depends(child_query)]


def _own(ctx: RequestContext) -> dict[str, Any]:
    return {"project_id": ctx.project_id}


def rules(rule: str, *also: str) -> dict[str, Any]:
    """A metadefs route's rules: besides its own, each may ask get_metadef_namespace (a refusal
    is 404 for whoever may not see the namespace) and context_is_admin (who sees all)."""
    return policy(rule, *also, "get_metadef_namespace", "context_is_admin")


# -- resource types -----------------------------------------------------------------------------------

@router.get("/resource_types", **policy("list_metadef_resource_types"))
async def list_resource_types(ctx: Ctx, metadefs: Mdefs) -> dict[str, Any]:
    ctx.enforce("list_metadef_resource_types", _own(ctx))
    return {"resource_types": [resource_type_view(rt)
                               for rt in await metadefs.list_resource_types()]}


@router.get(_NS + "/resource_types",
            **rules("list_metadef_resource_types", "get_metadef_resource_type"))
async def list_associations(namespace: str, ctx: Ctx, metadefs: Mdefs) -> dict[str, Any]:
    found = await metadefs.list_associations(ctx, namespace)
    return {"resource_type_associations": [association_view(a) for a in found]}


@router.post(_NS + "/resource_types", status_code=201,
             **rules("add_metadef_resource_type_association"))
async def create_association(namespace: str, body: AssociationBody, ctx: Ctx, metadefs: Mdefs
                             ) -> dict[str, Any]:
    return association_view(await metadefs.associate(ctx, namespace, body.spec()))


@router.delete(_NS + "/resource_types/{resource_type}", status_code=204,
               **rules("remove_metadef_resource_type_association"))
async def delete_association(namespace: str, resource_type: str, ctx: Ctx, metadefs: Mdefs
                             ) -> Response:
    await metadefs.dissociate(ctx, namespace, resource_type)
    return Response(status_code=204)


# -- namespaces ------------------------------------------------------------------------------------

@router.get("/namespaces", **rules("get_metadef_namespaces", "list_metadef_resource_types"))
async def list_namespaces(request: Request, query: Namespaces, page: Paged, ctx: Ctx,
                          metadefs: Mdefs) -> dict[str, Any]:
    ctx.enforce("get_metadef_namespaces", _own(ctx))
    ctx.enforce("list_metadef_resource_types", _own(ctx))
    found, last = await metadefs.list_namespaces(ctx, query)
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    first = "/v2/metadefs/namespaces"
    body: dict[str, Any] = {
        "namespaces": [{**namespace_view(d.namespace), **(
            {"resource_type_associations": [association_view(a) for a in d.associations]}
            if d.associations else {})} for d in found],
        "first": f"{first}?{urlencode(params)}" if params else first,
        "schema": "/v2/schemas/metadefs/namespaces",
    }
    if last is not None:
        body["next"] = next_link(request, page, last)
    return body


@router.post("/namespaces", status_code=201, **rules(
    "add_metadef_namespace", "add_metadef_resource_type_association", "add_metadef_object",
    "add_metadef_property", "add_metadef_tag"))
async def create_namespace(body: NamespaceBody, request: Request, ctx: Ctx, metadefs: Mdefs,
                           response: Response) -> dict[str, Any]:
    detail = await metadefs.create_namespace(ctx, body.spec())
    # A header is latin-1: a name in any other script goes percent-encoded, as in a URL.
    response.headers["Location"] = (f"{str(request.base_url).rstrip('/')}/v2/metadefs/"
                                    f"namespaces/{quote(detail.namespace.namespace, safe=':')}")
    return detail_view(detail)


@router.get(_NS, **rules("get_metadef_namespace", "list_metadef_resource_types",
                         "get_metadef_objects", "get_metadef_properties", "get_metadef_tags"))
async def show_namespace(namespace: str, ctx: Ctx, metadefs: Mdefs,
                         resource_type: str | None = None) -> dict[str, Any]:
    return detail_view(await metadefs.show_namespace(ctx, namespace), resource_type)


@router.put(_NS, **rules("modify_metadef_namespace"))
async def update_namespace(namespace: str, body: NamespaceBody, ctx: Ctx, metadefs: Mdefs
                           ) -> dict[str, Any]:
    return namespace_view(await metadefs.update_namespace(ctx, namespace, body.spec()))


@router.delete(_NS, status_code=204, **rules("delete_metadef_namespace"))
async def delete_namespace(namespace: str, ctx: Ctx, metadefs: Mdefs) -> Response:
    await metadefs.delete_namespace(ctx, namespace)
    return Response(status_code=204)


# -- objects -----------------------------------------------------------------------------------------

@router.get(_NS + "/objects", **rules("get_metadef_objects", "get_metadef_object"))
async def list_objects(namespace: str, query: Children, ctx: Ctx, metadefs: Mdefs
                       ) -> dict[str, Any]:
    found = await metadefs.list_objects(ctx, namespace, query)
    # Glance's own link, without the leading slash.
    return {"objects": [object_view(namespace, o) for o in found],
            "schema": "v2/schemas/metadefs/objects"}


@router.post(_NS + "/objects", status_code=201, **rules("add_metadef_object"))
async def create_object(namespace: str, body: ObjectBody, ctx: Ctx, metadefs: Mdefs
                        ) -> dict[str, Any]:
    return object_view(namespace, await metadefs.create_object(ctx, namespace, body.spec()))


@router.delete(_NS + "/objects", status_code=204, **rules("delete_metadef_namespace"))
async def delete_objects(namespace: str, ctx: Ctx, metadefs: Mdefs) -> Response:
    await metadefs.delete_contents(ctx, namespace, "objects")
    return Response(status_code=204)


@router.get(_NS + "/objects/{object_name}", **rules("get_metadef_object"))
async def show_object(namespace: str, object_name: str, ctx: Ctx, metadefs: Mdefs
                      ) -> dict[str, Any]:
    return object_view(namespace, await metadefs.show_object(ctx, namespace, object_name))


@router.put(_NS + "/objects/{object_name}", **rules("modify_metadef_object"))
async def update_object(namespace: str, object_name: str, body: ObjectBody, ctx: Ctx,
                        metadefs: Mdefs) -> dict[str, Any]:
    return object_view(namespace, await metadefs.update_object(ctx, namespace, object_name,
                                                               body.spec()))


@router.delete(_NS + "/objects/{object_name}", status_code=204,
               **rules("delete_metadef_object"))
async def delete_object(namespace: str, object_name: str, ctx: Ctx, metadefs: Mdefs
                        ) -> Response:
    await metadefs.delete_object(ctx, namespace, object_name)
    return Response(status_code=204)


# -- properties --------------------------------------------------------------------------------------

@router.get(_NS + "/properties", **rules("get_metadef_properties"))
async def list_properties(namespace: str, ctx: Ctx, metadefs: Mdefs) -> dict[str, Any]:
    return {"properties": {p.name: p.json_schema
                           for p in await metadefs.list_properties(ctx, namespace)}}


@router.post(_NS + "/properties", status_code=201, **rules("add_metadef_property"))
async def create_property(namespace: str, body: PropertyBody, ctx: Ctx, metadefs: Mdefs
                          ) -> dict[str, Any]:
    name, definition = body.named()
    return property_view(await metadefs.create_property(ctx, namespace, name, definition))


@router.delete(_NS + "/properties", status_code=204, **rules("delete_metadef_namespace"))
async def delete_properties(namespace: str, ctx: Ctx, metadefs: Mdefs) -> Response:
    await metadefs.delete_contents(ctx, namespace, "properties")
    return Response(status_code=204)


@router.get(_NS + "/properties/{property_name}",
            **rules("get_metadef_property", "get_metadef_resource_type"))
async def show_property(namespace: str, property_name: str, ctx: Ctx, metadefs: Mdefs,
                        resource_type: str | None = None) -> dict[str, Any]:
    return property_view(await metadefs.show_property(ctx, namespace, property_name,
                                                      resource_type or None))


@router.put(_NS + "/properties/{property_name}", **rules("modify_metadef_property"))
async def update_property(namespace: str, property_name: str, body: PropertyBody, ctx: Ctx,
                          metadefs: Mdefs) -> dict[str, Any]:
    name, definition = body.named()
    return property_view(await metadefs.update_property(ctx, namespace, property_name, name,
                                                        definition))


@router.delete(_NS + "/properties/{property_name}", status_code=204,
               **rules("remove_metadef_property"))
async def delete_property(namespace: str, property_name: str, ctx: Ctx, metadefs: Mdefs
                          ) -> Response:
    await metadefs.delete_property(ctx, namespace, property_name)
    return Response(status_code=204)


# -- tags ----------------------------------------------------------------------------------------------

@router.get(_NS + "/tags", **rules("get_metadef_tags"))
async def list_tags(namespace: str, query: Children, ctx: Ctx, metadefs: Mdefs
                    ) -> dict[str, Any]:
    return {"tags": [{"name": t.name} for t in await metadefs.list_tags(ctx, namespace, query)]}


async def _append(x_openstack_append: Annotated[str | None, Header()] = None) -> bool:
    # Glance reads the header with oslo's non-strict bool_from_string.
    return bool(query_bool(x_openstack_append, "X-Openstack-Append", strict=False))


@router.post(_NS + "/tags", status_code=201, **rules("add_metadef_tags"))
async def create_tags(namespace: str, body: TagsBody, append: Annotated[bool, Depends(_append)],
                      ctx: Ctx, metadefs: Mdefs) -> dict[str, Any]:
    created = await metadefs.create_tags(ctx, namespace, [t.name for t in body.tags], append)
    return {"tags": [{"name": t.name} for t in created]}


@router.delete(_NS + "/tags", status_code=204,
               **rules("delete_metadef_namespace", "delete_metadef_tags"))
async def delete_tags(namespace: str, ctx: Ctx, metadefs: Mdefs) -> Response:
    await metadefs.delete_contents(ctx, namespace, "tags")
    return Response(status_code=204)


@router.get(_NS + "/tags/{tag_name}", **rules("get_metadef_tag"))
async def show_tag(namespace: str, tag_name: str, ctx: Ctx, metadefs: Mdefs) -> dict[str, Any]:
    return tag_view(await metadefs.show_tag(ctx, namespace, tag_name))


@router.post(_NS + "/tags/{tag_name}", status_code=201, **rules("add_metadef_tag"))
async def create_tag(namespace: str, tag_name: str, ctx: Ctx, metadefs: Mdefs
                     ) -> dict[str, Any]:
    tag: str = validate(TagBody, {"name": tag_name}, "tag").name
    return tag_view(await metadefs.create_tag(ctx, namespace, tag))


@router.put(_NS + "/tags/{tag_name}", **rules("modify_metadef_tag"))
async def update_tag(namespace: str, tag_name: str, body: TagBody, ctx: Ctx, metadefs: Mdefs
                     ) -> dict[str, Any]:
    return tag_view(await metadefs.update_tag(ctx, namespace, tag_name, body.name))


@router.delete(_NS + "/tags/{tag_name}", status_code=204, **rules("delete_metadef_tag"))
async def delete_tag(namespace: str, tag_name: str, ctx: Ctx, metadefs: Mdefs) -> Response:
    await metadefs.delete_tag(ctx, namespace, tag_name)
    return Response(status_code=204)
