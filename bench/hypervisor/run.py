"""Hypervisor benchmark: boot-to-ssh, boot-to-DHCP, per-VM memory overhead, image size.

    .venv/bin/python bench/hypervisor/run.py [--runs 10]

Boots the Overcast guest (qcow2, SYSLINUX, virtio root, config drive with an ssh key) with
the QEMU driver one VM at a time and prints medians beside Firecracker's published figures
and CirrOS 0.6. Times are host wall clock from the driver's spawn() call: boot-to-DHCP is
when the guest's "DHCP lease" line shows on the serial log (polled every 50 ms),
boot-to-ssh when an ssh login with the config-drive key first runs a command (the
ssh server's banner is polled first, every 50 ms with a 0.5 s limit per try).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

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

MEMORY_MB = 256
SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR"]
# Published figures of the peers (Firecracker: SPECIFICATION.md; CirrOS: 0.6.2 release).
FIRECRACKER_BOOT_MS = 125
FIRECRACKER_OVERHEAD_MIB = 5
CIRROS_QCOW2_MB = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory_overhead_mib(pid: int, guest_mb: int) -> tuple[float, float, float]:
    """(QEMU RSS, guest RAM touched, overhead) in MiB. The guest RAM mapping is the
    anonymous mapping of exactly -m size; its Rss is what the guest touched, so the
    overhead is RSS minus that, not RSS minus -m (GUEST_NOTES "Memory per TCG guest")."""
    total = touched = 0
    size = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "Size:":
            size = int(parts[1])
        elif len(parts) >= 2 and parts[0] == "Rss:":
            rss = int(parts[1])
            total += rss
            if size == guest_mb * 1024:
                touched = max(touched, rss)
    return total / 1024, touched / 1024, (total - touched) / 1024


async def ssh_ok(key: Path, port: int) -> bool:
    if not await ssh_banner(port):
        return False
    proc = await asyncio.create_subprocess_exec(
        "ssh", "-i", str(key), "-p", str(port), *SSH_OPTS, "overcast@127.0.0.1", "true",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    return await proc.wait() == 0


async def one_boot(driver: QemuDriver, guest: dict[str, Path], key: Path,
                   n: int) -> dict[str, float]:
    uuid = f"be7c0000-0000-4000-8000-{n:012d}"
    port = free_port()
    spec = InstanceSpec(
        uuid=uuid, name=f"bench-{n}", flavor=Flavor(memory_mb=MEMORY_MB, root_gb=1),
        image=ImageSource(path=guest["qcow2"]),
        nics=(Nic(id=f"p{n}", mac=f"fa:16:3e:be:00:{n:02x}",
                  forwards=(PortForward(host_port=port, guest_port=22),)),),
        config_drive=ConfigDrive(meta_data={
            "uuid": uuid, "hostname": f"bench-{n}",
            "public_keys": {"k": key.with_suffix(".pub").read_text()}}),
    )
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await driver.spawn(spec)
    dhcp = ssh = None

    async def watch_dhcp() -> None:
        nonlocal dhcp
        while dhcp is None:
            if "DHCP lease" in await driver.get_console_output(uuid):
                dhcp = loop.time() - t0
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch_dhcp())
    try:
        while loop.time() - t0 < 120:
            if await ssh_ok(key, port):
                ssh = loop.time() - t0
                break
            await asyncio.sleep(0.05)
        await asyncio.wait_for(watcher, 5)
        pid = (await driver.get_info(uuid)).pid
        assert pid and ssh is not None and dhcp is not None
        rss, touched, overhead = memory_overhead_mib(pid, MEMORY_MB)
    finally:
        watcher.cancel()
        await driver.destroy(uuid)
    return {"ssh": ssh, "dhcp": dhcp, "rss": rss, "touched": touched, "overhead": overhead}


async def main(runs: int, guest: dict[str, Path]) -> None:
    with tempfile.TemporaryDirectory(prefix="overcast-bench-") as tmp:
        key = Path(tmp) / "key"
        await asyncio.to_thread(
            subprocess.run, ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
            check=True)
        driver = QemuDriver(Path(tmp) / "state", probe_kernel=guest["kernel"],
                            probe_initrd=guest["ramdisk"])
        inv = await driver.host_inventory()
        load_before = os.getloadavg()
        results = []
        started = time.monotonic()
        for n in range(runs):
            r = await one_boot(driver, guest, key, n)
            results.append(r)
            print(f"  run {n + 1:2d}: DHCP {r['dhcp']:.2f} s, ssh {r['ssh']:.2f} s, "
                  f"overhead {r['overhead']:.0f} MiB", flush=True)
        await driver.close()

    def med(k: str) -> float:
        return statistics.median(r[k] for r in results)

    qcow2_mb = guest["qcow2"].stat().st_size / 1e6
    triple_mb = sum(guest[k].stat().st_size for k in ("kernel", "ramdisk")) / 1e6
    print()
    print(f"Overcast hypervisor bench: {runs} boots, accel={inv.accel}, {os.cpu_count()} cores, "
          f"load avg before {load_before[0]:.2f} / after {os.getloadavg()[0]:.2f}, "
          f"{time.monotonic() - started:.0f} s")
    print(f"{'figure':34} {'Overcast (p50)':>16} {'Firecracker':>14} {'CirrOS 0.6':>12}")
    print(f"{'boot to ssh (s)':34} {med('ssh'):16.2f} {'-':>14} {'-':>12}   aim < 5 s")
    print(f"{'boot to DHCP lease (s)':34} {med('dhcp'):16.2f} "
          f"{FIRECRACKER_BOOT_MS / 1000:>13.3f}* {'-':>12}")
    print(f"{'QEMU RSS (MiB)':34} {med('rss'):16.0f} {'-':>14} {'-':>12}")
    print(f"{'guest RAM touched (MiB)':34} {med('touched'):16.0f} {'-':>14} {'-':>12}")
    print(f"{'per-VM overhead, RSS - touched (MiB)':34} {med('overhead'):16.0f} "
          f"{FIRECRACKER_OVERHEAD_MIB:>14} {'-':>12}")
    print(f"{'image: qcow2 (MB)':34} {qcow2_mb:16.1f} {'-':>14} {CIRROS_QCOW2_MB:>12}")
    print(f"{'image: kernel + ramdisk (MB)':34} {triple_mb:16.1f} {'-':>14} {'-':>12}")
    print("* Firecracker publishes <=125 ms from VMM start to guest init (microVM, KVM); "
          "ours is TCG to a DHCP lease" if inv.accel == "tcg" else
          "* Firecracker: <=125 ms to guest init")
    print(f"p50 of {runs} runs; min/max boot to ssh {min(r['ssh'] for r in results):.2f}/"
          f"{max(r['ssh'] for r in results):.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    asyncio.run(main(parser.parse_args().runs, guest_image.cached()))
