"""A real `overcast up` on free loopback ports, for the real OpenStack clients.

One cloud per test session (starting one costs a few seconds); tests create their own
names so they do not depend on each other.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from overcast.services import SERVICES
from tests.conftest import require
from tests.helpers import free_port, scrubbed_env, wait_http

ROOT = Path(__file__).resolve().parents[2]


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


def start_cloud(tmp: Path, extra_env: dict[str, str] | None = None,
                seconds: float = 180.0) -> Cloud:
    """`overcast up` on free ports; `seconds`: how long it may take to answer (a loaded
    machine takes longer to run every migration and bootstrap)."""
    state = tmp / "state"
    # A free port for every service, so that clouds started side by side never collide.
    ports = {name: free_port() for name in SERVICES}
    env = scrubbed_env(**{
        "OVERCAST_DEFAULT__BIND_HOST": "127.0.0.1",
        # No network agent: a test cloud must not wire bridges and DHCP servers on the machine
        # (tests/integration/network does, with names of its own, and cleans up).
        "OVERCAST_NETWORK__RUN_AGENT": "false",
        **{f"OVERCAST_{name.upper()}__PORT": str(port) for name, port in ports.items()},
        **(extra_env or {}),
    })
    log = tmp / "overcast-up.log"
    exe = Path(sys.executable).parent / "overcast"
    proc = subprocess.Popen([str(exe), "up", "--state-dir", str(state)], env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    cloud = Cloud(state, {**env, "OS_CLIENT_CONFIG_FILE": str(state / "clouds.yaml")}, ports,
                  proc, log, extra_env=extra_env or {})
    try:
        wait_http(cloud.auth_url, proc=proc, log=log, status=200, seconds=seconds)
    except RuntimeError:
        proc.kill()
        raise
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
