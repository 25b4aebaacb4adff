"""Live migration of a running guest between two QEMU drivers on this machine, with an ssh
session's counter still going afterwards. The guests sit on a bridge inside a network
namespace made for the test (a user-mode NIC's TCP state cannot move between processes)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from overcast.compute.drivers.base import (
    ConfigDrive,
    Flavor,
    ImageSource,
    InstanceSpec,
    Nic,
    PowerState,
)
from overcast.compute.drivers.qemu import QemuDriver
from tests.conftest import require
from tests.integration.compute.conftest import SSH_OPTS, wait_ssh

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

UUID = "0c0ffee0-3333-4333-8333-000000000003"
MAC = "fa:16:3e:33:33:03"
GUEST_IP = "192.0.2.10"  # TEST-NET-1, only inside the test's own namespace
BRIDGE = "ocbr0"


@pytest.fixture(scope="module")
def netns() -> object:
    require("network namespaces", os.geteuid() == 0 and shutil.which("ip") is not None,
            "needs root and iproute2")
    name = f"ocmig{os.getpid()}"
    for cmd in (["ip", "netns", "add", name],
                ["ip", "-n", name, "link", "set", "lo", "up"],
                ["ip", "-n", name, "link", "add", BRIDGE, "type", "bridge"],
                ["ip", "-n", name, "addr", "add", "192.0.2.1/24", "dev", BRIDGE],
                ["ip", "-n", name, "link", "set", BRIDGE, "up"]):
        subprocess.run(cmd, check=True)
    yield name
    subprocess.run(["ip", "netns", "del", name], check=False)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def hosts(tmp_path_factory: pytest.TempPathFactory, guest: dict[str, Path],
                netns: str) -> AsyncIterator[tuple[QemuDriver, QemuDriver]]:
    drivers = tuple(
        QemuDriver(tmp_path_factory.mktemp(f"host-{h}"), host=f"host-{h}", netns=netns,
                   probe_kernel=guest["kernel"], probe_initrd=guest["ramdisk"])
        for h in "ab"
    )
    yield drivers  # type: ignore[misc]
    for drv in drivers:
        for info in await drv.list_instances():
            await drv.destroy(info.uuid)
        await drv.close()


def spec(guest: dict[str, Path], key: Path) -> InstanceSpec:
    return InstanceSpec(
        uuid=UUID, name="migrant",
        flavor=Flavor(memory_mb=256, root_gb=1),
        image=ImageSource(path=guest["qcow2"]),
        nics=(Nic(id="port-0003", mac=MAC, kind="bridge", bridge=BRIDGE),),
        config_drive=ConfigDrive(
            meta_data={"uuid": UUID, "hostname": "migrant",
                       "public_keys": {"k": key.with_suffix(".pub").read_text()}},
            network_data={
                "links": [{"id": "tap0", "type": "phy", "ethernet_mac_address": MAC}],
                "networks": [{"id": "net0", "type": "ipv4", "link": "tap0",
                              "ip_address": GUEST_IP, "netmask": "255.255.255.0",
                              "routes": []}],
                "services": [],
            },
        ),
    )


def bridge_mac(netns: str) -> str:
    out = subprocess.run(["ip", "-n", netns, "-br", "link", "show", BRIDGE],
                         capture_output=True, text=True, check=True).stdout
    return out.split()[2]


class Counter:
    """Reads the session's counter lines in the background, with their arrival times, so
    that output buffered before the switch-over cannot pass for a live session after it."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.values: list[tuple[float, int]] = []
        self.eof = False
        self._news = asyncio.Event()
        self._task = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        while line := await stream.readline():
            if line.strip().isdigit():
                self.values.append((loop.time(), int(line)))
                self._news.set()
        self.eof = True
        self._news.set()

    def since(self, t: float) -> list[tuple[float, int]]:
        return [v for v in self.values if v[0] > t]

    async def wait(self, t: float, count: int, seconds: float) -> list[tuple[float, int]]:
        """Values arrived after loop time `t`, once `count` of them did (a loaded 2-core
        machine runs the TCG guest's 0.2 s ticks several times slower), or at the deadline
        or the end of the session."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while len(self.since(t)) < count and not self.eof:
            self._news.clear()
            try:
                await asyncio.wait_for(self._news.wait(), deadline - loop.time())
            except TimeoutError:
                break
        return self.since(t)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def test_live_migration_keeps_ssh_session(hosts: tuple[QemuDriver, QemuDriver],
                                                guest: dict[str, Path], ssh_key: Path,
                                                netns: str) -> None:
    src, dst = hosts
    the_spec = spec(guest, ssh_key)
    await src.spawn(the_spec)
    prefix = ("ip", "netns", "exec", netns)
    out = await wait_ssh(ssh_key, 22, "hostname", host=GUEST_IP, prefix=prefix)
    assert out.strip() == "migrant"

    session = await asyncio.create_subprocess_exec(
        *prefix, "ssh", "-i", str(ssh_key), *SSH_OPTS, f"overcast@{GUEST_IP}",
        "i=0; while true; do echo $i; i=$((i+1)); sleep 0.2; done",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert session.stdout is not None
    counter = Counter(session.stdout)
    loop = asyncio.get_running_loop()
    try:
        before = await counter.wait(0, 5, 30)
        assert before, "the ssh session printed nothing"
        mac = bridge_mac(netns)

        target = await dst.pre_live_migration(the_spec)
        try:
            await src.live_migration(UUID, target)
        except BaseException:
            await dst.rollback_live_migration_at_destination(UUID)
            raise
        await dst.post_live_migration_at_destination(UUID)
        # The source QEMU and its tap are gone: whatever arrives from now on comes from the
        # guest running on the destination.
        switched = loop.time()
        last_before = counter.values[-1][1]

        assert UUID not in {i.uuid for i in await src.list_instances()}
        assert (await dst.get_info(UUID)).power_state == PowerState.RUNNING
        # The bridge must not take the destination tap's MAC when the source tap goes: the
        # guest's ARP entry for 192.0.2.1 would go stale and the session stall (the driver
        # gives taps a fixed fe:... MAC, command.tap_mac).
        assert bridge_mac(netns) == mac
        after = await counter.wait(switched, 12, 30)
        assert after, (f"the ssh session {'ended' if counter.eof else 'stalled'} after the "
                       f"migration (last value {last_before})")
        values = [v for _, v in after]
        assert len(after) >= 12, f"only {values} after the migration (eof={counter.eof})"
        assert values == list(range(values[0], values[0] + len(values)))
        assert values[0] > before[-1][1]
        # Live ticks (0.2 s apart), not a burst of output held up at the switch-over.
        assert after[-1][0] - after[0][0] >= 1.0, f"{after}"
        assert session.returncode is None
    finally:
        await counter.close()
        if session.returncode is None:
            session.kill()
        await session.wait()
    out = await wait_ssh(ssh_key, 22, "hostname", host=GUEST_IP, prefix=prefix)
    assert out.strip() == "migrant"
