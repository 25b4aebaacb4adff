"""The guest images boot with the plain qemu-system-x86_64 command a user would type, the
AKI/ARI/AMI triple boots through the driver with keys from the metadata service, and bad
input gets clear errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from overcast.compute.drivers.base import (
    Flavor,
    FlavorTooSmall,
    ImageSource,
    InstanceSpec,
    InvalidImage,
    Nic,
    PortForward,
)
from overcast.compute.drivers.qemu import QemuDriver
from overcast.compute.drivers.qemu.command import AMI_ROOT_ARGS
from overcast.compute.drivers.qemu.processes import run
from tests.helpers import free_port
from tests.integration.compute.conftest import BOOT_TIMEOUT, wait_root_kb, wait_ssh

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


async def boot_by_hand(args: list[str], tmp_path: Path) -> str:
    """Run qemu-system-x86_64 as a user would and wait for the guest's banner."""
    log = tmp_path / "serial.log"
    proc = await asyncio.create_subprocess_exec(
        "qemu-system-x86_64", "-m", "256", "-display", "none", "-serial", f"file:{log}",
        *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BOOT_TIMEOUT
        while loop.time() < deadline:
            text = log.read_text(errors="replace") if log.exists() else ""
            if "overcast-guest ready" in text:
                return text
            if proc.returncode is not None:
                break
            await asyncio.sleep(0.3)
        raise AssertionError(f"no banner:\n{text[-1500:]}")
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def test_qcow2_boots_with_plain_qemu(guest: dict[str, Path], tmp_path: Path) -> None:
    disk = tmp_path / "disk.qcow2"
    await run("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", guest["qcow2"], disk)
    out = await boot_by_hand(["-drive", f"file={disk},if=virtio",
                              "-nic", "user,model=virtio-net-pci"], tmp_path)
    assert "10.0.2.15" in out


async def test_kernel_ramdisk_root_triple_boots_with_plain_qemu(guest: dict[str, Path],
                                                                tmp_path: Path) -> None:
    root = tmp_path / "root.img"
    await run("cp", guest["root"], root)
    out = await boot_by_hand([
        "-kernel", str(guest["kernel"]), "-initrd", str(guest["ramdisk"]),
        "-append", AMI_ROOT_ARGS,
        "-drive", f"file={root},format=raw,if=virtio",
        "-nic", "user,model=virtio-net-pci",
    ], tmp_path)
    assert "10.0.2.15" in out


async def _metadata_server(meta: dict[str, object]) -> tuple[asyncio.Server, int]:
    """A tiny metadata service on 127.0.0.1 (OpenStack paths only)."""
    body = json.dumps(meta).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readline()
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        path = request.split()[1].decode() if len(request.split()) > 1 else "/"
        if path == "/openstack/latest/meta_data.json":
            writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
        else:
            writer.write(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_ami_triple_through_driver_with_metadata_service(
        tmp_path: Path, guest: dict[str, Path], ssh_key: Path) -> None:
    uuid = "0c0ffee0-4444-4444-8444-000000000004"
    meta = {"uuid": uuid, "hostname": "from-metadata",
            "public_keys": {"k": ssh_key.with_suffix(".pub").read_text()}}
    server, mport = await _metadata_server(meta)
    driver = QemuDriver(tmp_path / "state", accel_mode="tcg")
    port = free_port()
    spec = InstanceSpec(
        uuid=uuid, name="ami", flavor=Flavor(memory_mb=192, root_gb=1),
        image=ImageSource(path=guest["root"], disk_format="ami", kernel=guest["kernel"],
                          ramdisk=guest["ramdisk"]),
        nics=(Nic(id="p4", mac="fa:16:3e:44:44:04", metadata=("127.0.0.1", mport),
                  forwards=(PortForward(host_port=port, guest_port=22),)),),
    )
    try:
        await driver.spawn(spec)
        out = await wait_ssh(ssh_key, port, "hostname")
        assert out.strip() == "from-metadata"
        # The whole-disk root (AMI) grew to the flavor's disk.
        assert await wait_root_kb(ssh_key, port, 900_000) >= 900_000
    finally:
        await driver.destroy(uuid)
        await driver.close()
        server.close()


async def test_not_bootable_image_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.raw"
    junk.write_bytes(b"this is not a disk\n" * 1000)
    driver = QemuDriver(tmp_path / "state", accel_mode="tcg")
    spec = InstanceSpec(uuid="u-junk", name="junk", flavor=Flavor(memory_mb=256),
                        image=ImageSource(path=junk, disk_format="raw"))
    with pytest.raises(InvalidImage, match="not a bootable disk"):
        await driver.spawn(spec)
    with pytest.raises(InvalidImage, match="claims qcow2"):
        await driver.spawn(spec.model_copy(update={"image": ImageSource(path=junk)}))
    assert await driver.list_instances() == []


async def test_flavor_too_small(tmp_path: Path, guest: dict[str, Path]) -> None:
    driver = QemuDriver(tmp_path / "state", accel_mode="tcg")
    tiny = InstanceSpec(uuid="u-tiny", name="tiny", flavor=Flavor(memory_mb=64),
                        image=ImageSource(path=guest["qcow2"]))
    with pytest.raises(FlavorTooSmall, match="64 MiB"):
        await driver.spawn(tiny)
    big = tmp_path / "big.raw"
    with big.open("wb") as f:  # a 3 GiB sparse disk with a boot signature
        f.seek(510)
        f.write(b"\x55\xaa")
        f.truncate(3 * 1024**3)
    small_disk = InstanceSpec(uuid="u-small", name="small",
                              flavor=Flavor(memory_mb=256, root_gb=1),
                              image=ImageSource(path=big, disk_format="raw"))
    with pytest.raises(FlavorTooSmall, match="1 GiB root disk"):
        await driver.spawn(small_disk)
    assert await driver.list_instances() == []
