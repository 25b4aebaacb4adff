"""A real `overcast up` on free loopback ports, for the real OpenStack clients.

One cloud per test session (starting one costs a few seconds); tests create their own
names so they do not depend on each other.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cloud:
    """A running `overcast up` and how to reach it."""

    state_dir: Path
    env: dict[str, str]
    ports: dict[str, int]
    process: subprocess.Popen[bytes]
    log: Path
    admin_password: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['identity']}/v3"

    def openstack(self, *args: str, cloud: str = "overcast", env: dict[str, str] | None = None,
                  input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the real `openstack` CLI against this cloud."""
        exe = shutil.which("openstack", path=str(Path(sys.executable).parent)) or "openstack"
        full_env = {**self.env, **(env or {})}
        cmd = [exe, *(["--os-cloud", cloud] if cloud else []), *args]
        r = subprocess.run(cmd, env=full_env, capture_output=True, text=True, input=input,
                           timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
        return r

    def openstack_json(self, *args: str, **kw: object) -> object:
        return json.loads(self.openstack(*args, "-f", "json", **kw).stdout)  # type: ignore[arg-type]


def start_cloud(tmp: Path, extra_env: dict[str, str] | None = None) -> Cloud:
    state = tmp / "state"
    ports = {"identity": free_port(), "image": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVERCAST_", "OS_"))}
    env.update({
        "OVERCAST_DEFAULT__BIND_HOST": "127.0.0.1",
        "OVERCAST_IDENTITY__PORT": str(ports["identity"]),
        "OVERCAST_IMAGE__PORT": str(ports["image"]),
        **(extra_env or {}),
    })
    log = tmp / "overcast-up.log"
    exe = Path(sys.executable).parent / "overcast"
    proc = subprocess.Popen([str(exe), "up", "--state-dir", str(state)], env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    cloud = Cloud(state, {**env, "OS_CLIENT_CONFIG_FILE": str(state / "clouds.yaml")}, ports,
                  proc, log, extra_env=extra_env or {})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"overcast up exited:\n{log.read_text()}")
        try:
            if httpx.get(cloud.auth_url, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError(f"overcast up did not answer in 60 s:\n{log.read_text()}")
    cloud.admin_password = (state / "admin-password").read_text().strip()
    return cloud


def stop_cloud(cloud: Cloud) -> int:
    cloud.process.send_signal(signal.SIGTERM)
    try:
        return cloud.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        cloud.process.kill()
        raise


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    require("openstack CLI", shutil.which("openstack", path=str(Path(sys.executable).parent))
            is not None, "pip install python-openstackclient")
    c = start_cloud(tmp_path_factory.mktemp("cloud"))
    yield c
    stop_cloud(c)
