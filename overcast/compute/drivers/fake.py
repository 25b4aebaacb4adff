"""FakeDriver: an in-memory hypervisor for API and agent tests (no QEMU, instant).

It keeps Nova's state rules (what may follow what) so that tests of the Compute API see the
same errors as with QEMU, and records every call in `calls` for assertions.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overcast.compute.drivers.base import (
    MIN_GUEST_RAM_MB,
    BlockDevice,
    ComputeDriver,
    ConsoleEndpoint,
    Flavor,
    FlavorTooSmall,
    HostInventory,
    ImageSource,
    InstanceExists,
    InstanceInfo,
    InstanceNotFound,
    InstanceSpec,
    InvalidImage,
    InvalidInstanceState,
    MigrationTarget,
    Nic,
    PowerState,
)


def _boot_log(name: str) -> str:
    """What a simulated guest prints on its serial console at each boot (as the real guest's
    banner: release, hostname, config source, the login, then `overcast-guest ready`)."""
    return "\n".join([
        "[    0.000000] Linux version 6.1.0-overcast-fake (simulated)",
        "[    0.010000] Command line: root=/dev/vda console=ttyS0",
        "[    0.420000] virtio_blk virtio1: [vda] 2097152 512-byte logical blocks",
        "=== Overcast guest (fake) ===",
        f"hostname: {name}",
        "config: none",
        "login: overcast / overcast",
        "overcast-guest ready",
    ])


@dataclass
class _Vm:
    spec: InstanceSpec
    state: PowerState = PowerState.RUNNING
    rescue: ImageSource | None = None
    old_flavor: Flavor | None = None
    console: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)


class FakeDriver(ComputeDriver):
    """In-memory instances; `fail_images` holds image paths that spawn refuses."""

    def __init__(self, host: str | None = None, vcpus: int = 8, memory_mb: int = 16384,
                 disk_gb: int = 200) -> None:
        self.host = host or socket.gethostname()
        self.vcpus, self.memory_mb, self.disk_gb = vcpus, memory_mb, disk_gb
        self.vms: dict[str, _Vm] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_images: set[Path] = set()

    def _vm(self, uuid: str) -> _Vm:
        try:
            return self.vms[uuid]
        except KeyError:
            raise InstanceNotFound(f"instance {uuid} not found") from None

    def _need(self, vm: _Vm, *states: PowerState) -> None:
        if vm.state not in states:
            raise InvalidInstanceState(
                f"instance {vm.spec.uuid} is {vm.state.name}, not {'/'.join(s.name for s in states)}"
            )

    def _info(self, vm: _Vm) -> InstanceInfo:
        return InstanceInfo(
            uuid=vm.spec.uuid, name=vm.spec.name, power_state=vm.state,
            vcpus=vm.spec.flavor.vcpus, memory_mb=vm.spec.flavor.memory_mb, accel="fake",
            rescued=vm.rescue is not None, resizing=vm.old_flavor is not None,
            nics=vm.spec.nics, block_devices=vm.spec.block_devices,
        )

    async def host_inventory(self) -> HostInventory:
        return HostInventory(
            hypervisor_type="fake", hypervisor_version=1, hypervisor_hostname=self.host,
            accel="fake", vcpus=self.vcpus, memory_mb=self.memory_mb, disk_gb=self.disk_gb,
            instances=len(self.vms),
        )

    async def list_instances(self) -> list[InstanceInfo]:
        return [self._info(vm) for vm in self.vms.values()]

    async def get_info(self, uuid: str) -> InstanceInfo:
        return self._info(self._vm(uuid))

    async def spawn(self, spec: InstanceSpec) -> InstanceInfo:
        self.calls.append(("spawn", spec.uuid))
        if spec.uuid in self.vms:
            raise InstanceExists(f"instance {spec.uuid} exists")
        if spec.flavor.memory_mb < max(MIN_GUEST_RAM_MB, spec.image.min_ram_mb):
            raise FlavorTooSmall(f"flavor {spec.flavor.name} has too little RAM")
        if spec.image.path in self.fail_images:
            raise InvalidImage(f"image {spec.image.path.name} is not a bootable disk")
        vm = self.vms[spec.uuid] = _Vm(spec)
        vm.console.append(_boot_log(spec.name))
        return self._info(vm)

    async def _booted(self, vm: _Vm) -> None:
        vm.console.append(_boot_log(vm.spec.name))

    async def destroy(self, uuid: str) -> None:
        self.calls.append(("destroy", uuid))
        self.vms.pop(uuid, None)

    async def power_off(self, uuid: str, grace: float = 60.0) -> None:
        self.calls.append(("power_off", uuid))
        self._vm(uuid).state = PowerState.SHUTDOWN

    async def power_on(self, uuid: str) -> None:
        self.calls.append(("power_on", uuid))
        vm = self._vm(uuid)
        vm.state = PowerState.RUNNING
        await self._booted(vm)

    async def reboot(self, uuid: str, hard: bool = False, grace: float = 60.0) -> None:
        self.calls.append(("reboot_hard" if hard else "reboot_soft", uuid))
        vm = self._vm(uuid)
        if not hard:
            self._need(vm, PowerState.RUNNING)
        vm.state = PowerState.RUNNING
        await self._booted(vm)

    async def pause(self, uuid: str) -> None:
        vm = self._vm(uuid)
        self._need(vm, PowerState.RUNNING)
        vm.state = PowerState.PAUSED

    async def unpause(self, uuid: str) -> None:
        vm = self._vm(uuid)
        self._need(vm, PowerState.PAUSED)
        vm.state = PowerState.RUNNING

    async def suspend(self, uuid: str) -> None:
        vm = self._vm(uuid)
        self._need(vm, PowerState.RUNNING, PowerState.PAUSED)
        vm.state = PowerState.SUSPENDED

    async def resume(self, uuid: str) -> None:
        vm = self._vm(uuid)
        self._need(vm, PowerState.SUSPENDED)
        vm.state = PowerState.RUNNING

    async def snapshot(self, uuid: str, target: Path) -> Path:
        vm = self._vm(uuid)
        # A qcow2 header (version 2, no backing file, the root disk's size) and no data: what
        # the Image service's format inspection accepts as the qcow2 the QEMU driver writes.
        size = max(vm.spec.flavor.root_gb, 1) * 1024**3
        head = b"QFI\xfb" + struct.pack(">IQIIQI", 2, 0, 0, 16, size, 0)
        await asyncio.to_thread(target.write_bytes, head.ljust(512, b"\0"))
        return target

    async def rescue(self, uuid: str, image: ImageSource) -> None:
        vm = self._vm(uuid)
        if vm.rescue is not None:
            raise InvalidInstanceState(f"instance {uuid} is already in rescue")
        vm.rescue, vm.state = image, PowerState.RUNNING

    async def unrescue(self, uuid: str) -> None:
        vm = self._vm(uuid)
        if vm.rescue is None:
            raise InvalidInstanceState(f"instance {uuid} is not in rescue")
        vm.rescue = None

    async def resize(self, uuid: str, flavor: Flavor) -> None:
        vm = self._vm(uuid)
        if vm.old_flavor is not None:
            raise InvalidInstanceState(f"instance {uuid} has a resize to confirm or revert")
        if flavor.root_gb and flavor.root_gb < vm.spec.flavor.root_gb:
            raise FlavorTooSmall(f"flavor {flavor.name} would shrink the root disk")
        vm.old_flavor = vm.spec.flavor
        vm.spec = vm.spec.model_copy(update={"flavor": flavor})

    async def confirm_resize(self, uuid: str) -> None:
        self._vm(uuid).old_flavor = None

    async def revert_resize(self, uuid: str) -> None:
        vm = self._vm(uuid)
        if vm.old_flavor is None:
            raise InvalidInstanceState(f"instance {uuid} has no resize to revert")
        vm.spec = vm.spec.model_copy(update={"flavor": vm.old_flavor})
        vm.old_flavor = None

    async def attach_volume(self, uuid: str, device: BlockDevice) -> None:
        vm = self._vm(uuid)
        if all(bd.id != device.id for bd in vm.spec.block_devices):
            vm.spec = vm.spec.model_copy(
                update={"block_devices": (*vm.spec.block_devices, device)})

    async def detach_volume(self, uuid: str, volume_id: str, grace: float = 30.0) -> None:
        vm = self._vm(uuid)
        vm.spec = vm.spec.model_copy(update={"block_devices": tuple(
            bd for bd in vm.spec.block_devices if bd.id != volume_id)})

    async def attach_interface(self, uuid: str, nic: Nic) -> None:
        vm = self._vm(uuid)
        if all(n.id != nic.id for n in vm.spec.nics):
            vm.spec = vm.spec.model_copy(update={"nics": (*vm.spec.nics, nic)})

    async def detach_interface(self, uuid: str, nic_id: str, grace: float = 30.0) -> None:
        vm = self._vm(uuid)
        vm.spec = vm.spec.model_copy(
            update={"nics": tuple(n for n in vm.spec.nics if n.id != nic_id)})

    async def get_console_output(self, uuid: str, lines: int | None = None) -> str:
        text = "\n".join(self._vm(uuid).console)
        return "\n".join(text.splitlines()[-lines:]) if lines else text

    async def get_diagnostics(self, uuid: str) -> dict[str, Any]:
        """The standard view with counters that grow with the simulated uptime."""
        out = await super().get_diagnostics(uuid)
        vm = self._vm(uuid)
        up = int(time.monotonic() - vm.started)
        out.update(uptime=up, config_drive=vm.spec.config_drive is not None)
        out["memory_details"]["used"] = vm.spec.flavor.memory_mb // 2
        for cpu in out["cpu_details"]:
            cpu.update(time=up * 10**8, utilisation=10)
        for nic in out["nic_details"]:
            nic.update(rx_octets=up * 1500, rx_errors=0, rx_drop=0, rx_packets=up,
                       rx_rate=None, tx_octets=up * 500, tx_errors=0, tx_drop=0,
                       tx_packets=up, tx_rate=None)
        for disk in out["disk_details"]:
            disk.update(read_bytes=4096 * (up + 64), read_requests=up + 64,
                        write_bytes=4096 * up, write_requests=up, errors_count=0)
        return out

    async def get_vnc_console(self, uuid: str) -> ConsoleEndpoint:
        self._need(self._vm(uuid), PowerState.RUNNING, PowerState.PAUSED)
        return ConsoleEndpoint(kind="vnc", host="127.0.0.1", port=5900)

    async def get_serial_console(self, uuid: str) -> ConsoleEndpoint:
        self._need(self._vm(uuid), PowerState.RUNNING, PowerState.PAUSED)
        return ConsoleEndpoint(kind="serial", host="127.0.0.1", port=10000)

    async def pre_live_migration(self, spec: InstanceSpec) -> MigrationTarget:
        if spec.uuid in self.vms:
            raise InstanceExists(f"instance {spec.uuid} exists on {self.host}")
        self.vms[spec.uuid] = _Vm(spec, state=PowerState.PAUSED)
        return MigrationTarget(host=self.host, uuid=spec.uuid, migration_uri="fake:", disks={})

    async def live_migration(self, uuid: str, target: MigrationTarget) -> None:
        self._need(self._vm(uuid), PowerState.RUNNING)
        del self.vms[uuid]

    async def post_live_migration_at_destination(self, uuid: str) -> None:
        self._vm(uuid).state = PowerState.RUNNING

    async def rollback_live_migration_at_destination(self, uuid: str) -> None:
        self.vms.pop(uuid, None)
