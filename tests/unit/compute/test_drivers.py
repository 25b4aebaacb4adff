"""Driver pieces that need no QEMU: the fake driver's rules, the QEMU command line, the
config drive, the acceleration cache and the guest source hash."""

from __future__ import annotations

import json
from pathlib import Path

import pycdlib
import pytest

from overcast.compute import guest_image
from overcast.compute.drivers.base import (
    ConfigDrive,
    Flavor,
    FlavorTooSmall,
    HypervisorUnavailable,
    ImageSource,
    InstanceSpec,
    InvalidInstanceState,
    Nic,
    PortForward,
    PowerState,
)
from overcast.compute.drivers.fake import FakeDriver
from overcast.compute.drivers.qemu import QemuDriver, accel, command, config_drive


def spec(uuid: str = "u1", memory_mb: int = 256) -> InstanceSpec:
    return InstanceSpec(
        uuid=uuid, name="vm", flavor=Flavor(memory_mb=memory_mb, vcpus=2),
        image=ImageSource(path=Path("/images/guest.qcow2")),
        nics=(Nic(id="port-1", mac="fa:16:3e:00:00:01",
                  forwards=(PortForward(host_port=2222, guest_port=22),)),
              Nic(id="port-2", mac="fa:16:3e:00:00:02", kind="bridge", bridge="br-int")),
    )


async def test_fake_driver_follows_power_rules() -> None:
    drv = FakeDriver()
    await drv.spawn(spec())
    await drv.pause("u1")
    with pytest.raises(InvalidInstanceState):
        await drv.pause("u1")
    await drv.unpause("u1")
    await drv.suspend("u1")
    assert (await drv.get_info("u1")).power_state == PowerState.SUSPENDED
    await drv.resume("u1")
    await drv.power_off("u1")
    assert (await drv.get_info("u1")).power_state == PowerState.SHUTDOWN
    with pytest.raises(FlavorTooSmall):
        await drv.spawn(spec("u2", memory_mb=64))
    await drv.destroy("u1")
    await drv.destroy("u1")  # idempotent
    assert await drv.list_instances() == []


async def test_fake_driver_live_migration() -> None:
    a, b = FakeDriver("a"), FakeDriver("b")
    await a.spawn(spec())
    target = await b.pre_live_migration(spec())
    await a.live_migration("u1", target)
    await b.post_live_migration_at_destination("u1")
    assert await a.list_instances() == []
    assert (await b.get_info("u1")).power_state == PowerState.RUNNING


def test_command_line(tmp_path: Path) -> None:
    record = command.Record(spec=spec(), host="h", accel="tcg", boot="disk", root_size=1 << 30,
                            taps={"port-2": "tapport2"})
    paths = command.Paths(tmp_path / "i", tmp_path / "s")
    argv = command.build("qemu-system-x86_64", record, paths)
    line = " ".join(argv)
    assert "-accel tcg,tb-size=32" in line
    assert "-daemonize" in argv and "-smp 2" in line and "-m 256" in line
    assert "hostfwd=tcp:127.0.0.1:2222-:22" in line
    assert "ifname=tapport2" in line and "script=no" in line
    assert "bootindex=1" in line
    # Slots are stable: a second build (restart, migration target) lays out the same PCI bus.
    assert command.build("qemu-system-x86_64", record, paths) == argv
    incoming = command.build("qemu-system-x86_64", record, paths, incoming=True)
    assert "hostfwd" not in " ".join(incoming) and incoming[-3:] == ["-incoming", "defer", "-S"]


def test_command_line_kvm_and_kernel_boot(tmp_path: Path) -> None:
    s = spec().model_copy(update={"image": ImageSource(
        path=Path("/r.img"), disk_format="ami", kernel=Path("/k"), ramdisk=Path("/i"),
        kernel_args="quiet")})
    record = command.Record(spec=s, host="h", accel="kvm", boot="kernel", root_size=1 << 30)
    argv = command.build("qemu", record, command.Paths(tmp_path, tmp_path), vnc=False)
    assert argv[argv.index("-append") + 1] == (
        "root=/dev/vda console=tty0 console=ttyS0 no_timer_check quiet")
    assert "-cpu" in argv and "host" in argv and "bootindex" not in " ".join(argv)


def test_tap_mac_is_fixed_and_high() -> None:
    # The same on a migration's source and target tap, and above real NICs' MACs, so that a
    # Linux bridge keeps its MAC across the switch-over (the bridge takes its lowest port's).
    assert command.tap_mac("fa:16:3e:33:33:03") == "fe:16:3e:33:33:03"
    assert command.tap_mac("FA-16-3E-00-00-0A") == "fe:16:3e:00:00:0a"
    assert command.tap_mac("fe:16:3e:00:00:01") == "fc:16:3e:00:00:01"  # never the guest's
    with pytest.raises(ValueError):
        command.tap_mac("fa:16:3e:00:01")


async def test_config_drive_layout(tmp_path: Path) -> None:
    cd = ConfigDrive(meta_data={"uuid": "u1", "hostname": "vm"}, user_data=b"#!/bin/sh\n",
                     network_data={"links": []})
    path = await config_drive.build(cd, tmp_path / "cd.iso")
    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    try:
        assert iso.pvd.volume_identifier.strip() == b"config-2"
        names = next(d for d in iso.walk(rr_path="/openstack/latest"))[2]
        assert {"meta_data.json", "network_data.json", "user_data"} <= set(names)
        import io

        out = io.BytesIO()
        iso.get_file_from_iso_fp(out, rr_path="/openstack/latest/meta_data.json")
        assert json.loads(out.getvalue()) == {"uuid": "u1", "hostname": "vm"}
    finally:
        iso.close()
    # Same content, same bytes (the destination of a migration rebuilds it).
    again = await config_drive.build(cd, tmp_path / "cd2.iso")
    assert again.read_bytes() == path.read_bytes()


async def test_accel_cached_and_tcg_without_kvm(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accel.os, "access", lambda *_: False)
    cache = tmp_path / "accel.json"
    kind, why = await accel.choose("qemu", "7.2", cache, None, None)
    assert kind == "tcg" and "/dev/kvm" in why
    kind, why = await accel.choose("qemu", "7.2", cache, None, None)
    assert kind == "tcg" and why.endswith("(cached)")
    # A new QEMU version invalidates the cached answer.
    _, why = await accel.choose("qemu", "8.0", cache, None, None)
    assert not why.endswith("(cached)")


def test_guest_source_hash_changes_with_content(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("1")
    first = guest_image.source_hash(tmp_path)
    assert guest_image.source_hash(tmp_path) == first
    (tmp_path / "a").write_text("2")
    assert guest_image.source_hash(tmp_path) != first


def test_missing_qemu_binary(tmp_path: Path) -> None:
    with pytest.raises(HypervisorUnavailable, match="qemu-system-x86"):
        QemuDriver(tmp_path, qemu_binary="qemu-system-nonexistent")
