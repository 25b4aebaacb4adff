"""Running host commands without blocking the event loop, and finding QEMU's processes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from overcast.compute.drivers.base import DriverError


class CommandFailed(DriverError):
    """A host command exited non-zero."""

    def __init__(self, argv: list[str], code: int, stderr: str) -> None:
        self.argv = argv
        self.code = code
        self.stderr = stderr
        super().__init__(f"{Path(argv[0]).name} failed ({code}): {stderr.strip()[-500:]}")


async def run(*argv: str | Path, seconds: float = 300.0, check: bool = True) -> str:
    """Run a command, return its stdout; CommandFailed on a non-zero exit."""
    args = [str(a) for a in argv]
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(seconds):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise DriverError(f"{Path(args[0]).name} timed out after {seconds:.0f} s") from None
    if check and proc.returncode != 0:
        raise CommandFailed(args, proc.returncode or 0, err.decode(errors="replace"))
    return out.decode(errors="replace")


def read_pid(pidfile: Path) -> int | None:
    """The pid in a pid file, or None."""
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def process_alive(pid: int | None, marker: str) -> bool:
    """True when `pid` runs and its command line holds `marker` (guards against pid reuse)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    if marker.encode() not in cmdline:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def wait_exit(pid: int, marker: str, seconds: float) -> bool:
    """Wait until the process is gone; False on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while process_alive(pid, marker):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def kill(pid: int | None, marker: str, seconds: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, a process that is still ours."""
    if not pid or not process_alive(pid, marker):
        return
    for sig in (15, 9):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if await wait_exit(pid, marker, seconds if sig == 15 else 5.0):
            return
    raise DriverError(f"process {pid} does not exit")
