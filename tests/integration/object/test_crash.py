"""SIGKILL `overcast up` in the middle of an object PUT, start it again: the partial object is
never readable, and an object acknowledged before the kill is intact."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.compat.conftest import Cloud, start_cloud, stop_cloud
from tests.helpers import password_auth

pytestmark = pytest.mark.integration

MiB = 1 << 20


def _session(cloud: Cloud) -> tuple[str, str]:
    r = httpx.post(f"{cloud.auth_url}/auth/tokens",
                   json=password_auth("admin", cloud.admin_password))
    assert r.status_code == 201, r.text
    catalog = r.json()["token"]["catalog"]
    url = next(e["url"] for s in catalog if s["type"] == "object-store"
               for e in s["endpoints"] if e["interface"] == "public")
    return r.headers["X-Subject-Token"], url


def test_sigkill_during_put_leaves_no_partial_object(tmp_path: Path) -> None:
    env = {"OVERCAST_OBJECT__ENABLED": "true"}
    cloud = start_cloud(tmp_path, env)
    try:
        token, url = _session(cloud)
        auth = {"X-Auth-Token": token}
        assert httpx.put(f"{url}/c", headers=auth).status_code in (201, 202)
        kept = os.urandom(3 * MiB)
        r = httpx.put(f"{url}/c/kept", content=kept, headers=auth)
        assert r.status_code == 201
        # Half of a 16 MiB upload by hand, then the kill.
        port = cloud.ports["object"]
        path = url.split(f":{port}", 1)[1]
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall((f"PUT {path}/c/partial HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\n"
                      f"Content-Length: {16 * MiB}\r\n\r\n").encode())
        sock.sendall(os.urandom(8 * MiB))
        time.sleep(0.5)
        os.kill(cloud.process.pid, signal.SIGKILL)
        cloud.process.wait(timeout=10)
        sock.close()
    except BaseException:
        stop_cloud(cloud)
        raise
    devices = cloud.state_dir / "object" / "devices"
    # What the killed writer left in tmp/ is never in a hash directory.
    assert not [p for p in devices.rglob("*.data") if p.stat().st_size >= 8 * MiB]
    again = start_cloud(tmp_path, env)  # the same state directory, new ports
    try:
        token, url = _session(again)
        auth = {"X-Auth-Token": token}
        assert httpx.get(f"{url}/c/partial", headers=auth).status_code == 404
        r = httpx.get(f"{url}/c/kept", headers=auth)
        assert r.status_code == 200
        assert hashlib.md5(r.content).hexdigest() == hashlib.md5(kept).hexdigest()
    finally:
        stop_cloud(again)

