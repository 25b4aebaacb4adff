"""`overcast serve image` on its own, as on a separate node: it validates tokens by asking the
identity service over HTTP, and two workers share one store."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port, password_auth, scrubbed_env, wait_http

pytestmark = pytest.mark.integration

EXE = str(Path(sys.executable).parent / "overcast")


@pytest.fixture
def separate_services(tmp_path: Path) -> Iterator[dict[str, str]]:
    state = tmp_path / "state"
    ports = {"identity": free_port(), "image": free_port()}
    env = scrubbed_env(OVERCAST_DEFAULT__BIND_HOST="127.0.0.1",
                       OVERCAST_IDENTITY__PORT=str(ports["identity"]),
                       OVERCAST_IMAGE__PORT=str(ports["image"]),
                       OVERCAST_IDENTITY__PASSWORD_HASH_ROUNDS="4")
    for args in (["db", "upgrade"], ["bootstrap", "--admin-password", "pw"]):
        subprocess.run([EXE, *args, "--state-dir", str(state)], env=env, check=True,
                       capture_output=True)
    procs = []
    try:
        for name, extra in (("identity", []), ("image", ["--workers", "2"])):
            log = tmp_path / f"{name}.log"
            proc = subprocess.Popen([EXE, "serve", name, "--state-dir", str(state), *extra],
                                    env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
            procs.append(proc)
            wait_http(f"http://127.0.0.1:{ports[name]}/", proc=proc, log=log)
        yield {"identity": f"http://127.0.0.1:{ports['identity']}/v3",
               "image": f"http://127.0.0.1:{ports['image']}", "state": str(state)}
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)


def test_image_alone_validates_tokens_over_http(separate_services: dict[str, str]) -> None:
    r = httpx.post(f"{separate_services['identity']}/auth/tokens",
                   json=password_auth("admin", "pw"))
    token = r.headers["X-Subject-Token"]
    image = separate_services["image"]
    r = httpx.get(f"{image}/v2/images", headers={"X-Auth-Token": "not-a-token"})
    assert r.status_code == 401
    # keystonemiddleware names www_authenticate_uri, the unversioned identity URL
    identity_base = separate_services["identity"].removesuffix("/v3")
    assert r.headers["WWW-Authenticate"] == f'Keystone uri="{identity_base}"'
    headers = {"X-Auth-Token": token}
    ids = []
    for i in range(4):  # several requests: both workers answer
        r = httpx.post(f"{image}/v2/images", headers=headers,
                       json={"name": f"n{i}", "disk_format": "raw", "container_format": "bare"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        r = httpx.put(f"{image}/v2/images/{ids[-1]}/file", content=b"data %d" % i,
                      headers={**headers, "Content-Type": "application/octet-stream"})
        assert r.status_code == 204, r.text
    for i, image_id in enumerate(ids):
        r = httpx.get(f"{image}/v2/images/{image_id}/file", headers=headers)
        assert r.content == b"data %d" % i
    store = Path(separate_services["state"]) / "images"
    assert sorted(p.name for p in store.iterdir() if p.is_file()) == sorted(ids)
