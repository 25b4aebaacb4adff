"""Images: create, list, show, JSON-Patch update, delete, (de)activate, tags; who sees what.

Every method a request drives takes the RequestContext, loads the image (scoped by `visible`),
enforces the rule on that row and changes it, in one transaction. Visibility is decided in one
query, as Glance's database layer does: an image is seen by its owner, by everyone when public
or community, by its members when shared, and by whoever policy's `context_is_admin` admits;
anything else is "not found". Policy rules then say what a caller may do with an image it can
see; every decision is a rule an operator's policy.yaml can override.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar, get_args

from sqlalchemy import Select, and_, exists, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.common.pagination import SortKey, after_marker, order_by
from overcast.config import ImageSection
from overcast.image.models import Image, ImageMember, ImageProperty, ImageTag

__all__ = [
    "CONTAINER_FORMATS",
    "DISK_FORMATS",
    "IMAGE_NOT_FOUND",
    "READ_ONLY",
    "RESERVED",
    "Change",
    "ContainerFormat",
    "DiskFormat",
    "ImageQuery",
    "Images",
    "MemberStatus",
    "NewImage",
    "SortDir",
    "Visibility",
    "image_target",
    "set_progress",
    "webob_fault",
]

# In the order of Glance's [image_format] disk_formats and image schema status enum: the
# schema document and its validation messages list them so.
DiskFormat = Literal["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                     "ploop"]
ContainerFormat = Literal["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]
Visibility = Literal["public", "private", "shared", "community"]
DISK_FORMATS: tuple[str, ...] = get_args(DiskFormat)
CONTAINER_FORMATS: tuple[str, ...] = get_args(ContainerFormat)
VISIBILITIES: tuple[str, ...] = get_args(Visibility)
STATUSES = ("queued", "saving", "active", "killed", "deleted", "uploading", "importing",
            "pending_delete", "deactivated")
#: webob's explanation of a status: what Glance's page says first when it raises webob's
#: `HTTPForbidden(detail)` or a bare `HTTPNotFound()` (webob/exc.py).
EXPLANATIONS = {403: "Access was denied to this resource.", 404: "The resource could not be found.",
                409: "There was a conflict when trying to complete your request."}
F = TypeVar("F", bound=faults.Fault)
#: How the tag and member routes say an image is missing (Glance's image_tags and
#: image_members controllers).
IMAGE_NOT_FOUND = "Image {id} not found."


def webob_fault(kind: type[F], detail: str | None = None) -> F:
    """`kind` as Glance raises webob's `HTTPxxx(detail)`: the status's explanation, then the
    detail beneath it."""
    return kind(EXPLANATIONS[kind.code], detail=detail)


MemberStatus = Literal["pending", "accepted", "rejected"]
MEMBER_STATUSES: tuple[str, ...] = get_args(MemberStatus)

#: Core attributes a user may set (Glance's image schema, minus the read-only ones).
SETTABLE = ("name", "visibility", "protected", "os_hidden", "min_disk", "min_ram", "disk_format",
            "container_format", "owner", "tags")
READ_ONLY = frozenset({"created_at", "updated_at", "status", "checksum", "os_hash_algo",
                       "os_hash_value", "size", "virtual_size", "direct_url", "self", "file",
                       "schema", "id", "stores"})
RESERVED = frozenset({"location", "deleted", "deleted_at", "locations"})
#: Glance's `_available_sort_keys` (glance/api/v2/images.py): nothing else sorts a list.
SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at",
             "updated_at")
IMPORTING = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"


SortDir = Literal["asc", "desc"]
#: Filters on a column that compare by equality (or `in:` a list, for name and id).
MATCH_FILTERS = ("name", "id", "status", "owner", "disk_format", "container_format")


@dataclass
class ImageQuery:
    """A list request, parsed and checked (by the API): page, sort and filters."""

    limit: int = 25
    marker: str | None = None
    sort: list[tuple[str, SortDir]] = field(default_factory=lambda: [("created_at", "desc")])
    #: None: Glance's default list; "all" or one of VISIBILITIES
    visibility: str | None = None
    member_status: str = "accepted"  # or "all"
    os_hidden: bool | None = None
    protected: bool | None = None
    #: column -> the values it may have
    match: dict[str, list[str]] = field(default_factory=dict)
    #: (op, bytes): op "eq", "gte" (size_min) or "lte" (size_max)
    sizes: list[tuple[str, int]] = field(default_factory=list)
    #: (column, op, when): op one of gt, gte, lt, lte, eq, neq
    times: list[tuple[str, str, datetime]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)


def image_target(image: Image, member_id: str | None = None) -> dict[str, Any]:
    """The policy target of a rule about an image: its owner, visibility, and the member a
    membership rule is about."""
    return {"project_id": image.owner, "visibility": image.visibility, "member_id": member_id}


@dataclass(frozen=True)
class NewImage:
    """An image to create, its attributes checked against Glance's schema (by the API)."""

    id: str | None = None
    name: str | None = None
    visibility: str = "shared"
    protected: bool = False
    os_hidden: bool = False
    min_disk: int = 0
    min_ram: int = 0
    disk_format: str | None = None
    container_format: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    #: custom (and base schema, like kernel_id) properties
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """One JSON-Patch operation on a top-level attribute, its value checked (by the API)
    against the schema of that attribute; None for `remove`, or to drop a property."""

    op: Literal["add", "remove", "replace"]
    name: str
    value: Any = None


def set_progress(image: Image, *, importing: list[str], failed: list[str]) -> None:
    """Glance's os_glance_importing_to_stores / os_glance_failed_import properties, which
    clients poll to follow an import to several stores (on a loaded row)."""
    props = {p.name: p for p in image.properties}
    for name, value in ((IMPORTING, ",".join(importing)), (FAILED, ",".join(failed))):
        if name in props:
            props[name].value = value
        else:
            image.properties.append(ImageProperty(name=name, value=value))


class Images:
    """Image records (not their bytes: see data.ImageData)."""

    def __init__(self, db: Database, config: ImageSection):
        self.db = db
        self.config = config

    # -- visibility --
    @staticmethod
    def _member_of(project_id: str | None, statuses: Sequence[str] | None = None) -> ColumnElement[bool]:
        q = select(ImageMember.image_id).where(ImageMember.image_id == Image.id,
                                                ImageMember.member == project_id)
        if statuses is not None:
            q = q.where(ImageMember.status.in_(statuses))
        return exists(q)

    def visible(self, ctx: RequestContext) -> Select[Image]:
        """Every image the caller may see at all (the one place reads are scoped)."""
        q = select(Image).where(Image.status != "deleted")
        if ctx.can("context_is_admin"):
            return q
        me = ctx.project_id
        return q.where(or_(
            Image.visibility.in_(("public", "community")),
            Image.owner == me if me else false(),
            and_(Image.visibility == "shared", self._member_of(me)) if me else false(),
        ))

    async def load(self, s: AsyncSession, ctx: RequestContext, image_id: str, *,
                   for_update: bool = False, missing: str = "No image found with ID {id}"
                   ) -> Image:
        """The image, if the caller can see it (404 otherwise, never 403, saying `missing`:
        Glance words it per operation)."""
        q = self.visible(ctx).where(Image.id == image_id)
        if for_update:  # SQLite has no FOR UPDATE: SQLAlchemy leaves it out there
            q = q.with_for_update()
        image = (await s.scalars(q)).first()
        if image is None:
            raise faults.NotFound(missing.format(id=image_id))
        return image

    async def show(self, ctx: RequestContext, image_id: str, rule: str = "get_image") -> Image:
        """The image, once `rule` allows the caller to read it (get_image, download_image)."""
        async with self.db.read() as s:
            image = await self.load(s, ctx, image_id)
            ctx.enforce(rule, image_target(image))
            return image

    # -- list --
    def _listed(self, ctx: RequestContext, visibility: str | None,
                member_status: str) -> Select[Image]:
        """The images a list shows by default or for ?visibility=, as Glance chooses them."""
        me = ctx.project_id
        admin = ctx.can("context_is_admin")
        statuses = None if member_status == "all" else [member_status]
        shared_with_me = (and_(Image.visibility == "shared", self._member_of(me, statuses))
                          if me else false())
        mine = Image.owner == me if me else false()
        q = select(Image).where(Image.status != "deleted")
        if visibility is None:
            if admin:
                return q
            return q.where(or_(Image.visibility == "public", mine, shared_with_me))
        q = q.where(Image.visibility == visibility) if visibility != "all" else q
        if admin or visibility in ("public", "community"):
            return q
        if visibility == "private":
            return q.where(mine)
        if visibility == "shared":
            return q.where(or_(mine, shared_with_me))
        return q.where(or_(Image.visibility.in_(("public", "community")), mine, shared_with_me))

    @staticmethod
    def _sort_column(key: str) -> ColumnElement[Any]:
        col: ColumnElement[Any] = getattr(Image, key)
        # Nullable keys are coalesced so that ordering and the marker condition agree.
        if key in ("name", "container_format", "disk_format"):
            return func.coalesce(col, "")
        if key == "size":
            return func.coalesce(col, -1)
        return col

    async def list(self, ctx: RequestContext, query: ImageQuery) -> list[Image]:
        """A page of images (the caller's right to list is the route's get_images)."""
        q = self._listed(ctx, query.visibility, query.member_status)
        hidden = False if query.os_hidden is None else query.os_hidden
        q = self._filter(q.where(Image.os_hidden.is_(hidden)), query)
        keys = [SortKey(self._sort_column(k), d) for k, d in query.sort]
        if "id" not in [k for k, _ in query.sort]:
            keys.append(SortKey(Image.id.expression, query.sort[-1][1]))
        async with self.db.read() as s:
            if query.marker:
                values = (await s.execute(self.visible(ctx).where(
                    Image.id == query.marker).with_only_columns(*(k.column for k in keys)))).first()
                if values is None:
                    raise faults.BadRequest(f"No image found with ID {query.marker}")
                q = q.where(after_marker(keys, values))
            return list(await s.scalars(order_by(q, keys).limit(query.limit)))

    @staticmethod
    def _filter(q: Select[Image], query: ImageQuery) -> Select[Image]:
        for key, values in query.match.items():
            q = q.where(getattr(Image, key).in_(values))
        if query.protected is not None:
            q = q.where(Image.protected.is_(query.protected))
        for op, size in query.sizes:
            q = q.where({"eq": Image.size == size, "gte": Image.size >= size,
                         "lte": Image.size <= size}[op])
        for key, op, when in query.times:
            col = getattr(Image, key)
            q = q.where({"gt": col > when, "gte": col >= when, "lt": col < when,
                         "lte": col <= when, "eq": col == when, "neq": col != when}[op])
        for tag in query.tags:
            q = q.where(exists(select(ImageTag.image_id).where(
                ImageTag.image_id == Image.id, ImageTag.value == tag)))
        for name, value in query.properties.items():
            q = q.where(exists(select(ImageProperty.image_id).where(
                ImageProperty.image_id == Image.id, ImageProperty.name == name,
                ImageProperty.value == value)))
        return q

    # -- create / update / delete --
    def _may_share(self, ctx: RequestContext, visibility: str, target: dict[str, Any]) -> None:
        """Making an image public or community is a rule of its own."""
        if visibility == "public":
            ctx.enforce("publicize_image", target)
        elif visibility == "community":
            ctx.enforce("communitize_image", target)

    async def create(self, ctx: RequestContext, new: NewImage) -> Image:
        owner = new.owner or ctx.project_id
        target = {"project_id": owner, "visibility": new.visibility, "member_id": None}
        ctx.enforce("add_image", target)
        self._may_share(ctx, new.visibility, target)
        if owner != ctx.project_id and not ctx.can("context_is_admin"):
            raise faults.Forbidden(f"You are not permitted to create images owned by '{owner}'.")
        image_id = new.id or str(uuid.uuid4())
        tags = list(dict.fromkeys(new.tags))
        self._check_quotas(len(new.properties), len(tags))
        now = utcnow()
        image = Image(id=image_id, status="queued", owner=owner, name=new.name,
                      visibility=new.visibility, protected=new.protected,
                      os_hidden=new.os_hidden, min_disk=new.min_disk, min_ram=new.min_ram,
                      disk_format=new.disk_format, container_format=new.container_format,
                      created_at=now, updated_at=now)
        image.properties = [ImageProperty(name=k, value=v) for k, v in new.properties.items()]
        image.tags = [ImageTag(value=t) for t in tags]
        async with self.db.transaction() as s:
            if await s.get(Image, image_id) is not None:
                raise faults.Conflict(f"Image with identifier {image_id} already exists!")
            limit = self.config.image_count_quota
            if limit >= 0 and owner is not None:
                count = await s.scalar(select(func.count()).select_from(Image).where(
                    Image.owner == owner, Image.status != "deleted"))
                if (count or 0) >= limit:
                    raise faults.OverQuota(
                        f"Maximum number of images exceeded for project {owner}: {limit}.")
            s.add(image)
        return image

    def _check_quotas(self, properties: int, tags: int) -> None:
        if 0 <= self.config.image_property_quota < properties:
            raise faults.OverQuota(
                f"Attempted: {properties}, Maximum: {self.config.image_property_quota}: "
                "maximum number of image properties exceeded.")
        if 0 <= self.config.image_tag_quota < tags:
            raise faults.OverQuota(f"Attempted: {tags}, Maximum: {self.config.image_tag_quota}: "
                                   "maximum number of tags exceeded.")

    async def update(self, ctx: RequestContext, image_id: str, changes: builtins.list[Change]) -> Image:
        """Apply JSON-Patch operations (modify_image; publicize_image or communitize_image to
        widen the visibility; context_is_admin to give the image away)."""
        async with self.db.transaction() as s:
            image = await self.load(s, ctx, image_id, for_update=True)
            ctx.enforce("modify_image", image_target(image))
            core: dict[str, Any] = {k: getattr(image, k) for k in SETTABLE if k != "tags"}
            core["tags"] = [t.value for t in image.tags]
            props: dict[str, str] = {p.name: p.value for p in image.properties}
            for change in changes:
                key, value = change.name, change.value
                if change.op == "remove":
                    if key in core:
                        raise webob_fault(faults.Forbidden, f"Property {key} may not be removed.")
                    if key not in props:
                        raise webob_fault(faults.Conflict, f"Property {key} does not exist.")
                    del props[key]
                elif key in core:
                    core[key] = list(dict.fromkeys(value)) if key == "tags" else value
                else:
                    if change.op == "replace" and key not in props:
                        raise webob_fault(faults.Conflict, f"Property {key} does not exist.")
                    if value is None:
                        props.pop(key, None)
                    else:
                        props[key] = value
            self._apply(ctx, image, core, props)
            image.updated_at = utcnow()
        return image

    def _apply(self, ctx: RequestContext, image: Image, core: dict[str, Any],
               props: dict[str, str]) -> None:
        if core["visibility"] != image.visibility:
            self._may_share(ctx, core["visibility"], image_target(image))
        if core["owner"] != image.owner and not ctx.can("context_is_admin"):
            raise webob_fault(faults.Forbidden, "Owner can't be updated by non admin.")
        for key in ("disk_format", "container_format"):
            if core[key] != getattr(image, key) and image.status != "queued":
                raise faults.Forbidden(f"Attribute {key} can be only replaced for a queued image.")
        self._check_quotas(len(props), len(core["tags"]))
        for key, value in core.items():
            if key != "tags":
                setattr(image, key, value)
        old_tags = {t.value: t for t in image.tags}
        image.tags = [old_tags.get(t) or ImageTag(value=t) for t in core["tags"]]
        old_props = {p.name: p for p in image.properties}
        new_props = []
        for name, value in props.items():
            prop = old_props.get(name) or ImageProperty(name=name, value=value)
            prop.value = value
            new_props.append(prop)
        image.properties = new_props

    async def delete(self, ctx: RequestContext, image_id: str) -> str | None:
        """Mark an image deleted; returns the stores holding its data, for the caller to empty."""
        async with self.db.transaction() as s:
            image = await self.load(s, ctx, image_id, for_update=True,
                                    missing="Failed to find image {id} to delete")
            ctx.enforce("delete_image", image_target(image))
            if image.protected:
                raise faults.Forbidden(f"Image {image.id} is protected and cannot be deleted.")
            stores = image.stores
            now = utcnow()
            image.status, image.deleted_at, image.updated_at, image.stores = ("deleted", now, now,
                                                                              None)
        return stores

    async def set_status(self, ctx: RequestContext, image_id: str,
                         action: Literal["deactivate", "reactivate"]) -> None:
        """deactivate or reactivate (the rule has the action's name)."""
        async with self.db.transaction() as s:
            image = await self.load(s, ctx, image_id, for_update=True)
            ctx.enforce(action, image_target(image))
            if image.status not in ("active", "deactivated"):
                raise faults.Forbidden(f"Not allowed to {action} image in status "
                                       f"'{image.status}'")
            image.status = "deactivated" if action == "deactivate" else "active"
            image.updated_at = utcnow()

    async def transition(self, image_id: str, from_status: Sequence[str], to_status: str, *,
                         holder: str | None = None, **values: Any) -> bool:
        """Move an image between statuses if it is in one of `from_status` (and, with `holder`,
        if that worker still holds its claim); False otherwise."""
        q = update(Image).where(Image.id == image_id, Image.status.in_(from_status))
        if holder is not None:
            q = q.where(Image.claimed_by == holder)
        async with self.db.transaction() as s:
            result = await s.execute(q.values(status=to_status, updated_at=utcnow(), **values))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- claims: which worker's importer agent moves an image's data --
    async def claim(self, image_id: str, worker: str, lease: float) -> bool:
        """Take the image for `worker` for `lease` seconds, by compare-and-set: only if nobody
        holds it, the worker already does, or the holder's claim has lapsed."""
        now = utcnow()
        async with self.db.transaction() as s:
            result = await s.execute(update(Image).where(
                Image.id == image_id, Image.status != "deleted",
                or_(Image.claimed_by.is_(None), Image.claimed_by == worker,
                    Image.claim_expires < now)).values(
                claimed_by=worker, claim_expires=now + timedelta(seconds=lease)))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def renew(self, image_id: str, worker: str, lease: float) -> bool:
        """Extend the worker's claim; False if it holds it no longer (lapsed and taken by
        another worker, or the image was deleted)."""
        async with self.db.transaction() as s:
            result = await s.execute(update(Image).where(
                Image.id == image_id, Image.status != "deleted",
                Image.claimed_by == worker).values(
                claim_expires=utcnow() + timedelta(seconds=lease)))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release(self, image_id: str, worker: str) -> None:
        async with self.db.transaction() as s:
            await s.execute(update(Image).where(
                Image.id == image_id, Image.claimed_by == worker).values(
                claimed_by=None, claim_expires=None))

    # -- stores --
    async def _locked(self, s: AsyncSession, image_id: str) -> Image | None:
        q = select(Image).where(Image.id == image_id, Image.status != "deleted").with_for_update()
        return (await s.scalars(q)).first()

    async def add_store(self, image_id: str, store_id: str, holder: str) -> bool:
        """Record one more store holding the data; False if the image is gone or not active,
        or `holder` no longer holds its claim."""
        async with self.db.transaction() as s:
            image = await self._locked(s, image_id)
            if image is None or image.status not in ("active", "deactivated") \
                    or image.claimed_by != holder:
                return False
            held = set(filter(None, (image.stores or "").split(",")))
            image.stores = ",".join(sorted(held | {store_id}))
            image.updated_at = utcnow()
        return True

    async def remove_store(self, ctx: RequestContext, image_id: str, store_id: str) -> None:
        """Forget one store's copy of the data (delete_image_location), never the last."""
        async with self.db.transaction() as s:
            image = await self.load(s, ctx, image_id, for_update=True)
            ctx.enforce("delete_image_location", image_target(image))
            if image.status != "active":
                raise faults.Conflict(f"Image {image_id} is {image.status}; only an active image "
                                      "can be removed from a store.")
            held = [h for h in (image.stores or "").split(",") if h]
            if store_id not in held:
                raise faults.NotFound(f"Image {image_id} is not in store {store_id}.")
            if len(held) == 1:
                raise faults.Conflict(f"Store {store_id} holds the only copy of image {image_id}; "
                                      "delete the image instead.")
            image.stores = ",".join(h for h in held if h != store_id)
            image.updated_at = utcnow()

    async def set_import_progress(self, image_id: str, *, importing: builtins.list[str],
                                  failed: builtins.list[str]) -> None:
        async with self.db.transaction() as s:
            image = await self._locked(s, image_id)
            if image is not None:
                set_progress(image, importing=importing, failed=failed)

    # -- tags --
    async def add_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        async with self.db.transaction() as s:
            image = await self.load(s, ctx, image_id, for_update=True, missing=IMAGE_NOT_FOUND)
            ctx.enforce("modify_image", image_target(image))
            if tag in [t.value for t in image.tags]:
                return
            self._check_quotas(0, len(image.tags) + 1)
            image.tags.append(ImageTag(value=tag))
            image.updated_at = utcnow()

    async def delete_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        async with self.db.transaction() as s:
            image = await self.load(s, ctx, image_id, for_update=True, missing=IMAGE_NOT_FOUND)
            ctx.enforce("modify_image", image_target(image))
            keep = [t for t in image.tags if t.value != tag]
            if len(keep) == len(image.tags):
                raise webob_fault(faults.NotFound)  # Glance's bare HTTPNotFound(): no detail
            image.tags = keep
            image.updated_at = utcnow()

    async def bytes_used(self, owner: str, excluding: str | None = None) -> int:
        q = select(func.coalesce(func.sum(Image.size), 0)).where(
            Image.owner == owner, Image.status != "deleted")
        if excluding:
            q = q.where(Image.id != excluding)
        async with self.db.read() as s:
            return int(await s.scalar(q) or 0)
