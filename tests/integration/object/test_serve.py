"""A storage node served alone (`overcast serve object-storage --devices DIR`) behind the
proxy of `overcast up`: the ring built with `overcast object ring`, Swift's HTTP between
them, the objects on the node's device directories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.compat.conftest import start_cloud, stop_cloud
from tests.helpers import free_port, password_auth, wait_http

pytestmark = pytest.mark.integration

OVERCAST = str(Path(sys.executable).parent / "overcast")


def _overcast(*args: str, env: dict[str, str]) -> str:
    r = subprocess.run([OVERCAST, *args], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_proxy_and_a_storage_node_over_http(tmp_path: Path) -> None:
    port = free_port()
    ring = tmp_path / "object.ring.gz"
    env = {**os.environ, "OVERCAST_OBJECT__RING_FILE": str(ring),
           "OVERCAST_OBJECT__HASH_PATH_SUFFIX": "cluster-secret",
           "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    builder = ["--state-dir", str(tmp_path / "node"), "--builder", str(tmp_path / "b")]
    _overcast("object", "ring", "create", *builder, "--part-power", "6", env=env)
    for zone in (1, 2, 3):
        _overcast("object", "ring", "add", *builder, "--zone", str(zone), "--ip", "127.0.0.1",
                  "--port", str(port), "--device", f"sd{zone}", env=env)
    assert "balance 0.00%" in _overcast("object", "ring", "rebalance", *builder, env=env)
    shown = _overcast("object", "ring", "show", *builder, env=env)
    assert shown.count(f"127.0.0.1:{port}") == 3
    devices = tmp_path / "devs"
    node = subprocess.Popen([OVERCAST, "serve", "object-storage", "--state-dir",
                             str(tmp_path / "node"), "--devices", str(devices), "--port",
                             str(port), "--host", "127.0.0.1"], env=env,
                            stdout=(tmp_path / "node.log").open("wb"), stderr=subprocess.STDOUT)
    cloud = None
    try:
        wait_http(f"http://127.0.0.1:{port}/replicate/hashes/sd1/0", proc=node,
                  log=tmp_path / "node.log", status=200)
        (tmp_path / "proxy").mkdir()
        cloud = start_cloud(tmp_path / "proxy", {
            "OVERCAST_OBJECT__RING_FILE": str(ring),
            "OVERCAST_OBJECT__HASH_PATH_SUFFIX": "cluster-secret",
            "OVERCAST_OBJECT__DAEMONS": "false"})
        r = httpx.post(f"{cloud.auth_url}/auth/tokens",
                       json=password_auth("admin", cloud.admin_password))
        token = r.headers["X-Subject-Token"]
        url = next(e["url"] for s in r.json()["token"]["catalog"] if s["type"] == "object-store"
                   for e in s["endpoints"] if e["interface"] == "public")
        auth = {"X-Auth-Token": token}
        assert httpx.put(f"{url}/c", headers=auth).status_code == 201
        data = os.urandom(300_000)
        assert httpx.put(f"{url}/c/o", content=data, headers=auth).status_code == 201
        assert httpx.get(f"{url}/c/o", headers=auth).content == data
        assert httpx.get(f"{url}/c", headers=auth).text == "o\n"
        # The bytes live on the node's three devices, not in the proxy's state.
        assert len(list(devices.rglob("*.data"))) == 3
        assert not list((tmp_path / "proxy").rglob("*.data"))
    finally:
        if cloud is not None:
            stop_cloud(cloud)
        node.terminate()
        node.wait(timeout=20)
