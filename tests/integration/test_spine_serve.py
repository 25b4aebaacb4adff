"""The spine across processes: `overcast serve image` alone enforces application-credential
access rules it learns from Keystone over HTTP, and answers 503 (not 500) when Identity is down;
`overcast up` keeps its state private and never writes the admin password to its logs."""

from __future__ import annotations

import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port, scrubbed_env, wait_http

pytestmark = pytest.mark.integration

EXE = str(Path(sys.executable).parent / "overcast")


def _env(ports: dict[str, int]) -> dict[str, str]:
    return scrubbed_env(OVERCAST_DEFAULT__BIND_HOST="127.0.0.1",
                        OVERCAST_IDENTITY__PORT=str(ports["identity"]),
                        OVERCAST_IMAGE__PORT=str(ports["image"]),
                        OVERCAST_IDENTITY__PASSWORD_HASH_ROUNDS="4")


@pytest.fixture
def apart(tmp_path: Path) -> Iterator[dict[str, object]]:
    """Identity and image as two `overcast serve` processes on one state directory."""
    state = tmp_path / "state"
    ports = {"identity": free_port(), "image": free_port()}
    env = _env(ports)
    for args in (["db", "upgrade"], ["bootstrap", "--admin-password", "pw"]):
        subprocess.run([EXE, *args, "--state-dir", str(state)], env=env, check=True,
                       capture_output=True)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in ("identity", "image"):
            log = tmp_path / f"{name}.log"
            procs[name] = subprocess.Popen([EXE, "serve", name, "--state-dir", str(state)],
                                           env=env, stdout=log.open("wb"),
                                           stderr=subprocess.STDOUT)
            wait_http(f"http://127.0.0.1:{ports[name]}/", proc=procs[name], log=log)
        yield {"identity": f"http://127.0.0.1:{ports['identity']}/v3",
               "image": f"http://127.0.0.1:{ports['image']}", "procs": procs}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)


def _admin_token(identity: str) -> dict[str, str]:
    r = httpx.post(f"{identity}/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": "pw"}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}})
    assert r.status_code == 201, r.text
    return {"X-Auth-Token": r.headers["X-Subject-Token"]}


def test_a_service_alone_enforces_access_rules_and_fails_soft(apart: dict[str, object]) -> None:
    identity, image = str(apart["identity"]), str(apart["image"])
    admin = _admin_token(identity)
    me = httpx.get(f"{identity}/auth/tokens", headers={
        **admin, "X-Subject-Token": admin["X-Auth-Token"]}).json()["token"]["user"]["id"]
    r = httpx.post(f"{identity}/users/{me}/application_credentials", headers=admin, json={
        "application_credential": {"name": "list-only", "access_rules": [
            {"service": "image", "method": "GET", "path": "/v2/images"}]}})
    assert r.status_code == 201, r.text
    cred = r.json()["application_credential"]
    r = httpx.post(f"{identity}/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}})
    limited = {"X-Auth-Token": r.headers["X-Subject-Token"]}

    assert httpx.get(f"{image}/v2/images", headers=limited).status_code == 200
    r = httpx.post(f"{image}/v2/images", headers={**limited, "Accept": "application/json"},
                   json={"name": "no"})
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "401 Unauthorized"
    assert httpx.post(f"{image}/v2/images", headers=admin, json={"name": "yes"}
                      ).status_code == 201

    # Identity goes away: a token the image service has not seen yet cannot be checked, and
    # that is the identity service's fault, not a bug here: 503 in Glance's shape, not 500.
    procs = apart["procs"]
    assert isinstance(procs, dict)
    procs["identity"].terminate()
    procs["identity"].wait(timeout=20)
    r = httpx.get(f"{image}/v2/images", headers={"X-Auth-Token": "never-seen",
                                                 "Accept": "application/json"})
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "503 Service Unavailable"


def test_up_keeps_its_state_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    (state / "left-over.txt").write_text("readable by all")
    (state / "left-over.txt").chmod(0o644)
    ports = {"identity": free_port(), "image": free_port()}
    log = tmp_path / "up.log"
    proc = subprocess.Popen([EXE, "up", "--state-dir", str(state)], env=_env(ports),
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{ports['image']}/", proc=proc, log=log)
        password = (state / "admin-password").read_text().strip()
        out = log.read_text()
        # Standard output is not a terminal here (as under systemd): no password in it.
        assert password and password not in out, out
        assert f"read it from {state / 'admin-password'}" in out
        assert stat.S_IMODE(state.stat().st_mode) == 0o700
        modes = {p.relative_to(state).as_posix(): stat.S_IMODE(p.stat().st_mode)
                 for p in state.rglob("*") if not p.is_symlink()}
        assert "identity.sqlite" in modes and "fernet-keys/0" in modes, sorted(modes)
        loose = {p: m for p, m in modes.items()
                 if m & 0o077 or (m != 0o700 if (state / p).is_dir() else m != 0o600)}
        assert loose == {}, loose
    finally:
        proc.terminate()
        proc.wait(timeout=30)
