"""The config drive: an ISO9660 (Rock Ridge) volume labelled config-2, as Nova writes it.

Built in Python with pycdlib, no genisoimage. Layout read by cloud-init and our guest:
openstack/latest/{meta_data.json, network_data.json, vendor_data.json, user_data}.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
import time
from pathlib import Path

import pycdlib
import pycdlib.headervd
import pycdlib.pycdlib

from overcast.compute import instance_metadata
from overcast.compute.drivers.base import ConfigDrive

LABEL = "config-2"
# Fixed times keep the ISO byte-identical for the same content (migration regenerates it).
_EPOCH = 1700000000


def _files(cd: ConfigDrive) -> dict[str, bytes]:
    # The metadata service answers the same paths from the same renderer.
    return instance_metadata.openstack_files(cd.meta_data, cd.user_data, cd.network_data,
                                             cd.vendor_data)


class _FixedClock:
    """Stands in for the `time` module inside pycdlib while an ISO is made: pycdlib stamps the
    volume descriptor and root directory with time.time() and takes no date for them."""

    @staticmethod
    def time() -> float:
        return float(_EPOCH)

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


_PYCDLIB_CLOCKS = (pycdlib.headervd, pycdlib.pycdlib)
_clock_lock = threading.Lock()


def _write(cd: ConfigDrive, path: Path) -> None:
    with _clock_lock:
        saved = [m.time for m in _PYCDLIB_CLOCKS]
        for m in _PYCDLIB_CLOCKS:
            m.time = _FixedClock()  # type: ignore[attr-defined]
        try:
            _write_iso(cd, path)
        finally:
            for m, t in zip(_PYCDLIB_CLOCKS, saved, strict=True):
                m.time = t  # type: ignore[attr-defined]


def _write_iso(cd: ConfigDrive, path: Path) -> None:
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, rock_ridge="1.09", vol_ident=LABEL, sys_ident="LINUX")
    for iso_dir, rr in (("/OPENSTACK", "openstack"), ("/OPENSTACK/LATEST", "latest")):
        iso.add_directory(iso_dir, rr_name=rr, file_mode=0o40555, creation_time=_EPOCH)
    for name, data in _files(cd).items():
        iso_name = name.upper().replace(".", "_", name.count(".") - 1) if "." in name else name.upper()
        iso.add_fp(
            io.BytesIO(data),
            len(data),
            f"/OPENSTACK/LATEST/{iso_name};1",
            rr_name=name,
            file_mode=0o100444,
            creation_time=_EPOCH,
        )
    tmp = path.with_name(f".{path.name}.tmp")
    iso.write(str(tmp))
    iso.close()
    os.replace(tmp, path)


async def build(cd: ConfigDrive, path: Path) -> Path:
    """Write the config drive ISO for `cd` at `path` (atomically)."""
    await asyncio.to_thread(_write, cd, path)
    return path
