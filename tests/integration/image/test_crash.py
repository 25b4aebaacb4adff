"""SIGKILL `overcast up` in the middle of an image upload, restart it, and find no image active
with partial data, no orphaned file, and every acknowledged image intact."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.compat.conftest import Cloud, start_cloud, stop_cloud
from tests.helpers import password_auth

pytestmark = pytest.mark.integration

MiB = 1 << 20


def _token(cloud: Cloud) -> str:
    r = httpx.post(f"{cloud.auth_url}/auth/tokens",
                   json=password_auth("admin", cloud.admin_password))
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


def _image_url(cloud: Cloud) -> str:
    return f"http://127.0.0.1:{cloud.ports['image']}/v2/images"


def _create(cloud: Cloud, headers: dict[str, str], name: str) -> str:
    r = httpx.post(_image_url(cloud), headers=headers,
                   json={"name": name, "disk_format": "raw", "container_format": "bare"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _store_files(state: Path) -> list[str]:
    store = state / "images"
    return sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.is_file())


def test_sigkill_during_upload_leaves_nothing_half_done(tmp_path: Path) -> None:
    cloud = start_cloud(tmp_path)
    killed = False
    try:
        headers = {"X-Auth-Token": _token(cloud)}
        # An acknowledged upload: it must survive the crash byte for byte.
        kept = os.urandom(3 * MiB)
        kept_id = _create(cloud, headers, "kept")
        r = httpx.put(f"{_image_url(cloud)}/{kept_id}/file", content=kept,
                      headers={**headers, "Content-Type": "application/octet-stream"})
        assert r.status_code == 204, r.text

        # The interrupted one: announce 256 MiB, send 40 MiB, then kill the server.
        victim = _create(cloud, headers, "victim")
        sock = socket.create_connection(("127.0.0.1", cloud.ports["image"]))
        sock.sendall((f"PUT /v2/images/{victim}/file HTTP/1.1\r\nHost: x\r\n"
                      f"X-Auth-Token: {headers['X-Auth-Token']}\r\n"
                      "Content-Type: application/octet-stream\r\n"
                      f"Content-Length: {256 * MiB}\r\n\r\n").encode())
        chunk = os.urandom(MiB)
        for _ in range(40):
            sock.sendall(chunk)
        partial = cloud.state_dir / "images" / ".partial"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = httpx.get(f"{_image_url(cloud)}/{victim}", headers=headers).json()["status"]
            files = list(partial.iterdir())
            if status == "saving" and files and files[0].stat().st_size > 8 * MiB:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the upload never reached the store")
        # A stray file as if a crash had come between rename and commit: nobody owns it.
        orphan = cloud.state_dir / "images" / str(uuid.uuid4())
        orphan.write_bytes(b"orphan")
        cloud.process.send_signal(signal.SIGKILL)
        cloud.process.wait(timeout=10)
        killed = True
        sock.close()
        assert list(partial.iterdir()), "the partial file is there before the restart"
    finally:
        if not killed:
            stop_cloud(cloud)

    cloud = start_cloud(tmp_path)  # same state directory, recovery on start
    try:
        headers = {"X-Auth-Token": _token(cloud)}
        shown = httpx.get(f"{_image_url(cloud)}/{victim}", headers=headers).json()
        assert shown["status"] == "queued" and shown["size"] is None and shown["checksum"] is None
        r = httpx.get(f"{_image_url(cloud)}/{victim}/file", headers=headers)
        assert r.status_code == 204  # no data
        assert _store_files(cloud.state_dir) == [kept_id]  # no partial, no orphan
        r = httpx.get(f"{_image_url(cloud)}/{kept_id}/file", headers=headers)
        assert r.status_code == 200 and r.content == kept
        assert r.headers["Content-MD5"] == hashlib.md5(kept).hexdigest()
        # The interrupted image can be uploaded again.
        data = os.urandom(MiB)
        r = httpx.put(f"{_image_url(cloud)}/{victim}/file", content=data,
                      headers={**headers, "Content-Type": "application/octet-stream"})
        assert r.status_code == 204, r.text
        assert httpx.get(f"{_image_url(cloud)}/{victim}/file", headers=headers).content == data
    finally:
        stop_cloud(cloud)
