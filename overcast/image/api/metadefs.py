"""/v2/metadefs: the metadata definitions catalog. Namespaces (CRUD, list with filters and
pages), their objects, properties, tags and resource type associations, and the list of
resource types.

Views leave out what is unset, as Glance's (WSME) serializer does. Policy follows Glance's
MetadefAPIPolicy: a refused rule is 404 when the caller may not even see the namespace, 403
otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request, Response

from overcast.common import faults
from overcast.common.api import query_bool
from overcast.common.app import Ctx, RequestContext
from overcast.image.api import Imgs, Who, page_limit
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
from overcast.image.metadefs import ListQuery, Metadefs, NamespaceDetail
from overcast.image.service import Caller

router = APIRouter(prefix="/v2/metadefs", tags=["metadefs"])

_NS = "/namespaces/{namespace}"


def _metadefs(request: Request) -> Metadefs:
    return request.state.metadefs  # type: ignore[no-any-return]


Mdefs = Annotated[Metadefs, Depends(_metadefs)]


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


# -- policy and query parameters --------------------------------------------------------------------

def _target(ns: MetadefNamespace) -> dict[str, Any]:
    return {"project_id": ns.owner, "visibility": ns.visibility}


def _enforce(ctx: RequestContext, rule: str, ns: MetadefNamespace) -> None:
    """Glance's MetadefAPIPolicy._enforce: refused is 404 unless the caller may see the
    namespace, so that a namespace it cannot see stays unseen."""
    target = _target(ns)
    if ctx.can(rule, target):
        return
    if rule == "get_metadef_namespace" or not ctx.can("get_metadef_namespace", target):
        raise faults.NotFound(f"Namespace {ns.namespace} not found")
    ctx.enforce(rule, target)


def _list_query(request: Request, images: Imgs) -> ListQuery:
    params = request.query_params
    q = ListQuery(limit=page_limit(request, images), marker=params.get("marker"),
                  sort_key=params.get("sort_key", "created_at"),
                  sort_dir=params.get("sort_dir", "desc"), visibility=params.get("visibility"))
    if q.sort_dir not in ("asc", "desc"):
        raise faults.BadRequest(f"Invalid sort direction: {q.sort_dir}")
    if params.get("resource_types"):
        q.resource_types = [r.strip() for r in params["resource_types"].split(",") if r.strip()]
    return q


def _own(ctx: RequestContext) -> dict[str, Any]:
    return {"project_id": ctx.project_id}


# -- resource types -----------------------------------------------------------------------------------

@router.get("/resource_types")
async def list_resource_types(ctx: Ctx, metadefs: Mdefs) -> dict[str, Any]:
    ctx.enforce("list_metadef_resource_types", _own(ctx))
    return {"resource_types": [resource_type_view(rt)
                               for rt in await metadefs.list_resource_types()]}


@router.get(_NS + "/resource_types")
async def list_associations(namespace: str, ctx: Ctx, metadefs: Mdefs, who: Who
                            ) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "list_metadef_resource_types", ns)
    found = await metadefs.list_associations(who, namespace)
    visible = ctx.can("get_metadef_resource_type", _target(ns))
    return {"resource_type_associations": [association_view(a) for a in found if visible]}


@router.post(_NS + "/resource_types", status_code=201)
async def create_association(namespace: str, body: AssociationBody, ctx: Ctx, metadefs: Mdefs,
                             who: Who) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "add_metadef_resource_type_association", ns)
    return association_view(await metadefs.associate(who, namespace, body.spec()))


@router.delete(_NS + "/resource_types/{resource_type}", status_code=204)
async def delete_association(namespace: str, resource_type: str, ctx: Ctx, metadefs: Mdefs,
                             who: Who) -> Response:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "remove_metadef_resource_type_association", ns)
    await metadefs.dissociate(who, namespace, resource_type)
    return Response(status_code=204)


# -- namespaces ------------------------------------------------------------------------------------

@router.get("/namespaces")
async def list_namespaces(request: Request, ctx: Ctx, metadefs: Mdefs, images: Imgs, who: Who
                          ) -> dict[str, Any]:
    ctx.enforce("get_metadef_namespaces", _own(ctx))
    ctx.enforce("list_metadef_resource_types", _own(ctx))
    q = _list_query(request, images)
    page, more = await metadefs.list_namespaces(who, q)
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    first = "/v2/metadefs/namespaces"
    body: dict[str, Any] = {
        "namespaces": [{**namespace_view(d.namespace), **(
            {"resource_type_associations": [association_view(a) for a in d.associations]}
            if d.associations else {})}
            for d in page if ctx.can("get_metadef_namespace", _target(d.namespace))],
        "first": f"{first}?{urlencode(params)}" if params else first,
        "schema": "/v2/schemas/metadefs/namespaces",
    }
    if more:
        body["next"] = f"{first}?{urlencode([*params, ('marker', page[-1].namespace.namespace)])}"
    return body


@router.post("/namespaces", status_code=201)
async def create_namespace(body: NamespaceBody, request: Request, ctx: Ctx, metadefs: Mdefs,
                           who: Who, response: Response) -> dict[str, Any]:
    ctx.enforce("add_metadef_namespace", _own(ctx))
    for given, rule in ((body.resource_type_associations, "add_metadef_resource_type_association"),
                        (body.objects, "add_metadef_object"),
                        (body.properties, "add_metadef_property"), (body.tags, "add_metadef_tag")):
        if given:
            ctx.enforce(rule, _own(ctx))
    detail = await metadefs.create_namespace(who, body.spec())
    # A header is latin-1: a name in any other script goes percent-encoded, as in a URL.
    response.headers["Location"] = (f"{str(request.base_url).rstrip('/')}/v2/metadefs/"
                                    f"namespaces/{quote(detail.namespace.namespace, safe=':')}")
    return detail_view(detail)


@router.get(_NS)
async def show_namespace(namespace: str, request: Request, ctx: Ctx, metadefs: Mdefs, who: Who
                         ) -> dict[str, Any]:
    detail = await metadefs.show_namespace(who, namespace)
    for rule in ("get_metadef_namespace", "list_metadef_resource_types", "get_metadef_objects",
                 "get_metadef_properties", "get_metadef_tags"):
        _enforce(ctx, rule, detail.namespace)
    return detail_view(detail, request.query_params.get("resource_type"))


@router.put(_NS)
async def update_namespace(namespace: str, body: NamespaceBody, ctx: Ctx, metadefs: Mdefs,
                           who: Who) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "modify_metadef_namespace", ns)
    return namespace_view(await metadefs.update_namespace(who, namespace, body.spec()))


@router.delete(_NS, status_code=204)
async def delete_namespace(namespace: str, ctx: Ctx, metadefs: Mdefs, who: Who) -> Response:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "delete_metadef_namespace", ns)
    await metadefs.delete_namespace(who, namespace)
    return Response(status_code=204)


async def _delete_contents(namespace: str, kind: str, ctx: Ctx, metadefs: Metadefs,
                           who: Caller) -> Response:
    # Glance checks delete_metadef_namespace for these (and delete_metadef_tags for tags).
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "delete_metadef_namespace", ns)
    if kind == "tags":
        _enforce(ctx, "delete_metadef_tags", ns)
    await metadefs.delete_contents(who, namespace, kind)
    return Response(status_code=204)


# -- objects -----------------------------------------------------------------------------------------

@router.get(_NS + "/objects")
async def list_objects(namespace: str, request: Request, ctx: Ctx, metadefs: Mdefs,
                       images: Imgs, who: Who) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "get_metadef_objects", ns)
    q = _list_query(request, images)
    found = await metadefs.list_objects(who, namespace, q)
    # Glance's own link, without the leading slash.
    return {"objects": [object_view(ns.namespace, o) for o in found
                        if ctx.can("get_metadef_object", _target(ns))],
            "schema": "v2/schemas/metadefs/objects"}


@router.post(_NS + "/objects", status_code=201)
async def create_object(namespace: str, body: ObjectBody, ctx: Ctx, metadefs: Mdefs, who: Who
                        ) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "add_metadef_object", ns)
    return object_view(ns.namespace, await metadefs.create_object(who, namespace, body.spec()))


@router.delete(_NS + "/objects", status_code=204)
async def delete_objects(namespace: str, ctx: Ctx, metadefs: Mdefs, who: Who) -> Response:
    return await _delete_contents(namespace, "objects", ctx, metadefs, who)


@router.get(_NS + "/objects/{object_name}")
async def show_object(namespace: str, object_name: str, ctx: Ctx, metadefs: Mdefs, who: Who
                      ) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "get_metadef_object", ns)
    return object_view(ns.namespace, await metadefs.show_object(who, namespace, object_name))


@router.put(_NS + "/objects/{object_name}")
async def update_object(namespace: str, object_name: str, body: ObjectBody, ctx: Ctx,
                        metadefs: Mdefs, who: Who) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "modify_metadef_object", ns)
    return object_view(ns.namespace,
                       await metadefs.update_object(who, namespace, object_name, body.spec()))


@router.delete(_NS + "/objects/{object_name}", status_code=204)
async def delete_object(namespace: str, object_name: str, ctx: Ctx, metadefs: Mdefs, who: Who
                        ) -> Response:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "delete_metadef_object", ns)
    await metadefs.delete_object(who, namespace, object_name)
    return Response(status_code=204)


# -- properties --------------------------------------------------------------------------------------

@router.get(_NS + "/properties")
async def list_properties(namespace: str, ctx: Ctx, metadefs: Mdefs, who: Who
                          ) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "get_metadef_properties", ns)
    return {"properties": {p.name: p.json_schema
                           for p in await metadefs.list_properties(who, namespace)}}


@router.post(_NS + "/properties", status_code=201)
async def create_property(namespace: str, body: PropertyBody, ctx: Ctx, metadefs: Mdefs,
                          who: Who) -> dict[str, Any]:
    name, definition = body.named()
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "add_metadef_property", ns)
    return property_view(await metadefs.create_property(who, namespace, name, definition))


@router.delete(_NS + "/properties", status_code=204)
async def delete_properties(namespace: str, ctx: Ctx, metadefs: Mdefs, who: Who) -> Response:
    return await _delete_contents(namespace, "properties", ctx, metadefs, who)


@router.get(_NS + "/properties/{property_name}")
async def show_property(namespace: str, property_name: str, request: Request, ctx: Ctx,
                        metadefs: Mdefs, who: Who) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "get_metadef_property", ns)
    resource_type = request.query_params.get("resource_type")
    if resource_type:
        _enforce(ctx, "get_metadef_resource_type", ns)
    return property_view(await metadefs.show_property(who, namespace, property_name,
                                                      resource_type))


@router.put(_NS + "/properties/{property_name}")
async def update_property(namespace: str, property_name: str, body: PropertyBody, ctx: Ctx,
                          metadefs: Mdefs, who: Who) -> dict[str, Any]:
    name, definition = body.named()
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "modify_metadef_property", ns)
    return property_view(await metadefs.update_property(who, namespace, property_name, name,
                                                        definition))


@router.delete(_NS + "/properties/{property_name}", status_code=204)
async def delete_property(namespace: str, property_name: str, ctx: Ctx, metadefs: Mdefs,
                          who: Who) -> Response:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "remove_metadef_property", ns)
    await metadefs.delete_property(who, namespace, property_name)
    return Response(status_code=204)


# -- tags ----------------------------------------------------------------------------------------------

@router.get(_NS + "/tags")
async def list_tags(namespace: str, request: Request, ctx: Ctx, metadefs: Mdefs, images: Imgs,
                    who: Who) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "get_metadef_tags", ns)
    q = _list_query(request, images)
    return {"tags": [{"name": t.name} for t in await metadefs.list_tags(who, namespace, q)]}


@router.post(_NS + "/tags", status_code=201)
async def create_tags(namespace: str, body: TagsBody, request: Request, ctx: Ctx,
                      metadefs: Mdefs, who: Who) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "add_metadef_tags", ns)
    # Glance reads the header with oslo's non-strict bool_from_string.
    append = bool(query_bool(request.headers.get("X-Openstack-Append"), "X-Openstack-Append",
                             strict=False))
    created = await metadefs.create_tags(who, namespace, [t.name for t in body.tags], append)
    return {"tags": [{"name": t.name} for t in created]}


@router.delete(_NS + "/tags", status_code=204)
async def delete_tags(namespace: str, ctx: Ctx, metadefs: Mdefs, who: Who) -> Response:
    return await _delete_contents(namespace, "tags", ctx, metadefs, who)


@router.get(_NS + "/tags/{tag_name}")
async def show_tag(namespace: str, tag_name: str, ctx: Ctx, metadefs: Mdefs, who: Who
                   ) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "get_metadef_tag", ns)
    return tag_view(await metadefs.show_tag(who, namespace, tag_name))


@router.post(_NS + "/tags/{tag_name}", status_code=201)
async def create_tag(namespace: str, tag_name: str, ctx: Ctx, metadefs: Mdefs, who: Who
                     ) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "add_metadef_tag", ns)
    tag = validate(TagBody, {"name": tag_name}, "tag").name
    return tag_view(await metadefs.create_tag(who, namespace, tag))


@router.put(_NS + "/tags/{tag_name}")
async def update_tag(namespace: str, tag_name: str, body: TagBody, ctx: Ctx, metadefs: Mdefs,
                     who: Who) -> dict[str, Any]:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "modify_metadef_tag", ns)
    return tag_view(await metadefs.update_tag(who, namespace, tag_name, body.name))


@router.delete(_NS + "/tags/{tag_name}", status_code=204)
async def delete_tag(namespace: str, tag_name: str, ctx: Ctx, metadefs: Mdefs, who: Who
                     ) -> Response:
    ns = await metadefs.namespace(who, namespace)
    _enforce(ctx, "delete_metadef_tag", ns)
    await metadefs.delete_tag(who, namespace, tag_name)
    return Response(status_code=204)
