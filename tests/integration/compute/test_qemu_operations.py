"""Rescue, resize (confirm and revert) and NIC hot-plug on one guest (real QEMU, TCG)."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio

from overcast.compute.drivers.base import (
    Flavor,
    FlavorTooSmall,
    ImageSource,
    InvalidInstanceState,
    Nic,
    PowerState,
)
from overcast.compute.drivers.qemu import QemuDriver
from tests.helpers import free_port
from tests.integration.compute.conftest import Vm, make_spec, wait_root_kb, wait_ssh

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

UUID = "0c0ffee0-5555-4555-8555-000000000005"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def vm(driver: QemuDriver, guest: dict[str, Path], ssh_key: Path) -> Vm:
    port = free_port()
    await driver.spawn(make_spec(UUID, guest, ssh_key, port))
    return Vm(UUID, port, ssh_key)


async def mem_kb(vm: Vm) -> int:
    out = await wait_ssh(vm.key, vm.port, "grep MemTotal /proc/meminfo")
    return int(out.split()[1])


async def test_rescue_boots_rescue_image_with_own_disk_second(
        driver: QemuDriver, vm: Vm, guest: dict[str, Path]) -> None:
    await wait_ssh(vm.key, vm.port, "echo mine > /home/overcast/own-disk; sync")
    await driver.rescue(vm.uuid, ImageSource(path=guest["qcow2"]))
    assert (await driver.get_info(vm.uuid)).rescued
    out = await wait_ssh(vm.key, vm.port,
                         "cat /proc/partitions; ls /home/overcast/own-disk 2>&1 || true")
    assert " vdb" in out and "No such file" in out
    with pytest.raises(InvalidInstanceState):
        await driver.rescue(vm.uuid, ImageSource(path=guest["qcow2"]))
    await driver.unrescue(vm.uuid)
    out = await wait_ssh(vm.key, vm.port, "cat /home/overcast/own-disk")
    assert out.strip() == "mine"
    assert not (await driver.get_info(vm.uuid)).rescued


async def test_resize_grows_ram_and_disk_then_confirm(driver: QemuDriver, vm: Vm) -> None:
    before = await mem_kb(vm)
    await driver.resize(vm.uuid, Flavor(name="m1.bigger", memory_mb=384, root_gb=2))
    info = await driver.get_info(vm.uuid)
    assert info.resizing and info.memory_mb == 384
    assert await mem_kb(vm) > before + 100_000
    assert await wait_root_kb(vm.key, vm.port, 1_900_000) >= 1_900_000
    await driver.confirm_resize(vm.uuid)
    assert not (await driver.get_info(vm.uuid)).resizing
    with pytest.raises(FlavorTooSmall):
        await driver.resize(vm.uuid, Flavor(name="m1.small", memory_mb=256, root_gb=1))


async def test_resize_revert(driver: QemuDriver, vm: Vm) -> None:
    await driver.resize(vm.uuid, Flavor(name="m1.more-ram", memory_mb=512, root_gb=2))
    assert await mem_kb(vm) > 400_000
    await driver.revert_resize(vm.uuid)
    info = await driver.get_info(vm.uuid)
    assert info.memory_mb == 384 and not info.resizing
    assert info.power_state == PowerState.RUNNING
    assert 300_000 < await mem_kb(vm) < 400_000


async def test_nic_hot_plug_seen_by_guest(driver: QemuDriver, vm: Vm) -> None:
    nic = Nic(id="port-extra", mac="fa:16:3e:55:55:99")
    await driver.attach_interface(vm.uuid, nic)
    out = await wait_ssh(vm.key, vm.port,
                         "for i in $(seq 50); do grep -l fa:16:3e:55:55:99 "
                         "/sys/class/net/*/address && break; sleep 0.2; done")
    assert "/sys/class/net/eth1/address" in out
    await driver.detach_interface(vm.uuid, "port-extra")
    out = await wait_ssh(vm.key, vm.port, "ls /sys/class/net")
    assert "eth1" not in out.split()
    assert [n.id for n in (await driver.get_info(vm.uuid)).nics] == [f"nic-{UUID}"]
