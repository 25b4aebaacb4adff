"""`overcast up` / `overcast serve` as processes: files, restart, clean stop, and SQLite
under concurrent writers from several worker processes."""

from __future__ import annotations

import asyncio
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.compat.conftest import start_cloud, stop_cloud
from tests.helpers import free_port, password_auth, scrubbed_env, wait_http

pytestmark = pytest.mark.integration


def test_up_writes_private_client_files_and_restarts_cleanly(tmp_path: Path) -> None:
    cloud = start_cloud(tmp_path)
    try:
        for name in ("admin-password", "clouds.yaml", "admin-openrc", "demo-openrc"):
            mode = stat.S_IMODE((cloud.state_dir / name).stat().st_mode)
            assert mode == 0o600, f"{name} is {oct(mode)}"
        assert cloud.admin_password in (cloud.state_dir / "clouds.yaml").read_text()
        # standard output is not a terminal here (as under a service manager): the password is
        # never in the log, which says where the 0600 file is instead
        log = cloud.log.read_text()
        assert cloud.admin_password not in log
        assert str(cloud.state_dir / "admin-password") in log
    finally:
        assert stop_cloud(cloud) == 0  # SIGTERM: a clean exit
    again = start_cloud(tmp_path)
    try:
        assert again.admin_password == cloud.admin_password
        assert again.log.read_text().count(cloud.admin_password) == 0
        r = httpx.post(f"{again.auth_url}/auth/tokens",
                       json=password_auth("admin", again.admin_password, project=None))
        assert r.status_code == 201
    finally:
        assert stop_cloud(again) == 0


def test_sqlite_concurrent_writers_across_workers_never_5xx(tmp_path: Path) -> None:
    """Two worker processes on one SQLite file, 32 concurrent writers through real HTTP:
    every write succeeds (real Keystone answers some with 'database is locked' 500s)."""
    state = tmp_path / "state"
    port = free_port()
    env = scrubbed_env(OVERCAST_IDENTITY__PASSWORD_HASH_ROUNDS="4")
    exe = str(Path(sys.executable).parent / "overcast")
    subprocess.run([exe, "db", "upgrade", "--state-dir", str(state)], env=env, check=True)
    subprocess.run([exe, "bootstrap", "--state-dir", str(state), "--admin-password", "pw"],
                   env=env, check=True, capture_output=True)
    proc = subprocess.Popen([exe, "serve", "identity", "--state-dir", str(state), "--host",
                             "127.0.0.1", "--port", str(port), "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v3"
    try:
        wait_http(url, proc=proc, status=200, seconds=30)
        r = httpx.post(f"{url}/auth/tokens", json=password_auth("admin", "pw"))
        token = r.headers["X-Subject-Token"]

        async def hammer() -> list[int]:
            async with httpx.AsyncClient(headers={"X-Auth-Token": token}, timeout=60) as c:
                async def one(i: int) -> int:
                    p = await c.post(f"{url}/projects", json={"project": {"name": f"w{i}"}})
                    if p.status_code != 201:
                        return p.status_code
                    pid = p.json()["project"]["id"]
                    u = await c.patch(f"{url}/projects/{pid}",
                                      json={"project": {"description": "x"}})
                    return u.status_code if u.status_code != 200 else 201

                return await asyncio.gather(*(one(i) for i in range(96)))

        codes = asyncio.run(hammer())
        assert codes.count(201) == 96, sorted(set(codes))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
