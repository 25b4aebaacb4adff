"""One guest on real QEMU (TCG) through its whole life: boot, ssh with the config drive's
key, user data, power operations, pause, suspend/resume, snapshot, volume hot-plug and a
driver restart. Tests share the VM and run in file order."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
import pytest_asyncio

from overcast.compute.drivers.base import BlockDevice, PowerState
from overcast.compute.drivers.qemu import QemuDriver
from overcast.compute.drivers.qemu.processes import run
from tests.helpers import free_port
from tests.integration.compute.conftest import (
    Vm,
    make_spec,
    ssh,
    wait_console,
    wait_root_kb,
    wait_ssh,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

UUID = "0c0ffee0-1111-4111-8111-000000000001"
SNAP_UUID = "0c0ffee0-2222-4222-8222-000000000002"
USER_DATA = b"#!/bin/sh\necho \"ran as $(id -un)\" > /run/user-data-proof\n"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def vm(driver: QemuDriver, guest: dict[str, Path], ssh_key: Path) -> Vm:
    port = free_port()
    info = await driver.spawn(make_spec(UUID, guest, ssh_key, port, user_data=USER_DATA))
    assert info.power_state == PowerState.RUNNING
    assert info.accel in ("kvm", "tcg")
    return Vm(UUID, port, ssh_key)


async def boot_id(vm: Vm) -> str:
    return (await wait_ssh(vm.key, vm.port, "cat /proc/sys/kernel/random/boot_id")).strip()


async def test_banner_on_serial_console(driver: QemuDriver, vm: Vm) -> None:
    out = await wait_console(driver, vm.uuid, "overcast-guest ready")
    assert "=== Overcast guest" in out
    assert "config: config-drive" in out
    assert "eth0 fa:16:3e:" in out and "10.0.2.15/24" in out


async def test_ssh_with_config_drive_key(vm: Vm) -> None:
    out = await wait_ssh(vm.key, vm.port, "id -un; hostname")
    assert out.split() == ["overcast", f"vm-{UUID[:8]}"]


async def test_user_data_ran_as_root(vm: Vm) -> None:
    out = await wait_ssh(vm.key, vm.port, "cat /run/user-data-proof")
    assert out.strip() == "ran as root"


async def test_root_file_system_grew_to_flavor_disk(vm: Vm) -> None:
    # The image's root partition is 64 MiB; the 1 GiB flavor disk is filled at boot.
    assert await wait_root_kb(vm.key, vm.port, 900_000) >= 900_000


async def test_console_output_lines(driver: QemuDriver, vm: Vm) -> None:
    tail = await driver.get_console_output(vm.uuid, lines=3)
    assert len(tail.splitlines()) <= 3
    vnc = await driver.get_vnc_console(vm.uuid)
    assert vnc.kind == "vnc" and vnc.path is not None and vnc.path.exists()


async def test_diagnostics_from_the_running_process(driver: QemuDriver, vm: Vm) -> None:
    await wait_ssh(vm.key, vm.port, "true")
    d = await driver.get_diagnostics(vm.uuid)
    assert (d["state"], d["driver"], d["config_drive"]) == ("running", "libvirt", True)
    assert d["uptime"] is not None and d["uptime"] >= 0
    assert d["num_disks"] == len(d["disk_details"]) >= 2  # root and config drive
    assert sum(disk["read_bytes"] for disk in d["disk_details"]) > 0  # the guest booted


async def test_pause_and_unpause(driver: QemuDriver, vm: Vm) -> None:
    await driver.pause(vm.uuid)
    assert (await driver.get_info(vm.uuid)).power_state == PowerState.PAUSED
    code, _ = await ssh(vm.key, vm.port, "true")
    assert code != 0  # a paused guest does not answer
    await driver.unpause(vm.uuid)
    assert (await driver.get_info(vm.uuid)).power_state == PowerState.RUNNING
    await wait_ssh(vm.key, vm.port)


async def test_suspend_and_resume_keep_memory(driver: QemuDriver, vm: Vm) -> None:
    before = await boot_id(vm)
    await wait_ssh(vm.key, vm.port, "echo kept-in-ram > /tmp/marker")
    await driver.suspend(vm.uuid)
    info = await driver.get_info(vm.uuid)
    assert info.power_state == PowerState.SUSPENDED and info.pid is None
    await driver.resume(vm.uuid)
    assert (await driver.get_info(vm.uuid)).power_state == PowerState.RUNNING
    assert (await wait_ssh(vm.key, vm.port, "cat /tmp/marker")).strip() == "kept-in-ram"
    assert await boot_id(vm) == before


async def test_volume_hot_plug_seen_by_guest(driver: QemuDriver, vm: Vm,
                                             tmp_path: Path) -> None:
    volume = tmp_path / "vol.raw"
    await run("truncate", "-s", "64M", volume)
    dev = BlockDevice(id="vol-0001", path=volume, serial="vol-0001")
    await driver.attach_volume(vm.uuid, dev)
    out = await wait_ssh(vm.key, vm.port,
                         "for i in $(seq 50); do grep -q vdb /proc/partitions && break; "
                         "sleep 0.2; done; cat /proc/partitions; cat /sys/block/vdb/serial")
    assert " vdb" in out and "vol-0001" in out
    # Data written by the guest lands in the volume file.
    await wait_ssh(vm.key, vm.port, "true")
    await driver.detach_volume(vm.uuid, "vol-0001")
    out = await wait_ssh(vm.key, vm.port, "cat /proc/partitions")
    assert " vdb" not in out
    assert (await driver.get_info(vm.uuid)).block_devices == ()


async def test_restarted_driver_reattaches(driver: QemuDriver, vm: Vm) -> None:
    pid = (await driver.get_info(vm.uuid)).pid
    await driver.close()  # the agent goes away; QEMU keeps running
    fresh = QemuDriver(driver.state_dir)
    try:
        infos = {i.uuid: i for i in await fresh.list_instances()}
        assert infos[vm.uuid].power_state == PowerState.RUNNING
        assert infos[vm.uuid].pid == pid
        await fresh.pause(vm.uuid)
        assert (await fresh.get_info(vm.uuid)).power_state == PowerState.PAUSED
        await fresh.unpause(vm.uuid)
    finally:
        await fresh.close()
    await wait_ssh(vm.key, vm.port)


async def test_soft_reboot(driver: QemuDriver, vm: Vm) -> None:
    before = await boot_id(vm)
    await driver.reboot(vm.uuid, hard=False, grace=60)
    after = await boot_id(vm)
    assert after != before


async def test_hard_reboot(driver: QemuDriver, vm: Vm) -> None:
    before = await boot_id(vm)
    await driver.reboot(vm.uuid, hard=True)
    assert await boot_id(vm) != before


async def test_power_off_is_acpi_and_power_on(driver: QemuDriver, vm: Vm) -> None:
    await wait_ssh(vm.key, vm.port)
    await driver.power_off(vm.uuid, grace=60)
    assert (await driver.get_info(vm.uuid)).power_state == PowerState.SHUTDOWN
    # The guest shut down cleanly on the ACPI event, it was not killed.
    out = await driver.get_console_output(vm.uuid)
    assert "overcast: shutting down" in out
    await driver.power_off(vm.uuid)  # idempotent
    await driver.power_on(vm.uuid)
    assert (await driver.get_info(vm.uuid)).power_state == PowerState.RUNNING
    await wait_ssh(vm.key, vm.port)


async def test_dead_process_is_reported_shut_off(driver: QemuDriver, vm: Vm) -> None:
    pid = (await driver.get_info(vm.uuid)).pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        if (await driver.get_info(vm.uuid)).power_state == PowerState.SHUTDOWN:
            break
        await asyncio.sleep(0.1)
    assert vm.uuid in {i.uuid for i in await driver.list_instances()}
    assert (await driver.get_info(vm.uuid)).power_state == PowerState.SHUTDOWN
    await driver.power_on(vm.uuid)
    await wait_ssh(vm.key, vm.port)


async def test_snapshot_boots(driver: QemuDriver, vm: Vm, guest: dict[str, Path],
                              tmp_path_factory: pytest.TempPathFactory) -> None:
    await wait_ssh(vm.key, vm.port, "echo from-the-original > /home/overcast/marker; sync")
    target = tmp_path_factory.mktemp("snap") / "snap.qcow2"
    await driver.snapshot(vm.uuid, target)
    assert (await driver.get_info(vm.uuid)).power_state == PowerState.RUNNING
    await driver.destroy(vm.uuid)  # at most two guests at once on a shared machine
    port = free_port()
    await driver.spawn(make_spec(SNAP_UUID, guest, vm.key, port, image=target))
    try:
        out = await wait_ssh(vm.key, port, "cat /home/overcast/marker")
        assert out.strip() == "from-the-original"
    finally:
        await driver.destroy(SNAP_UUID)
    assert SNAP_UUID not in {i.uuid for i in await driver.list_instances()}
