"""Servers through the real `openstack` CLI against `overcast up` with the compute service and
the fake (simulated) driver: create --wait, list --long, stop/start/reboot, resize with confirm,
image create, console log, delete."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.conftest import Cloud, start_cloud, stop_cloud

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def compute_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    c = start_cloud(tmp_path_factory.mktemp("compute"), {
        "OVERCAST_COMPUTE__ENABLED": "true", "OVERCAST_COMPUTE__DRIVER": "fake",
        "OVERCAST_COMPUTE__SIMULATED_HOSTS": "2", "OVERCAST_PLACEMENT__ENABLED": "true"})
    yield c
    stop_cloud(c)


def _status(cloud: Cloud, name: str) -> str:
    out = cloud.openstack_json("server", "show", name)
    assert isinstance(out, dict)
    return str(out["status"])


def _until(cloud: Cloud, name: str, status: str) -> None:
    for _ in range(100):
        if _status(cloud, name) == status:
            return
        time.sleep(0.3)
    raise AssertionError(f"{name} did not reach {status}")


def test_server_walkthrough(compute_cloud: Cloud, tmp_path: Path) -> None:
    c = compute_cloud
    img = tmp_path / "cirros.raw"
    img.write_bytes(b"\0" * 65536)
    c.openstack("image", "create", "--disk-format", "raw", "--container-format", "bare",
                "--file", str(img), "--public", "cirros")
    c.openstack("keypair", "create", "KP")
    created = c.openstack_json("server", "create", "--flavor", "m1.tiny", "--image", "cirros",
                               "--key-name", "KP", "--nic", "none", "--wait", "vm1")
    assert isinstance(created, dict) and created["status"] == "ACTIVE"
    # The scheduler's claim is in Placement, on one of the two simulated hosts' providers.
    providers = c.openstack_json("resource", "provider", "list")
    assert isinstance(providers, list) and len(providers) == 2
    allocs = c.openstack_json("resource", "provider", "allocation", "show", created["id"])
    assert isinstance(allocs, list) and len(allocs) == 1
    assert allocs[0]["resources"] == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    listed = c.openstack_json("server", "list", "--long")
    assert isinstance(listed, list)
    row = next(r for r in listed if r["Name"] == "vm1")
    assert row["Status"] == "ACTIVE" and row["Power State"] in ("Running", 1)
    assert row["Task State"] is None
    c.openstack("server", "stop", "vm1")
    _until(c, "vm1", "SHUTOFF")
    c.openstack("server", "start", "vm1")
    _until(c, "vm1", "ACTIVE")
    c.openstack("server", "reboot", "--hard", "--wait", "vm1")
    assert _status(c, "vm1") == "ACTIVE"
    c.openstack("server", "resize", "--flavor", "m1.small", "--wait", "vm1")
    assert _status(c, "vm1") == "VERIFY_RESIZE"
    c.openstack("server", "resize", "confirm", "vm1")
    _until(c, "vm1", "ACTIVE")
    shown = c.openstack_json("server", "show", "vm1")
    assert isinstance(shown, dict)
    assert "m1.small" in str(shown["flavor"])
    c.openstack("server", "image", "create", "--name", "vm1-snap", "--wait", "vm1")
    snap = c.openstack_json("image", "show", "vm1-snap")
    assert isinstance(snap, dict) and snap["status"] == "active"
    log = c.openstack("console", "log", "show", "vm1").stdout
    assert "Overcast guest" in log
    c.openstack("server", "delete", "--wait", "vm1")
    names = [r["Name"] for r in c.openstack_json("server", "list")]  # type: ignore[union-attr]
    assert "vm1" not in names
    # The delete released the claim.
    allocs = c.openstack_json("resource", "provider", "allocation", "show", created["id"])
    assert allocs == []


def test_shelve_unshelve_rescue_unrescue(compute_cloud: Cloud, tmp_path: Path) -> None:
    c = compute_cloud
    img = tmp_path / "shelve.raw"
    img.write_bytes(b"\0" * 65536)
    c.openstack("image", "create", "--disk-format", "raw", "--container-format", "bare",
                "--file", str(img), "img-shelve")
    c.openstack("server", "create", "--flavor", "m1.tiny", "--image", "img-shelve",
                "--nic", "none", "--wait", "vm-sh")
    c.openstack("server", "shelve", "vm-sh")
    _until(c, "vm-sh", "SHELVED_OFFLOADED")  # offloaded at once, as Nova's default
    images = c.openstack_json("image", "list", "--name", "vm-sh-shelved")
    assert isinstance(images, list) and len(images) == 1
    c.openstack("server", "unshelve", "vm-sh")
    _until(c, "vm-sh", "ACTIVE")
    assert c.openstack_json("image", "list", "--name", "vm-sh-shelved") == []
    c.openstack("server", "rescue", "vm-sh")
    _until(c, "vm-sh", "RESCUE")
    r = c.openstack("server", "reboot", "vm-sh", check=False)
    assert r.returncode != 0 and "409" in r.stderr
    c.openstack("server", "unrescue", "vm-sh")
    _until(c, "vm-sh", "ACTIVE")
    c.openstack("server", "delete", "--wait", "vm-sh")
