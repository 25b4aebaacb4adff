"""Image data in Object Storage: a cloud whose image service has a swift store (glance_store's
swift driver, single tenant), driven by the `openstack` CLI, looked at with the `swift` CLI as
the image service's own user."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.compat.conftest import Cloud, start_cloud, stop_cloud
from tests.conftest import require
from tests.helpers import password_auth, wait_http

pytestmark = pytest.mark.compat

MiB = 1 << 20
STORE = "swift-store"
CONTAINER = "glance"
OTHER, OTHER_CONTAINER = "swift-b", "images_b"  # a second swift store, its own container


@pytest.fixture(scope="module")
def swift_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    require("openstack CLI", shutil.which("openstack", path=str(Path(sys.executable).parent))
            is not None, "pip install python-openstackclient")
    # Images of 1 MiB or more go as Dynamic Large Objects of 1 MiB segments.
    c = start_cloud(tmp_path_factory.mktemp("swift-store-cloud"), {
        "OVERCAST_IMAGE__EXTRA_STORES": f"{STORE}=swift,{OTHER}=swift:{OTHER_CONTAINER}",
        "OVERCAST_IMAGE__SWIFT_STORE_LARGE_OBJECT_SIZE": "1",
        "OVERCAST_IMAGE__SWIFT_STORE_LARGE_OBJECT_CHUNK_SIZE": "1",
        "OVERCAST_COMPUTE__ENABLED": "false", "OVERCAST_NETWORK__ENABLED": "false",
        "OVERCAST_PLACEMENT__ENABLED": "false"})
    # start_cloud waits for Identity; the image service answers once it has looked for
    # orphans in its stores.
    wait_http(f"http://127.0.0.1:{c.ports['image']}/versions", proc=c.process, log=c.log,
              status=200)
    yield c
    stop_cloud(c)


def _swift(cloud: Cloud, *args: str) -> str:
    """The `swift` CLI as the image service's user (`glance` in project `service`)."""
    exe = shutil.which("swift", path=str(Path(sys.executable).parent))
    require("swift CLI", exe is not None, "pip install python-swiftclient")
    assert exe is not None
    password = (cloud.state_dir / "service-passwords" / "glance").read_text().strip()
    env = {**cloud.env, "OS_AUTH_URL": cloud.auth_url, "OS_USERNAME": "glance",
           "OS_PASSWORD": password, "OS_PROJECT_NAME": "service",
           "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
           "OS_IDENTITY_API_VERSION": "3", "OS_CLIENT_CONFIG_FILE": "/dev/null"}
    r = subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"swift {' '.join(args)}: {r.stderr}"
    return r.stdout


def _glance(cloud: Cloud, *args: str) -> str:
    """The `glance` CLI (python-glanceclient) as the cloud's admin."""
    exe = shutil.which("glance", path=str(Path(sys.executable).parent))
    assert exe, "python-glanceclient is a test dependency"
    env = {**cloud.env, "OS_AUTH_URL": cloud.auth_url, "OS_USERNAME": "admin",
           "OS_PASSWORD": cloud.admin_password, "OS_PROJECT_NAME": "admin",
           "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
           "OS_IDENTITY_API_VERSION": "3", "OS_CLIENT_CONFIG_FILE": "/dev/null"}
    r = subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"glance {' '.join(args)}: {r.stderr}"
    return r.stdout


def _api(cloud: Cloud) -> tuple[str, dict[str, str]]:
    """The image API's URL and the admin's token, for plain HTTP."""
    r = httpx.post(f"{cloud.auth_url}/auth/tokens",
                   json=password_auth("admin", cloud.admin_password))
    assert r.status_code == 201, r.text
    return (f"http://127.0.0.1:{cloud.ports['image']}/v2",
            {"X-Auth-Token": r.headers["X-Subject-Token"]})


def test_images_in_swift_store_round_trip_and_are_deleted(swift_cloud: Cloud,
                                                          tmp_path: Path) -> None:
    cloud = swift_cloud
    api, admin = _api(cloud)
    # A large image straight into the swift store (glance's --store: X-Image-Meta-Store).
    large = tmp_path / "large.raw"
    large.write_bytes(os.urandom(2 * MiB + 12345))  # three segments of at most 1 MiB
    large_id = _table(_glance(cloud, "image-create", "--name", "large", "--store", STORE,
                              "--file", str(large), "--disk-format", "raw",
                              "--container-format", "bare"))["id"]
    # A small one into the file store, then copied into the swift store by the importer.
    small = tmp_path / "small.raw"
    small.write_bytes(os.urandom(300 * 1024))
    created = cloud.openstack_json("image", "create", "small", "--file", str(small),
                                   "--disk-format", "raw", "--container-format", "bare")
    small_id = created["id"]  # type: ignore[index]
    cloud.openstack("image", "import", "--method", "copy-image", f"--store={STORE}", small_id)
    deadline = time.monotonic() + 20
    while (shown := httpx.get(f"{api}/images/{small_id}", headers=admin).json()
           )["stores"] != f"file,{STORE}":
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)
    # Drop the file store's copy (glance stores-delete): what is left is in Object Storage.
    r = httpx.delete(f"{api}/stores/file/{small_id}", headers=admin)
    assert r.status_code == 204, r.text

    for image_id, path in ((large_id, large), (small_id, small)):
        shown = httpx.get(f"{api}/images/{image_id}", headers=admin).json()
        data = path.read_bytes()
        assert (shown["stores"], shown["status"], shown["size"]) == (STORE, "active", len(data))
        assert shown["checksum"] == hashlib.md5(data).hexdigest()
        assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
        # Where the bytes are is the cloud's business, even to an admin (Glance's defaults
        # show no locations and no direct_url).
        assert "swift+" not in str(shown) and "/v1/AUTH_" not in str(shown)
        assert "locations" not in shown and "direct_url" not in shown

    # The image service's own account holds the objects: one each, the large one segmented.
    listed = [n for n in _swift(cloud, "list", CONTAINER).split()
              if n.startswith((small_id, large_id))]
    assert sorted(listed) == sorted([small_id, large_id, f"{large_id}-00001",
                                     f"{large_id}-00002", f"{large_id}-00003"])
    stat = _stat(_swift(cloud, "stat", CONTAINER, large_id))
    assert stat["Manifest"] == f"{CONTAINER}/{large_id}-"
    assert stat["Content Length"] == str(large.stat().st_size)

    saved = tmp_path / "large.saved"
    cloud.openstack("image", "save", "--file", str(saved), large_id)
    assert saved.read_bytes() == large.read_bytes()
    r = httpx.get(f"{api}/images/{small_id}/file", headers=admin)
    assert r.status_code == 200 and r.content == small.read_bytes()

    cloud.openstack("image", "delete", small_id, large_id)
    assert not [n for n in _swift(cloud, "list", CONTAINER).split()
                if n.startswith((small_id, large_id))]


def _table(text: str) -> dict[str, str]:
    """glance's Property | Value table."""
    table: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        cells = line.split("|")
        if not line.startswith("| ") or len(cells) < 4:
            continue
        key = cells[1].strip() or key  # a long value goes on under an empty name
        table[key] = table.get(key, "") + cells[2].strip()
    return table


def _stat(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def test_cut_off_upload_leaves_nothing_and_ranges_read_across_segments(
        swift_cloud: Cloud) -> None:
    cloud = swift_cloud
    api, headers = _api(cloud)
    base = f"{api}/images"

    def new_image(name: str) -> str:
        r = httpx.post(base, headers=headers, json={
            "name": name, "disk_format": "raw", "container_format": "bare"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    # The client gives up after two and a bit segments: nothing stays in Object Storage.
    cut_id = new_image("cut")

    def body() -> Iterator[bytes]:
        yield os.urandom(MiB)
        yield os.urandom(MiB)
        yield os.urandom(1000)
        raise OSError("the client gives up")

    with pytest.raises(OSError):
        httpx.put(f"{base}/{cut_id}/file", content=body(), timeout=30, headers={
            **headers, "Content-Type": "application/octet-stream", "X-Image-Meta-Store": STORE})
    deadline = time.monotonic() + 10
    while httpx.get(f"{base}/{cut_id}", headers=headers).json()["status"] != "queued":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert not [n for n in _swift(cloud, "list", CONTAINER).split() if n.startswith(cut_id)]

    # A range that spans two segments of a large image.
    data = os.urandom(2 * MiB + 777)
    big_id = new_image("ranges")
    r = httpx.put(f"{base}/{big_id}/file", content=data, timeout=30, headers={
        **headers, "Content-Type": "application/octet-stream", "X-Image-Meta-Store": STORE})
    assert r.status_code == 204, r.text
    r = httpx.get(f"{base}/{big_id}/file", headers={**headers, "Range": "bytes=1048000-1049999"})
    assert r.status_code == 206 and r.content == data[1048000:1050000]
    assert r.headers["Content-Range"] == f"bytes 1048000-1049999/{len(data)}"


async def test_concurrent_uploads_and_downloads(swift_cloud: Cloud) -> None:
    """More transfers at once than the event loop's default executor has threads (2 cores:
    6): the image service's threads waiting on Object Storage must not starve the object
    service, which runs on the same loop in `overcast up`. The container does not exist
    before: the first uploads create it."""
    api, headers = _api(swift_cloud)
    data = [os.urandom(MiB + 1000 * (i + 1)) for i in range(10)]  # each two segments

    async with httpx.AsyncClient(timeout=60, headers=headers) as http:
        async def upload(i: int) -> str:
            r = await http.post(f"{api}/images", json={
                "name": f"many-{i}", "disk_format": "raw", "container_format": "bare"})
            image_id = str(r.json()["id"])
            r = await http.put(f"{api}/images/{image_id}/file", content=data[i], headers={
                "Content-Type": "application/octet-stream", "X-Image-Meta-Store": OTHER})
            assert r.status_code == 204, r.text
            return image_id

        ids = await asyncio.gather(*(upload(i) for i in range(len(data))))
        got = await asyncio.gather(*(http.get(f"{api}/images/{i}/file") for i in ids))
        assert [r.content for r in got] == data
    assert len(_swift(swift_cloud, "list", OTHER_CONTAINER).split()) == 3 * len(data)


def test_glance_direct_import_into_swift(swift_cloud: Cloud) -> None:
    api, headers = _api(swift_cloud)
    data = os.urandom(MiB + MiB // 2)
    r = httpx.post(f"{api}/images", headers=headers, json={
        "name": "imported", "disk_format": "raw", "container_format": "bare"})
    image_id = r.json()["id"]
    r = httpx.put(f"{api}/images/{image_id}/stage", content=data, headers={
        **headers, "Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    r = httpx.post(f"{api}/images/{image_id}/import", headers=headers, json={
        "method": {"name": "glance-direct"}, "stores": [STORE]})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 20
    while (shown := httpx.get(f"{api}/images/{image_id}", headers=headers).json()
           )["status"] != "active":
        assert time.monotonic() < deadline and shown["status"] == "importing", shown
        time.sleep(0.1)
    assert shown["stores"] == STORE and shown["checksum"] == hashlib.md5(data).hexdigest()
    assert httpx.get(f"{api}/images/{image_id}/file", headers=headers).content == data
    assert sorted(n for n in _swift(swift_cloud, "list", CONTAINER).split()
                  if n.startswith(image_id)) == [image_id, f"{image_id}-00001",
                                                 f"{image_id}-00002"]
