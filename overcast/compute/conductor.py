"""The conductor: the only writer of instance state besides the API, and the agents' window on
the database (Nova's nova-conductor). It runs beside the compute API (`overcast up`,
`overcast serve compute`) and serves the bus topic `conductor`.

- build: schedule (scheduler/), record host, node and alternates, poke the host; no host is
  ERROR with the fault "No valid host was found. ..."; a failed boot is retried on an
  alternate, then ERROR.
- reports from agents: compare-and-set on task_state (Nova's expected_task_state), faults,
  instance action events, lifecycle notifications on the bus; a finished delete soft-deletes
  the row and releases the claim.
- heartbeats: the services and compute_nodes rows, the scheduler's host view and, with
  Placement, the host's resource provider and inventory.
- recovery at start: builds that never reached a host are scheduled again; a host's pending
  work is re-poked by its own resync.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid as uuidlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import clock, faults
from overcast.common.bus import Bus, BusError, Subscription
from overcast.common.clients import ServiceError
from overcast.common.db import Database
from overcast.common.tasks import cancel_and_wait
from overcast.compute import instance_metadata
from overcast.compute.instance_models import (
    Instance,
    InstanceAction,
    InstanceActionEvent,
    InstanceFault,
    Migration,
)
from overcast.compute.instance_states import TaskState as T
from overcast.compute.instance_states import VmState as V
from overcast.compute.messages import (
    CONDUCTOR_TOPIC,
    DesiredFlavor,
    DesiredImage,
    DesiredInstance,
    FaultInfo,
    HostReport,
    InstanceReport,
)
from overcast.compute.models import ComputeNode, ServerGroup, ServerGroupMember, Service
from overcast.compute.networking import ServerNetworks
from overcast.compute.rpcapi import ComputeAgentAPI
from overcast.compute.scheduler import (
    HostState,
    NoValidHost,
    PlacementClaims,
    RequestSpec,
    Scheduler,
    Selection,
    usage_of,
)

__all__ = ["Conductor", "ConductorEndpoint", "desired_of", "meta_data_of"]

log = logging.getLogger("overcast.compute.conductor")

_TIME_FIELDS = ("launched_at", "terminated_at")
_REPORTABLE = {"vm_state", "task_state", "power_state", "launched_at", "progress"}


def meta_data_of(inst: Instance) -> dict[str, Any]:
    """openstack/latest/meta_data.json (compute/instance_metadata.py renders it for the
    metadata service as well)."""
    return instance_metadata.meta_data(inst)


def _shelved_image(inst: Instance) -> DesiredImage | None:
    """The image an offloaded server unshelves from: the snapshot shelve made."""
    if inst.vm_state != V.SHELVED_OFFLOADED or not inst.snapshot_image_id:
        return None
    return DesiredImage(id=inst.snapshot_image_id, name=f"{inst.display_name}-shelved",
                        disk_format="qcow2", container_format="bare",
                        min_ram=int(inst.image_meta.get("min_ram") or 0),
                        properties=dict(inst.image_meta.get("properties") or {}))


def desired_of(inst: Instance) -> DesiredInstance:
    image = DesiredImage.model_validate({"id": inst.image_ref, **inst.image_meta}) \
        if inst.image_ref else None
    return DesiredInstance(
        uuid=inst.uuid, name=inst.display_name, hostname=inst.hostname,
        project_id=inst.project_id, user_id=inst.user_id, host=inst.host,
        vm_state=inst.vm_state, task_state=inst.task_state, power_state=inst.power_state,
        deleted=inst.deleted, flavor=DesiredFlavor.model_validate(inst.flavor),
        old_flavor=DesiredFlavor.model_validate(inst.old_flavor) if inst.old_flavor else None,
        image=image, config_drive=bool(inst.config_drive), meta_data=meta_data_of(inst),
        user_data=inst.user_data, networks=inst.networks,
        snapshot_image_id=inst.snapshot_image_id, rebuild_image=_shelved_image(inst))


def _versioned(event_type: str, inst: Instance) -> dict[str, Any]:
    """Nova's versioned notification payload (InstanceActionPayload), the fields that matter
    to a consumer (telemetry), under nova_object.data."""
    return {
        "nova_object.name": "InstanceActionPayload",
        "nova_object.namespace": "nova",
        "nova_object.version": "1.8",
        "nova_object.data": {
            "uuid": inst.uuid, "display_name": inst.display_name, "host": inst.host,
            "node": inst.node, "tenant_id": inst.project_id, "user_id": inst.user_id,
            "state": inst.vm_state, "task_state": inst.task_state,
            "power_state": {0: "pending", 1: "running", 3: "paused", 4: "shutdown",
                            6: "crashed", 7: "suspended"}.get(inst.power_state, "pending"),
            "flavor": {"nova_object.name": "FlavorPayload", "nova_object.data": {
                "flavorid": inst.flavor.get("id"), "name": inst.flavor.get("name"),
                "vcpus": inst.flavor.get("vcpus"), "memory_mb": inst.flavor.get("memory_mb"),
                "root_gb": inst.flavor.get("root_gb")}},
            "image_uuid": inst.image_ref,
            "availability_zone": inst.availability_zone,
            "launched_at": inst.launched_at.isoformat() if inst.launched_at else None,
            "created_at": inst.created_at.isoformat(),
            "metadata": {m.key: m.value for m in inst.metadata_items},
            "tags": [t.tag for t in inst.tags],
        },
    }


_SHELVING = frozenset({T.SHELVING, T.SHELVING_IMAGE_PENDING_UPLOAD, T.SHELVING_IMAGE_UPLOADING})
#: The statuses of a migration still under way.
_OPEN_MIGRATION = ("pre-migrating", "migrating", "post-migrating", "confirming", "reverting")
#: The tasks of a resize, its confirm and its revert: reports in them move a migration on.
_RESIZE_TASKS = frozenset({T.RESIZE_PREP, T.RESIZE_MIGRATING, T.RESIZE_MIGRATED,
                           T.RESIZE_FINISH, T.RESIZE_CONFIRMING, T.RESIZE_REVERTING})


class Conductor:
    def __init__(self, db: Database, bus: Bus, scheduler: Scheduler, *,
                 default_az: str = "nova", placement: Any = None, max_attempts: int = 3,
                 networks: ServerNetworks | None = None, shelved_offload_time: int = 0):
        self.db = db
        self.networks = networks or ServerNetworks(None)
        #: 0: a shelved server leaves its host at once (Nova's default); else on request.
        self.shelved_offload_time = shelved_offload_time
        self.bus = bus
        self.scheduler = scheduler
        self.default_az = default_az
        self.placement = placement
        self.max_attempts = max_attempts
        self.agents = ComputeAgentAPI(bus)
        self._server: Subscription | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Hosts whose resource provider exists in Placement (made once per process).
        self._providers: set[str] = set()
        self._inventories: dict[str, tuple[float, ...]] = {}
        if isinstance(scheduler.claims, PlacementClaims):
            scheduler.claims.synced = self._providers.__contains__

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        await self._load_hosts()
        self._server = await self.bus.serve(CONDUCTOR_TOPIC, f"conductor-{os.getpid()}-{id(self)}",
                                           ConductorEndpoint(self))
        await self.recover()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
            self._server = None
        await cancel_and_wait(self._tasks)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _load_hosts(self) -> None:
        """The host view from the compute_nodes rows and the instances placed on them
        (liveness starts unknown: a host counts as up once it reports)."""
        async with self.db.read() as s:
            nodes = (await s.scalars(select(ComputeNode))).all()
            services = {sv.host: sv for sv in (await s.scalars(
                select(Service).where(Service.binary == "nova-compute"))).all()}
            insts = (await s.scalars(select(Instance).where(
                Instance.deleted.is_(False), Instance.host.is_not(None)))).all()
        for node in nodes:
            sv = services.get(node.host)
            state = self.scheduler.view.update(HostState(
                host=node.host, node=node.hypervisor_hostname, provider_uuid=node.uuid,
                vcpus=node.vcpus, memory_mb=node.memory_mb, disk_gb=node.local_gb,
                hypervisor_type=node.hypervisor_type, availability_zone=self.default_az,
                enabled=not (sv and sv.disabled), last_seen=-1e12,
                cpu_allocation_ratio=node.cpu_allocation_ratio,
                ram_allocation_ratio=node.ram_allocation_ratio,
                disk_allocation_ratio=node.disk_allocation_ratio))
            del state
        for inst in insts:
            if inst.host:
                self.scheduler.view.add_usage(inst.host, inst.uuid, usage_of(
                    DesiredFlavor.model_validate(inst.flavor)))

    async def recover(self) -> None:
        """Builds that never reached a host (a crash between create and schedule) are
        scheduled again; deletes of instances on no host finish."""
        async with self.db.read() as s:
            stuck = (await s.scalars(select(Instance).where(
                Instance.deleted.is_(False), Instance.host.is_(None),
                Instance.vm_state == V.BUILDING))).all()
            orphans = (await s.scalars(select(Instance).where(
                Instance.deleted.is_(False), Instance.host.is_(None),
                Instance.task_state == T.DELETING))).all()
        for inst in orphans:
            await self.finish_delete(inst.uuid)
        if stuck:
            log.info("rescheduling %d builds that never reached a host", len(stuck))
            self._spawn(self._rebuild_stuck([i.uuid for i in stuck]))

    async def _rebuild_stuck(self, uuids: list[str]) -> None:
        # Give the local agents a moment to report in after a restart.
        await asyncio.sleep(1.0)
        for u in uuids:
            await self.build([u])

    # --- build --------------------------------------------------------------------------

    async def _group_hosts(self, group_uuid: str | None) -> tuple[str | None, set[str]]:
        if not group_uuid:
            return None, set()
        async with self.db.read() as s:
            group = await s.scalar(select(ServerGroup).where(ServerGroup.uuid == group_uuid))
            if group is None:
                return None, set()
            members = [m.instance_uuid for m in group.members]
            hosts = set((await s.scalars(select(Instance.host).where(
                Instance.uuid.in_(members), Instance.deleted.is_(False),
                Instance.host.is_not(None)))).all()) if members else set()
        return group.policy, {h for h in hosts if h}

    async def _spec(self, inst: Instance, ignore: set[str] | None = None) -> RequestSpec:
        hints = inst.scheduler_hints or {}
        az = inst.pinned_availability_zone
        force_host = force_node = None
        if az and ":" in az:
            az, _, rest = az.partition(":")
            force_host, _, node = rest.partition(":")
            force_host, force_node = force_host or None, node or None
            az = az or None
        policy, group_hosts = await self._group_hosts(inst.group_uuid)
        if policy in ("soft-affinity", "soft-anti-affinity"):
            policy = None  # soft policies only weigh in Nova; no hard filter here

        def _set(key: str) -> set[str]:
            v = hints.get(key)
            return set(v) if isinstance(v, list) else ({v} if isinstance(v, str) else set())

        return RequestSpec(
            project_id=inst.project_id, user_id=inst.user_id,
            flavor=DesiredFlavor.model_validate(inst.flavor),
            image=DesiredImage.model_validate({"id": inst.image_ref, **inst.image_meta})
            if inst.image_ref else None,
            availability_zone=az, force_host=force_host, force_node=force_node,
            group_policy=policy, group_hosts=group_hosts, same_host=_set("same_host"),
            different_host=_set("different_host"), ignore_hosts=ignore or set())

    async def build(self, uuids: Sequence[str], ctx: dict[str, Any] | None = None) -> None:
        """Schedule the instances of one request together and send each to its host."""
        async with self.db.read() as s:
            insts = (await s.scalars(select(Instance).where(Instance.uuid.in_(list(uuids)))
                                     .order_by(Instance.launch_index))).all()
        insts = [i for i in insts if not i.deleted and i.vm_state == V.BUILDING]
        if not insts:
            return
        spec = await self._spec(insts[0])
        try:
            selections = await self.scheduler.select(spec, [i.uuid for i in insts])
        except NoValidHost as exc:
            for inst in insts:
                await self._fail(inst.uuid, str(exc), code=500,
                                 details="NoValidHost", event="conductor_schedule_and_build_instances")
            return
        for inst, sel in zip(insts, selections, strict=True):
            await self._place(inst.uuid, sel[0], sel[1:], ctx)

    async def unshelve(self, uuid: str, ctx: dict[str, Any] | None = None) -> None:
        """Schedule an offloaded server that is unshelving and send it to its new host; no
        host leaves it SHELVED_OFFLOADED with the fault (Nova's unshelve)."""
        async with self.db.read() as s:
            inst = await s.scalar(select(Instance).where(Instance.uuid == uuid))
        if (inst is None or inst.deleted or inst.host is not None
                or inst.vm_state != V.SHELVED_OFFLOADED or inst.task_state != T.UNSHELVING):
            return
        spec = await self._spec(inst)
        try:
            (selection,) = await self.scheduler.select(spec, [uuid])
        except NoValidHost as exc:
            async with self.db.transaction() as s:
                row = await s.scalar(select(Instance).where(Instance.uuid == uuid))
                if row is not None and row.task_state == T.UNSHELVING:
                    row.task_state = None
                    s.add(InstanceFault(instance_uuid=uuid, code=500, message=str(exc)[:255],
                                        details="NoValidHost"))
                    await self._event(s, uuid, "schedule_instances", "Error", details=str(exc))
            return
        await self._place(uuid, selection[0], selection[1:], ctx)

    async def _place(self, uuid: str, sel: Selection, alternates: Sequence[Selection],
                     ctx: dict[str, Any] | None) -> None:
        async with self.db.transaction() as s:
            inst = await s.scalar(select(Instance).where(Instance.uuid == uuid))
            if inst is None or inst.deleted:
                await self.scheduler.release(uuid, sel.host)
                return
            inst.host, inst.node = sel.host, sel.node
            inst.alternates = [[a.host, a.node, a.provider_uuid] for a in alternates]
            if not inst.pinned_availability_zone or ":" in (inst.pinned_availability_zone or ""):
                host = self.scheduler.view.get(sel.host)
                inst.availability_zone = host.availability_zone if host else self.default_az
            inst.updated_at = clock.utcnow()
            if inst.task_state == T.DELETING:
                desired = None
            else:
                desired = desired_of(inst)
            await self._event(s, inst.uuid, "conductor_schedule_and_build_instances", "Success",
                              finish_action=False)
            ports = (list(inst.requested_networks or []), list(inst.network_info or []),
                     inst.project_id, inst.availability_zone or self.default_az)
        if desired is not None and (ports[0] or ports[1]):
            if not await self._bind_ports(uuid, sel.host, ports, ctx):
                return
        if desired is not None:
            await self.poke(uuid, sel.host, desired, ctx)

    async def _bind_ports(self, uuid: str, host: str,
                          ports: tuple[list[Any], list[Any], str, str],
                          ctx: dict[str, Any] | None) -> bool:
        """The server's ports, made and bound to `host` (Nova's allocate_for_instance, which
        the compute manager runs before spawning); False when that failed and the server is
        in ERROR (its ports rolled back)."""
        requested, vifs, project_id, zone = ports
        try:
            vifs = await self.networks.allocate(
                server=uuid, project_id=project_id, host=host, zone=zone, requests=requested,
                vifs=vifs, token=(ctx or {}).get("auth_token") or None)
        except (ServiceError, faults.Fault) as exc:
            log.warning("ports of %s not allocated: %s", uuid, exc)
            await self._fail(uuid, f"Build of instance {uuid} aborted: Failed to allocate the "
                             "network(s), not rescheduling.", details=str(exc), host=host,
                             event="compute__do_build_and_run_instance")
            return False
        async with self.db.transaction() as s:
            inst = await s.scalar(select(Instance).where(Instance.uuid == uuid))
            gone = inst is None or inst.deleted
            if inst is not None:
                inst.network_info = vifs
        if gone:  # deleted while its ports were made: give them back now
            await self.networks.release(vifs, uuid)
            return False
        return True

    async def poke(self, uuid: str, host: str, desired: DesiredInstance | None = None,
                   ctx: dict[str, Any] | None = None) -> None:
        """Tell the host's agent to look at `uuid` (a lost poke costs one resync)."""
        try:
            await self.bus.cast("compute", "sync", server=host, ctx=ctx or {},
                                instance_uuid=uuid,
                                desired=None if desired is None else desired.model_dump(mode="json"))
        except BusError as exc:
            log.warning("could not poke %s about %s: %s", host, uuid, exc)

    async def _fail(self, uuid: str, message: str, *, code: int = 500,
                    details: str | None = None, host: str | None = None,
                    event: str | None = None) -> None:
        async with self.db.transaction() as s:
            inst = await s.scalar(select(Instance).where(Instance.uuid == uuid))
            if inst is None or inst.deleted:
                return
            inst.vm_state, inst.task_state = V.ERROR, None
            inst.updated_at = clock.utcnow()
            s.add(InstanceFault(instance_uuid=uuid, code=code, message=message[:255],
                                details=details, host=host))
            if event:
                await self._event(s, uuid, event, "Error", details=message)
        await self.scheduler.release(uuid)
        await self._notify("instance.create.error", uuid)

    # --- reports from agents ----------------------------------------------------------------

    async def instance_report(self, report: InstanceReport) -> None:
        if report.destroyed:
            await self.finish_delete(report.uuid, host=report.host)
            return
        if report.reschedule:
            await self._reschedule(report)
            return
        notify = None
        next_desired: DesiredInstance | None = None
        async with self.db.transaction() as s:
            inst = await s.scalar(select(Instance).where(Instance.uuid == report.uuid))
            if inst is None or inst.deleted or inst.host != report.host:
                return
            if (report.expected_task_state is not None
                    and inst.task_state not in report.expected_task_state):
                log.debug("%s: report %s dropped: task_state is %s", report.uuid,
                          report.updates, inst.task_state)
                return
            prior = inst.task_state
            updates = {k: v for k, v in report.updates.items() if k in _REPORTABLE}
            for key, value in updates.items():
                if key in _TIME_FIELDS and isinstance(value, str):
                    value = clock.parse_iso(value)
                setattr(inst, key, value)
            if updates.get("task_state", "-") is None:
                await self._finish_task(inst, prior)
            offloaded = (prior == T.SHELVING_OFFLOADING and inst.task_state is None
                         and inst.vm_state == V.SHELVED_OFFLOADED)
            if offloaded:
                # The guest left its host: so do the server and its claim (Nova's offload).
                inst.host = inst.node = None
            offload_next = (prior in _SHELVING and inst.vm_state == V.SHELVED
                            and inst.task_state is None and self.shelved_offload_time == 0)
            if offload_next:
                # Nova's shelved_offload_time = 0: offload right after the shelve.
                inst.task_state = T.SHELVING_OFFLOADING
                next_desired = desired_of(inst)
            if (prior in _RESIZE_TASKS or inst.task_state in _RESIZE_TASKS
                    or inst.vm_state in (V.RESIZED, V.ERROR)):
                await self._migration_progress(s, inst, prior)
            inst.updated_at = clock.utcnow()
            if report.fault is not None:
                s.add(InstanceFault(instance_uuid=inst.uuid, code=report.fault.code,
                                    message=report.fault.message[:255],
                                    details=report.fault.details, host=report.host))
            if report.event:
                await self._event(s, inst.uuid, report.event, report.event_result,
                                  host=report.host,
                                  details=report.fault.message if report.fault else None)
            notify = report.notification
        if notify:
            await self._notify(notify, report.uuid)
        if offloaded:
            await self.scheduler.release(report.uuid, report.host)
        if next_desired is not None:
            await self.poke(report.uuid, report.host, next_desired)

    async def _finish_task(self, inst: Instance, prior: str | None) -> None:
        """Side effects of a task ending: resize flavors swap, snapshots clear."""
        if prior == T.RESIZE_REVERTING and inst.old_flavor:
            inst.flavor, inst.old_flavor = inst.old_flavor, None
            self._spawn(self.scheduler.resized(inst.uuid, inst.host or "",
                                               DesiredFlavor.model_validate(inst.flavor)))
        elif inst.vm_state == V.RESIZED and inst.new_flavor:
            inst.old_flavor, inst.flavor = inst.flavor, inst.new_flavor
            inst.new_flavor = None
            self._spawn(self.scheduler.resized(inst.uuid, inst.host or "",
                                               DesiredFlavor.model_validate(inst.flavor)))
        elif inst.vm_state in (V.ACTIVE, V.STOPPED) and inst.old_flavor and not inst.new_flavor:
            inst.old_flavor = None  # a confirm or revert finished
        if inst.vm_state not in (V.SHELVED, V.SHELVED_OFFLOADED):
            # (a shelved server keeps its shelved image's id until it is unshelved)
            inst.snapshot_image_id = None

    async def _migration_progress(self, s: AsyncSession, inst: Instance, prior: str | None) -> None:
        """Move the server's open migration along as its task does (Nova's statuses)."""
        mig = await s.scalar(select(Migration).where(
            Migration.instance_uuid == inst.uuid,
            Migration.status.in_(_OPEN_MIGRATION)).order_by(Migration.id.desc()).limit(1))
        if mig is None:
            return
        status = mig.status
        if inst.vm_state == V.ERROR:
            status = "error"
        elif inst.task_state in (T.RESIZE_MIGRATING, T.RESIZE_MIGRATED, T.RESIZE_FINISH):
            status = "migrating"
        elif inst.task_state is None and inst.vm_state == V.RESIZED:
            status = "finished"
        elif inst.task_state is None and prior == T.RESIZE_CONFIRMING:
            status = "confirmed"
        elif inst.task_state is None and prior == T.RESIZE_REVERTING:
            status = "reverted"
        elif inst.task_state is None and mig.status in ("pre-migrating", "migrating"):
            status = "error"  # the resize ended without reaching VERIFY_RESIZE
        if status != mig.status:
            mig.status = status
            mig.updated_at = clock.utcnow()

    async def _reschedule(self, report: InstanceReport) -> None:
        async with self.db.transaction() as s:
            inst = await s.scalar(select(Instance).where(Instance.uuid == report.uuid))
            if inst is None or inst.deleted or inst.host != report.host:
                return
            alternates = [Selection(*a) for a in inst.alternates or []]
            fault = report.fault or FaultInfo(message="Build failed")
            s.add(InstanceFault(instance_uuid=inst.uuid, code=fault.code,
                                message=fault.message[:255], details=fault.details,
                                host=report.host))
            await self._event(s, inst.uuid, "compute__do_build_and_run_instance", "Error",
                              host=report.host, details=fault.message, finish_action=False)
            failed_host = inst.host
            inst.host = inst.node = None
            inst.task_state = T.SCHEDULING
            inst.alternates = []
            spec = await self._spec(inst, ignore={failed_host} if failed_host else set())
        await self.scheduler.release(report.uuid, failed_host)
        for i, sel in enumerate(alternates):
            if await self.scheduler.claim_on(report.uuid, sel, spec):
                log.info("rescheduling %s from %s to %s", report.uuid, failed_host, sel.host)
                await self._place(report.uuid, sel, alternates[i + 1:], None)
                return
        await self._fail(report.uuid, "No valid host was found. Exceeded maximum number of "
                         f"retries. Exhausted all hosts available for retrying build failures "
                         f"for instance {report.uuid}.", details=fault.message,
                         event="conductor_schedule_and_build_instances")

    async def finish_delete(self, uuid: str, host: str | None = None) -> None:
        """The guest is gone: give its ports back, then soft-delete the row, free its claim,
        finish the action. The ports go first, as Nova deallocates before the instance is
        deleted: a client that saw the server 404 may delete its subnet at once."""
        async with self.db.read() as s:
            inst = await s.scalar(select(Instance).where(Instance.uuid == uuid))
            if inst is None or inst.deleted:
                return
            vifs = list(inst.network_info or [])
            had_ports = bool(vifs or inst.requested_networks)
        if had_ports:
            await self.networks.release(vifs, uuid)
        async with self.db.transaction() as s:
            inst = await s.scalar(select(Instance).where(Instance.uuid == uuid))
            if inst is None or inst.deleted:
                return
            now = clock.utcnow()
            inst.deleted, inst.deleted_at, inst.terminated_at = True, now, now
            inst.vm_state, inst.task_state, inst.power_state = V.DELETED, None, 0
            inst.updated_at = now
            groups = (await s.scalars(select(ServerGroupMember).where(
                ServerGroupMember.instance_uuid == uuid))).all()
            for member in groups:
                await s.delete(member)
            await self._event(s, uuid, "compute_terminate_instance", "Success", host=host)
        await self.scheduler.release(uuid, host)
        await self._notify("instance.delete.end", uuid)

    async def _event(self, s: Any, uuid: str, event: str, result: str, *,
                     host: str | None = None, details: str | None = None,
                     finish_action: bool = True) -> None:
        """Add a finished event to the instance's newest action (and finish the action)."""
        action = await s.scalar(select(InstanceAction).where(
            InstanceAction.instance_uuid == uuid).order_by(InstanceAction.id.desc()).limit(1))
        if action is None:
            return
        now = clock.utcnow()
        action.events.append(InstanceActionEvent(
            event=event, start_time=action.start_time, finish_time=now, result=result,
            host=host, details=details,
            traceback=details if result == "Error" else None))
        action.updated_at = now
        if result == "Error":
            action.message = "Error"
        if finish_action and action.finish_time is None:
            action.finish_time = now

    async def _notify(self, event_type: str, uuid: str) -> None:
        async with self.db.read() as s:
            inst = await s.scalar(select(Instance).where(Instance.uuid == uuid))
        if inst is None:
            return
        try:
            await self.bus.notify(f"nova-compute:{inst.host or 'conductor'}", event_type,
                                  _versioned(event_type, inst),
                                  priority="ERROR" if event_type.endswith(".error") else "INFO",
                                  topic="versioned_notifications")
        except BusError as exc:
            log.debug("notification %s not sent: %s", event_type, exc)

    # --- heartbeats ---------------------------------------------------------------------

    async def host_report(self, report: HostReport) -> None:
        try:
            await self._host_report(report)
        except IntegrityError:
            # Two first heartbeats of one host raced to create its rows: the other won.
            await self._host_report(report)

    async def _host_report(self, report: HostReport) -> None:
        now = clock.utcnow()
        async with self.db.transaction() as s:
            service = await s.scalar(select(Service).where(
                Service.host == report.host, Service.binary == "nova-compute"))
            if service is None:
                service = Service(uuid=str(uuidlib.uuid4()), host=report.host,
                                  binary="nova-compute", topic="compute", created_at=now)
                s.add(service)
                await s.flush()
            service.report_count += 1
            service.last_seen_up = now
            service.updated_at = now
            service.down_reason = report.disabled_reason
            node = await s.scalar(select(ComputeNode).where(
                ComputeNode.host == report.host,
                ComputeNode.hypervisor_hostname == report.node))
            if node is None:
                node = ComputeNode(uuid=str(uuidlib.uuid4()), host=report.host,
                                   hypervisor_hostname=report.node, created_at=now)
                s.add(node)
            node.service_id = service.id
            node.hypervisor_type = report.hypervisor_type
            node.hypervisor_version = report.hypervisor_version
            node.vcpus, node.memory_mb, node.local_gb = (report.vcpus, report.memory_mb,
                                                         report.disk_gb)
            node.running_vms = len(report.instances)
            node.host_ip = "127.0.0.1"
            node.cpu_info = node.cpu_info or {"arch": "x86_64", "model": report.accel}
            node.updated_at = now
            await s.flush()
            host = self.scheduler.view.get(report.host)
            usage = host.usage if host else {}
            node.vcpus_used = sum(u.vcpus for u in usage.values())
            node.memory_mb_used = sum(u.memory_mb for u in usage.values())
            node.local_gb_used = sum(u.disk_gb for u in usage.values())
            state = HostState(
                host=report.host, node=report.node, provider_uuid=node.uuid,
                vcpus=report.vcpus, memory_mb=report.memory_mb, disk_gb=report.disk_gb,
                hypervisor_type=report.hypervisor_type,
                availability_zone=await self._zone_of(s, report.host),
                enabled=not service.disabled and not service.forced_down,
                disabled_reason=report.disabled_reason,
                cpu_allocation_ratio=node.cpu_allocation_ratio,
                ram_allocation_ratio=node.ram_allocation_ratio,
                disk_allocation_ratio=node.disk_allocation_ratio)
        self.scheduler.view.update(state)
        if self.placement is not None and report.disabled_reason is None:
            await self._sync_provider(state)

    async def _zone_of(self, s: Any, host: str) -> str:
        from overcast.compute.models import Aggregate, AggregateHost, AggregateMetadata

        zone = await s.scalar(
            select(AggregateMetadata.value)
            .join(Aggregate, Aggregate.id == AggregateMetadata.aggregate_id)
            .join(AggregateHost, AggregateHost.aggregate_id == Aggregate.id)
            .where(AggregateHost.host == host, AggregateMetadata.key == "availability_zone")
            .limit(1))
        return str(zone) if zone else self.default_az

    async def _sync_provider(self, host: HostState) -> None:
        inventory = (host.vcpus, host.memory_mb, host.disk_gb, host.cpu_allocation_ratio,
                     host.ram_allocation_ratio, host.disk_allocation_ratio)
        if self._inventories.get(host.host) == inventory:
            return  # unchanged since the last heartbeat: no Placement round trip
        try:
            if host.host not in self._providers:
                await self.placement.ensure_provider(host.provider_uuid, host.node)
            await self.placement.set_inventory(host.provider_uuid, {
                "VCPU": {"total": host.vcpus, "allocation_ratio": host.cpu_allocation_ratio},
                "MEMORY_MB": {"total": host.memory_mb,
                              "allocation_ratio": host.ram_allocation_ratio},
                "DISK_GB": {"total": max(host.disk_gb, 1),
                            "allocation_ratio": host.disk_allocation_ratio},
            })
            self._providers.add(host.host)
            self._inventories[host.host] = inventory
        except Exception as exc:  # Placement down: the next heartbeat tries again
            log.warning("placement inventory of %s not updated: %s", host.host, exc)

    # --- what agents read ---------------------------------------------------------------

    async def instances_on_host(self, host: str) -> list[str]:
        async with self.db.read() as s:
            return list((await s.scalars(select(Instance.uuid).where(
                Instance.host == host, Instance.deleted.is_(False)))).all())

    async def get_instance(self, uuid: str, host: str) -> DesiredInstance | None:
        async with self.db.read() as s:
            inst = await s.scalar(select(Instance).where(Instance.uuid == uuid))
        if inst is None or inst.deleted or inst.host != host:
            return None
        return desired_of(inst)


class ConductorEndpoint:
    """The bus methods of topic `conductor` (JSON in, JSON out)."""

    def __init__(self, conductor: Conductor):
        self._c = conductor

    async def instances_on_host(self, ctx: dict[str, Any], host: str) -> list[str]:
        return await self._c.instances_on_host(host)

    async def get_instance(self, ctx: dict[str, Any], instance_uuid: str,
                           host: str) -> dict[str, Any] | None:
        d = await self._c.get_instance(instance_uuid, host)
        return None if d is None else d.model_dump(mode="json")

    async def instance_report(self, ctx: dict[str, Any], report: dict[str, Any]) -> None:
        await self._c.instance_report(InstanceReport.model_validate(report))

    async def host_report(self, ctx: dict[str, Any], report: dict[str, Any]) -> None:
        await self._c.host_report(HostReport.model_validate(report))
