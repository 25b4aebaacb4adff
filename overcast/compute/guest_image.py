"""The Overcast guest image (our CirrOS): runs the offline build in `guest/`.

`overcast guest build --out DIR` calls `build(DIR)`. The build downloads Debian packages
with apt-get (cached in ~/.cache/overcast/debs) and assembles the images with host tools;
see guest/build.sh and docs/hypervisor.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

# The login of the guest's console and ssh user (documented in docs/hypervisor.md).
LOGIN_USER = "overcast"
LOGIN_PASSWORD = "overcast"

FILES = {
    "qcow2": "overcast-guest.qcow2",
    "kernel": "overcast-guest-vmlinuz",
    "ramdisk": "overcast-guest-initrd",
    "root": "overcast-guest-root.img",
    "manifest": "manifest.json",
}


class GuestBuildError(RuntimeError):
    """The guest build failed; the message holds the end of its output."""


def source_dir() -> Path:
    """The guest/ directory of the source tree."""
    return Path(__file__).resolve().parents[2] / "guest"


def source_hash(src: Path | None = None) -> str:
    """A digest of every file under guest/: a cache key for built images."""
    src = src or source_dir()
    digest = hashlib.sha256()
    for path in sorted(p for p in src.rglob("*") if p.is_file() or p.is_symlink()):
        rel = path.relative_to(src).as_posix()
        digest.update(rel.encode() + b"\0")
        digest.update(oct(path.lstat().st_mode & 0o777).encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else os.readlink(path).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def outputs(out_dir: Path) -> dict[str, Path]:
    """The files a build leaves in `out_dir`, by role."""
    return {role: out_dir / name for role, name in FILES.items()}


def _build_sync(out_dir: Path) -> dict[str, Path]:
    script = source_dir() / "build.sh"
    proc = subprocess.run(
        ["bash", str(script), str(out_dir)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise GuestBuildError(f"guest build failed ({proc.returncode}): {proc.stderr[-2000:]}")
    files = outputs(out_dir)
    missing = [p.name for p in files.values() if not p.exists()]
    if missing:
        raise GuestBuildError(f"guest build left no {', '.join(missing)}")
    return files


def build(out_dir: Path) -> dict[str, Path]:
    """Build the guest into `out_dir`; returns {"qcow2", "kernel", "ramdisk", "root",
    "manifest"} -> path. Blocking (for the CLI); use `build_async` on an event loop."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _build_sync(out_dir)


async def build_async(out_dir: Path) -> dict[str, Path]:
    """`build` without blocking the event loop."""
    return await asyncio.to_thread(build, out_dir)


def cached(cache_root: Path | None = None) -> dict[str, Path]:
    """Build once per content of guest/: ~/.cache/overcast/guest/<hash>/ (tests, bench)."""
    root = cache_root or Path(
        os.environ.get("OVERCAST_GUEST_CACHE", Path.home() / ".cache" / "overcast" / "guest")
    )
    out = root / source_hash()
    files = outputs(out)
    if all(p.exists() for p in files.values()):
        return files
    tmp = root / f".{out.name}.{os.getpid()}"
    build(tmp)
    try:
        tmp.rename(out)
    except OSError:
        # Another process finished the same build first; use theirs.
        shutil.rmtree(tmp, ignore_errors=True)
    return outputs(out)
