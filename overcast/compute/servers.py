"""Servers: create, list, show, update, delete and the actions, as Nova's compute API does them.

The API writes desired state (vm_state/task_state) and an instance action, commits, then hands
the work to the conductor (build) or pokes the host's agent; the agent converges and reports.
An action the state does not allow is a 409 with Nova's words; a locked server refuses
actions to non-admins (409 "Instance ... is locked").
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import secrets
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import clock, faults
from overcast.common.clients import ImageClient, ServiceError
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.common.tasks import cancel_and_wait
from overcast.compute.conductor import Conductor, desired_of
from overcast.compute.instance_models import (
    Instance,
    InstanceAction,
    InstanceFault,
    InstanceMetadata,
    InstanceTag,
    Migration,
)
from overcast.compute.instance_states import TaskState as T
from overcast.compute.instance_states import VmState as V
from overcast.compute.instance_states import allowed, states_for_status
from overcast.compute.models import Flavor, FlavorProject, KeyPair, ServerGroup, ServerGroupMember
from overcast.compute.networking import NetworkRequest, PortsView, ServerNetworks
from overcast.config import ComputeSection

__all__ = ["LIVE_MIGRATION_IN_PROGRESS", "BuildRequest", "ListFilters", "ServerService",
           "check_disk_config"]

MAX_TAGS = 50


@dataclass
class BuildRequest:
    name: str
    flavor_ref: str
    image_ref: str
    key_name: str | None = None
    user_data: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    config_drive: bool = False
    #: "auto", "none", or the checked list of compute/networking.py's parse_requests.
    networks: str | list[dict[str, Any]] = "auto"
    min_count: int = 1
    max_count: int = 1
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    hostname: str | None = None
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    #: OS-DCF:diskConfig AUTO (True) or MANUAL.
    auto_disk_config: bool = False
    #: Security groups (names or ids) for the ports this server gets.
    security_groups: list[str] = field(default_factory=list)


@dataclass
class ListFilters:
    all_tenants: bool = False
    project_id: str | None = None
    user_id: str | None = None
    name: str | None = None
    status: str | None = None
    image: str | None = None
    flavor: str | None = None
    host: str | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    reservation_id: str | None = None
    ip: str | None = None
    locked: bool | None = None
    availability_zone: str | None = None
    tags: list[str] = field(default_factory=list)
    tags_any: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    not_tags_any: list[str] = field(default_factory=list)
    deleted: bool = False
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int = 1000
    marker: str | None = None


SORT_COLUMNS: dict[str, Any] = {
    "created_at": Instance.created_at, "updated_at": Instance.updated_at,
    "display_name": Instance.display_name, "uuid": Instance.uuid, "vm_state": Instance.vm_state,
    "task_state": Instance.task_state, "power_state": Instance.power_state,
    "host": Instance.host, "node": Instance.node, "project_id": Instance.project_id,
    "user_id": Instance.user_id, "launched_at": Instance.launched_at,
    "terminated_at": Instance.terminated_at, "availability_zone": Instance.availability_zone,
    "hostname": Instance.hostname, "image_ref": Instance.image_ref, "key_name": Instance.key_name,
    "display_description": Instance.display_description, "launch_index": Instance.launch_index,
    "locked": Instance.locked_by, "progress": Instance.progress,
    "access_ip_v4": Instance.access_ip_v4, "access_ip_v6": Instance.access_ip_v6,
    "config_drive": Instance.config_drive, "kernel_id": Instance.image_ref,
    "ramdisk_id": Instance.image_ref, "root_device_name": Instance.hostname,
    "instance_type_id": Instance.id, "id": Instance.id,
}


def hostname_of(name: str) -> str:
    """Nova's sanitize_hostname: lowercase, [a-z0-9-], at most 63 characters."""
    h = re.sub(r"[ _.]", "-", name.lower())
    h = re.sub(r"[^a-z0-9-]", "", h).strip("-")[:63].strip("-")
    return h or "server"


def flavor_dict(f: Flavor) -> dict[str, Any]:
    return {"id": f.flavorid, "name": f.name, "vcpus": f.vcpus, "memory_mb": f.memory_mb,
            "root_gb": f.root_gb, "ephemeral_gb": f.ephemeral_gb, "swap": f.swap,
            "extra_specs": {e.key: e.value for e in f.extra_specs}}


def image_meta(image: dict[str, Any]) -> dict[str, Any]:
    core = {"name", "disk_format", "container_format", "min_ram", "min_disk", "size",
            "id", "status", "visibility", "checksum", "owner", "protected", "tags",
            "created_at", "updated_at", "file", "schema", "self", "os_hash_algo",
            "os_hash_value", "virtual_size", "locations", "direct_url", "os_hidden", "stores"}
    return {"name": image.get("name"), "disk_format": image.get("disk_format"),
            "container_format": image.get("container_format"),
            "min_ram": image.get("min_ram") or 0, "min_disk": image.get("min_disk") or 0,
            "size": image.get("size"),
            "properties": {k: v for k, v in image.items() if k not in core}}


def check_disk_config(auto: bool | None, meta: dict[str, Any], image_id: str) -> None:
    """OS-DCF:diskConfig AUTO on an image whose `auto_disk_config` property is "disabled" is
    Nova's 400 (AutoDiskConfigDisabledByImage), on create, rebuild and resize alike."""
    prop = (meta.get("properties") or {}).get("auto_disk_config")
    if auto and isinstance(prop, str) and prop.strip().lower() == "disabled":
        raise faults.BadRequest(f"Requested image {image_id} has automatic disk resize "
                                "disabled.")


#: Nova's statuses of a live migration under way.
LIVE_MIGRATION_IN_PROGRESS = ("queued", "preparing", "running", "post-migrating")


class ServerService:
    def __init__(self, db: Database, conductor: Conductor, images: ImageClient,
                 config: ComputeSection, networks: ServerNetworks | None = None):
        self.db = db
        self.conductor = conductor
        self.images = images
        self.config = config
        self.networks = networks or ServerNetworks(None)
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- scoping ------------------------------------------------------------------------

    @staticmethod
    def _visible(ctx: RequestContext, all_projects: bool = False) -> Select[Any]:
        q = select(Instance)
        if not all_projects:
            q = q.where(Instance.project_id == ctx.project_id)
        return q

    async def _load(self, s: AsyncSession, ctx: RequestContext, server_id: str, *,
                    deleted: bool = False) -> Instance:
        """The server if the caller's project owns it, or any server for an admin (Nova's
        project_only queries); else 404, never 403."""
        admin = ctx.can("context_is_admin")
        q = self._visible(ctx, admin).where(Instance.uuid == server_id)
        inst: Instance | None = await s.scalar(q)
        if inst is None or (inst.deleted and not deleted):
            raise faults.NotFound(f"Instance {server_id} could not be found.")
        return inst

    async def load(self, s: AsyncSession, ctx: RequestContext, server_id: str) -> Instance:
        """The server in session `s`, scoped as every server route scopes it (404)."""
        return await self._load(s, ctx, server_id)

    async def get(self, ctx: RequestContext, server_id: str) -> Instance:
        async with self.db.read() as s:
            return await self._load(s, ctx, server_id)

    async def port_views(self, token: str, insts: Sequence[Instance]) -> dict[str, PortsView]:
        """Each server's addresses and security groups, from its ports (servers that never
        had ports are left out)."""
        with_ports = [(i.uuid, list(i.network_info or [])) for i in insts
                      if i.network_info or i.requested_networks]
        if not with_ports or self.networks.client is None:
            return {}
        return await self.networks.views(token, with_ports)

    async def faults_of(self, uuids: Sequence[str]) -> dict[str, InstanceFault]:
        if not uuids:
            return {}
        async with self.db.read() as s:
            rows = (await s.scalars(select(InstanceFault).where(
                InstanceFault.instance_uuid.in_(list(uuids))).order_by(InstanceFault.id))).all()
        return {f.instance_uuid: f for f in rows}

    # --- create -------------------------------------------------------------------------

    async def stop(self) -> None:
        """Cancel builds still being handed to the conductor (shutdown)."""
        await cancel_and_wait(self._tasks)

    def _run(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _image(self, ctx: RequestContext, token: str, image_ref: str) -> dict[str, Any]:
        image_id = image_ref.rstrip("/").rsplit("/", 1)[-1]
        try:
            image = await self.images.get_image(token, image_id)
        except ServiceError as exc:
            raise faults.BadRequest(f"Image {image_id} could not be read: {exc}") from exc
        if image is None:
            raise faults.BadRequest(f"Image {image_id} could not be found.")
        if image.get("status") != "active":
            raise faults.BadRequest(f"Image {image_id} is not active.")
        return image

    async def _flavor(self, s: AsyncSession, ctx: RequestContext, ref: str) -> Flavor:
        flavorid = ref.rstrip("/").rsplit("/", 1)[-1]
        f = await s.scalar(select(Flavor).where(Flavor.flavorid == flavorid))
        if f is not None and not f.is_public:
            ok = await s.scalar(select(FlavorProject).where(
                FlavorProject.flavor_id == f.id, FlavorProject.project_id == ctx.project_id))
            if ok is None and not ctx.can("os_compute_api:servers:create:forced_host"):
                f = None
        if f is None:
            raise faults.BadRequest(f"Flavor {flavorid} could not be found.")
        if f.disabled:
            raise faults.BadRequest(f"Flavor {flavorid} could not be found.")
        return f

    @staticmethod
    def check_fits(f: Flavor, image: dict[str, Any]) -> None:
        if f.memory_mb < (image.get("min_ram") or 0):
            raise faults.BadRequest("Flavor's memory is too small for requested image.")
        if f.root_gb and f.root_gb < (image.get("min_disk") or 0):
            raise faults.BadRequest("Flavor's disk is too small for requested image.")
        size = image.get("size") or 0
        if f.root_gb and size > f.root_gb * 1024**3:
            raise faults.BadRequest("Flavor's disk is too small for requested image.")

    async def _quota(self, s: AsyncSession, ctx: RequestContext, f: Flavor, count: int,
                     min_count: int) -> int:
        """How many of `count` fit the project's quota (at least min_count, else 403)."""
        rows = (await s.execute(select(func.count(), func.coalesce(func.sum(0), 0)).where(
            Instance.project_id == ctx.project_id, Instance.deleted.is_(False)))).one()
        used = int(rows[0])
        insts = (await s.scalars(select(Instance.flavor).where(
            Instance.project_id == ctx.project_id, Instance.deleted.is_(False)))).all()
        cores = sum(int(fl.get("vcpus", 0)) for fl in insts)
        ram = sum(int(fl.get("memory_mb", 0)) for fl in insts)
        limits = await self._limits(s, ctx.project_id or "")
        fit = count
        for name, have, per in (("instances", used, 1), ("cores", cores, f.vcpus),
                                ("ram", ram, f.memory_mb)):
            limit = limits[name]
            if limit < 0 or per == 0:
                continue
            room = (limit - have) // per
            if room < min_count:
                raise faults.Forbidden(
                    f"Quota exceeded for {name}: Requested {per * min_count}, but already used "
                    f"{have} of {limit} {name}", )
            fit = min(fit, room)
        return fit

    async def _limits(self, s: AsyncSession, project_id: str) -> dict[str, int]:
        from overcast.compute.models import Quota, QuotaClass

        limits = {"instances": self.config.quota_instances, "cores": self.config.quota_cores,
                  "ram": self.config.quota_ram}
        for row in (await s.scalars(select(QuotaClass).where(
                QuotaClass.class_name == "default"))).all():
            if row.resource in limits:
                limits[row.resource] = row.hard_limit
        for q in (await s.scalars(select(Quota).where(Quota.project_id == project_id))).all():
            if q.resource in limits:
                limits[q.resource] = q.hard_limit
        return limits

    async def _zone_exists(self, s: AsyncSession, zone: str) -> bool:
        from overcast.compute.models import AggregateMetadata

        if zone == self.config.default_availability_zone:
            return True
        found = await s.scalar(select(AggregateMetadata).where(
            AggregateMetadata.key == "availability_zone", AggregateMetadata.value == zone))
        return found is not None

    async def _requested_networks(self, ctx: RequestContext, req: BuildRequest, token: str
                                  ) -> tuple[str, list[NetworkRequest]]:
        """(the instance's `networks` word, its checked requests). Without a Networking
        service "auto" and "none" boot without ports and a list is refused."""
        if not await self.networks.enabled():
            if isinstance(req.networks, list):
                if req.networks:
                    raise faults.BadRequest("Networks and ports cannot be requested: this cloud "
                                            "has no Networking service; use \"none\" or "
                                            "\"auto\".")
                return "none", []
            return req.networks, []
        may_external = ctx.can("network:attach_external_network",
                               {"project_id": ctx.project_id})
        checked = await self.networks.validate(token, ctx.project_id or "", req.networks,
                                               req.max_count, may_external,
                                               req.security_groups)
        if isinstance(req.networks, str):
            return req.networks, checked
        return ("list" if checked else "none"), checked

    async def create(self, ctx: RequestContext, req: BuildRequest, token: str, request_id: str
                     ) -> tuple[list[Instance], str]:
        image = await self._image(ctx, token, req.image_ref) if req.image_ref else None
        if image is None:
            raise faults.BadRequest("Block Device Mapping is Invalid: Boot sequence for the "
                                    "instance and image/block device mapping combination is "
                                    "not valid.")
        check_disk_config(req.auto_disk_config, image_meta(image), image["id"])
        if req.user_data is not None:
            try:
                base64.b64decode(req.user_data, validate=True)
            except (binascii.Error, ValueError):
                raise faults.BadRequest("User data needs to be valid base 64.") from None
        if len(req.metadata) > self.config.quota_metadata_items >= 0:
            raise faults.Forbidden("Quota exceeded for metadata_items: Requested "
                                   f"{len(req.metadata)}, but the limit is "
                                   f"{self.config.quota_metadata_items}")
        group_uuid = req.scheduler_hints.get("group")
        networks, requested = await self._requested_networks(ctx, req, token)
        reservation = "r-" + secrets.token_hex(4)
        now = clock.utcnow()
        async with self.db.transaction() as s:
            flavor = await self._flavor(s, ctx, req.flavor_ref)
            self.check_fits(flavor, image)
            key_data = None
            if req.key_name is not None:
                kp = await s.scalar(select(KeyPair).where(KeyPair.user_id == ctx.user_id,
                                                          KeyPair.name == req.key_name))
                if kp is None:
                    raise faults.BadRequest("Invalid key_name provided.")
                key_data = kp.public_key
            zone = req.availability_zone
            if zone:
                az = zone.split(":", 1)[0]
                if ":" in zone:
                    ctx.enforce("os_compute_api:servers:create:forced_host")
                if az and not await self._zone_exists(s, az):
                    raise faults.BadRequest("The requested availability zone is not available")
            group = None
            if group_uuid:
                group = await s.scalar(select(ServerGroup).where(
                    ServerGroup.uuid == str(group_uuid)))
                if group is None:
                    raise faults.BadRequest(f"Invalid server group {group_uuid}")
            count = await self._quota(s, ctx, flavor, req.max_count, req.min_count)
            insts: list[Instance] = []
            for i in range(count):
                name = req.name if count == 1 else f"{req.name}-{i + 1}"
                inst = Instance(
                    uuid=str(uuidlib.uuid4()), project_id=ctx.project_id, user_id=ctx.user_id,
                    display_name=name, display_description=req.description,
                    hostname=hostname_of(req.hostname or name) if count == 1 or not req.hostname
                    else f"{hostname_of(req.hostname)}-{i + 1}",
                    reservation_id=reservation, launch_index=i, image_ref=image["id"],
                    image_meta=image_meta(image), flavor=flavor_dict(flavor),
                    key_name=req.key_name, key_data=key_data, user_data=req.user_data,
                    availability_zone=(zone.split(":", 1)[0] or None) if zone else None,
                    pinned_availability_zone=zone, config_drive="True" if req.config_drive
                    else "", networks=networks, requested_networks=requested,
                    network_info=[], vm_state=V.BUILDING,
                    task_state=T.SCHEDULING, power_state=0, scheduler_hints=req.scheduler_hints,
                    group_uuid=group.uuid if group else None,
                    access_ip_v4=req.access_ip_v4, access_ip_v6=req.access_ip_v6,
                    auto_disk_config=req.auto_disk_config, created_at=now, updated_at=now, alternates=[])
                inst.metadata_items = [InstanceMetadata(key=k, value=v)
                                       for k, v in req.metadata.items()]
                inst.tags = [InstanceTag(tag=t) for t in dict.fromkeys(req.tags)]
                s.add(inst)
                s.add(InstanceAction(action="create", instance_uuid=inst.uuid,
                                     request_id=request_id, user_id=ctx.user_id,
                                     project_id=ctx.project_id or "", start_time=now))
                if group is not None:
                    s.add(ServerGroupMember(group_id=group.id, instance_uuid=inst.uuid))
                insts.append(inst)
        self._run(self.conductor.build([i.uuid for i in insts], {"auth_token": token}))
        return insts, reservation

    # --- list ---------------------------------------------------------------------------

    async def list_servers(self, ctx: RequestContext, flt: ListFilters, token: str = ""
                           ) -> list[Instance]:
        q = self._visible(ctx, flt.all_tenants)
        if flt.project_id:
            q = q.where(Instance.project_id == flt.project_id)
        if flt.user_id:
            q = q.where(Instance.user_id == flt.user_id)
        if flt.changes_since is not None:
            q = q.where(Instance.updated_at >= flt.changes_since)
        if flt.changes_before is not None:
            q = q.where(Instance.updated_at <= flt.changes_before)
        if not flt.deleted and flt.changes_since is None and flt.changes_before is None:
            q = q.where(Instance.deleted.is_(False))
        elif flt.deleted:
            q = q.where(Instance.deleted.is_(True))
        if flt.status:
            statuses = [st.strip() for st in flt.status.split(",") if st.strip()]
            clauses: list[Any] = []
            for st in statuses:
                if st.upper() == "DELETED":
                    clauses.append(Instance.deleted.is_(True))
                    continue
                vms, tasks = states_for_status(st)
                if not vms:
                    continue
                if "default" in tasks:
                    clauses.append(Instance.vm_state.in_(vms))
                else:
                    clauses.append(and_(Instance.vm_state.in_(vms),
                                        Instance.task_state.in_([t for t in tasks if t])))
            if not clauses:
                return []
            q = q.where(or_(*clauses))
        if flt.image:
            q = q.where(Instance.image_ref == flt.image.rstrip("/").rsplit("/", 1)[-1])
        if flt.host:
            q = q.where(Instance.host == flt.host)
        if flt.reservation_id:
            q = q.where(Instance.reservation_id == flt.reservation_id)
        if flt.locked is not None:
            q = q.where(Instance.locked_by.is_not(None) if flt.locked
                        else Instance.locked_by.is_(None))
        if flt.availability_zone:
            q = q.where(Instance.availability_zone == flt.availability_zone)
        sort = flt.sort or [("created_at", "desc")]
        order = []
        for key, direction in sort:
            col = SORT_COLUMNS[key]
            order.append(col.desc() if direction == "desc" else col.asc())
        order.append(Instance.id.desc() if sort[-1][1] == "desc" else Instance.id.asc())
        q = q.order_by(*order)
        async with self.db.read() as s:
            rows: list[Instance] = list((await s.scalars(q)).all())
        rows = self._post_filter(rows, flt)
        if flt.ip:
            found = await self.networks.servers_by_ip(token, flt.ip) \
                if self.networks.client is not None else set()
            rows = [r for r in rows if r.uuid in found]
        if flt.marker:
            ids = [r.uuid for r in rows]
            if flt.marker not in ids:
                raise faults.BadRequest(f"marker [{flt.marker}] not found")
            rows = rows[ids.index(flt.marker) + 1:]
        return rows[:flt.limit]

    @staticmethod
    def _post_filter(rows: list[Instance], flt: ListFilters) -> list[Instance]:
        if flt.name:
            try:
                pat = re.compile(flt.name)
            except re.error:
                pat = re.compile(re.escape(flt.name))
            rows = [r for r in rows if pat.search(r.display_name)]
        if flt.flavor:
            rows = [r for r in rows if r.flavor.get("id") == flt.flavor]
        for attr, mode in (("tags", all), ("tags_any", any)):
            want = getattr(flt, attr)
            if want:
                rows = [r for r in rows if mode(t in {x.tag for x in r.tags} for t in want)]
        if flt.not_tags:
            rows = [r for r in rows
                    if not all(t in {x.tag for x in r.tags} for t in flt.not_tags)]
        if flt.not_tags_any:
            rows = [r for r in rows
                    if not any(t in {x.tag for x in r.tags} for t in flt.not_tags_any)]
        return rows

    # --- update / delete ----------------------------------------------------------------

    async def update(self, ctx: RequestContext, server_id: str, changes: dict[str, Any]
                     ) -> Instance:
        async with self.db.transaction() as s:
            inst = await self._load(s, ctx, server_id)
            ctx.enforce("os_compute_api:servers:update", {"project_id": inst.project_id})
            if "name" in changes:
                inst.display_name = changes["name"]
            if "description" in changes:
                inst.display_description = changes["description"]
            if "hostname" in changes:
                inst.hostname = changes["hostname"]
            if "access_ip_v4" in changes:
                inst.access_ip_v4 = changes["access_ip_v4"]
            if "access_ip_v6" in changes:
                inst.access_ip_v6 = changes["access_ip_v6"]
            if "auto_disk_config" in changes:
                inst.auto_disk_config = changes["auto_disk_config"]
            inst.updated_at = clock.utcnow()
        return inst

    def _check_locked(self, ctx: RequestContext, inst: Instance, rule: str) -> None:
        if inst.locked_by is not None and not ctx.can(rule, {"project_id": inst.project_id}):
            raise faults.Conflict(f"Instance {inst.uuid} is locked")

    async def delete(self, ctx: RequestContext, server_id: str, request_id: str, *,
                     force: bool = False) -> None:
        async with self.db.transaction() as s:
            inst = await self._load(s, ctx, server_id)
            rule = ("os_compute_api:os-deferred-delete:force" if force
                    else "os_compute_api:servers:delete")
            ctx.enforce(rule, {"project_id": inst.project_id})
            if inst.locked_by is not None and not ctx.can(
                    "os_compute_api:os-lock-server:unlock:unlock_override",
                    {"project_id": inst.project_id}):
                raise faults.Conflict(f"Instance {inst.uuid} is locked")
            inst.task_state = T.DELETING
            inst.updated_at = clock.utcnow()
            s.add(InstanceAction(action="delete", instance_uuid=inst.uuid, request_id=request_id,
                                 user_id=ctx.user_id, project_id=inst.project_id,
                                 start_time=clock.utcnow()))
            host = inst.host
            desired = desired_of(inst)
        if host is None:
            await self.conductor.finish_delete(server_id)
        else:
            await self.conductor.poke(server_id, host, desired)

    # --- actions ------------------------------------------------------------------------

    async def action(self, ctx: RequestContext, server_id: str, name: str, rule: str,
                     request_id: str, *, state_action: str | None, task_state: str | None,
                     token: str | None = None, updates: dict[str, Any] | None = None,
                     record: str | None = None, lock_rule: str | None = None,
                     extra: dict[str, Any] | None = None) -> Instance:
        """Move a server into a task (Nova's check_instance_state + instance.save with
        expected_task_state), record the action, poke its host."""
        async with self.db.transaction() as s:
            inst = await self._load(s, ctx, server_id)
            ctx.enforce(rule, {"project_id": inst.project_id, "user_id": inst.user_id})
            if lock_rule is not None:
                self._check_locked(ctx, inst, lock_rule)
            if state_action is not None and not allowed(state_action, inst.vm_state,
                                                        inst.task_state):
                attr, state = (("task_state", inst.task_state) if inst.task_state
                               else ("vm_state", inst.vm_state))
                raise faults.Conflict(f"Cannot '{name}' instance {inst.uuid} while it is in "
                                      f"{attr} {state}")
            if task_state is not None:
                inst.task_state = task_state
            for key, value in (updates or {}).items():
                setattr(inst, key, value)
            inst.updated_at = clock.utcnow()
            if record:
                s.add(InstanceAction(action=record, instance_uuid=inst.uuid,
                                     request_id=request_id, user_id=ctx.user_id,
                                     project_id=inst.project_id, start_time=clock.utcnow()))
            if record in ("resize", "confirmResize", "revertResize"):
                await self._record_migration(s, ctx, inst, record)
            host = inst.host
            desired = desired_of(inst)
        if host is not None and task_state is not None:
            await self.conductor.poke(server_id, host, desired,
                                      {"auth_token": token, **(extra or {})} if token else None)
        return inst

    async def unshelve(self, ctx: RequestContext, server_id: str, request_id: str, token: str,
                       rule: str, lock_rule: str) -> None:
        """A SHELVED server starts again on its host; a SHELVED_OFFLOADED one goes back to the
        scheduler (the conductor places it and its host boots the shelved image)."""
        inst = await self.action(ctx, server_id, "unshelve", rule, request_id,
                                 state_action="unshelve", task_state=T.UNSHELVING,
                                 record="unshelve", token=token, lock_rule=lock_rule)
        if inst.host is None:
            self._run(self.conductor.unshelve(server_id, {"auth_token": token}))

    async def _record_migration(self, s: AsyncSession, ctx: RequestContext, inst: Instance,
                                record: str) -> None:
        """A resize starts a migration (pre-migrating; resizes here stay on their host); a
        confirm or revert moves the finished one on (Nova's confirming, reverting)."""
        now = clock.utcnow()
        if record == "resize":
            rows = await s.execute(select(Flavor.flavorid, Flavor.id).where(
                Flavor.flavorid.in_([inst.flavor.get("id"), (inst.new_flavor or {}).get("id")])))
            ids: dict[Any, int] = {flavorid: ident for flavorid, ident in rows}
            s.add(Migration(uuid=str(uuidlib.uuid4()), instance_uuid=inst.uuid,
                            migration_type="resize", status="pre-migrating",
                            source_compute=inst.host, dest_compute=inst.host,
                            source_node=inst.node, dest_node=inst.node, dest_host=None,
                            old_instance_type_id=ids.get(inst.flavor.get("id")),
                            new_instance_type_id=ids.get((inst.new_flavor or {}).get("id")),
                            user_id=ctx.user_id, project_id=inst.project_id,
                            created_at=now, updated_at=now))
            return
        mig = await s.scalar(select(Migration).where(
            Migration.instance_uuid == inst.uuid, Migration.status == "finished"
        ).order_by(Migration.id.desc()).limit(1))
        if mig is not None:
            mig.status = "confirming" if record == "confirmResize" else "reverting"
            mig.updated_at = now

    async def migrations(self, flt: dict[str, Any], *, since: datetime | None = None,
                         before: datetime | None = None, newest_first: bool = True,
                         limit: int | None = None, marker: str | None = None
                         ) -> list[Migration]:
        """os-migrations: every server's migrations, newest first (Nova's created_at, id
        descending) or oldest first, `flt` matching columns exactly, `host` either end."""
        q = select(Migration).where(Migration.hidden.is_(False))
        for key, value in flt.items():
            if key == "host":
                q = q.where(or_(Migration.source_compute == value,
                                Migration.dest_compute == value))
            else:
                q = q.where(getattr(Migration, key) == value)
        if since is not None:
            q = q.where(Migration.updated_at >= since)
        if before is not None:
            q = q.where(Migration.updated_at <= before)
        async with self.db.read() as s:
            if marker is not None:
                after = await s.scalar(select(Migration).where(Migration.uuid == marker))
                if after is None:
                    raise faults.BadRequest(f"Marker {marker} could not be found.")
                q = q.where(or_(Migration.created_at < after.created_at,
                                and_(Migration.created_at == after.created_at,
                                     Migration.id < after.id)))
            q = q.order_by(*((Migration.created_at.desc(), Migration.id.desc())
                             if newest_first else (Migration.id,)))
            if limit is not None:
                q = q.limit(limit)
            return list((await s.scalars(q)).all())

    async def server_migrations(self, ctx: RequestContext, server_id: str, rule: str, *,
                                live_in_progress: bool) -> list[Migration]:
        """A server's migrations (servers/{id}/migrations), only its live migrations under
        way if `live_in_progress`. `rule` is checked first, as Nova does, then the server
        must be one the caller can see (404)."""
        ctx.enforce(rule)
        async with self.db.read() as s:
            inst = await self._load(s, ctx, server_id)
            q = select(Migration).where(Migration.instance_uuid == inst.uuid)
            if live_in_progress:
                q = q.where(Migration.migration_type == "live-migration",
                            Migration.status.in_(LIVE_MIGRATION_IN_PROGRESS))
            return list((await s.scalars(q.order_by(Migration.id))).all())

    async def flavor_for_resize(self, ctx: RequestContext, inst: Instance, ref: str
                                ) -> dict[str, Any]:
        async with self.db.read() as s:
            f = await self._flavor(s, ctx, ref)
        if f.flavorid == inst.flavor.get("id"):
            raise faults.BadRequest("When resizing, instances must change flavor!")
        if inst.image_meta:
            self.check_fits(f, {"min_ram": inst.image_meta.get("min_ram"),
                                "min_disk": inst.image_meta.get("min_disk")})
        if f.root_gb and f.root_gb < int(inst.flavor.get("root_gb", 0)):
            raise faults.BadRequest("Resize error: Unable to resize disk down.")
        return flavor_dict(f)

    async def check_resize_quota(self, ctx: RequestContext, inst: Instance,
                                 new: dict[str, Any]) -> None:
        """A resize up needs quota room for the growth in cores and RAM (403 otherwise)."""
        async with self.db.read() as s:
            limits = await self._limits(s, inst.project_id)
            flavors = (await s.scalars(select(Instance.flavor).where(
                Instance.project_id == inst.project_id, Instance.deleted.is_(False)))).all()
        used = {"cores": sum(int(f.get("vcpus", 0)) for f in flavors),
                "ram": sum(int(f.get("memory_mb", 0)) for f in flavors)}
        grow = {"cores": int(new["vcpus"]) - int(inst.flavor.get("vcpus", 0)),
                "ram": int(new["memory_mb"]) - int(inst.flavor.get("memory_mb", 0))}
        for name in ("cores", "ram"):
            limit = limits[name]
            if limit >= 0 and grow[name] > 0 and used[name] + grow[name] > limit:
                raise faults.Forbidden(f"Quota exceeded for {name}: Requested {grow[name]}, "
                                       f"but already used {used[name]} of {limit} {name}")

    async def lock(self, ctx: RequestContext, server_id: str, request_id: str,
                   reason: str | None) -> None:
        async with self.db.transaction() as s:
            inst = await self._load(s, ctx, server_id)
            ctx.enforce("os_compute_api:os-lock-server:lock", {"project_id": inst.project_id,
                                                                "user_id": inst.user_id})
            # Nova: an admin's lock on another project's server is the admin's to lift.
            inst.locked_by = "owner" if ctx.project_id == inst.project_id else "admin"
            inst.locked_reason = reason
            inst.updated_at = clock.utcnow()
            s.add(InstanceAction(action="lock", instance_uuid=inst.uuid, request_id=request_id,
                                 user_id=ctx.user_id, project_id=inst.project_id,
                                 start_time=clock.utcnow(), finish_time=clock.utcnow()))

    async def unlock(self, ctx: RequestContext, server_id: str, request_id: str) -> None:
        async with self.db.transaction() as s:
            inst = await self._load(s, ctx, server_id)
            ctx.enforce("os_compute_api:os-lock-server:unlock", {"project_id": inst.project_id,
                                                                  "user_id": inst.user_id})
            inst.locked_by = None
            inst.locked_reason = None
            inst.updated_at = clock.utcnow()
            s.add(InstanceAction(action="unlock", instance_uuid=inst.uuid,
                                 request_id=request_id, user_id=ctx.user_id,
                                 project_id=inst.project_id, start_time=clock.utcnow(),
                                 finish_time=clock.utcnow()))

    async def console_output(self, ctx: RequestContext, server_id: str, length: int | None
                             ) -> str:
        async with self.db.read() as s:
            inst = await self._load(s, ctx, server_id)
        ctx.enforce("os_compute_api:os-console-output", {"project_id": inst.project_id})
        if inst.host is None or (inst.vm_state == V.BUILDING and inst.task_state != T.SPAWNING):
            raise faults.Conflict(f"Instance {inst.uuid} is not ready")
        try:
            return await self.conductor.agents.get_console_output(inst.host, inst.uuid, length)
        except Exception as exc:
            raise faults.Conflict(f"Console output of instance {inst.uuid} is not "
                                  f"available: {type(exc).__name__}") from None

    async def diagnostics(self, ctx: RequestContext, server_id: str) -> dict[str, Any]:
        """Nova's standard diagnostics (2.48), asked of the instance's compute agent."""
        async with self.db.read() as s:
            inst = await self._load(s, ctx, server_id)
        ctx.enforce("os_compute_api:os-server-diagnostics", {"project_id": inst.project_id})
        if inst.host is None or inst.vm_state == V.BUILDING:
            raise faults.Conflict(f"Cannot 'get_diagnostics' instance {inst.uuid} while it is "
                                  f"in vm_state {inst.vm_state}")
        try:
            return await self.conductor.agents.get_diagnostics(inst.host, inst.uuid)
        except Exception as exc:
            raise faults.Conflict(f"Diagnostics of instance {inst.uuid} are not available: "
                                  f"{type(exc).__name__}") from None

    # --- metadata, tags, actions --------------------------------------------------------

    async def metadata(self, ctx: RequestContext, server_id: str, rule: str) -> dict[str, str]:
        inst = await self.get(ctx, server_id)
        ctx.enforce(rule, {"project_id": inst.project_id})
        return {m.key: m.value for m in inst.metadata_items}

    async def replace_metadata(self, ctx: RequestContext, server_id: str,
                               items: dict[str, str], *, rule: str | None,
                               merge: bool = False, delete: str | None = None
                               ) -> dict[str, str]:
        async with self.db.transaction() as s:
            inst = await self._load(s, ctx, server_id)
            if rule is not None:
                ctx.enforce(rule, {"project_id": inst.project_id})
                self._check_locked(ctx, inst, "os_compute_api:os-lock-server:unlock:"
                                   "unlock_override")
            if inst.task_state is not None and rule is not None:
                raise faults.Conflict(f"Cannot 'update_metadata' instance {inst.uuid} while it "
                                      f"is in task_state {inst.task_state}")
            current = {m.key: m.value for m in inst.metadata_items}
            if delete is not None:
                if delete not in current:
                    raise faults.NotFound("Metadata item was not found")
                current.pop(delete)
            else:
                current = {**current, **items} if merge else dict(items)
            limit = self.config.quota_metadata_items
            if 0 <= limit < len(current):
                raise faults.Forbidden(f"Quota exceeded for metadata_items: Requested "
                                       f"{len(current)}, but the limit is {limit}")
            inst.metadata_items = [InstanceMetadata(key=k, value=v) for k, v in current.items()]
            inst.updated_at = clock.utcnow()
        return current

    async def tags(self, ctx: RequestContext, server_id: str, rule: str) -> list[str]:
        inst = await self.get(ctx, server_id)
        ctx.enforce(rule, {"project_id": inst.project_id})
        return [t.tag for t in inst.tags]

    async def set_tags(self, ctx: RequestContext, server_id: str, rule: str, *,
                       replace: list[str] | None = None, add: str | None = None,
                       remove: str | None = None) -> tuple[list[str], bool]:
        """-> (tags now, whether `add` was new)."""
        async with self.db.transaction() as s:
            inst = await self._load(s, ctx, server_id)
            ctx.enforce(rule, {"project_id": inst.project_id})
            if inst.vm_state not in (V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED, V.RESCUED,
                                     V.RESIZED, V.SHELVED, V.SHELVED_OFFLOADED):
                raise faults.Conflict(f"Cannot 'update tags' instance {inst.uuid} while it is "
                                      f"in vm_state {inst.vm_state}")
            current = [t.tag for t in inst.tags]
            created = False
            if replace is not None:
                current = list(dict.fromkeys(replace))
            if add is not None and add not in current:
                current.append(add)
                created = True
            if remove is not None:
                if remove not in current:
                    raise faults.NotFound(f"Tag {remove} could not be found.")
                current.remove(remove)
            if len(current) > MAX_TAGS:
                raise faults.BadRequest(f"The number of tags exceeded the per-server limit "
                                        f"{MAX_TAGS}")
            inst.tags = [InstanceTag(tag=t) for t in current]
            inst.updated_at = clock.utcnow()
        return sorted(current), created

    async def actions(self, ctx: RequestContext, server_id: str) -> list[InstanceAction]:
        async with self.db.read() as s:
            inst = await self._load(s, ctx, server_id, deleted=True)
            ctx.enforce("os_compute_api:os-instance-actions:list",
                        {"project_id": inst.project_id})
            return list((await s.scalars(select(InstanceAction).where(
                InstanceAction.instance_uuid == inst.uuid).order_by(
                    InstanceAction.start_time.desc(), InstanceAction.id.desc()))).all())

    async def action_of(self, ctx: RequestContext, server_id: str, request_id: str
                        ) -> InstanceAction:
        async with self.db.read() as s:
            inst = await self._load(s, ctx, server_id, deleted=True)
            ctx.enforce("os_compute_api:os-instance-actions:show",
                        {"project_id": inst.project_id})
            action = await s.scalar(select(InstanceAction).where(
                InstanceAction.instance_uuid == inst.uuid,
                InstanceAction.request_id == request_id))
        if action is None:
            raise faults.NotFound(f"Action for request_id {request_id} on instance {server_id} "
                                  "not found")
        return action

    # --- what os-hypervisors and os-services ask ----------------------------------------

    async def by_host(self, hosts: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        async with self.db.read() as s:
            rows = (await s.execute(select(Instance.host, Instance.uuid, Instance.display_name)
                                    .where(Instance.host.in_(list(hosts)),
                                           Instance.deleted.is_(False)))).all()
        out: dict[str, list[tuple[str, str]]] = {h: [] for h in hosts}
        for host, uuid, name in rows:
            out.setdefault(host or "", []).append((uuid, name))
        return out

    async def host_busy(self, host: str) -> bool:
        async with self.db.read() as s:
            found = await s.scalar(select(Instance.id).where(
                Instance.host == host, Instance.deleted.is_(False)).limit(1))
        return found is not None
