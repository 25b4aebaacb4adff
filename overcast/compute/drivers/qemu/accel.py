"""Choosing KVM or TCG: KVM only when a real guest kernel boots under it.

`/dev/kvm` can exist and accept KVM_CREATE_VM while no Linux guest runs under it (a nested,
pagetable-based KVM fails on MSRs or emulation, GUEST_NOTES "KVM does not work here"), so
the probe boots the guest kernel to a marker on the serial port with a hard timeout. The
answer is cached per QEMU version, host kernel and /dev/kvm device.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

MARKER = b"OVERCAST-PROBE-OK"
PROBE_TIMEOUT = 15.0


def _cache_key(qemu_version: str) -> str:
    try:
        st = os.stat("/dev/kvm")
        kvm = f"{st.st_rdev}:{st.st_mtime_ns}"
    except OSError:
        kvm = "none"
    return f"{qemu_version}|{platform.release()}|{kvm}"


def _marker_seen(path: Path) -> bool:
    try:
        return MARKER in path.read_bytes()
    except FileNotFoundError:
        return False


async def _boot_probe(qemu: str, kernel: Path, initrd: Path) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory(prefix="overcast-probe-") as tmp:
        log_path = Path(tmp) / "serial.log"
        proc = await asyncio.create_subprocess_exec(
            qemu, "-accel", "kvm", "-cpu", "host", "-machine", "pc", "-m", "128",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-kernel", str(kernel), "-initrd", str(initrd),
            "-append", "console=ttyS0 overcast.probe quiet panic=-1",
            "-serial", f"file:{log_path}",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PROBE_TIMEOUT
        try:
            while loop.time() < deadline:
                if _marker_seen(log_path):
                    return True, "probe guest booted under KVM"
                if proc.returncode is not None:
                    break
                try:
                    async with asyncio.timeout(0.2):
                        await proc.wait()
                except TimeoutError:
                    pass
            if _marker_seen(log_path):
                return True, "probe guest booted under KVM"
            err = b""
            if proc.returncode is not None and proc.stderr is not None:
                err = await proc.stderr.read()
            why = err.decode(errors="replace").strip().splitlines()[-1:] or ["no boot marker"]
            return False, f"probe guest did not boot under KVM: {why[0]}"
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def choose(qemu: str, qemu_version: str, cache_file: Path,
                 probe_kernel: Path | None, probe_initrd: Path | None) -> tuple[str, str]:
    """("kvm" | "tcg", reason). Cached in `cache_file`."""
    key = _cache_key(qemu_version)
    cached = _read_cache(cache_file)
    if cached.get("key") == key:
        return cached["accel"], cached["reason"] + " (cached)"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        accel, reason = "tcg", "/dev/kvm is absent or not accessible"
    elif probe_kernel is None or probe_initrd is None or not _is_file(probe_kernel):
        # Without a guest to boot, KVM cannot be proven to work; do not cache this answer.
        return "tcg", "no probe guest (kernel + initrd) configured"
    else:
        ok, reason = await _boot_probe(qemu, probe_kernel, probe_initrd)
        accel = "kvm" if ok else "tcg"
    _write_cache(cache_file, {"key": key, "accel": accel, "reason": reason})
    return accel, reason


def _is_file(path: Path) -> bool:
    return path.is_file()


def _read_cache(cache_file: Path) -> dict[str, str]:
    try:
        data = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(cache_file: Path, data: dict[str, str]) -> None:
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_name(f".{cache_file.name}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(cache_file)
