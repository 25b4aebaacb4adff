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

import httpx
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


def _api(cloud: Cloud, path: str) -> httpx.Response:
    """GET on the block storage API as admin: waiting is polling, and a CLI process per poll
    costs seconds on a busy machine; the operations themselves go through the CLIs."""
    if "token" not in cloud.extra_env:
        issued = _json(cloud, "token", "issue")
        cloud.extra_env["token"], cloud.extra_env["project"] = issued["id"], issued["project_id"]
    url = (f"http://127.0.0.1:{cloud.ports['volume']}/v3/{cloud.extra_env['project']}/{path}")
    return httpx.get(url, headers={"X-Auth-Token": cloud.extra_env["token"]}, timeout=10)


def _wait(cloud: Cloud, collection: str, ident: str, status: str | None) -> None:
    """Until the volume or snapshot has `status` (None: until it is gone)."""
    body = ""
    for _ in range(240):
        r = _api(cloud, f"{collection}/{ident}")
        body = r.text
        if status is None and r.status_code == 404:
            return
        if r.status_code == 200 and next(iter(r.json().values()))["status"] == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"{ident} never reached {status}: {body}")


def test_volume_lifecycle_through_the_openstack_cli(cinder_cloud: Cloud) -> None:
    c = cinder_cloud
    created = _json(c, "volume", "create", "--size", "1", "myVolume")
    assert created["name"] == "myVolume" and created["size"] == 1
    _wait(c, "volumes", created["id"], "available")
    vol = _json(c, "volume", "show", "myVolume")
    assert (vol["status"], vol["type"], vol["availability_zone"]) == (
        "available", "__DEFAULT__", "nova")
    # the file driver made the volume's file in the state directory
    assert (c.state_dir / "volumes" / f"volume-{vol['id']}").exists()
    listed = {v["ID"]: v for v in _json(c, "volume", "list")}
    assert (listed[vol["id"]]["Name"], listed[vol["id"]]["Size"]) == ("myVolume", 1)
    c.openstack("volume", "set", "--size", "2", "myVolume")
    _wait(c, "volumes", vol["id"], "available")
    assert _api(c, f"volumes/{vol['id']}").json()["volume"]["size"] == 2
    snap = _json(c, "volume", "snapshot", "create", "--volume", "myVolume", "mySnap")
    _wait(c, "snapshots", snap["id"], "available")
    copy = _json(c, "volume", "create", "--snapshot", "mySnap", "--size", "3", "fromSnap")
    _wait(c, "volumes", copy["id"], "available")
    shown = _json(c, "volume", "show", "fromSnap")
    assert (shown["snapshot_id"], shown["size"]) == (snap["id"], 3)
    # a volume with a snapshot is refused; the message is Cinder's
    r = c.openstack("volume", "delete", "myVolume", check=False)
    assert r.returncode != 0 and "dependent snapshots" in r.stderr
    c.openstack("volume", "snapshot", "delete", "mySnap")
    c.openstack("volume", "delete", "fromSnap")
    _wait(c, "snapshots", snap["id"], None)
    c.openstack("volume", "delete", "myVolume")
    _wait(c, "volumes", vol["id"], None)
    _wait(c, "volumes", copy["id"], None)
    assert list((c.state_dir / "volumes").glob("*-*")) == []


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
    ident = next(line.split("|")[2].strip() for line in out.splitlines()
                 if line.startswith("| id "))
    _wait(c, "volumes", ident, "available")
    listing = cinder("list")
    assert "cinderVolume" in listing and "available" in listing
    cinder("delete", "cinderVolume")
