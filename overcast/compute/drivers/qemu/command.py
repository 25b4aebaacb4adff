"""The qemu-system-x86_64 command line of an instance, from its persisted record."""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from overcast.compute.drivers.base import Flavor, ImageSource, InstanceSpec, Nic, PortForward

# i440fx ("pc"): ACPI PCI hot-plug on the root bus works with the stock guest kernel, which
# q35 needs pre-made root ports for. Slots 0-2 are the host bridge, PIIX3 and VGA.
MACHINE = "pc"
FIRST_SLOT = 3
LAST_SLOT = 31
# TCG's translation cache defaults to 1 GiB of address space and ~60 MiB resident;
# 32 MiB costs no boot time and saves ~40 MiB per VM (GUEST_NOTES "Memory per TCG guest").
TCG_TB_SIZE_MB = 32
# Nova's default command line for a kernel+ramdisk image, plus no_timer_check: under TCG on a
# busy host the kernel's IO-APIC timer check can stall the boot for minutes (seen in CI).
AMI_ROOT_ARGS = "root=/dev/vda console=tty0 console=ttyS0 no_timer_check"


class Record(BaseModel):
    """What a driver persists about an instance (instance.json), enough to recreate it."""

    spec: InstanceSpec
    host: str
    accel: str
    boot: Literal["disk", "cdrom", "kernel"]
    root_size: int
    slots: dict[str, int] = {}
    taps: dict[str, str] = {}
    rescue: ImageSource | None = None
    rescue_boot: Literal["disk", "cdrom", "kernel"] | None = None
    old_flavor: Flavor | None = None


class Paths:
    """Files of one instance under the driver's state directory."""

    def __init__(self, root: Path, sockets: Path) -> None:
        self.root = root
        # UNIX socket paths must stay under 108 bytes: they live in a short run directory.
        self.sockets = sockets
        self.record = root / "instance.json"
        self.disk = root / "disk"
        self.ephemeral = root / "disk.eph0"
        self.swap = root / "disk.swap"
        self.config = root / "disk.config"
        self.rescue = root / "disk.rescue"
        self.resize_backup = root / "disk.resize-backup"
        self.console = root / "console.log"
        self.qmp = sockets / "qmp.sock"
        self.vnc = sockets / "vnc.sock"
        self.nbd = sockets / "nbd.sock"
        self.migration = sockets / "migration.sock"
        self.pid = root / "qemu.pid"
        self.memory = root / "memory.state"


def short_id(prefix: str, ident: str) -> str:
    """A QEMU node/device id from an OpenStack id (node names are at most 31 characters)."""
    return prefix + hashlib.sha1(ident.encode()).hexdigest()[:12]


def volume_node(volume_id: str) -> str:
    return short_id("vol", volume_id)


def nic_node(nic_id: str) -> str:
    return short_id("nic", nic_id)


def allocate_slot(record: Record, device: str) -> int:
    """A fixed PCI slot per device, kept in the record so that a migration target and a
    restart lay out the same guest-visible hardware."""
    if device in record.slots:
        return record.slots[device]
    used = set(record.slots.values())
    for slot in range(FIRST_SLOT, LAST_SLOT + 1):
        if slot not in used:
            record.slots[device] = slot
            return slot
    raise ValueError("no free PCI slot")


def _blockdev(node: str, path: Path, fmt: str, read_only: bool = False) -> str:
    file_driver = "host_device" if path.is_block_device() else "file"
    spec = {
        "driver": fmt,
        "node-name": node,
        "read-only": read_only,
        "discard": "unmap",
        "file": {"driver": file_driver, "filename": str(path)},
    }
    return json.dumps(spec, separators=(",", ":"))


def virtio_disk(record: Record, node: str, path: Path, fmt: str, *, read_only: bool = False,
                serial: str | None = None, bootindex: int | None = None) -> list[str]:
    slot = allocate_slot(record, node)
    dev = f"virtio-blk-pci,drive={node},id={node},bus=pci.0,addr={slot:#x}"
    if serial:
        dev += f",serial={serial[:20]}"
    if bootindex is not None:
        dev += f",bootindex={bootindex}"
    return ["-blockdev", _blockdev(node, path, fmt, read_only), "-device", dev]


def netdev_args(nic: Nic, tap: str | None, with_forwards: bool) -> dict[str, object]:
    """The netdev (QMP netdev_add form) of a NIC."""
    node = nic_node(nic.id)
    if nic.kind == "bridge":
        return {"type": "tap", "id": node, "ifname": tap, "script": "no", "downscript": "no"}
    args: dict[str, object] = {"type": "user", "id": node}
    if nic.metadata:
        # slirp's guestfwd only reaches addresses inside its network (GUEST_NOTES pitfall 7).
        host, port = nic.metadata
        args |= {
            "net": "169.254.0.0/16", "host": "169.254.0.2", "dhcpstart": "169.254.0.15",
            "guestfwd": [{"str": f"tcp:169.254.169.254:80-cmd:socat STDIO TCP:{host}:{port}"}],
        }
    if with_forwards and nic.forwards:
        args["hostfwd"] = [{"str": hostfwd(f)} for f in nic.forwards]
    return args


def tap_mac(guest_mac: str) -> str:
    """The host-side MAC of a NIC's tap: the guest's MAC with first byte 0xFE, as libvirt
    does. A Linux bridge whose MAC was not set explicitly takes the lowest MAC of its ports,
    and a tap's kernel-made MAC is random: a live migration on one host (the target's tap
    plugged, the source's removed) used to change the bridge's MAC, so the guest's ARP
    entry for the host (or router) on that bridge went stale and its TCP sessions stalled
    for a minute or more (docs/hypervisor.md, "Taps"). 0xFE sorts above real NICs' MACs, and
    the source and destination taps of a migrating guest get the same MAC, so the switch-over
    leaves the bridge's MAC as it was."""
    octets = guest_mac.replace("-", ":").lower().split(":")
    if len(octets) != 6 or not all(len(o) == 2 and all(c in "0123456789abcdef" for c in o)
                                   for o in octets):
        raise ValueError(f"not a MAC address: {guest_mac!r}")
    # A guest MAC that starts with fe would equal its tap's, and the bridge would keep the
    # guest's frames for itself: such a guest's tap starts with fc.
    return ":".join(["fc" if octets[0] == "fe" else "fe", *octets[1:]])


def hostfwd(f: PortForward) -> str:
    """QEMU's hostfwd rule for a port forward."""
    return f"{f.protocol}:{f.host_address}:{f.host_port}-:{f.guest_port}"


def _netdev_cli(args: dict[str, object]) -> str:
    parts = [str(args["type"])]
    for key, value in args.items():
        if key == "type":
            continue
        if isinstance(value, list):
            parts += [f"{key}={item['str']}" for item in value]
        else:
            parts.append(f"{key}={value}")
    return ",".join(parts)


def nic_device(record: Record, nic: Nic) -> str:
    node = nic_node(nic.id)
    slot = allocate_slot(record, node)
    dev = f"virtio-net-pci,netdev={node},id={node},mac={nic.mac},bus=pci.0,addr={slot:#x}"
    if nic.mtu:
        dev += f",host_mtu={nic.mtu}"
    return dev


def build(qemu: str, record: Record, paths: Paths, *, incoming: bool = False,
          vnc: bool = True) -> list[str]:
    """argv of the QEMU process of `record` (detached: -daemonize, pid file, QMP socket)."""
    spec = record.spec
    flavor = spec.flavor
    argv = [
        qemu,
        "-name", f"guest={spec.name},debug-threads=on",
        "-uuid", spec.uuid,
        "-machine", MACHINE,
        "-nodefaults", "-no-user-config",
        "-smp", str(flavor.vcpus),
        "-m", str(flavor.memory_mb),
        "-rtc", "base=utc",
        "-boot", "strict=on",
        "-qmp", f"unix:{paths.qmp},server=on,wait=off",
        "-pidfile", str(paths.pid),
        "-daemonize",
        "-chardev", f"file,id=serial0,path={paths.console},append=on",
        "-device", "isa-serial,chardev=serial0",
        "-device", f"virtio-rng-pci,id=rng0,bus=pci.0,addr={allocate_slot(record, 'rng0'):#x}",
    ]
    if record.accel == "kvm":
        argv += ["-accel", "kvm", "-cpu", "host"]
    else:
        argv += ["-accel", f"tcg,tb-size={TCG_TB_SIZE_MB}"]
    if vnc:
        argv += ["-device", "VGA,bus=pci.0,addr=0x2", "-vnc", f"unix:{paths.vnc}"]
    else:
        argv += ["-display", "none"]

    image = record.rescue or spec.image
    boot = record.rescue_boot or record.boot
    root_path = paths.rescue if record.rescue else paths.disk
    if boot == "kernel":
        assert image.kernel is not None
        argv += ["-kernel", str(image.kernel)]
        if image.ramdisk:
            argv += ["-initrd", str(image.ramdisk)]
        argv += ["-append", " ".join(filter(None, [AMI_ROOT_ARGS, image.kernel_args]))]
    if boot == "cdrom":
        argv += [
            "-blockdev", _blockdev("cdrom0", root_path.with_suffix(".iso"), "qcow2", True),
            "-device", "ide-cd,drive=cdrom0,bus=ide.0,unit=0,bootindex=1",
        ]
        argv += virtio_disk(record, "disk0", root_path, "qcow2")
    else:
        argv += virtio_disk(record, "disk0", root_path, "qcow2",
                            bootindex=None if boot == "kernel" else 1)
    if record.rescue:
        argv += virtio_disk(record, "rescued", paths.disk, "qcow2")
    if paths.ephemeral.exists():
        argv += virtio_disk(record, "eph0", paths.ephemeral, "qcow2")
    if paths.swap.exists():
        argv += virtio_disk(record, "swap0", paths.swap, "qcow2")
    if paths.config.exists():
        # An IDE CD-ROM, as Nova attaches config drives on i440fx.
        argv += [
            "-blockdev", _blockdev("config", paths.config, "raw", True),
            "-device", "ide-cd,drive=config,bus=ide.1,unit=0",
        ]
    for bd in spec.block_devices:
        argv += virtio_disk(record, volume_node(bd.id), bd.path, bd.format,
                            read_only=bd.read_only, serial=bd.serial or bd.id)
    for nic in spec.nics:
        args = netdev_args(nic, record.taps.get(nic.id), with_forwards=not incoming)
        argv += ["-netdev", _netdev_cli(args), "-device", nic_device(record, nic)]
    if incoming:
        argv += ["-incoming", "defer", "-S"]
    return argv


def quoted(argv: list[str]) -> str:
    """The command line as a user would type it (for logs and docs)."""
    return shlex.join(argv)
