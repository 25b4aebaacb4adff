"""What every Neutron resource shares, in one mechanism: listing (filters on any attribute,
`fields=`, sorting, marker pagination), showing, attribute policy, the standard attributes
(tags, description, timestamps, revision_number with If-Match) and deletion.

A resource type is a `Kind`: its table, how a row becomes the wire dict (`view`), which wire
attributes are columns (filter and sort keys), special filters (a port's `fixed_ips`), who sees
which rows (`scope`) and the policy target of a row. `Collection` runs the pipeline for any kind:

    query ▶ scope ▶ filters ▶ sort + marker ▶ rows ▶ extras (tags, children) ▶ views
          ▶ get_<kind> per row ▶ attribute rules strip fields ▶ fields=
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, Select, and_, delete, func, not_, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.common.pagination import SortKey, after_marker, order_by
from overcast.network import errors
from overcast.network.models import StandardAttrs, Tag
from overcast.network.policy import ATTRIBUTE_RULES

__all__ = [
    "Attrs",
    "ChangeHook",
    "Collection",
    "Kind",
    "ListQuery",
    "Listed",
    "attribute_check",
    "iso",
    "new_id",
    "parse_bool",
    "retrying",
]

Attrs = dict[str, Any]
Filter = Callable[[list[str]], ColumnElement[bool]]
Extras = Callable[[AsyncSession, Sequence[Any]], Awaitable[dict[str, Attrs]]]

#: Query parameters that are not filters.
log = logging.getLogger("overcast.network")

#: Called with a network id after a commit that changed what the data plane wires there.
ChangeHook = Callable[[str], Awaitable[None]]

_CONTROL = frozenset({"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse",
                      "tags", "tags-any", "not-tags", "not-tags-any", "verbose"})
_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})


def new_id() -> str:
    return str(uuid.uuid4())


def iso(dt: datetime) -> str:
    """Neutron's timestamps: seconds, UTC, `Z`."""
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_bool(value: object, name: str) -> bool:
    """A boolean as Neutron's convert_to_boolean reads it (query strings and bodies)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise errors.InvalidInput(f"'{value}' cannot be converted to boolean")


#: MariaDB's deadlock and lock wait timeout; PostgreSQL's deadlock and serialization failure.
_RETRIABLE_MYSQL = (1213, 1205)
_RETRIABLE_PG = ("40P01", "40001")


def _lost_race(exc: DBAPIError) -> bool:
    """Whether another writer made this transaction fail: a unique key it took first, or a
    deadlock the database broke by aborting this one."""
    if isinstance(exc, IntegrityError):
        return True
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _RETRIABLE_PG:
        return True
    args: Any = getattr(orig, "args", None) or (None,)
    return args[0] in _RETRIABLE_MYSQL


async def retrying(attempt: Callable[[], Awaitable[Any]], tries: int = 20) -> Any:
    """Run a write transaction again when another writer took what it picked first (an
    address, a segmentation id) or the database aborted it to break a deadlock: the
    database's unique keys decide, never a read."""
    for i in range(tries):
        try:
            return await attempt()
        except DBAPIError as exc:
            if i == tries - 1 or not _lost_race(exc):
                raise
            await asyncio.sleep(random.uniform(0, 0.01 * (i + 1)))
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class ListQuery:
    """A list request's query, parsed once: filters (attribute -> accepted values), fields,
    sort keys, page."""

    filters: dict[str, list[str]] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    sorts: list[tuple[str, str]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
    tags: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, items: Sequence[tuple[str, str]], max_limit: int = -1) -> ListQuery:
        filters: dict[str, list[str]] = {}
        fields: list[str] = []
        keys: list[str] = []
        dirs: list[str] = []
        tags: dict[str, list[str]] = {}
        limit: int | None = None
        marker = None
        reverse = False
        for key, value in items:
            if key == "fields":
                fields += [f for f in value.split(",") if f]
            elif key == "sort_key":
                keys.append(value)
            elif key == "sort_dir":
                if value not in ("asc", "desc"):
                    raise errors.BadRequest(f"{value} is an invalid value for sort_dir, valid "
                                            "values are 'asc' and 'desc'")
                dirs.append(value)
            elif key == "limit":
                try:
                    limit = int(value)
                except ValueError:
                    raise errors.BadRequest(f"Limit must be an integer 0 or greater and not "
                                            f"'{value}'") from None
                if limit < 0:
                    raise errors.BadRequest(f"Limit must be an integer 0 or greater and not "
                                            f"'{value}'")
            elif key == "marker":
                marker = value or None
            elif key == "page_reverse":
                reverse = parse_bool(value, key)
            elif key in ("tags", "tags-any", "not-tags", "not-tags-any"):
                tags.setdefault(key, []).extend(t for t in value.split(",") if t)
            elif key == "verbose":
                continue
            else:
                filters.setdefault(key, []).append(value)
        if dirs and len(dirs) != len(keys):
            raise errors.BadRequest("The number of sort_keys and sort_dirs must be same")
        if limit == 0:
            limit = None
        if max_limit > 0:
            limit = min(limit or max_limit, max_limit)
        sorts = list(zip(keys, dirs or ["asc"] * len(keys), strict=True))
        return cls(filters, fields, sorts, limit, marker, reverse, tags)


@dataclass
class Listed:
    """A page of a list: the items, and whether pages lie after and before it."""

    items: list[Attrs]
    more: bool
    reverse: bool
    marker: str | None


@dataclass(frozen=True)
class Kind:
    """A resource type: what the shared pipeline needs to know about it."""

    name: str  #: "network", as in policy rule names and the body key
    collection: str  #: "networks", the list's key
    label: str  #: "Network", as in NetworkNotFound
    model: type[StandardAttrs]
    #: wire attribute -> column, for filters and sort keys
    columns: Mapping[str, Any]
    view: Callable[[Any, Attrs], Attrs]
    #: related data per row id (children, joined rows), merged into the view's input
    extras: Extras | None = None
    #: wire attribute -> SQL condition for the accepted values, where no column holds it
    filters: Mapping[str, Filter] = field(default_factory=dict)
    #: rows the caller may see, unless context_is_admin; None: only its project's
    scope: Callable[[str | None], ColumnElement[bool]] | None = None
    #: attributes of the policy target beyond the view (e.g. the network's owner)
    target_extras: Callable[[Attrs], Attrs] | None = None


def attribute_check(ctx: RequestContext, op: str, resource: str, attrs: Attrs,
                    target: Attrs, defaults: Mapping[str, Any] | None = None) -> None:
    """Enforce the attribute rules of `op` for the attributes the body sets: on create, those
    whose value differs from the default (Neutron's "explicitly set"); on update, any."""
    for attribute in ATTRIBUTE_RULES.get((op, resource), {}):
        head = attribute.split(":", 1)[0] if attribute.startswith("external_gateway_info:") \
            else attribute
        if head not in attrs:
            continue
        value = attrs[head]
        if attribute.startswith("external_gateway_info:"):
            sub = attribute.split(":", 1)[1]
            if not isinstance(value, dict) or sub not in value:
                continue
            value = value[sub]
        if op == "create" and defaults is not None and attribute in defaults \
                and value == defaults[attribute]:
            continue
        if op == "create" and value is None:
            continue
        ctx.enforce(f"{op}_{resource}:{attribute}", target)


class Collection:
    """Listing, showing, tagging and deleting any `Kind`, scoped to what the caller may see."""

    kind: Kind

    def __init__(self, db: Database, max_limit: int = -1):
        self.db = db
        self.max_limit = max_limit
        #: Set by the app to poke the network agents (a bus fanout); None: no data plane.
        self.on_change: ChangeHook | None = None

    async def changed(self, *network_ids: str) -> None:
        """After a commit: tell the data plane these networks changed. A poke that fails is
        only logged: the agents' periodic resync converges anyway (STYLE.md section 8)."""
        if self.on_change is None:
            return
        for network_id in dict.fromkeys(network_ids):
            try:
                await self.on_change(network_id)
            except Exception as exc:
                log.warning("could not poke the network agents about %s: %s", network_id, exc)

    # -- scope and policy --
    def visible(self, ctx: RequestContext) -> ColumnElement[bool] | None:
        """The rows the caller may see; None for all (context_is_admin)."""
        if ctx.can("context_is_admin"):
            return None
        model = self.kind.model
        own = model.project_id == (ctx.project_id or "")
        if self.kind.scope is not None:
            return self.kind.scope(ctx.project_id)
        return own

    def target(self, attrs: Attrs) -> Attrs:
        t = dict(attrs)
        t.setdefault("tenant_id", t.get("project_id"))
        if self.kind.target_extras is not None:
            t.update(self.kind.target_extras(attrs))
        return t

    def readable(self, ctx: RequestContext, attrs: Attrs) -> Attrs | None:
        """The view as the caller may read it: None when get_<kind> refuses the row, else
        without the attributes whose get rule refuses them."""
        target = self.target(attrs)
        if not ctx.can(f"get_{self.kind.name}", target):
            return None
        hidden = {a for a in ATTRIBUTE_RULES.get(("get", self.kind.name), {})
                  if a in attrs and not ctx.can(f"get_{self.kind.name}:{a}", target)}
        # "_"-keys only feed policy targets (e.g. the network's owner)
        return {k: v for k, v in attrs.items() if k not in hidden and not k.startswith("_")}

    def shown(self, ctx: RequestContext, attrs: Attrs) -> Attrs:
        """What a write answers: the new state as the caller may read it (a caller who may
        write but not read still sees what it wrote, less the attributes it may not see)."""
        shown = self.readable(ctx, attrs)
        if shown is not None:
            return shown
        return {k: v for k, v in attrs.items() if not k.startswith("_")}

    # -- views --
    async def views(self, s: AsyncSession, rows: Sequence[Any]) -> list[Attrs]:
        ids = [r.id for r in rows]
        tags: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            for rid, tag in (await s.execute(
                    select(Tag.resource_id, Tag.tag).where(Tag.resource_id.in_(ids))
                    .order_by(Tag.tag))).all():
                tags[rid].append(tag)
        extras = await self.kind.extras(s, rows) if self.kind.extras and rows else {}
        out = []
        for r in rows:
            attrs = self.kind.view(r, extras.get(r.id, {}))
            attrs.update(standard(r, tags[r.id]))
            out.append(attrs)
        return out

    async def view_of(self, s: AsyncSession, row: Any) -> Attrs:
        return (await self.views(s, [row]))[0]

    async def for_caller(self, s: AsyncSession, ctx: RequestContext,
                         views: list[Attrs]) -> None:
        """Adjust views to the caller where Neutron's attributes depend on who asks (a network
        shared with the caller's project reads `shared`)."""

    # -- reads --
    async def load(self, s: AsyncSession, ctx: RequestContext, ident: str,
                   for_update: bool = False) -> Any:
        """The row `ident` if the caller may see it, else the kind's NotFound."""
        q = select(self.kind.model).where(self.kind.model.id == ident)
        scope = self.visible(ctx)
        if scope is not None:
            q = q.where(scope)
        if for_update:
            q = q.with_for_update()
        row = (await s.execute(q)).scalars().first()
        if row is None:
            raise errors.not_found(self.kind.label, ident)
        return row

    async def show(self, ctx: RequestContext, ident: str, fields: Sequence[str] = ()) -> Attrs:
        async with self.db.read() as s:
            row = await self.load(s, ctx, ident)
            attrs = await self.view_of(s, row)
            await self.for_caller(s, ctx, [attrs])
        shown = self.readable(ctx, attrs)
        if shown is None:
            raise errors.not_found(self.kind.label, ident)
        return select_fields(shown, fields)

    def _filter(self, name: str, values: list[str]) -> ColumnElement[bool]:
        kind = self.kind
        if name in kind.filters:
            return kind.filters[name](values)
        column = kind.columns.get(name)
        if column is None:
            raise errors.BadRequest(f"[{name}] is invalid attribute for filtering")
        ctype = getattr(column, "type", None)
        converted: list[Any] = []
        for v in values:
            if isinstance(ctype, Boolean):
                converted.append(parse_bool(v, name))
            elif isinstance(ctype, Integer):
                try:
                    converted.append(int(v))
                except ValueError:
                    raise errors.InvalidInput(f"'{v}' is not an integer") from None
            else:
                converted.append(v)
        if len(converted) == 1:
            return column == converted[0]  # type: ignore[no-any-return]
        return column.in_(converted)  # type: ignore[no-any-return]

    def _tag_filters(self, tags: Mapping[str, list[str]]) -> list[ColumnElement[bool]]:
        model = self.kind.model
        out: list[ColumnElement[bool]] = []

        def has(tag: str) -> ColumnElement[bool]:
            return select(Tag.resource_id).where(Tag.resource_id == model.id,
                                                 Tag.tag == tag).exists()

        for tag in tags.get("tags", []):
            out.append(has(tag))
        if tags.get("tags-any"):
            out.append(select(Tag.resource_id).where(
                Tag.resource_id == model.id, Tag.tag.in_(tags["tags-any"])).exists())
        if tags.get("not-tags"):
            out.append(not_(and_(*(has(t) for t in tags["not-tags"]))))
        if tags.get("not-tags-any"):
            out.append(not_(select(Tag.resource_id).where(
                Tag.resource_id == model.id, Tag.tag.in_(tags["not-tags-any"])).exists()))
        return out

    async def list(self, ctx: RequestContext, q: ListQuery,
                   extra: ColumnElement[bool] | None = None) -> Listed:
        """A page of what the caller may see and the query selects."""
        kind = self.kind
        model = kind.model
        # The route's rule, recorded even for an empty page; rows are then checked one by one
        # (Neutron leaves out what get_<kind> refuses instead of refusing the list).
        ctx.can(f"get_{kind.name}", {"project_id": ctx.project_id, "tenant_id": ctx.project_id})
        query: Select[Any] = select(model)
        scope = self.visible(ctx)
        if scope is not None:
            query = query.where(scope)
        if extra is not None:
            query = query.where(extra)
        for name, values in q.filters.items():
            query = query.where(self._filter(name, values))
        for clause in self._tag_filters(q.tags):
            query = query.where(clause)
        keys: list[SortKey] = []
        for key, direction in q.sorts:
            column = kind.columns.get(key)
            if column is None or key in ("tags",):
                raise errors.BadRequest(f"{key} is an invalid attribute for sort_key")
            if q.page_reverse:
                direction = "desc" if direction == "asc" else "asc"
            keys.append(SortKey(_sortable(column), "asc" if direction == "asc" else "desc"))
        if not any(k for k, _ in q.sorts if k == "id"):
            last_dir = keys[-1].direction if keys else ("desc" if q.page_reverse else "asc")
            keys.append(SortKey(self.kind.columns["id"], last_dir))
        async with self.db.read() as s:
            if q.marker:
                mq = select(*(k.column for k in keys)).where(model.id == q.marker)
                if scope is not None:
                    mq = mq.where(scope)
                marker = (await s.execute(mq)).first()
                if marker is None:
                    raise errors.not_found(kind.label, q.marker)
                query = query.where(after_marker(keys, list(marker)))
            query = order_by(query, keys)
            if q.limit:
                query = query.limit(q.limit + 1)
            rows = list((await s.execute(query)).scalars().all())
            more = bool(q.limit) and len(rows) > (q.limit or 0)
            rows = rows[:q.limit] if q.limit else rows
            views = await self.views(s, rows)
            await self.for_caller(s, ctx, views)
        if q.page_reverse:
            views.reverse()
        items = []
        for attrs in views:
            shown = self.readable(ctx, attrs)
            if shown is not None:
                items.append(select_fields(shown, q.fields))
        return Listed(items, more, q.page_reverse, q.marker)

    # -- writes shared by every kind --
    async def bump(self, row: Any, if_match: str | None = None) -> None:
        """A change to `row`: checks If-Match's revision, then counts the revision."""
        check_revision(row, if_match)
        row.revision_number = (row.revision_number or 0) + 1
        row.updated_at = utcnow()

    async def set_tags(self, s: AsyncSession, row: Any, tags: Sequence[str]) -> None:
        await s.execute(delete(Tag).where(Tag.resource_id == row.id))
        for tag in dict.fromkeys(tags):
            s.add(Tag(resource_id=row.id, tag=tag))
        await self.bump(row)

    async def tag_ops(self, ctx: RequestContext, ident: str, op: str,
                      tags: Sequence[str] = ()) -> Sequence[str] | None:
        """The tag API: `get` (all tags, or 404 for one missing), `replace`, `add`, `remove`,
        `clear`, `has` (404 if absent). Reads check get_<kind>, writes update_<kind>."""
        write = op in ("replace", "add", "remove", "clear")
        async with (self.db.transaction() if write else self.db.read()) as s:
            row = await self.load(s, ctx, ident)
            attrs = await self.view_of(s, row)
            rule = f"update_{self.kind.name}" if write else f"get_{self.kind.name}"
            if not write and self.readable(ctx, attrs) is None:
                raise errors.not_found(self.kind.label, ident)
            if write:
                ctx.enforce(rule, self.target(attrs))
            current: Sequence[str] = attrs["tags"]
            if op == "get":
                return current
            if op == "has":
                if tags[0] not in current:
                    raise errors.fault(404, "TagNotFound", f"Tag {tags[0]} could not be found for "
                                        f"{self.kind.name} {ident}.")
                return None
            if op == "remove" and tags[0] not in current:
                raise errors.fault(404, "TagNotFound", f"Tag {tags[0]} could not be found for "
                                    f"{self.kind.name} {ident}.")
            new = {"replace": list(tags), "add": [*current, *tags],
                   "remove": [t for t in current if t not in tags], "clear": []}[op]
            if op == "add" and tags[0] in current:
                return None
            await self.set_tags(s, row, new)
            return sorted(dict.fromkeys(new))

    async def delete_row(self, s: AsyncSession, row: Any) -> None:
        await s.execute(delete(Tag).where(Tag.resource_id == row.id))
        await s.delete(row)


def standard(row: Any, tags: list[str]) -> Attrs:
    """Neutron's standard attributes of a row."""
    return {
        "project_id": row.project_id,
        "tenant_id": row.project_id,
        "description": row.description,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "revision_number": row.revision_number,
        "tags": tags,
    }


def select_fields(attrs: Attrs, fields: Sequence[str]) -> Attrs:
    """`fields=` selection; unknown names are left out, as Neutron does."""
    if not fields:
        return attrs
    return {k: v for k, v in attrs.items() if k in fields}


def check_revision(row: Any, if_match: str | None) -> None:
    """`If-Match: revision_number=N`: the change applies only to revision N (412 otherwise)."""
    if not if_match:
        return
    for part in if_match.split(","):
        name, eq, value = part.strip().partition("=")
        if name.strip() != "revision_number" or not eq:
            continue
        try:
            expected = int(value.strip())
        except ValueError:
            raise errors.BadRequest(f"Invalid revision number {value!r}") from None
        if expected != row.revision_number:
            raise errors.PreconditionFailed(
                f"Constraint check failed for revision_number: expected {expected}, "
                f"the current revision is {row.revision_number}.")


def _sortable(column: Any) -> Any:
    """A sort column that orders and compares alike on every backend (NULLs as the least)."""
    if not getattr(column, "nullable", False):
        return column
    return func.coalesce(column, -1 if isinstance(column.type, Integer) else "")
