"""Fixtures for tests on real QEMU (TCG): the guest images, built once per guest/ content,
an ssh key, and helpers to reach a guest over a forwarded 127.0.0.1 port."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from overcast.compute import guest_image
from overcast.compute.drivers.base import (
    ConfigDrive,
    Flavor,
    ImageSource,
    InstanceSpec,
    Nic,
    PortForward,
)
from overcast.compute.drivers.qemu import QemuDriver
from overcast.compute.guest_probe import ssh_banner
from tests.conftest import require, require_binary

BOOT_TIMEOUT = 90.0  # TCG on a loaded 2-core machine (GUEST_NOTES pitfall 12)
SSH_OPTS = [
    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
]
GUEST_TOOLS = ["qemu-system-x86_64", "qemu-img", "ssh", "ssh-keygen", "apt-get", "mke2fs",
               "mkfs.vfat", "mcopy", "syslinux", "sfdisk", "depmod", "cpio", "readelf"]


@pytest.fixture(scope="session")
def guest() -> dict[str, Path]:
    """The built guest (qcow2, kernel, ramdisk, root), cached in ~/.cache/overcast/guest."""
    for tool in GUEST_TOOLS:
        require_binary(tool)
    try:
        return guest_image.cached()
    except guest_image.GuestBuildError as exc:
        require("the guest image build", False, str(exc)[-300:])
        raise


@pytest.fixture(scope="session")
def ssh_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh ed25519 key pair; returns the private key path (.pub beside it)."""
    key = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


@dataclass
class Vm:
    """A guest a module's tests share: its uuid, the host port forwarded to its ssh, the key."""

    uuid: str
    port: int
    key: Path


async def ssh(key: Path, port: int, cmd: str, host: str = "127.0.0.1",
              prefix: tuple[str, ...] = ()) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *prefix, "ssh", "-i", str(key), "-p", str(port), *SSH_OPTS, f"overcast@{host}", cmd,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return 255, "timeout"
    return proc.returncode or 0, out.decode(errors="replace")


async def wait_ssh(key: Path, port: int, cmd: str = "true", limit: float = BOOT_TIMEOUT,
                   **kw: object) -> str:
    """Run `cmd` as soon as ssh works (a real login, not an open port: GUEST_NOTES pitfall 8)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    last = ""
    while loop.time() < deadline:
        if not await ssh_banner(port, str(kw.get("host", "127.0.0.1"))) and not kw.get("prefix"):
            await asyncio.sleep(0.1)
            continue
        code, out = await ssh(key, port, cmd, **kw)  # type: ignore[arg-type]
        if code == 0:
            return out
        last = out
        await asyncio.sleep(0.5)
    raise AssertionError(f"no ssh on port {port} within {limit:.0f} s: {last[-300:]}")


async def wait_console(driver: QemuDriver, uuid: str, text: str, limit: float = BOOT_TIMEOUT,
                       count: int = 1) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    out = ""
    while loop.time() < deadline:
        out = await driver.get_console_output(uuid)
        if out.count(text) >= count:
            return out
        await asyncio.sleep(0.3)
    raise AssertionError(f"{text!r} not on the console within {limit:.0f} s:\n{out[-1500:]}")


def make_spec(uuid: str, guest: dict[str, Path], key: Path, port: int, *,
              user_data: bytes | None = None, image: Path | None = None,
              memory_mb: int = 256, root_gb: int = 1) -> InstanceSpec:
    return InstanceSpec(
        uuid=uuid,
        name=f"vm-{uuid[:8]}",
        flavor=Flavor(name="m1.test", memory_mb=memory_mb, root_gb=root_gb),
        image=ImageSource(path=image or guest["qcow2"]),
        nics=(Nic(id=f"nic-{uuid}", mac="fa:16:3e:" + ":".join(uuid[i:i + 2] for i in (0, 2, 4)),
                  forwards=(PortForward(host_port=port, guest_port=22),)),),
        config_drive=ConfigDrive(
            meta_data={"uuid": uuid, "hostname": f"vm-{uuid[:8]}", "name": f"vm-{uuid[:8]}",
                       "public_keys": {"test": key.with_suffix(".pub").read_text()}},
            user_data=user_data,
        ),
    )


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def driver(tmp_path_factory: pytest.TempPathFactory,
                 guest: dict[str, Path]) -> AsyncIterator[QemuDriver]:
    """A QEMU driver on a fresh state directory; every VM it has is destroyed at the end."""
    state = tmp_path_factory.mktemp("qemu-state")
    drv = QemuDriver(state, probe_kernel=guest["kernel"], probe_initrd=guest["ramdisk"])
    yield drv
    await drv.close()  # QMP serves one client: let go before the cleanup driver connects
    fresh = QemuDriver(state)
    for info in await fresh.list_instances():
        await fresh.destroy(info.uuid)
    await fresh.close()
    shutil.rmtree(state, ignore_errors=True)


async def wait_root_kb(key: Path, port: int, min_kb: int, limit: float = 30.0) -> int:
    """The root file system's size once it grew past `min_kb` (resize2fs runs after boot)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        size = int((await wait_ssh(key, port, "df -k / | tail -n1")).split()[1])
        if size >= min_kb or loop.time() > deadline:
            return size
        await asyncio.sleep(1)
