"""The virt driver interface: what the compute agent asks of a hypervisor.

Shaped after Nova's `ComputeDriver` (nova/virt/driver.py) for a server's whole lifecycle:
spawn, destroy, power, reboot, pause, suspend, snapshot, rescue, resize, volume and NIC
hot-plug, consoles, live migration, host inventory. Every method is a coroutine and every
one is idempotent where Nova's is (destroy of a gone instance, power_off of a stopped one).

The data types are pydantic models so that a driver can persist them as JSON beside the VM
(VMs outlive the agent) and the bus can carry them between hosts unchanged.
"""

from __future__ import annotations

import abc
import enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The smallest RAM the Debian cloud kernel boots in: below ~96 MiB it triple-faults while
# decompressing (GUEST_NOTES pitfall 3).
MIN_GUEST_RAM_MB = 96


class PowerState(enum.IntEnum):
    """Nova's power states (nova/compute/power_state.py), numbered as on the wire."""

    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Flavor(_Model):
    """A flavor's resources. root_gb=0 means "the image's own size" (Nova's rule)."""

    name: str = "custom"
    vcpus: int = Field(1, ge=1)
    memory_mb: int = Field(256, ge=1)
    root_gb: int = Field(0, ge=0)
    ephemeral_gb: int = Field(0, ge=0)
    swap_mb: int = Field(0, ge=0)


class ImageSource(_Model):
    """A local image file to boot, with Glance's properties that matter to the hypervisor.

    disk_format "ami" is a bare root file system booted with kernel + ramdisk (AKI/ARI).
    """

    path: Path
    disk_format: Literal["qcow2", "raw", "iso", "ami"] = "qcow2"
    kernel: Path | None = None
    ramdisk: Path | None = None
    kernel_args: str | None = None
    min_ram_mb: int = 0
    min_disk_gb: int = 0


class PortForward(_Model):
    """A host port forwarded to a guest port (user-mode networking only)."""

    host_port: int = Field(ge=1, le=65535)
    guest_port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    host_address: str = "127.0.0.1"


class Nic(_Model):
    """A virtual NIC: a tap on a Linux bridge, or QEMU user-mode networking.

    `metadata` (user mode): host address and port of a metadata server reached by the guest
    at 169.254.169.254:80.
    """

    id: str
    mac: str
    kind: Literal["bridge", "user"] = "user"
    bridge: str | None = None
    mtu: int | None = None
    forwards: tuple[PortForward, ...] = ()
    metadata: tuple[str, int] | None = None


class BlockDevice(_Model):
    """A volume to attach: a file or block device on this host."""

    id: str
    path: Path
    format: Literal["raw", "qcow2"] = "raw"
    serial: str | None = None
    read_only: bool = False


class ConfigDrive(_Model):
    """What Nova writes to the config drive (label config-2): openstack/latest/*."""

    meta_data: dict[str, Any]
    user_data: bytes | None = None
    network_data: dict[str, Any] | None = None
    vendor_data: dict[str, Any] | None = None


class InstanceSpec(_Model):
    """Everything needed to (re)create an instance on a host."""

    uuid: str
    name: str
    flavor: Flavor
    image: ImageSource
    nics: tuple[Nic, ...] = ()
    block_devices: tuple[BlockDevice, ...] = ()
    config_drive: ConfigDrive | None = None


_DIAG_STATE = {PowerState.NOSTATE: "pending", PowerState.RUNNING: "running",
               PowerState.PAUSED: "paused", PowerState.SHUTDOWN: "shutdown",
               PowerState.CRASHED: "crashed", PowerState.SUSPENDED: "suspended"}
_NIC_COUNTERS = ("rx_octets", "rx_errors", "rx_drop", "rx_packets", "rx_rate", "tx_octets",
                 "tx_errors", "tx_drop", "tx_packets", "tx_rate")
_DISK_COUNTERS = ("read_bytes", "read_requests", "write_bytes", "write_requests",
                  "errors_count")


class InstanceInfo(_Model):
    """What a driver reports about one instance (nova.virt.hardware.InstanceInfo and more)."""

    uuid: str
    name: str
    power_state: PowerState
    vcpus: int
    memory_mb: int
    accel: str
    pid: int | None = None
    rescued: bool = False
    resizing: bool = False
    nics: tuple[Nic, ...] = ()
    block_devices: tuple[BlockDevice, ...] = ()


class HostInventory(_Model):
    """The host's resources for placement, and the hypervisor's identity."""

    hypervisor_type: str
    hypervisor_version: int
    hypervisor_hostname: str
    accel: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    instances: int


class ConsoleEndpoint(_Model):
    """Where a console proxy reaches an instance's remote console."""

    kind: Literal["vnc", "serial"]
    host: str | None = None
    port: int | None = None
    path: Path | None = None


class MigrationTarget(_Model):
    """What the destination prepared for a live migration (pre_live_migration's answer)."""

    host: str
    uuid: str
    migration_uri: str
    disks: dict[str, str]


# --- Errors ------------------------------------------------------------------------------


class DriverError(Exception):
    """A hypervisor operation failed; the message is safe to show to the user."""


class HypervisorUnavailable(DriverError):
    """The hypervisor cannot be used on this host (e.g. no QEMU binary)."""


class InstanceNotFound(DriverError):
    """The driver knows no instance with that id."""


class InstanceExists(DriverError):
    """spawn() of an id that already exists."""


class InvalidImage(DriverError):
    """The image is not something this driver can boot."""


class FlavorTooSmall(DriverError):
    """The flavor's RAM or disk is below what the image needs."""


class InvalidInstanceState(DriverError):
    """The operation does not apply in the instance's current state."""


class OperationTimeout(DriverError):
    """The hypervisor did not finish the operation in time."""


class ComputeDriver(abc.ABC):
    """A hypervisor as the compute agent sees it. Instance ids are Nova's server UUIDs."""

    # --- host ---
    @abc.abstractmethod
    async def host_inventory(self) -> HostInventory:
        """vCPUs, RAM and disk of this host, and which acceleration is in use."""

    @abc.abstractmethod
    async def list_instances(self) -> list[InstanceInfo]:
        """Every instance this host has, running or not (a dead process is SHUTDOWN)."""

    @abc.abstractmethod
    async def get_info(self, uuid: str) -> InstanceInfo:
        """One instance's state; InstanceNotFound if unknown."""

    async def get_diagnostics(self, uuid: str) -> dict[str, Any]:
        """Nova's standard diagnostics (2.48) of one instance; counters a driver does not
        know are None. This default fills what get_info tells; drivers add what they measure."""
        info = await self.get_info(uuid)
        return {
            "state": _DIAG_STATE.get(info.power_state, "pending"),
            # tempest's schema allows Nova's driver names only; a QEMU/KVM host is Nova's
            # libvirt driver's kind.
            "driver": "libvirt", "hypervisor": info.accel or "qemu", "hypervisor_os": "linux",
            "uptime": None, "config_drive": False, "num_cpus": info.vcpus,
            "num_nics": len(info.nics), "num_disks": 1 + len(info.block_devices),
            "memory_details": {"maximum": info.memory_mb, "used": None},
            "cpu_details": [{"id": i, "time": None, "utilisation": None}
                            for i in range(info.vcpus)],
            "nic_details": [{"mac_address": n.mac, **dict.fromkeys(_NIC_COUNTERS)}
                            for n in info.nics],
            "disk_details": [dict.fromkeys(_DISK_COUNTERS)
                             for _ in range(1 + len(info.block_devices))]}

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the VMs keep running."""

    # --- lifecycle ---
    @abc.abstractmethod
    async def spawn(self, spec: InstanceSpec) -> InstanceInfo:
        """Create disks, config drive and NICs, and start the guest."""

    @abc.abstractmethod
    async def destroy(self, uuid: str) -> None:
        """Stop the guest at once and delete its local files. Unknown ids are fine."""

    @abc.abstractmethod
    async def power_off(self, uuid: str, grace: float = 60.0) -> None:
        """ACPI power-off; force it after `grace` seconds (0: at once)."""

    @abc.abstractmethod
    async def power_on(self, uuid: str) -> None:
        """Start a stopped guest from its existing disks."""

    @abc.abstractmethod
    async def reboot(self, uuid: str, hard: bool = False, grace: float = 60.0) -> None:
        """Soft: ACPI shutdown then start (hard after `grace` s). Hard: recreate the VM."""

    @abc.abstractmethod
    async def pause(self, uuid: str) -> None:
        """Stop the vCPUs, keep the memory in the host process."""

    @abc.abstractmethod
    async def unpause(self, uuid: str) -> None:
        """Resume vCPUs of a paused guest."""

    @abc.abstractmethod
    async def suspend(self, uuid: str) -> None:
        """Save guest memory to a file and stop the process."""

    @abc.abstractmethod
    async def resume(self, uuid: str) -> None:
        """Restore a suspended guest from its memory file."""

    # --- images and disks ---
    @abc.abstractmethod
    async def snapshot(self, uuid: str, target: Path) -> Path:
        """Write the root disk as a standalone qcow2 at `target`."""

    @abc.abstractmethod
    async def rescue(self, uuid: str, image: ImageSource) -> None:
        """Boot from `image` with the instance's root disk attached second."""

    @abc.abstractmethod
    async def unrescue(self, uuid: str) -> None:
        """Boot the instance's own disk again."""

    @abc.abstractmethod
    async def resize(self, uuid: str, flavor: Flavor) -> None:
        """Apply a new flavor (CPU, RAM, larger root disk) and start it (VERIFY_RESIZE)."""

    @abc.abstractmethod
    async def confirm_resize(self, uuid: str) -> None:
        """Drop what revert_resize would need."""

    @abc.abstractmethod
    async def revert_resize(self, uuid: str) -> None:
        """Back to the old flavor and the old root disk."""

    @abc.abstractmethod
    async def attach_volume(self, uuid: str, device: BlockDevice) -> None:
        """Hot-plug (or cold-plug when stopped) a volume as a virtio disk."""

    @abc.abstractmethod
    async def detach_volume(self, uuid: str, volume_id: str, grace: float = 30.0) -> None:
        """Hot-unplug a volume (the guest must release it)."""

    @abc.abstractmethod
    async def attach_interface(self, uuid: str, nic: Nic) -> None:
        """Hot-plug a NIC."""

    @abc.abstractmethod
    async def detach_interface(self, uuid: str, nic_id: str, grace: float = 30.0) -> None:
        """Hot-unplug a NIC."""

    # --- consoles ---
    @abc.abstractmethod
    async def get_console_output(self, uuid: str, lines: int | None = None) -> str:
        """The serial console log (its last `lines` lines)."""

    @abc.abstractmethod
    async def get_vnc_console(self, uuid: str) -> ConsoleEndpoint:
        """Where the VNC server of the instance listens."""

    async def get_serial_console(self, uuid: str) -> ConsoleEndpoint:
        """Where an interactive serial port of the instance listens (a TCP port, as Nova's
        libvirt driver gives one); a driver without one raises NotImplementedError, which
        the API answers with Nova's 501."""
        raise NotImplementedError("serial consoles")

    # --- live migration (destination: pre_ / post_ / rollback_; source: live_migration) ---
    @abc.abstractmethod
    async def pre_live_migration(self, spec: InstanceSpec) -> MigrationTarget:
        """Destination: create disks and an incoming VM waiting for memory and disks."""

    @abc.abstractmethod
    async def live_migration(self, uuid: str, target: MigrationTarget) -> None:
        """Source: copy disks and memory to the target, then remove the local VM."""

    @abc.abstractmethod
    async def post_live_migration_at_destination(self, uuid: str) -> None:
        """Destination: run the migrated guest."""

    @abc.abstractmethod
    async def rollback_live_migration_at_destination(self, uuid: str) -> None:
        """Destination: drop the incoming VM after a failed migration."""
