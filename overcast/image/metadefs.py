"""Metadata definitions catalog (Glance's /v2/metadefs): namespaces and the property, object and
tag definitions and resource type associations they hold.

Who sees a namespace is decided here, in one query (`Metadefs._visible`), as Glance's database
layer does: context_is_admin sees all, anyone else the public namespaces and those their
project owns; any other is "not found". Each method loads the namespace, enforces its rules on
it (as Glance's MetadefAPIPolicy: a refusal is 404 when the caller may not even see the
namespace, 403 otherwise) and changes it in one transaction; by default only admins write.
Protected namespaces refuse to be deleted, and so do their contents, one by one or all at once
(403), until `protected` is turned off. Bodies arrive checked and typed (api/metadef_bodies.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import Select, delete, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.common.pagination import SortKey, after_marker, order_by
from overcast.image.metadef_models import (
    MetadefNamespace,
    MetadefNamespaceResourceType,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefStandardLoad,
    MetadefTag,
)

__all__ = ["CHILD_SORT_KEYS", "NAMESPACE_SORT_KEYS", "NAMESPACE_VISIBILITIES", "AssociationSpec",
           "ListQuery", "Metadefs", "NamespaceDetail", "NamespaceSpec", "ObjectSpec"]

NAMESPACE_VISIBILITIES = ("public", "private")
NAMESPACE_SORT_KEYS = ("created_at", "updated_at", "namespace", "display_name", "visibility",
                       "protected", "owner")
CHILD_SORT_KEYS = ("created_at", "updated_at", "name")
_Child = TypeVar("_Child", MetadefObject, MetadefProperty, MetadefTag)


@dataclass
class ListQuery:
    """A page request, parsed and checked (by the API): sort (a key of NAMESPACE_SORT_KEYS or
    CHILD_SORT_KEYS), marker (a name), limit, and for namespaces the filters."""

    limit: int = 25
    marker: str | None = None
    sort_key: str = "created_at"
    sort_dir: Literal["asc", "desc"] = "desc"
    visibility: str | None = None
    resource_types: list[str] = field(default_factory=list)


@dataclass
class NamespaceDetail:
    """A namespace and what it holds, as `GET /v2/metadefs/namespaces/{ns}` shows it."""

    namespace: MetadefNamespace
    associations: list[MetadefNamespaceResourceType] = field(default_factory=list)
    properties: list[MetadefProperty] = field(default_factory=list)
    objects: list[MetadefObject] = field(default_factory=list)
    tags: list[MetadefTag] = field(default_factory=list)


# -- what a body asks for (checked against Glance's schemas by the API) ---------------------------

@dataclass(frozen=True)
class AssociationSpec:
    name: str
    prefix: str | None = None
    properties_target: str | None = None


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    description: str | None
    required: list[str] | None
    #: property name -> JSON-schema fragment
    properties: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class NamespaceSpec:
    namespace: str
    display_name: str | None = None
    description: str | None = None
    visibility: str | None = None
    protected: bool | None = None
    owner: str | None = None
    associations: list[AssociationSpec] = field(default_factory=list)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: list[ObjectSpec] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _unique(names: Sequence[str], what: str, namespace: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise _duplicate(what, name, namespace)
        seen.add(name)


def _duplicate(what: str, name: str, namespace: str) -> faults.Conflict:
    if what == "tag":
        return faults.Conflict(f"A metadata tag with name={name} already exists in "
                               f"namespace={namespace}. (Please note that metadata tag names "
                               "are case insensitive).")
    if what == "resource_type":
        return faults.Conflict(f"The metadata definition resource-type association of "
                               f"resource-type={name} to namespace={namespace} already exists.")
    return faults.Conflict(f"A metadata definition {what} with name={name} already exists in "
                           f"namespace={namespace}.")


def _protected(namespace: MetadefNamespace, what: str) -> None:
    if namespace.protected:
        raise faults.Forbidden(f"Metadata definition {what} is protected and cannot be "
                               "deleted.")


# -- the catalog -----------------------------------------------------------------------------------

class Metadefs:
    """Namespaces and their contents, read and written for a ctx."""

    def __init__(self, db: Database):
        self.db = db

    # -- visibility and policy --
    @staticmethod
    def _visible(ctx: RequestContext) -> Select[MetadefNamespace]:
        """Every namespace the caller may see at all: public ones, its project's, or all for
        context_is_admin."""
        q = select(MetadefNamespace)
        if ctx.can("context_is_admin"):
            return q
        me = ctx.project_id
        return q.where(or_(MetadefNamespace.visibility == "public",
                           MetadefNamespace.owner == me if me else false()))

    async def _get(self, s: AsyncSession, ctx: RequestContext, name: str, *rules: str,
                   for_update: bool = False) -> MetadefNamespace:
        """The namespace, once each of `rules` allows the caller what it asks."""
        q = self._visible(ctx).where(MetadefNamespace.namespace == name)
        if for_update:  # SQLite has no FOR UPDATE: SQLAlchemy leaves it out there
            q = q.with_for_update()
        ns = (await s.scalars(q)).first()
        if ns is None:
            raise faults.NotFound(f"Metadata definition namespace={name} was not found.")
        for rule in rules:
            _enforce(ctx, rule, ns)
        return ns

    # -- namespaces --
    async def list_namespaces(self, ctx: RequestContext, query: ListQuery
                              ) -> tuple[list[NamespaceDetail], str | None]:
        """A page of namespaces (with their resource type associations) that get_metadef_namespace
        lets the caller see, and the name to continue after when the page was full (the
        caller's right to list is the route's get_metadef_namespaces)."""
        q = self._visible(ctx)
        if query.visibility:
            q = q.where(MetadefNamespace.visibility == query.visibility)
        if query.resource_types:
            q = q.where(MetadefNamespace.id.in_(
                select(MetadefNamespaceResourceType.namespace_id).where(
                    MetadefNamespaceResourceType.resource_type.in_(query.resource_types))))
        direction = query.sort_dir
        columns: list[ColumnElement[Any]] = [_namespace_column(query.sort_key)]
        if query.sort_key != "created_at":
            columns.append(MetadefNamespace.created_at.expression)
        columns.append(MetadefNamespace.namespace.expression)
        keys = [SortKey(c, direction) for c in columns]
        async with self.db.read() as s:
            if query.marker is not None:
                marker = await self._get(s, ctx, query.marker)
                values = [await s.scalar(select(k.column).where(
                    MetadefNamespace.id == marker.id)) for k in keys]
                q = q.where(after_marker(keys, values))
            page = list(await s.scalars(order_by(q, keys).limit(query.limit)))
            assocs = await self._associations(s, [ns.id for ns in page])
        last = page[-1].namespace if page and len(page) == query.limit else None
        return ([NamespaceDetail(ns, assocs.get(ns.id, [])) for ns in page
                 if ctx.can("get_metadef_namespace", _target(ns))], last)

    @staticmethod
    async def _associations(s: AsyncSession, namespace_ids: list[str]
                            ) -> dict[str, list[MetadefNamespaceResourceType]]:
        found: dict[str, list[MetadefNamespaceResourceType]] = {}
        if not namespace_ids:
            return found
        rows = await s.scalars(select(MetadefNamespaceResourceType).where(
            MetadefNamespaceResourceType.namespace_id.in_(namespace_ids)).order_by(
            MetadefNamespaceResourceType.created_at, MetadefNamespaceResourceType.resource_type))
        for row in rows:
            found.setdefault(row.namespace_id, []).append(row)
        return found

    async def _detail(self, s: AsyncSession, ns: MetadefNamespace) -> NamespaceDetail:
        def of(model: type[_Child]) -> Select[_Child]:
            return select(model).where(model.namespace_id == ns.id).order_by(model.name)
        return NamespaceDetail(
            namespace=ns,
            associations=(await self._associations(s, [ns.id])).get(ns.id, []),
            properties=list(await s.scalars(of(MetadefProperty))),
            objects=list(await s.scalars(of(MetadefObject))),
            tags=list(await s.scalars(of(MetadefTag))),
        )

    async def show_namespace(self, ctx: RequestContext, name: str) -> NamespaceDetail:
        """A namespace and all it holds (Glance checks the rule of each part)."""
        async with self.db.read() as s:
            return await self._detail(s, await self._get(
                s, ctx, name, "get_metadef_namespace", "list_metadef_resource_types",
                "get_metadef_objects", "get_metadef_properties", "get_metadef_tags"))

    async def create_namespace(self, ctx: RequestContext, new: NamespaceSpec) -> NamespaceDetail:
        """A namespace and, in the same transaction, the contents the body lists (each kind of
        content is a rule of its own)."""
        own = {"project_id": ctx.project_id}
        ctx.enforce("add_metadef_namespace", own)
        for given, rule in ((new.associations, "add_metadef_resource_type_association"),
                            (new.objects, "add_metadef_object"),
                            (new.properties, "add_metadef_property"),
                            (new.tags, "add_metadef_tag")):
            if given:
                ctx.enforce(rule, own)
        owner = new.owner or ctx.project_id
        if owner is None:
            raise faults.BadRequest("A namespace needs an owner: use a project-scoped token.")
        try:
            async with self.db.transaction() as s:
                clash = await s.scalar(select(MetadefNamespace.id).where(
                    MetadefNamespace.namespace == new.namespace))
                if clash is not None:
                    raise _namespace_exists(new.namespace)
                return await self._add_namespace(s, new, owner)
        except IntegrityError as e:
            raise _namespace_exists(new.namespace) from e

    async def _add_namespace(self, s: AsyncSession, new: NamespaceSpec, owner: str
                             ) -> NamespaceDetail:
        _unique([a.name for a in new.associations], "resource_type", new.namespace)
        _unique([o.name for o in new.objects], "object", new.namespace)
        _unique(new.tags, "tag", new.namespace)
        now = utcnow()
        ns = MetadefNamespace(
            id=str(uuid.uuid4()), namespace=new.namespace,
            display_name=new.display_name, description=new.description,
            visibility=new.visibility or "private", protected=bool(new.protected),
            owner=owner, created_at=now, updated_at=now)
        s.add(ns)
        await s.flush()
        for assoc in new.associations:
            await self._associate(s, ns, assoc, now)
        for pname, definition in new.properties.items():
            s.add(MetadefProperty(id=str(uuid.uuid4()), namespace_id=ns.id, name=pname,
                                  json_schema=definition, created_at=now, updated_at=now))
        for obj in new.objects:
            s.add(_new_object(ns, obj, now))
        for tag in new.tags:
            s.add(MetadefTag(id=str(uuid.uuid4()), namespace_id=ns.id, name=tag,
                             created_at=now, updated_at=now))
        await s.flush()
        return await self._detail(s, ns)

    async def load_standard(self, new: NamespaceSpec, *, force: bool, initial: bool) -> str:
        """Load one of Glance's standard namespaces (no ctx: the operator's command or
        bootstrap). What happened: "loaded"; "kept" (it exists: an operator's copy is not
        touched); "replaced" (`force`: the shipped definition wins); "skipped" (`initial`,
        i.e. bootstrap, and it was loaded once and deleted since: an operator's choice)."""
        name = new.namespace
        try:
            async with self.db.transaction() as s:
                ns = (await s.scalars(select(MetadefNamespace).where(
                    MetadefNamespace.namespace == name).with_for_update())).first()
                record = await s.get(MetadefStandardLoad, name)
                if record is None:
                    s.add(MetadefStandardLoad(namespace=name, loaded_at=utcnow()))
                if ns is not None and not force:
                    return "kept"
                if ns is None and initial and record is not None:
                    return "skipped"
                if ns is not None:
                    await self._drop_namespace(s, ns)
                # Glance's loader owns what names no owner by "admin" (glance-manage).
                await self._add_namespace(s, new, new.owner or "admin")
                return "replaced" if ns is not None else "loaded"
        except IntegrityError:
            return "kept"  # another loader was quicker

    async def update_namespace(self, ctx: RequestContext, name: str, new: NamespaceSpec
                               ) -> MetadefNamespace:
        """Replace the namespace's own attributes (Glance's PUT: what the body leaves out goes
        back to its default); its contents are untouched."""
        try:
            async with self.db.transaction() as s:
                ns = await self._get(s, ctx, name, "modify_metadef_namespace", for_update=True)
                if new.namespace != ns.namespace:
                    clash = await s.scalar(select(MetadefNamespace.id).where(
                        MetadefNamespace.namespace == new.namespace,
                        MetadefNamespace.id != ns.id))
                    if clash is not None:
                        raise _namespace_exists(new.namespace)
                ns.namespace = new.namespace
                ns.display_name = new.display_name
                ns.description = new.description
                ns.visibility = new.visibility or "private"
                ns.protected = bool(new.protected)
                ns.owner = new.owner or ctx.project_id or ns.owner
                ns.updated_at = utcnow()
            return ns
        except IntegrityError as e:
            raise _namespace_exists(new.namespace) from e

    async def delete_namespace(self, ctx: RequestContext, name: str) -> None:
        async with self.db.transaction() as s:
            ns = await self._get(s, ctx, name, "delete_metadef_namespace", for_update=True)
            _protected(ns, f"namespace {ns.namespace}")
            await self._drop_namespace(s, ns)

    @staticmethod
    async def _drop_namespace(s: AsyncSession, ns: MetadefNamespace) -> None:
        for model in (MetadefTag, MetadefObject, MetadefProperty, MetadefNamespaceResourceType):
            await s.execute(delete(model).where(model.namespace_id == ns.id))
        await s.delete(ns)
        await s.flush()

    async def delete_contents(self, ctx: RequestContext, name: str, kind: str) -> None:
        """Delete all objects, properties or tags of a namespace (not of a protected one);
        Glance checks delete_metadef_namespace for these, and delete_metadef_tags for tags."""
        models: dict[str, type[MetadefObject] | type[MetadefProperty] | type[MetadefTag]] = {
            "objects": MetadefObject, "properties": MetadefProperty, "tags": MetadefTag}
        model = models[kind]
        rules = ("delete_metadef_namespace", "delete_metadef_tags")[:2 if kind == "tags" else 1]
        async with self.db.transaction() as s:
            ns = await self._get(s, ctx, name, *rules, for_update=True)
            _protected(ns, f"namespace {ns.namespace}")
            await s.execute(delete(model).where(model.namespace_id == ns.id))

    # -- resource types --
    async def list_resource_types(self) -> list[MetadefResourceType]:
        async with self.db.read() as s:
            return list(await s.scalars(select(MetadefResourceType).order_by(
                MetadefResourceType.created_at, MetadefResourceType.name)))

    async def list_associations(self, ctx: RequestContext, name: str
                                ) -> list[MetadefNamespaceResourceType]:
        """A namespace's associations, if get_metadef_resource_type lets the caller see them."""
        async with self.db.read() as s:
            ns = await self._get(s, ctx, name, "list_metadef_resource_types")
            if not ctx.can("get_metadef_resource_type", _target(ns)):
                return []
            return (await self._associations(s, [ns.id])).get(ns.id, [])

    @staticmethod
    async def _associate(s: AsyncSession, ns: MetadefNamespace, assoc: AssociationSpec,
                         now: datetime) -> MetadefNamespaceResourceType:
        rtype = assoc.name
        if await s.get(MetadefResourceType, rtype) is None:
            # Glance creates an unknown resource type on first association.
            s.add(MetadefResourceType(name=rtype, protected=False, created_at=now,
                                      updated_at=now))
            await s.flush()
        elif await s.get(MetadefNamespaceResourceType, (ns.id, rtype)) is not None:
            raise _duplicate("resource_type", rtype, ns.namespace)
        row = MetadefNamespaceResourceType(
            namespace_id=ns.id, resource_type=rtype, prefix=assoc.prefix,
            properties_target=assoc.properties_target, created_at=now, updated_at=now)
        s.add(row)
        return row

    async def associate(self, ctx: RequestContext, name: str, assoc: AssociationSpec
                        ) -> MetadefNamespaceResourceType:
        try:
            async with self.db.transaction() as s:
                ns = await self._get(s, ctx, name, "add_metadef_resource_type_association")
                return await self._associate(s, ns, assoc, utcnow())
        except IntegrityError as e:
            raise _duplicate("resource_type", assoc.name, name) from e

    async def dissociate(self, ctx: RequestContext, name: str, resource_type: str) -> None:
        async with self.db.transaction() as s:
            ns = await self._get(s, ctx, name, "remove_metadef_resource_type_association")
            row = await s.get(MetadefNamespaceResourceType, (ns.id, resource_type))
            if row is None:
                raise faults.NotFound(f"Failed to find resource type {resource_type} to delete")
            _protected(ns, f"resource-type-association {resource_type}")
            await s.delete(row)

    # -- children (objects, properties, tags): shared lookups --
    async def _child(self, s: AsyncSession, model: type[_Child], ns: MetadefNamespace,
                     name: str, what: str) -> _Child:
        row = (await s.scalars(select(model).where(model.namespace_id == ns.id,
                                                   model.name == name))).first()
        if row is None:
            raise faults.NotFound(f"The metadata definition {what} with name={name} was not "
                                  f"found in namespace={ns.namespace}.")
        return row

    async def _clash(self, s: AsyncSession, model: type[_Child], ns: MetadefNamespace, name: str,
                     what: str, besides: str | None = None) -> None:
        q = select(model.id).where(model.namespace_id == ns.id, model.name == name)
        if besides is not None:
            q = q.where(model.id != besides)
        if await s.scalar(q) is not None:
            raise _duplicate(what, name, ns.namespace)

    async def _page(self, ctx: RequestContext, name: str, model: type[_Child], what: str,
                    query: ListQuery, rule: str) -> tuple[MetadefNamespace, list[_Child]]:
        direction = query.sort_dir
        columns = [getattr(model, query.sort_key)]
        if query.sort_key != "created_at":
            columns.append(model.created_at)
        if query.sort_key != "name":
            columns.append(model.name)
        keys = [SortKey(c, direction) for c in columns]
        async with self.db.read() as s:
            ns = await self._get(s, ctx, name, rule)
            q = select(model).where(model.namespace_id == ns.id)
            if query.marker is not None:
                marker = await self._child(s, model, ns, query.marker, what)
                q = q.where(after_marker(keys, [getattr(marker, c.key) for c in columns]))
            return ns, list(await s.scalars(order_by(q, keys).limit(query.limit)))

    async def _delete_child(self, ctx: RequestContext, name: str, model: type[_Child], child: str,
                            what: str, rule: str) -> None:
        async with self.db.transaction() as s:
            ns = await self._get(s, ctx, name, rule)
            row = await self._child(s, model, ns, child, what)
            _protected(ns, f"{what} {child}")
            await s.delete(row)

    # -- objects --
    async def list_objects(self, ctx: RequestContext, name: str, query: ListQuery
                           ) -> list[MetadefObject]:
        """A page of objects, if get_metadef_object lets the caller see them."""
        ns, found = await self._page(ctx, name, MetadefObject, "object", query,
                                     "get_metadef_objects")
        return found if ctx.can("get_metadef_object", _target(ns)) else []

    async def show_object(self, ctx: RequestContext, name: str, object_name: str) -> MetadefObject:
        async with self.db.read() as s:
            ns = await self._get(s, ctx, name, "get_metadef_object")
            return await self._child(s, MetadefObject, ns, object_name, "object")

    async def create_object(self, ctx: RequestContext, name: str, new: ObjectSpec) -> MetadefObject:
        try:
            async with self.db.transaction() as s:
                ns = await self._get(s, ctx, name, "add_metadef_object")
                await self._clash(s, MetadefObject, ns, new.name, "object")
                obj = _new_object(ns, new, utcnow())
                s.add(obj)
            return obj
        except IntegrityError as e:
            raise _duplicate("object", new.name, name) from e

    async def update_object(self, ctx: RequestContext, name: str, object_name: str, new: ObjectSpec
                            ) -> MetadefObject:
        """Replace an object definition (what the body leaves out is removed)."""
        try:
            async with self.db.transaction() as s:
                ns = await self._get(s, ctx, name, "modify_metadef_object")
                obj = await self._child(s, MetadefObject, ns, object_name, "object")
                await self._clash(s, MetadefObject, ns, new.name, "object", besides=obj.id)
                obj.name = new.name
                obj.description = new.description
                obj.required = new.required
                obj.json_schema = new.properties
                obj.updated_at = utcnow()
            return obj
        except IntegrityError as e:
            raise _duplicate("object", new.name, name) from e

    async def delete_object(self, ctx: RequestContext, name: str, object_name: str) -> None:
        await self._delete_child(ctx, name, MetadefObject, object_name, "object",
                                 "delete_metadef_object")

    # -- properties --
    async def list_properties(self, ctx: RequestContext, name: str) -> list[MetadefProperty]:
        async with self.db.read() as s:
            ns = await self._get(s, ctx, name, "get_metadef_properties")
            return list(await s.scalars(select(MetadefProperty).where(
                MetadefProperty.namespace_id == ns.id).order_by(MetadefProperty.name)))

    async def show_property(self, ctx: RequestContext, name: str, property_name: str,
                            resource_type: str | None = None) -> MetadefProperty:
        """A property; with `resource_type`, `property_name` carries that association's prefix,
        which is removed before the lookup (and get_metadef_resource_type is checked too)."""
        rules = ("get_metadef_property", "get_metadef_resource_type")[:2 if resource_type else 1]
        async with self.db.read() as s:
            ns = await self._get(s, ctx, name, *rules)
            if resource_type:
                assoc = await s.get(MetadefNamespaceResourceType, (ns.id, resource_type))
                if assoc is None:
                    raise faults.NotFound(
                        f"The metadata definition resource-type association of resource-type="
                        f"{resource_type} to namespace={ns.namespace}, was not found.")
                prefix = assoc.prefix
                if not prefix or not property_name.startswith(prefix):
                    raise faults.NotFound(
                        f"Property {property_name} does not start with the expected resource "
                        f"type association prefix of '{prefix}'.")
                property_name = property_name[len(prefix):]
            return await self._child(s, MetadefProperty, ns, property_name, "property")

    async def create_property(self, ctx: RequestContext, name: str, pname: str,
                              definition: dict[str, Any]) -> MetadefProperty:
        try:
            async with self.db.transaction() as s:
                ns = await self._get(s, ctx, name, "add_metadef_property")
                await self._clash(s, MetadefProperty, ns, pname, "property")
                now = utcnow()
                prop = MetadefProperty(id=str(uuid.uuid4()), namespace_id=ns.id, name=pname,
                                       json_schema=definition, created_at=now, updated_at=now)
                s.add(prop)
            return prop
        except IntegrityError as e:
            raise _duplicate("property", pname, name) from e

    async def update_property(self, ctx: RequestContext, name: str, property_name: str, pname: str,
                              definition: dict[str, Any]) -> MetadefProperty:
        try:
            async with self.db.transaction() as s:
                ns = await self._get(s, ctx, name, "modify_metadef_property")
                prop = await self._child(s, MetadefProperty, ns, property_name, "property")
                await self._clash(s, MetadefProperty, ns, pname, "property", besides=prop.id)
                prop.name = pname
                prop.json_schema = definition
                prop.updated_at = utcnow()
            return prop
        except IntegrityError as e:
            raise _duplicate("property", pname, name) from e

    async def delete_property(self, ctx: RequestContext, name: str, property_name: str) -> None:
        await self._delete_child(ctx, name, MetadefProperty, property_name, "property",
                                 "remove_metadef_property")

    # -- tags --
    async def list_tags(self, ctx: RequestContext, name: str, query: ListQuery) -> list[MetadefTag]:
        return (await self._page(ctx, name, MetadefTag, "tag", query, "get_metadef_tags"))[1]

    async def show_tag(self, ctx: RequestContext, name: str, tag: str) -> MetadefTag:
        async with self.db.read() as s:
            ns = await self._get(s, ctx, name, "get_metadef_tag")
            return await self._child(s, MetadefTag, ns, tag, "tag")

    async def create_tag(self, ctx: RequestContext, name: str, tag: str) -> MetadefTag:
        try:
            async with self.db.transaction() as s:
                ns = await self._get(s, ctx, name, "add_metadef_tag")
                await self._clash(s, MetadefTag, ns, tag, "tag")
                now = utcnow()
                row = MetadefTag(id=str(uuid.uuid4()), namespace_id=ns.id, name=tag,
                                 created_at=now, updated_at=now)
                s.add(row)
            return row
        except IntegrityError as e:
            raise _duplicate("tag", tag, name) from e

    async def create_tags(self, ctx: RequestContext, name: str, names: list[str], append: bool
                          ) -> list[MetadefTag]:
        """Create several tags; without `append` they replace the namespace's tags."""
        _unique(names, "tag", name)
        try:
            async with self.db.transaction() as s:
                ns = await self._get(s, ctx, name, "add_metadef_tags", for_update=True)
                if not append:
                    await s.execute(delete(MetadefTag).where(MetadefTag.namespace_id == ns.id))
                now = utcnow()
                rows = []
                for tag in names:
                    if append:
                        await self._clash(s, MetadefTag, ns, tag, "tag")
                    rows.append(MetadefTag(id=str(uuid.uuid4()), namespace_id=ns.id, name=tag,
                                           created_at=now, updated_at=now))
                s.add_all(rows)
            return rows
        except IntegrityError as e:
            raise faults.Conflict(f"A metadata tag in namespace={name} already exists. (Please "
                                  "note that metadata tag names are case insensitive).") from e

    async def update_tag(self, ctx: RequestContext, name: str, tag: str, new: str) -> MetadefTag:
        try:
            async with self.db.transaction() as s:
                ns = await self._get(s, ctx, name, "modify_metadef_tag")
                row = await self._child(s, MetadefTag, ns, tag, "tag")
                await self._clash(s, MetadefTag, ns, new, "tag", besides=row.id)
                row.name = new
                row.updated_at = utcnow()
            return row
        except IntegrityError as e:
            raise _duplicate("tag", new, name) from e

    async def delete_tag(self, ctx: RequestContext, name: str, tag: str) -> None:
        await self._delete_child(ctx, name, MetadefTag, tag, "tag", "delete_metadef_tag")


def _target(ns: MetadefNamespace) -> dict[str, Any]:
    return {"project_id": ns.owner, "visibility": ns.visibility}


def _enforce(ctx: RequestContext, rule: str, ns: MetadefNamespace) -> None:
    """Glance's MetadefAPIPolicy._enforce: refused is 404 unless the caller may see the
    namespace (get_metadef_namespace), so that a namespace it cannot see stays unseen."""
    target = _target(ns)
    if ctx.can(rule, target):
        return
    if rule == "get_metadef_namespace" or not ctx.can("get_metadef_namespace", target):
        raise faults.NotFound(f"Namespace {ns.namespace} not found")
    ctx.enforce(rule, target)


def _namespace_column(key: str) -> ColumnElement[Any]:
    col: ColumnElement[Any] = getattr(MetadefNamespace, key)
    # display_name is nullable: coalesced so that ordering and the marker condition agree.
    return func.coalesce(col, "") if key == "display_name" else col


def _namespace_exists(name: str) -> faults.Conflict:
    return faults.Conflict(f"The metadata definition namespace={name} already exists.")


def _new_object(ns: MetadefNamespace, obj: ObjectSpec, now: datetime) -> MetadefObject:
    return MetadefObject(id=str(uuid.uuid4()), namespace_id=ns.id, name=obj.name,
                         description=obj.description, required=obj.required,
                         json_schema=obj.properties, created_at=now, updated_at=now)
