"""The file driver with the real qemu-img: volumes, snapshots and clones are files of the
right virtual size, published atomically, removed on delete."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from overcast.volume.drivers import DriverError
from overcast.volume.drivers.file import FileDriver
from tests.conftest import require


def _info(path: Path) -> dict[str, object]:
    out = subprocess.run(["qemu-img", "info", "--output=json", str(path)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt", ["qcow2", "raw"])
async def test_file_driver_lifecycle(tmp_path: Path, fmt: str) -> None:
    require("qemu-img", shutil.which("qemu-img") is not None, "apt-get install qemu-utils")
    d = FileDriver(tmp_path / "vols", fmt)
    total, free = d.capacity()
    assert total > 0 and 0 < free <= total
    await d.create("v1", 1)
    assert _info(d.path("v1"))["format"] == fmt
    assert await d.size_gb("v1") == 1
    await d.create("v1", 1)  # idempotent
    await d.extend("v1", 2)
    assert _info(d.path("v1"))["virtual-size"] == 2 << 30
    await d.create_snapshot("s1", "v1")
    assert await d.snapshot_exists("s1")
    await d.create_from_snapshot("v2", "s1", 3)
    assert await d.size_gb("v2") == 3
    await d.clone("v3", "v1", 2)
    assert await d.size_gb("v3") == 2
    # an image file in another format becomes a volume of the asked size
    image = tmp_path / "image.raw"
    image.write_bytes(b"\x01" * 65536)
    await d.create_from_file("v4", image, 1)
    assert await d.size_gb("v4") == 1
    with pytest.raises(DriverError):
        await d.clone("v5", "missing", 1)
    assert not any(p.name.startswith(".") for p in (tmp_path / "vols").iterdir())
    for v in ("v1", "v2", "v3", "v4"):
        await d.delete(v)
    await d.delete_snapshot("s1")
    await d.delete("v1")  # idempotent
    assert list((tmp_path / "vols").iterdir()) == []
