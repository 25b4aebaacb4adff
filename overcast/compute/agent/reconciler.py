"""The compute agent's reconciler: one instance at a time, desired (the conductor) against
actual (the driver), converged idempotently (STYLE.md §8).

Desired state is Nova's: `vm_state` says what the instance is, `task_state` what the user asked
for and is not done yet (powering-off, rebooting, resize_prep, image_snapshot, deleting, ...).
Each pass looks at the world first, so a lost poke, a duplicate, a crash half-way or an agent
restart all converge the same way:

| desired                    | actual          | step                                           |
|----------------------------|-----------------|------------------------------------------------|
| gone / deleted / deleting  | exists          | destroy, then report destroyed                 |
| building                   | missing         | spawn (spawning), report active                |
| building                   | exists          | report active (the earlier report was lost)    |
| a task_state               | exists          | run the task, report the new states            |
| active, no task            | SHUTDOWN        | report stopped (the guest powered off or died) |
| stopped, no task           | RUNNING         | power it off (Nova's power-state sync)         |
| any, no task               | missing         | report NOSTATE (or re-create: simulated hosts) |

Errors: a driver error during a build is reported with `reschedule` (the conductor tries an
alternate host, else ERROR with the fault); during a task it ends the task with the instance in
ERROR and a fault, as Nova's `reverts_task_state`/`wrap_instance_fault` do.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from overcast.common import clock
from overcast.common.clients import ServiceError
from overcast.compute import instance_metadata
from overcast.compute.agent.images import ImageCache
from overcast.compute.drivers.base import (
    ComputeDriver,
    ConfigDrive,
    DriverError,
    Flavor,
    InstanceExists,
    InstanceInfo,
    InstanceNotFound,
    InstanceSpec,
    Nic,
    PowerState,
)
from overcast.compute.instance_states import TaskState as T
from overcast.compute.instance_states import VmState as V
from overcast.compute.messages import (
    DesiredFlavor,
    DesiredImage,
    DesiredInstance,
    FaultInfo,
    InstanceReport,
)
from overcast.compute.rpcapi import ConductorAPI

__all__ = ["InstanceReconciler"]

log = logging.getLogger("overcast.compute.agent")

_REBOOT_SOFT = {T.REBOOTING, T.REBOOT_PENDING, T.REBOOT_STARTED}
_REBOOT_HARD = {T.REBOOTING_HARD, T.REBOOT_PENDING_HARD, T.REBOOT_STARTED_HARD}
_RESIZE = {T.RESIZE_PREP, T.RESIZE_MIGRATING, T.RESIZE_MIGRATED, T.RESIZE_FINISH}
_SNAPSHOT = {T.IMAGE_SNAPSHOT, T.IMAGE_PENDING_UPLOAD, T.IMAGE_UPLOADING, T.IMAGE_BACKUP}
_REBUILD = {T.REBUILDING, T.REBUILD_BLOCK_DEVICE_MAPPING, T.REBUILD_SPAWNING}
_BUILD_TASKS = [T.SCHEDULING, T.NETWORKING, T.BLOCK_DEVICE_MAPPING, T.SPAWNING, None]
_SHELVE = {T.SHELVING, T.SHELVING_IMAGE_PENDING_UPLOAD, T.SHELVING_IMAGE_UPLOADING}
# States in which a lost guest of a simulated host is simply made again.
_RECREATE = {V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED, V.RESIZED, V.RESCUED}


def flavor_of(f: DesiredFlavor) -> Flavor:
    return Flavor(name=f.name, vcpus=max(1, f.vcpus), memory_mb=max(1, f.memory_mb),
                  root_gb=f.root_gb, ephemeral_gb=f.ephemeral_gb, swap_mb=f.swap)


def mac_of(uuid: str) -> str:
    """A stable MAC for the instance's NIC: Nova's fa:16:3e prefix, the rest from the uuid."""
    d = hashlib.sha256(uuid.encode()).digest()
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in d[:3])


class InstanceReconciler:
    """keys() and reconcile(uuid) for `common.agent.AgentLoop`."""

    def __init__(self, host: str, driver: ComputeDriver, conductor: ConductorAPI,
                 images: ImageCache, *, recreate_lost: bool = False,
                 shutdown_timeout: float = 60.0, work_dir: Path | None = None):
        self.host = host
        self.driver = driver
        self.conductor = conductor
        self.images = images
        self.recreate_lost = recreate_lost
        self.shutdown_timeout = shutdown_timeout
        self.work_dir = work_dir
        #: Desired states that came with a poke, used once instead of asking again.
        self._hints: dict[str, DesiredInstance] = {}
        #: The context of the request behind the newest poke of an instance: its token (image
        #: download, snapshot upload) and request details (a backup's type and rotation), kept
        #: in memory only, as Nova's compute holds the caller's RequestContext.
        self._ctx: dict[str, dict[str, Any]] = {}

    def hint(self, desired: DesiredInstance | None, uuid: str, ctx: dict[str, Any]) -> None:
        if desired is not None:
            self._hints[uuid] = desired
        if ctx.get("auth_token"):
            self._ctx[uuid] = ctx

    def _token(self, uuid: str) -> str | None:
        token = self._ctx.get(uuid, {}).get("auth_token")
        return str(token) if token else None

    async def keys(self) -> Iterable[str]:
        wanted = await self.conductor.instances_on_host(self.host)
        running = [i.uuid for i in await self.driver.list_instances()]
        return sorted(set(wanted) | set(running))

    async def _actual(self, uuid: str) -> InstanceInfo | None:
        try:
            return await self.driver.get_info(uuid)
        except InstanceNotFound:
            return None

    async def reconcile(self, uuid: str) -> None:
        desired = self._hints.pop(uuid, None) or await self.conductor.get_instance(uuid, self.host)
        actual = await self._actual(uuid)
        await self.converge(uuid, desired, actual)

    # --- reports ----------------------------------------------------------------------

    async def _report(self, uuid: str, updates: dict[str, Any] | None = None, *,
                      expected: list[str | None] | None = None, event: str | None = None,
                      fault: FaultInfo | None = None, notification: str | None = None,
                      result: str = "Success", destroyed: bool = False,
                      reschedule: bool = False) -> None:
        await self.conductor.report(InstanceReport(
            uuid=uuid, host=self.host, updates=updates or {}, expected_task_state=expected,
            event=event, event_result=result, fault=fault, notification=notification,
            destroyed=destroyed, reschedule=reschedule))

    # --- the table ----------------------------------------------------------------------

    async def converge(self, uuid: str, d: DesiredInstance | None, a: InstanceInfo | None) -> None:
        if d is None or d.deleted or d.task_state == T.DELETING or d.vm_state == V.DELETED:
            if a is not None:
                await self.driver.destroy(uuid)
                log.info("%s: destroyed instance %s", self.host, uuid)
            self._ctx.pop(uuid, None)
            if d is not None and not d.deleted:
                await self._report(uuid, destroyed=True, event="compute_terminate_instance",
                                   notification="instance.delete.end")
            return
        if d.vm_state == V.BUILDING:
            await self._build(d, a)
            return
        if d.vm_state == V.ERROR and d.task_state is None:
            return  # nothing to converge to; delete or rebuild moves it on
        if a is None and d.task_state in (T.UNSHELVING, T.SPAWNING, T.SHELVING_OFFLOADING):
            # an offloaded server unshelving here, or an offload whose guest is already gone
            await self._run_task(d, a)
            return
        if d.vm_state == V.SHELVED_OFFLOADED and d.task_state is None:
            if a is not None:  # a guest left behind by an offload that did not finish
                await self.driver.destroy(uuid)
            return
        if a is None:
            await self._lost(d)
            return
        await self._run_task(d, a)

    async def _run_task(self, d: DesiredInstance, a: InstanceInfo | None) -> None:
        task = d.task_state
        if task in (T.UNSHELVING, T.SPAWNING, T.SHELVING_OFFLOADING):
            try:
                if task == T.SHELVING_OFFLOADING:
                    await self._offload(d, a)
                else:
                    await self._unshelve(d, a)
            except (DriverError, OSError) as exc:
                await self._task_failed(d, task, exc)
            return
        assert a is not None
        await self._act(d, a)

    async def _act(self, d: DesiredInstance, a: InstanceInfo) -> None:
        task = d.task_state
        try:
            if task is None:
                await self._sync_power(d, a)
            elif task == T.POWERING_OFF:
                await self._power_off(d, a)
            elif task == T.POWERING_ON:
                await self._power_on(d, a)
            elif task in _REBOOT_SOFT or task in _REBOOT_HARD:
                await self._reboot(d, hard=task in _REBOOT_HARD or a.power_state
                                   != PowerState.RUNNING)
            elif task == T.PAUSING:
                if a.power_state != PowerState.PAUSED:
                    await self.driver.pause(d.uuid)
                await self._done(d, V.PAUSED, PowerState.PAUSED, "compute_pause_instance",
                                 "instance.pause.end")
            elif task == T.UNPAUSING:
                if a.power_state == PowerState.PAUSED:
                    await self.driver.unpause(d.uuid)
                await self._done(d, V.ACTIVE, PowerState.RUNNING, "compute_unpause_instance",
                                 "instance.unpause.end")
            elif task == T.SUSPENDING:
                if a.power_state != PowerState.SUSPENDED:
                    await self.driver.suspend(d.uuid)
                await self._done(d, V.SUSPENDED, PowerState.SUSPENDED,
                                 "compute_suspend_instance", "instance.suspend.end")
            elif task == T.RESUMING:
                if a.power_state == PowerState.SUSPENDED:
                    await self.driver.resume(d.uuid)
                await self._done(d, V.ACTIVE, PowerState.RUNNING, "compute_resume_instance",
                                 "instance.resume.end")
            elif task in _RESIZE:
                await self._resize(d, a)
            elif task == T.RESIZE_REVERTING:
                await self._revert_resize(d, a)
            elif task == T.RESIZE_CONFIRMING:
                await self.driver.confirm_resize(d.uuid)
                await self._done(d, V.STOPPED if a.power_state == PowerState.SHUTDOWN
                                 else V.ACTIVE, a.power_state, "compute_confirm_resize",
                                 "instance.resize_confirm.end")
            elif task in _SNAPSHOT:
                await self._snapshot(d, a)
            elif task in _REBUILD:
                await self._rebuild(d)
            elif task in _SHELVE:
                await self._shelve(d, a)
            elif task == T.RESCUING:
                await self._rescue(d, a)
            elif task == T.UNRESCUING:
                if a.rescued:
                    await self.driver.unrescue(d.uuid)
                await self._done(d, V.ACTIVE, PowerState.RUNNING, "compute_unrescue_instance",
                                 "instance.unrescue.end")
            else:
                log.warning("%s: %s has task_state %s the agent does not handle", self.host,
                            d.uuid, task)
        except DriverError as exc:
            await self._task_failed(d, task, exc)

    async def _task_failed(self, d: DesiredInstance, task: str | None, exc: Exception) -> None:
        log.warning("%s: %s: %s failed: %s", self.host, d.uuid, task, exc)
        info = await self._actual(d.uuid)
        # Nova's reverts_task_state + wrap_instance_fault: the task ends, the fault is
        # recorded; a failed rebuild or resize leaves the instance in ERROR.
        vm = V.ERROR if task in _REBUILD or task in _RESIZE else d.vm_state
        await self._report(
            d.uuid, {"vm_state": vm, "task_state": None,
                     "power_state": int(info.power_state) if info else 0},
            expected=[task, *([T.SPAWNING] if task == T.UNSHELVING else [])],
            fault=FaultInfo(code=500, message=str(exc), details=type(exc).__name__),
            event=_EVENTS.get(task or "", "compute_task"), result="Error")

    async def _done(self, d: DesiredInstance, vm_state: str, power: PowerState, event: str,
                    notification: str | None = None, **extra: Any) -> None:
        await self._report(d.uuid, {"vm_state": vm_state, "task_state": None,
                                    "power_state": int(power), **extra},
                           expected=[d.task_state], event=event, notification=notification)

    # --- build --------------------------------------------------------------------------

    def _spec(self, d: DesiredInstance, image_source: Any) -> InstanceSpec:
        nics: tuple[Nic, ...] = ()
        if d.networks != "none":
            nics = (Nic(id=f"{d.uuid}-0", mac=mac_of(d.uuid), kind="user"),)
        drive = None
        if d.config_drive:
            drive = ConfigDrive(meta_data=d.meta_data,
                                user_data=instance_metadata.user_data_bytes(d.user_data),
                                network_data=instance_metadata.network_data(()))
        return InstanceSpec(uuid=d.uuid, name=d.hostname or d.name, flavor=flavor_of(d.flavor),
                            image=image_source, nics=nics, config_drive=drive)

    async def _spawn(self, d: DesiredInstance) -> InstanceInfo:
        image = d.rebuild_image or d.image
        if image is None:
            raise DriverError("booting from a volume is not supported yet")
        spec = self._spec(d, await self.images.source(image, self._token(d.uuid)))
        try:
            return await self.driver.spawn(spec)
        except InstanceExists:  # a spawn that finished before a crash: same instance
            return await self.driver.get_info(d.uuid)

    async def _build(self, d: DesiredInstance, a: InstanceInfo | None) -> None:
        if a is None:
            if d.task_state != T.SPAWNING:
                await self._report(d.uuid, {"task_state": T.SPAWNING},
                                   expected=[T.SCHEDULING, T.NETWORKING, T.BLOCK_DEVICE_MAPPING])
            try:
                a = await self._spawn(d)
            except (DriverError, OSError, RuntimeError) as exc:
                log.warning("%s: build of %s failed: %s", self.host, d.uuid, exc)
                await self._report(d.uuid, fault=FaultInfo(code=500, message=str(exc),
                                                           details=type(exc).__name__),
                                   reschedule=True, event="compute__do_build_and_run_instance",
                                   result="Error")
                return
            log.info("%s: spawned instance %s", self.host, d.uuid)
        await self._report(d.uuid, {"vm_state": V.ACTIVE, "task_state": None,
                                    "power_state": int(a.power_state),
                                    "launched_at": clock.utcnow().isoformat()},
                           expected=_BUILD_TASKS, event="compute__do_build_and_run_instance",
                           notification="instance.create.end")

    async def _lost(self, d: DesiredInstance) -> None:
        if self.recreate_lost and d.vm_state in _RECREATE and d.task_state is None:
            info = await self._spawn(d)
            if d.vm_state == V.STOPPED:
                await self.driver.power_off(d.uuid, 0)
            elif d.vm_state == V.PAUSED:
                await self.driver.pause(d.uuid)
            elif d.vm_state == V.SUSPENDED:
                await self.driver.suspend(d.uuid)
            log.info("%s: re-created lost instance %s (%s)", self.host, d.uuid, info.power_state)
            return
        if d.power_state != PowerState.NOSTATE:
            # Nova's power-state sync: the hypervisor does not know it; say so, change nothing.
            await self._report(d.uuid, {"power_state": int(PowerState.NOSTATE)},
                               expected=[d.task_state])

    # --- tasks --------------------------------------------------------------------------

    async def _sync_power(self, d: DesiredInstance, a: InstanceInfo) -> None:
        power = a.power_state
        if d.vm_state == V.ACTIVE and power in (PowerState.SHUTDOWN, PowerState.CRASHED):
            # The guest powered itself off or its process died: Nova's sync stops it.
            await self._report(d.uuid, {"vm_state": V.STOPPED, "power_state": int(power)},
                               expected=[None], notification="instance.power_off.end")
        elif d.vm_state == V.STOPPED and power == PowerState.RUNNING:
            await self.driver.power_off(d.uuid, 0)
            await self._report(d.uuid, {"power_state": int(PowerState.SHUTDOWN)}, expected=[None])
        elif int(power) != d.power_state:
            await self._report(d.uuid, {"power_state": int(power)}, expected=[None])

    async def _power_off(self, d: DesiredInstance, a: InstanceInfo) -> None:
        if a.power_state not in (PowerState.SHUTDOWN, PowerState.CRASHED):
            if a.power_state == PowerState.SUSPENDED:
                await self.driver.resume(d.uuid)
            await self.driver.power_off(d.uuid, self.shutdown_timeout)
        await self._done(d, V.STOPPED, PowerState.SHUTDOWN, "compute_stop_instance",
                         "instance.power_off.end")

    async def _power_on(self, d: DesiredInstance, a: InstanceInfo) -> None:
        if a.power_state != PowerState.RUNNING:
            await self.driver.power_on(d.uuid)
        await self._done(d, V.ACTIVE, PowerState.RUNNING, "compute_start_instance",
                         "instance.power_on.end")

    async def _reboot(self, d: DesiredInstance, hard: bool) -> None:
        if d.task_state in (T.REBOOTING, T.REBOOTING_HARD):
            # Nova's compute marks the reboot as started before it runs it.
            pending = T.REBOOT_STARTED_HARD if hard else T.REBOOT_STARTED
            await self._report(d.uuid, {"task_state": pending}, expected=[d.task_state])
        await self.driver.reboot(d.uuid, hard=hard, grace=self.shutdown_timeout)
        await self._report(d.uuid, {"vm_state": V.ACTIVE, "task_state": None,
                                    "power_state": int(PowerState.RUNNING)},
                           expected=[T.REBOOTING, T.REBOOT_PENDING, T.REBOOT_STARTED,
                                     T.REBOOTING_HARD, T.REBOOT_PENDING_HARD,
                                     T.REBOOT_STARTED_HARD],
                           event="compute_reboot_instance", notification="instance.reboot.end")

    async def _resize(self, d: DesiredInstance, a: InstanceInfo) -> None:
        new = flavor_of(d.flavor)
        if not a.resizing:
            await self.driver.resize(d.uuid, new)
        info = await self.driver.get_info(d.uuid)
        await self._done(d, V.RESIZED, info.power_state, "compute_finish_resize",
                         "instance.resize_finish.end")

    async def _revert_resize(self, d: DesiredInstance, a: InstanceInfo) -> None:
        if a.resizing:
            await self.driver.revert_resize(d.uuid)
        info = await self.driver.get_info(d.uuid)
        vm = V.STOPPED if info.power_state == PowerState.SHUTDOWN else V.ACTIVE
        await self._done(d, vm, info.power_state, "compute_revert_resize",
                         "instance.resize_revert.end")

    async def _snapshot(self, d: DesiredInstance, a: InstanceInfo) -> None:
        if d.snapshot_image_id is None:
            raise DriverError("snapshot requested without a target image")
        if d.task_state in (T.IMAGE_SNAPSHOT, T.IMAGE_BACKUP):
            await self._report(d.uuid, {"task_state": T.IMAGE_PENDING_UPLOAD},
                               expected=[d.task_state])
        with tempfile.TemporaryDirectory(dir=self.work_dir) as tmp:
            path = await self.driver.snapshot(d.uuid, Path(tmp) / "snapshot.qcow2")
            await self._report(d.uuid, {"task_state": T.IMAGE_UPLOADING},
                               expected=[T.IMAGE_PENDING_UPLOAD, d.task_state])
            token = self._token(d.uuid)
            if self.images.store is None or token is None:
                raise DriverError("no Image service client or token to upload the snapshot")
            try:
                await self.images.store.upload(token, d.snapshot_image_id, path)
                backup = self._ctx.get(d.uuid, {}).get("backup")
                if isinstance(backup, dict):
                    await self._rotate(token, d.uuid, str(backup.get("type", "")),
                                       int(backup.get("rotation", 0)))
            except (OSError, ServiceError) as exc:
                raise DriverError(f"uploading the snapshot failed: {exc}") from exc
        info = await self.driver.get_info(d.uuid)
        await self._report(d.uuid, {"task_state": None, "power_state": int(info.power_state)},
                           expected=[T.IMAGE_UPLOADING, T.IMAGE_PENDING_UPLOAD,
                                     T.IMAGE_SNAPSHOT, T.IMAGE_BACKUP],
                           event="compute_snapshot_instance", notification="instance.snapshot.end")

    async def _rotate(self, token: str, uuid: str, backup_type: str, rotation: int) -> None:
        """Nova's backup rotation: keep the newest `rotation` backups of this type."""
        assert self.images.store is not None
        backups = await self.images.store.list_images(
            token, instance_uuid=uuid, image_type="backup", backup_type=backup_type,
            sort_key="created_at", sort_dir="desc")
        for old in backups[rotation:]:
            await self.images.store.delete_image(token, old["id"])

    async def _rebuild(self, d: DesiredInstance) -> None:
        if d.task_state == T.REBUILDING:
            await self._report(d.uuid, {"task_state": T.REBUILD_SPAWNING},
                               expected=[T.REBUILDING])
        was_stopped = d.vm_state == V.STOPPED
        await self.driver.destroy(d.uuid)
        info = await self._spawn(d)
        if was_stopped:
            await self.driver.power_off(d.uuid, 0)
            info = await self.driver.get_info(d.uuid)
        await self._report(d.uuid, {"vm_state": V.STOPPED if was_stopped else V.ACTIVE,
                                    "task_state": None, "power_state": int(info.power_state),
                                    "launched_at": clock.utcnow().isoformat()},
                           expected=[T.REBUILDING, T.REBUILD_BLOCK_DEVICE_MAPPING,
                                     T.REBUILD_SPAWNING],
                           event="compute_rebuild_instance", notification="instance.rebuild.end")

    # --- shelve and rescue ----------------------------------------------------------------

    async def _shelve(self, d: DesiredInstance, a: InstanceInfo) -> None:
        """Power off, snapshot into the shelved image, report SHELVED (Nova's
        shelve_instance; the conductor then asks for the offload when it is due)."""
        if d.snapshot_image_id is None:
            raise DriverError("shelve requested without a target image")
        if a.power_state == PowerState.PAUSED:
            await self.driver.unpause(d.uuid)
        elif a.power_state == PowerState.SUSPENDED:
            await self.driver.resume(d.uuid)
        if a.power_state not in (PowerState.SHUTDOWN, PowerState.CRASHED):
            await self.driver.power_off(d.uuid, self.shutdown_timeout)
        if d.task_state == T.SHELVING:
            await self._report(d.uuid, {"task_state": T.SHELVING_IMAGE_PENDING_UPLOAD},
                               expected=[T.SHELVING])
        await self._upload_snapshot(d, T.SHELVING_IMAGE_UPLOADING,
                                    [T.SHELVING_IMAGE_PENDING_UPLOAD, d.task_state])
        await self._report(d.uuid, {"vm_state": V.SHELVED, "task_state": None,
                                    "power_state": int(PowerState.SHUTDOWN)},
                           expected=[T.SHELVING, T.SHELVING_IMAGE_PENDING_UPLOAD,
                                     T.SHELVING_IMAGE_UPLOADING],
                           event="compute_shelve_instance", notification="instance.shelve.end")

    async def _upload_snapshot(self, d: DesiredInstance, uploading: str,
                               expected: list[str | None]) -> None:
        assert d.snapshot_image_id is not None
        with tempfile.TemporaryDirectory(dir=self.work_dir) as tmp:
            path = await self.driver.snapshot(d.uuid, Path(tmp) / "snapshot.qcow2")
            await self._report(d.uuid, {"task_state": uploading}, expected=expected)
            token = self._token(d.uuid)
            if self.images.store is None or token is None:
                raise DriverError("no Image service client or token to upload the snapshot")
            try:
                await self.images.store.upload(token, d.snapshot_image_id, path)
            except (OSError, ServiceError) as exc:
                raise DriverError(f"uploading the snapshot failed: {exc}") from exc

    async def _offload(self, d: DesiredInstance, a: InstanceInfo | None) -> None:
        """The shelved guest leaves the host (the conductor frees the host and its claim)."""
        if a is not None:
            await self.driver.destroy(d.uuid)
        await self._report(d.uuid, {"vm_state": V.SHELVED_OFFLOADED, "task_state": None,
                                    "power_state": int(PowerState.NOSTATE)},
                           expected=[T.SHELVING_OFFLOADING],
                           event="compute_shelve_offload_instance",
                           notification="instance.shelve_offload.end")

    async def _unshelve(self, d: DesiredInstance, a: InstanceInfo | None) -> None:
        """A SHELVED guest powers on; an offloaded one spawns here from the shelved image.
        Either way the shelved image is deleted (Nova's unshelve_instance)."""
        if a is None:
            if d.task_state == T.UNSHELVING:
                await self._report(d.uuid, {"task_state": T.SPAWNING},
                                   expected=[T.UNSHELVING])
            a = await self._spawn(d)
        elif a.power_state != PowerState.RUNNING:
            await self.driver.power_on(d.uuid)
        shelved = d.snapshot_image_id
        token = self._token(d.uuid)
        if shelved and token and self.images.store is not None:
            try:
                await self.images.store.delete_image(token, shelved)
            except ServiceError as exc:
                log.warning("%s: the shelved image %s of %s stays: %s", self.host, shelved,
                            d.uuid, exc)
        await self._report(d.uuid, {"vm_state": V.ACTIVE, "task_state": None,
                                    "power_state": int(PowerState.RUNNING),
                                    "launched_at": clock.utcnow().isoformat()},
                           expected=[T.UNSHELVING, T.SPAWNING],
                           event="compute_unshelve_instance", notification="instance.unshelve.end")

    async def _rescue(self, d: DesiredInstance, a: InstanceInfo) -> None:
        """Boot from the rescue image (the one rescue named, else the server's own)."""
        if not a.rescued:
            named = self._ctx.get(d.uuid, {}).get("rescue_image")
            image = DesiredImage.model_validate(named) if isinstance(named, dict) else d.image
            if image is None:
                raise DriverError("no image to rescue the server with")
            await self.driver.rescue(d.uuid, await self.images.source(image, self._token(d.uuid)))
        await self._done(d, V.RESCUED, PowerState.RUNNING, "compute_rescue_instance",
                         "instance.rescue.end")


_EVENTS = {
    T.POWERING_OFF: "compute_stop_instance", T.POWERING_ON: "compute_start_instance",
    T.PAUSING: "compute_pause_instance", T.UNPAUSING: "compute_unpause_instance",
    T.SUSPENDING: "compute_suspend_instance", T.RESUMING: "compute_resume_instance",
    **{t: "compute_reboot_instance" for t in _REBOOT_SOFT | _REBOOT_HARD},
    **{t: "compute_finish_resize" for t in _RESIZE},
    T.RESIZE_REVERTING: "compute_revert_resize", T.RESIZE_CONFIRMING: "compute_confirm_resize",
    **{t: "compute_snapshot_instance" for t in _SNAPSHOT},
    **{t: "compute_rebuild_instance" for t in _REBUILD},
    **{t: "compute_shelve_instance" for t in _SHELVE},
    T.SHELVING_OFFLOADING: "compute_shelve_offload_instance",
    T.UNSHELVING: "compute_unshelve_instance", T.RESCUING: "compute_rescue_instance",
    T.UNRESCUING: "compute_unrescue_instance",
}
