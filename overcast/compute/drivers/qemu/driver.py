"""QemuDriver: real virtual machines with qemu-system-x86_64, driven over QMP.

Each instance lives in `<state_dir>/instances/<uuid>/`: instance.json (the record that
recreates it), disk overlays on the shared base cache (`<state_dir>/_base`), the config
drive, the serial log, the QMP socket and the pid file. QEMU runs detached (-daemonize),
so VMs outlive the driver; a new driver on the same state directory finds them all.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from overcast.compute.drivers.base import (
    MIN_GUEST_RAM_MB,
    BlockDevice,
    ComputeDriver,
    ConsoleEndpoint,
    DriverError,
    Flavor,
    FlavorTooSmall,
    HostInventory,
    HypervisorUnavailable,
    ImageSource,
    InstanceExists,
    InstanceInfo,
    InstanceNotFound,
    InstanceSpec,
    InvalidImage,
    InvalidInstanceState,
    MigrationTarget,
    Nic,
    OperationTimeout,
    PowerState,
)
from overcast.compute.drivers.qemu import accel, command, config_drive, images
from overcast.compute.drivers.qemu.command import Paths, Record
from overcast.compute.drivers.qemu.monitor import Monitor, MonitorError
from overcast.compute.drivers.qemu.processes import (
    CommandFailed,
    kill,
    process_alive,
    read_pid,
    run,
    wait_exit,
)

log = logging.getLogger(__name__)

GiB = 1024**3
MiB = 1024**2
CONSOLE_LOG_MAX = 1 * MiB

_STATES = {
    "running": PowerState.RUNNING,
    "paused": PowerState.PAUSED,
    "suspended": PowerState.PAUSED,
    "prelaunch": PowerState.PAUSED,
    "inmigrate": PowerState.PAUSED,
    "postmigrate": PowerState.PAUSED,
    "finish-migrate": PowerState.PAUSED,
    "save-vm": PowerState.PAUSED,
    "restore-vm": PowerState.PAUSED,
    "debug": PowerState.PAUSED,
    "watchdog": PowerState.PAUSED,
    "io-error": PowerState.PAUSED,
    "colo": PowerState.PAUSED,
    "internal-error": PowerState.CRASHED,
    "guest-panicked": PowerState.CRASHED,
    "shutdown": PowerState.SHUTDOWN,
}


def _host_memory_mb() -> int:
    meminfo = Path("/proc/meminfo").read_text().split()
    return int(meminfo[meminfo.index("MemTotal:") + 1]) // 1024


class QemuDriver(ComputeDriver):
    """The QEMU/KVM (or TCG) hypervisor on this host."""

    def __init__(
        self,
        state_dir: Path,
        *,
        host: str | None = None,
        qemu_binary: str = "qemu-system-x86_64",
        accel_mode: str = "auto",
        probe_kernel: Path | None = None,
        probe_initrd: Path | None = None,
        netns: str | None = None,
        vnc: bool = True,
        console_log_max: int = CONSOLE_LOG_MAX,
        run_dir: Path | None = None,
    ) -> None:
        found = shutil.which(qemu_binary)
        if found is None:
            raise HypervisorUnavailable(
                f"QEMU binary {qemu_binary!r} not found; install the qemu-system-x86 package"
            )
        for tool in ("qemu-img",):
            if shutil.which(tool) is None:
                raise HypervisorUnavailable(f"{tool} not found; install the qemu-utils package")
        self.qemu = found
        self.state_dir = Path(state_dir).resolve()
        self.host = host or socket.gethostname()
        self.accel_mode = accel_mode
        self.probe_kernel = probe_kernel
        self.probe_initrd = probe_initrd
        self.netns = netns
        self.vnc = vnc
        self.console_log_max = console_log_max
        self._instances = self.state_dir / "instances"
        self._base = self.state_dir / "_base"
        self._instances.mkdir(parents=True, exist_ok=True)
        # Sockets (QMP, VNC, NBD, migration) need short paths; one run dir per state dir.
        digest = hashlib.sha1(str(self.state_dir).encode()).hexdigest()[:10]
        self._run = run_dir or Path(tempfile.gettempdir()) / f"overcast-{digest}"
        self._monitors: dict[str, Monitor] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._accel: tuple[str, str] | None = None
        self._version: str | None = None

    # --- plumbing -------------------------------------------------------------------------

    def _paths(self, uuid: str) -> Paths:
        if not uuid or "/" in uuid or uuid.startswith("."):
            raise InstanceNotFound(f"instance {uuid!r} not found")
        return Paths(self._instances / uuid, self._run / uuid)

    def _lock(self, uuid: str) -> asyncio.Lock:
        return self._locks.setdefault(uuid, asyncio.Lock())

    def _load(self, uuid: str) -> Record:
        paths = self._paths(uuid)
        try:
            return Record.model_validate_json(paths.record.read_text())
        except FileNotFoundError:
            raise InstanceNotFound(f"instance {uuid} not found") from None

    def _save(self, record: Record) -> None:
        paths = self._paths(record.spec.uuid)
        tmp = paths.record.with_name(".instance.json.tmp")
        tmp.write_text(record.model_dump_json(indent=1))
        os.replace(tmp, paths.record)

    def _monitor(self, uuid: str) -> Monitor:
        mon = self._monitors.get(uuid)
        if mon is None:
            mon = self._monitors[uuid] = Monitor(uuid, self._paths(uuid).qmp)
        return mon

    def _pid(self, uuid: str) -> int | None:
        pid = read_pid(self._paths(uuid).pid)
        return pid if process_alive(pid, uuid) else None

    async def _qemu_version(self) -> str:
        if self._version is None:
            out = await run(self.qemu, "--version", seconds=30)
            self._version = out.split("version", 1)[1].split()[0] if "version" in out else "0"
        return self._version

    async def accel(self) -> tuple[str, str]:
        """("kvm" | "tcg", why). Probed once per host setup, logged once per driver."""
        if self._accel is None:
            if self.accel_mode in ("kvm", "tcg"):
                self._accel = (self.accel_mode, "configured")
            else:
                self._accel = await accel.choose(
                    self.qemu, await self._qemu_version(), self.state_dir / "accel.json",
                    self.probe_kernel, self.probe_initrd,
                )
            log.info("QEMU acceleration: %s (%s)", *self._accel)
        return self._accel

    def _netns_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns] if self.netns else []

    def _ip(self, *args: str) -> list[str]:
        return ["ip", *(["-n", self.netns] if self.netns else []), *args]

    async def _tap_exists(self, name: str) -> bool:
        try:
            await run(*self._ip("link", "show", name), seconds=30)
            return True
        except CommandFailed:
            return False

    async def _plug_tap(self, record: Record, nic: Nic) -> str:
        """Create the NIC's tap on its bridge (idempotent). A name still held by another
        process (the migration source on this host) gets the alternative name."""
        if nic.bridge is None:
            raise DriverError(f"NIC {nic.id} has no bridge")
        tap = record.taps.get(nic.id)
        if tap is None:
            stem = nic.id.replace("-", "")[:11]
            tap = f"tap{stem}"
            if await self._tap_exists(tap):
                tap = f"tam{stem}"
            record.taps[nic.id] = tap
        try:
            mac = command.tap_mac(nic.mac)
        except ValueError as exc:
            raise DriverError(f"NIC {nic.id}: {exc}") from None
        if not await self._tap_exists(tap):
            await run(*self._ip("tuntap", "add", "dev", tap, "mode", "tap"), seconds=30)
        # A fixed, high MAC before joining the bridge, so that plugging or unplugging this tap
        # (the switch-over of a live migration) does not change the bridge's own MAC.
        await run(*self._ip("link", "set", tap, "address", mac), seconds=30)
        await run(*self._ip("link", "set", tap, "master", nic.bridge, "up"), seconds=30)
        if nic.mtu:
            await run(*self._ip("link", "set", tap, "mtu", str(nic.mtu)), seconds=30)
        return tap

    async def _unplug_tap(self, record: Record, nic_id: str) -> None:
        tap = record.taps.get(nic_id)
        if tap and await self._tap_exists(tap):
            await run(*self._ip("link", "del", tap), seconds=30, check=False)

    def _trim_console(self, path: Path) -> None:
        """Keep the serial log bounded: QEMU appends (append=on), so cutting the file to its
        tail in place is safe; output written during the cut may be lost."""
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return
        if size <= self.console_log_max:
            return
        keep = self.console_log_max // 2
        with path.open("r+b") as f:
            f.seek(size - keep)
            tail = f.read()
            f.seek(0)
            f.truncate()
            f.write(tail)

    async def _launch(self, record: Record, *, incoming: bool = False) -> None:
        """Start the QEMU process of `record` (it must not be running)."""
        paths = self._paths(record.spec.uuid)
        for nic in record.spec.nics:
            if nic.kind == "bridge":
                await self._plug_tap(record, nic)
        self._trim_console(paths.console)
        paths.sockets.mkdir(parents=True, exist_ok=True, mode=0o700)
        paths.qmp.unlink(missing_ok=True)
        paths.pid.unlink(missing_ok=True)
        argv = command.build(self.qemu, record, paths, incoming=incoming, vnc=self.vnc)
        self._save(record)
        log.info("starting %s: %s", record.spec.uuid, command.quoted(argv))
        try:
            await run(*self._netns_prefix(), *argv, seconds=120)
        except CommandFailed as exc:
            raise DriverError(f"QEMU did not start: {exc.stderr.strip()[-400:]}") from exc
        await self._monitor(record.spec.uuid).close()

    async def _stop_process(self, uuid: str) -> None:
        await self._monitor(uuid).close()
        await kill(read_pid(self._paths(uuid).pid), uuid)

    async def _status(self, uuid: str) -> str | None:
        """QEMU's run state, or None when no process runs."""
        if self._pid(uuid) is None:
            return None
        try:
            return await self._monitor(uuid).status()
        except MonitorError:
            return None if self._pid(uuid) is None else "unknown"

    async def _wait_migration(self, uuid: str, seconds: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        mon = self._monitor(uuid)
        while True:
            info = await mon.execute("query-migrate")
            status = info.get("status")
            if status == "completed":
                return dict(info)
            if status in ("failed", "cancelled"):
                raise DriverError(f"migration {status}: {info.get('error-desc', '')}")
            if loop.time() > deadline:
                await mon.execute("migrate_cancel")
                raise OperationTimeout(f"migration did not finish in {seconds:.0f} s")
            await asyncio.sleep(0.1)

    # --- host -----------------------------------------------------------------------------

    async def host_inventory(self) -> HostInventory:
        accel_kind, _ = await self.accel()
        version = await self._qemu_version()
        parts = [int(p) for p in version.split(".")[:3] if p.isdigit()] + [0, 0, 0]
        disk = shutil.disk_usage(self.state_dir)
        return HostInventory(
            hypervisor_type="QEMU",
            hypervisor_version=parts[0] * 1_000_000 + parts[1] * 1000 + parts[2],
            hypervisor_hostname=self.host,
            accel=accel_kind,
            vcpus=os.cpu_count() or 1,
            memory_mb=_host_memory_mb(),
            disk_gb=disk.total // GiB,
            instances=len(self._uuids()),
        )

    def _uuids(self) -> list[str]:
        return sorted(p.parent.name for p in self._instances.glob("*/instance.json"))

    async def list_instances(self) -> list[InstanceInfo]:
        infos = []
        for uuid in self._uuids():
            try:
                infos.append(await self.get_info(uuid))
            except InstanceNotFound:
                continue  # destroyed meanwhile
        return infos

    async def get_info(self, uuid: str) -> InstanceInfo:
        record = self._load(uuid)
        status = await self._status(uuid)
        if status is None:
            state = PowerState.SUSPENDED if self._paths(uuid).memory.exists() else PowerState.SHUTDOWN
        else:
            state = _STATES.get(status, PowerState.NOSTATE)
        return InstanceInfo(
            uuid=uuid,
            name=record.spec.name,
            power_state=state,
            vcpus=record.spec.flavor.vcpus,
            memory_mb=record.spec.flavor.memory_mb,
            accel=record.accel,
            pid=self._pid(uuid),
            rescued=record.rescue is not None,
            resizing=record.old_flavor is not None,
            nics=record.spec.nics,
            block_devices=record.spec.block_devices,
        )

    async def get_diagnostics(self, uuid: str) -> dict[str, Any]:
        """The standard view plus what the host tells: uptime from the process's start time,
        the config drive, and the disks' counters from QMP query-blockstats."""
        out = await super().get_diagnostics(uuid)
        record = self._load(uuid)
        out["config_drive"] = record.spec.config_drive is not None
        pid = self._pid(uuid)
        if pid is None:
            return out
        out["uptime"] = await asyncio.to_thread(_uptime, pid)
        try:
            stats = await self._monitor(uuid).execute("query-blockstats", seconds=10)
        except (MonitorError, OperationTimeout):
            return out
        disks = [b.get("stats", {}) for b in stats if b.get("stats")]
        if disks:
            out["num_disks"] = len(disks)
            out["disk_details"] = [{
                "read_bytes": d.get("rd_bytes"), "read_requests": d.get("rd_operations"),
                "write_bytes": d.get("wr_bytes"), "write_requests": d.get("wr_operations"),
                "errors_count": (d.get("failed_rd_operations") or 0)
                + (d.get("failed_wr_operations") or 0)} for d in disks]
        return out

    async def close(self) -> None:
        for mon in self._monitors.values():
            await mon.close()
        self._monitors.clear()

    # --- lifecycle ------------------------------------------------------------------------

    async def _check_image(self, image: ImageSource, flavor: Flavor) -> tuple[images.ImageInfo, str]:
        if flavor.memory_mb < max(MIN_GUEST_RAM_MB, image.min_ram_mb):
            raise FlavorTooSmall(
                f"flavor {flavor.name} has {flavor.memory_mb} MiB of RAM; the image needs at "
                f"least {max(MIN_GUEST_RAM_MB, image.min_ram_mb)} MiB"
            )
        if image.disk_format == "ami" and image.kernel is None:
            raise InvalidImage("an AMI root file system needs a kernel (and ramdisk) to boot")
        for part in (image.kernel, image.ramdisk):
            if part is not None and not part.is_file():
                raise InvalidImage(f"kernel or ramdisk file {part.name} does not exist")
        info, boot = await images.check_bootable(
            image.path, image.disk_format, has_kernel=image.kernel is not None
        )
        if flavor.root_gb and flavor.root_gb * GiB < info.virtual_size:
            raise FlavorTooSmall(
                f"flavor {flavor.name} has a {flavor.root_gb} GiB root disk; the image is "
                f"{info.virtual_size / GiB:.2f} GiB"
            )
        if image.min_disk_gb and flavor.root_gb and flavor.root_gb < image.min_disk_gb:
            raise FlavorTooSmall(
                f"flavor {flavor.name} has a {flavor.root_gb} GiB root disk; the image needs "
                f"{image.min_disk_gb} GiB"
            )
        return info, boot

    async def _make_disks(self, record: Record, paths: Paths, image_info: images.ImageInfo) -> None:
        spec = record.spec
        base = await images.cache_base(spec.image.path, self._base)
        if record.boot == "cdrom":
            await images.create_overlay(base, paths.disk.with_suffix(".iso"))
            await images.create_blank(paths.disk, record.root_size)
        else:
            await images.create_overlay(base, paths.disk, record.root_size)
        if spec.flavor.ephemeral_gb:
            await images.create_blank(paths.ephemeral, spec.flavor.ephemeral_gb * GiB)
        if spec.flavor.swap_mb:
            await images.create_swap(paths.swap, spec.flavor.swap_mb * MiB)
        if spec.config_drive is not None:
            await config_drive.build(spec.config_drive, paths.config)

    async def _new_record(self, spec: InstanceSpec) -> tuple[Record, images.ImageInfo]:
        info, boot = await self._check_image(spec.image, spec.flavor)
        root_size = max(spec.flavor.root_gb * GiB, info.virtual_size)
        if boot == "cdrom" and not spec.flavor.root_gb:
            root_size = GiB
        accel_kind, _ = await self.accel()
        record = Record(spec=spec, host=self.host, accel=accel_kind, boot=boot,
                        root_size=root_size)
        return record, info

    async def spawn(self, spec: InstanceSpec) -> InstanceInfo:
        async with self._lock(spec.uuid):
            paths = self._paths(spec.uuid)
            if paths.record.exists():
                raise InstanceExists(f"instance {spec.uuid} exists")
            record, info = await self._new_record(spec)
            paths.root.mkdir(parents=True, exist_ok=True)
            try:
                await self._make_disks(record, paths, info)
                await self._launch(record)
            except BaseException:
                await self._destroy(spec.uuid)
                raise
        return await self.get_info(spec.uuid)

    async def _destroy(self, uuid: str) -> None:
        paths = self._paths(uuid)
        await self._stop_process(uuid)
        self._monitors.pop(uuid, None)
        try:
            record = self._load(uuid)
            for nic_id in list(record.taps):
                await self._unplug_tap(record, nic_id)
        except InstanceNotFound:
            pass
        await asyncio.to_thread(shutil.rmtree, paths.root, True)
        await asyncio.to_thread(shutil.rmtree, paths.sockets, True)

    async def destroy(self, uuid: str) -> None:
        self._paths(uuid)
        async with self._lock(uuid):
            await self._destroy(uuid)
        self._locks.pop(uuid, None)

    async def _power_off(self, uuid: str, seconds: float) -> None:
        status = await self._status(uuid)
        if status is None:
            return
        pid = read_pid(self._paths(uuid).pid)
        if seconds > 0 and status == "running":
            try:
                await self._monitor(uuid).execute("system_powerdown")
            except MonitorError:
                pass
            if pid and await wait_exit(pid, uuid, seconds):
                await self._monitor(uuid).close()
                return
            log.warning("%s ignored ACPI power-off for %.0f s; stopping it", uuid, seconds)
        await self._stop_process(uuid)

    async def power_off(self, uuid: str, grace: float = 60.0) -> None:
        self._load(uuid)
        async with self._lock(uuid):
            await self._power_off(uuid, grace)

    async def power_on(self, uuid: str) -> None:
        record = self._load(uuid)
        async with self._lock(uuid):
            if self._pid(uuid) is not None:
                return
            if self._paths(uuid).memory.exists():
                await self._resume(record)
            else:
                await self._launch(record)

    async def reboot(self, uuid: str, hard: bool = False, grace: float = 60.0) -> None:
        record = self._load(uuid)
        async with self._lock(uuid):
            self._paths(uuid).memory.unlink(missing_ok=True)
            await self._power_off(uuid, 0 if hard else grace)
            await self._launch(record)

    async def pause(self, uuid: str) -> None:
        self._load(uuid)
        async with self._lock(uuid):
            if await self._status(uuid) is None:
                raise InvalidInstanceState(f"instance {uuid} is not running")
            await self._monitor(uuid).execute("stop")

    async def unpause(self, uuid: str) -> None:
        self._load(uuid)
        async with self._lock(uuid):
            if await self._status(uuid) is None:
                raise InvalidInstanceState(f"instance {uuid} is not running")
            await self._monitor(uuid).execute("cont")

    async def suspend(self, uuid: str) -> None:
        self._load(uuid)
        async with self._lock(uuid):
            paths = self._paths(uuid)
            if await self._status(uuid) is None:
                if paths.memory.exists():
                    return
                raise InvalidInstanceState(f"instance {uuid} is not running")
            mon = self._monitor(uuid)
            tmp = paths.memory.with_name(".memory.state.tmp")
            await mon.execute("stop")
            await mon.execute("migrate-set-parameters", {"max-bandwidth": 8 * GiB})
            # exec: runs /bin/sh -c; QEMU 7.2 has no file: migration URI.
            await mon.execute("migrate", {"uri": f"exec:cat > '{tmp}'"})
            try:
                await self._wait_migration(uuid, 300)
            except DriverError:
                await mon.execute("cont")
                tmp.unlink(missing_ok=True)
                raise
            os.replace(tmp, paths.memory)
            await self._stop_process(uuid)

    async def _resume(self, record: Record) -> None:
        uuid = record.spec.uuid
        paths = self._paths(uuid)
        await self._launch(record, incoming=True)
        mon = self._monitor(uuid)
        await mon.execute("migrate-incoming", {"uri": f"exec:cat '{paths.memory}'"})
        await self._wait_migration(uuid, 300)
        await mon.execute("cont")
        await self._add_forwards(record)
        paths.memory.unlink(missing_ok=True)

    async def resume(self, uuid: str) -> None:
        record = self._load(uuid)
        async with self._lock(uuid):
            if self._pid(uuid) is not None:
                return
            if not self._paths(uuid).memory.exists():
                raise InvalidInstanceState(f"instance {uuid} is not suspended")
            await self._resume(record)

    async def _add_forwards(self, record: Record) -> None:
        """Host port forwards of user-mode NICs, added once the VM owns its ports."""
        mon = self._monitor(record.spec.uuid)
        for nic in record.spec.nics:
            if nic.kind == "user":
                for fwd in nic.forwards:
                    out = await mon.hmp(f"hostfwd_add {command.nic_node(nic.id)} "
                                        f"{command.hostfwd(fwd)}")
                    if out.strip():
                        raise DriverError(f"port forward {fwd.host_port}: {out.strip()}")

    # --- images and disks -----------------------------------------------------------------

    async def snapshot(self, uuid: str, target: Path) -> Path:
        """Pauses a running guest while the disk is copied (QEMU flushes on stop), as Nova's
        cold snapshot does; the guest's own unflushed page cache is not in the image."""
        self._load(uuid)
        async with self._lock(uuid):
            paths = self._paths(uuid)
            status = await self._status(uuid)
            mon = self._monitor(uuid)
            if status == "running":
                await mon.execute("stop")
            try:
                await images.export(paths.disk, target)
            finally:
                if status == "running":
                    await mon.execute("cont")
        return target

    async def rescue(self, uuid: str, image: ImageSource) -> None:
        record = self._load(uuid)
        async with self._lock(uuid):
            if record.rescue is not None:
                raise InvalidInstanceState(f"instance {uuid} is already in rescue")
            _, boot = await self._check_image(image, record.spec.flavor)
            if boot == "cdrom":
                raise InvalidImage("an ISO cannot be a rescue image")
            paths = self._paths(uuid)
            base = await images.cache_base(image.path, self._base)
            await self._power_off(uuid, 0)
            paths.rescue.unlink(missing_ok=True)
            await images.create_overlay(base, paths.rescue)
            record.rescue = image
            record.rescue_boot = boot  # type: ignore[assignment]
            await self._launch(record)

    async def unrescue(self, uuid: str) -> None:
        record = self._load(uuid)
        async with self._lock(uuid):
            if record.rescue is None:
                raise InvalidInstanceState(f"instance {uuid} is not in rescue")
            await self._power_off(uuid, 0)
            record.rescue = None
            record.rescue_boot = None
            record.slots.pop("rescued", None)
            self._paths(uuid).rescue.unlink(missing_ok=True)
            await self._launch(record)

    async def resize(self, uuid: str, flavor: Flavor) -> None:
        record = self._load(uuid)
        async with self._lock(uuid):
            if record.old_flavor is not None:
                raise InvalidInstanceState(f"instance {uuid} has a resize to confirm or revert")
            if flavor.memory_mb < MIN_GUEST_RAM_MB:
                raise FlavorTooSmall(f"flavor {flavor.name} has less than {MIN_GUEST_RAM_MB} MiB")
            new_root = flavor.root_gb * GiB
            if flavor.root_gb and new_root < record.root_size:
                raise FlavorTooSmall(f"flavor {flavor.name} would shrink the root disk")
            paths = self._paths(uuid)
            await self._power_off(uuid, 60)
            await run("cp", "--reflink=auto", paths.disk, paths.resize_backup)
            if new_root > record.root_size:
                await images.grow(paths.disk, new_root)
                record.root_size = new_root
            if flavor.ephemeral_gb and paths.ephemeral.exists():
                await images.grow(paths.ephemeral, flavor.ephemeral_gb * GiB)
            elif flavor.ephemeral_gb:
                await images.create_blank(paths.ephemeral, flavor.ephemeral_gb * GiB)
            record.old_flavor = record.spec.flavor
            record.spec = record.spec.model_copy(update={"flavor": flavor})
            await self._launch(record)

    async def confirm_resize(self, uuid: str) -> None:
        record = self._load(uuid)
        async with self._lock(uuid):
            record.old_flavor = None
            self._paths(uuid).resize_backup.unlink(missing_ok=True)
            self._save(record)

    async def revert_resize(self, uuid: str) -> None:
        record = self._load(uuid)
        async with self._lock(uuid):
            if record.old_flavor is None:
                raise InvalidInstanceState(f"instance {uuid} has no resize to revert")
            paths = self._paths(uuid)
            await self._power_off(uuid, 0)
            os.replace(paths.resize_backup, paths.disk)
            record.root_size = (await images.inspect(paths.disk)).virtual_size
            record.spec = record.spec.model_copy(update={"flavor": record.old_flavor})
            record.old_flavor = None
            await self._launch(record)

    async def _wait_device_gone(self, uuid: str, device: str, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        mon = self._monitor(uuid)
        while True:
            children = await mon.execute("qom-list", {"path": "/machine/peripheral"})
            if device not in {c["name"] for c in children}:
                return
            if loop.time() > deadline:
                raise OperationTimeout(f"the guest did not release device {device}")
            await asyncio.sleep(0.2)

    async def attach_volume(self, uuid: str, device: BlockDevice) -> None:
        record = self._load(uuid)
        async with self._lock(uuid):
            if any(bd.id == device.id for bd in record.spec.block_devices):
                return
            if not device.path.exists():
                raise DriverError(f"volume {device.id} has no file on this host")
            node = command.volume_node(device.id)
            slot = command.allocate_slot(record, node)
            if await self._status(uuid) is not None:
                mon = self._monitor(uuid)
                driver = "host_device" if device.path.is_block_device() else "file"
                await mon.execute("blockdev-add", {
                    "driver": device.format, "node-name": node, "read-only": device.read_only,
                    "file": {"driver": driver, "filename": str(device.path)},
                })
                try:
                    await mon.execute("device_add", {
                        "driver": "virtio-blk-pci", "drive": node, "id": node, "bus": "pci.0",
                        "addr": f"{slot:#x}", "serial": (device.serial or device.id)[:20],
                    })
                except MonitorError:
                    await mon.execute("blockdev-del", {"node-name": node})
                    raise
            record.spec = record.spec.model_copy(
                update={"block_devices": (*record.spec.block_devices, device)})
            self._save(record)

    async def detach_volume(self, uuid: str, volume_id: str, grace: float = 30.0) -> None:
        record = self._load(uuid)
        async with self._lock(uuid):
            if not any(bd.id == volume_id for bd in record.spec.block_devices):
                return
            node = command.volume_node(volume_id)
            if await self._status(uuid) is not None:
                mon = self._monitor(uuid)
                await mon.execute("device_del", {"id": node})
                await self._wait_device_gone(uuid, node, grace)
                await mon.execute("blockdev-del", {"node-name": node})
            record.slots.pop(node, None)
            record.spec = record.spec.model_copy(update={"block_devices": tuple(
                bd for bd in record.spec.block_devices if bd.id != volume_id)})
            self._save(record)

    async def attach_interface(self, uuid: str, nic: Nic) -> None:
        record = self._load(uuid)
        async with self._lock(uuid):
            if any(n.id == nic.id for n in record.spec.nics):
                return
            node = command.nic_node(nic.id)
            slot = command.allocate_slot(record, node)
            if await self._status(uuid) is not None:
                tap = await self._plug_tap(record, nic) if nic.kind == "bridge" else None
                mon = self._monitor(uuid)
                await mon.execute("netdev_add", command.netdev_args(nic, tap, with_forwards=True))
                try:
                    await mon.execute("device_add", {
                        "driver": "virtio-net-pci", "netdev": node, "id": node, "mac": nic.mac,
                        "bus": "pci.0", "addr": f"{slot:#x}",
                    })
                except MonitorError:
                    await mon.execute("netdev_del", {"id": node})
                    raise
            record.spec = record.spec.model_copy(update={"nics": (*record.spec.nics, nic)})
            self._save(record)

    async def detach_interface(self, uuid: str, nic_id: str, grace: float = 30.0) -> None:
        record = self._load(uuid)
        async with self._lock(uuid):
            if not any(n.id == nic_id for n in record.spec.nics):
                return
            node = command.nic_node(nic_id)
            if await self._status(uuid) is not None:
                mon = self._monitor(uuid)
                await mon.execute("device_del", {"id": node})
                await self._wait_device_gone(uuid, node, grace)
                await mon.execute("netdev_del", {"id": node})
            await self._unplug_tap(record, nic_id)
            record.taps.pop(nic_id, None)
            record.slots.pop(node, None)
            record.spec = record.spec.model_copy(
                update={"nics": tuple(n for n in record.spec.nics if n.id != nic_id)})
            self._save(record)

    # --- consoles -------------------------------------------------------------------------

    async def get_console_output(self, uuid: str, lines: int | None = None) -> str:
        self._load(uuid)
        path = self._paths(uuid).console
        await asyncio.to_thread(self._trim_console, path)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return ""
        text = data.decode(errors="replace").replace("\r\n", "\n")
        if lines is not None:
            text = "\n".join(text.splitlines()[-lines:]) if lines > 0 else ""
        return text

    async def get_vnc_console(self, uuid: str) -> ConsoleEndpoint:
        self._load(uuid)
        if not self.vnc:
            raise InvalidInstanceState("VNC consoles are disabled on this host")
        if self._pid(uuid) is None:
            raise InvalidInstanceState(f"instance {uuid} is not running")
        return ConsoleEndpoint(kind="vnc", path=self._paths(uuid).vnc)

    # --- live migration -------------------------------------------------------------------

    def _disk_nodes(self, record: Record) -> list[str]:
        paths = self._paths(record.spec.uuid)
        nodes = ["disk0"]
        if paths.ephemeral.exists():
            nodes.append("eph0")
        if paths.swap.exists():
            nodes.append("swap0")
        return nodes

    async def pre_live_migration(self, spec: InstanceSpec) -> MigrationTarget:
        async with self._lock(spec.uuid):
            paths = self._paths(spec.uuid)
            if paths.record.exists():
                raise InstanceExists(f"instance {spec.uuid} exists on {self.host}")
            record, info = await self._new_record(spec)
            paths.root.mkdir(parents=True, exist_ok=True)
            try:
                await self._make_disks(record, paths, info)
                await self._launch(record, incoming=True)
                mon = self._monitor(spec.uuid)
                await mon.execute("nbd-server-start", {
                    "addr": {"type": "unix", "data": {"path": str(paths.nbd)}}})
                disks = {}
                for node in self._disk_nodes(record):
                    await mon.execute("block-export-add", {
                        "type": "nbd", "id": f"export-{node}", "node-name": node,
                        "name": node, "writable": True})
                    disks[node] = str(paths.nbd)
                uri = f"unix:{paths.migration}"
                await mon.execute("migrate-incoming", {"uri": uri})
            except BaseException:
                await self._destroy(spec.uuid)
                raise
        return MigrationTarget(host=self.host, uuid=spec.uuid, migration_uri=uri, disks=disks)

    async def live_migration(self, uuid: str, target: MigrationTarget) -> None:
        """Block migration: mirror each disk's top layer to the target's NBD exports (the
        base image is in both caches), then move memory; the source is removed on success."""
        self._load(uuid)
        async with self._lock(uuid):
            if await self._status(uuid) is None:
                raise InvalidInstanceState(f"instance {uuid} is not running")
            mon = self._monitor(uuid)
            jobs = []
            try:
                for node, nbd_path in target.disks.items():
                    await mon.execute("blockdev-add", {
                        "driver": "nbd", "node-name": f"mig-{node}", "export": node,
                        "server": {"type": "unix", "path": nbd_path}})
                    await mon.execute("blockdev-mirror", {
                        "job-id": f"mig-{node}", "device": node, "target": f"mig-{node}",
                        "sync": "top"})
                    jobs.append(node)
                await self._wait_jobs_ready(uuid, jobs, 600)
                await mon.execute("migrate-set-parameters", {
                    "max-bandwidth": 8 * GiB, "downtime-limit": 300})
                await mon.execute("migrate", {"uri": target.migration_uri})
                await self._wait_migration(uuid, 600)
            except BaseException:
                for node in jobs:
                    try:
                        await mon.execute("block-job-cancel", {"device": f"mig-{node}",
                                                               "force": True})
                    except DriverError as exc:
                        log.warning("cancelling mirror of %s: %s", node, exc)
                if await self._status(uuid) in ("paused", "postmigrate"):
                    await mon.execute("cont")
                raise
            for node in jobs:
                await mon.execute("block-job-cancel", {"device": f"mig-{node}"})
            await self._destroy(uuid)
        self._locks.pop(uuid, None)

    async def _wait_jobs_ready(self, uuid: str, nodes: list[str], seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        mon = self._monitor(uuid)
        wanted = {f"mig-{n}" for n in nodes}
        while True:
            jobs = {j["device"]: j for j in await mon.execute("query-block-jobs")}
            missing = wanted - set(jobs)
            if missing:
                raise DriverError(f"disk mirror {sorted(missing)[0]} stopped")
            if all(jobs[j].get("ready") for j in wanted):
                return
            if loop.time() > deadline:
                raise OperationTimeout("disk mirrors were not ready in time")
            await asyncio.sleep(0.1)

    async def post_live_migration_at_destination(self, uuid: str) -> None:
        record = self._load(uuid)
        async with self._lock(uuid):
            mon = self._monitor(uuid)
            await self._wait_migration(uuid, 600)
            await mon.execute("nbd-server-stop")
            await mon.execute("cont")
            # Tell the switches where the guest's MACs are now.
            await mon.execute("announce-self", {
                "initial": 50, "max": 550, "rounds": 5, "step": 100})
            await self._add_forwards(record)

    async def rollback_live_migration_at_destination(self, uuid: str) -> None:
        async with self._lock(uuid):
            await self._destroy(uuid)
        self._locks.pop(uuid, None)


def _uptime(pid: int) -> int | None:
    """Seconds since process `pid` started (/proc), None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as f:
            host_up = float(f.read().split()[0])
    except (OSError, IndexError, ValueError):
        return None
    started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return max(0, int(host_up - started))
