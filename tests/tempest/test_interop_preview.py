"""The interop must-pass tests of Compute, a service still in preview (off in `overcast up` by
default): its part of the list runs against a cloud that turns it on, with the fake driver on
two simulated hosts (tempest's server tests need no guest to really boot) and Networking giving
the servers their ports. Its own file, so that the scheduler runs it beside test_interop.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from overcast.compute.api.versions import MAX_VERSION
from tests.compat.conftest import Cloud, start_cloud, stop_cloud
from tests.conftest import require
from tests.tempest.test_interop import interop_tests, run_interop

pytestmark = pytest.mark.tempest

#: Interop tests that skip here, each for a reason outside Compute's API: the volume attach
#: tests need Block Storage attachments (not built yet, and Block Storage is off here); the
#: two validation tests ssh into the guest, which needs a real guest reached on a floating IP
#: (the network data plane's routers and NAT, issue 11).
EXPECTED_SKIPS = frozenset({
    "tempest.api.compute.servers.test_create_server.ServersTestJSON."
    "test_host_name_is_same_as_server_name",
    "tempest.api.compute.servers.test_create_server.ServersTestJSON."
    "test_verify_created_server_vcpus",
    "tempest.api.compute.volumes.test_attach_volume.AttachVolumeTestJSON."
    "test_attach_detach_volume",
    "tempest.api.compute.volumes.test_attach_volume.AttachVolumeTestJSON."
    "test_list_get_volume_attachments",
})


def _images(cloud: Cloud, tmp_path: Path) -> dict[str, str]:
    """Two images (tempest's image_ref and image_ref_alt: rebuild asks for another one)."""
    blob = tmp_path / "disk.raw"
    blob.write_bytes(b"\0" * 65536)
    ids = []
    for name in ("cirros", "cirros-alt"):
        img = cloud.openstack_json("image", "create", "--disk-format", "raw",
                                   "--container-format", "bare", "--public", "--file",
                                   str(blob), name)
        assert isinstance(img, dict)
        ids.append(str(img["id"]))
    return {"IMAGE_REF": ids[0], "IMAGE_REF_ALT": ids[1]}


def test_compute_interop_must_pass(tmp_path: Path) -> None:
    tests = interop_tests(["compute"])
    assert len(tests) > 70
    require("python3 -m venv", subprocess.run(["python3", "-c", "import venv, ensurepip"],
                                             capture_output=True).returncode == 0)
    cloud = start_cloud(tmp_path, {"OVERCAST_COMPUTE__ENABLED": "true",
                                   "OVERCAST_COMPUTE__DRIVER": "fake",
                                   "OVERCAST_COMPUTE__SIMULATED_HOSTS": "2"})
    try:
        env = {**_images(cloud, tmp_path), "FLAVOR_REF": "1", "FLAVOR_REF_ALT": "2",
               "COMPUTE_RESIZE": "true", "HAVE_CINDER": "false",
               # tempest runs a microversioned test (keypairs 2.2) only inside this range
               "COMPUTE_MIN_MICROVERSION": "2.1",
               "COMPUTE_MAX_MICROVERSION": ".".join(map(str, MAX_VERSION))}
        run_interop(cloud, tests, tmp_path, env, EXPECTED_SKIPS)
    finally:
        stop_cloud(cloud)
