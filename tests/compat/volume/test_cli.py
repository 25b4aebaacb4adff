"""The real `openstack` and `cinder` CLIs against `overcast up` with the block storage service
on, its agent running the file driver (qemu-img files in the state directory)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import Cloud, start_cloud, stop_cloud
from tests.conftest import require


@pytest.fixture(scope="module")
def cinder_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    require("qemu-img", shutil.which("qemu-img") is not None, "apt-get install qemu-utils")
    c = start_cloud(tmp_path_factory.mktemp("cinder"), {
        "OVERCAST_VOLUME__ENABLED": "true", "OVERCAST_VOLUME__HOST": "storage1"})
    yield c
    stop_cloud(c)


def _json(cloud: Cloud, *args: str) -> Any:
    return cloud.openstack_json(*args)


def _wait(cloud: Cloud, kind: list[str], ident: str, status: str) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for _ in range(120):
        shown = _json(cloud, *kind, "show", ident)
        if shown["status"] == status:
            return shown
        time.sleep(0.25)
    raise AssertionError(f"{ident} never reached {status}: {shown}")


def test_volume_lifecycle_through_the_openstack_cli(cinder_cloud: Cloud) -> None:
    c = cinder_cloud
    created = _json(c, "volume", "create", "--size", "1", "myVolume")
    assert created["name"] == "myVolume" and created["size"] == 1
    vol = _wait(c, ["volume"], created["id"], "available")
    assert vol["type"] == "__DEFAULT__" and vol["availability_zone"] == "nova"
    # the file driver made a 1 GiB file in the state directory
    files = list((c.state_dir / "volumes").glob(f"volume-{vol['id']}"))
    assert len(files) == 1
    listed = {v["ID"]: v for v in _json(c, "volume", "list")}
    assert listed[vol["id"]]["Name"] == "myVolume" and listed[vol["id"]]["Size"] == 1
    c.openstack("volume", "set", "--size", "2", "myVolume")
    for _ in range(120):
        vol = _json(c, "volume", "show", "myVolume")
        if vol["size"] == 2 and vol["status"] == "available":
            break
        time.sleep(0.25)
    assert vol["size"] == 2
    snap = _json(c, "volume", "snapshot", "create", "--volume", "myVolume", "mySnap")
    snap = _wait(c, ["volume", "snapshot"], snap["id"], "available")
    assert snap["size"] == 2
    copy = _json(c, "volume", "create", "--snapshot", "mySnap", "--size", "3", "fromSnap")
    copy = _wait(c, ["volume"], copy["id"], "available")
    assert copy["snapshot_id"] == snap["id"] and copy["size"] == 3
    # a volume with a snapshot is refused; the message is Cinder's
    r = c.openstack("volume", "delete", "myVolume", check=False)
    assert r.returncode != 0 and "dependent snapshots" in r.stderr
    c.openstack("volume", "snapshot", "delete", "mySnap")
    c.openstack("volume", "delete", "fromSnap")
    for _ in range(120):
        names = {v["Name"] for v in _json(c, "volume", "list")}
        snaps = _json(c, "volume", "snapshot", "list")
        if "fromSnap" not in names and not snaps:
            break
        time.sleep(0.25)
    c.openstack("volume", "delete", "myVolume")
    for _ in range(120):
        if not _json(c, "volume", "list"):
            break
        time.sleep(0.25)
    assert _json(c, "volume", "list") == []
    assert list((c.state_dir / "volumes").glob("volume-*")) == []


def test_volume_types_and_services(cinder_cloud: Cloud) -> None:
    c = cinder_cloud
    t = _json(c, "volume", "type", "create", "--property", "volume_backend_name=file",
              "--private", "gold")
    assert t["name"] == "gold"
    types = {x["Name"] for x in _json(c, "volume", "type", "list")}
    assert {"__DEFAULT__", "gold"} <= types
    shown = _json(c, "volume", "type", "show", "gold")
    assert "volume_backend_name" in str(shown["properties"])
    services = {(s["Binary"], s["Host"]): s for s in _json(c, "volume", "service", "list")}
    assert services[("cinder-volume", "storage1@file")]["State"] == "up"
    assert services[("cinder-scheduler", "storage1")]["Status"] == "enabled"
    c.openstack("volume", "type", "delete", "gold")
    zones = _json(c, "availability", "zone", "list", "--volume")
    assert any(z["Zone Name"] == "nova" for z in zones)


def test_cinder_cli(cinder_cloud: Cloud) -> None:
    c = cinder_cloud
    exe = shutil.which("cinder", path=str(Path(sys.executable).parent))
    require("cinder CLI", exe is not None, "pip install python-cinderclient")
    assert exe is not None
    env = {**c.env, "OS_AUTH_URL": c.auth_url, "OS_USERNAME": "admin",
           "OS_PASSWORD": c.admin_password, "OS_PROJECT_NAME": "admin",
           "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
           "OS_VOLUME_API_VERSION": "3"}
    env.pop("OS_CLIENT_CONFIG_FILE", None)

    def cinder(*args: str) -> str:
        r = subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout

    out = cinder("create", "--name", "cinderVolume", "1")
    assert "cinderVolume" in out and "creating" in out
    for _ in range(120):
        if "available" in cinder("list"):
            break
        time.sleep(0.25)
    listing = cinder("list")
    assert "cinderVolume" in listing and "available" in listing
    cinder("delete", "cinderVolume")
