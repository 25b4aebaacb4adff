"""`overcast serve image --workers 2`, killed with a web-download import in progress and
restarted: the two new workers' importer agents take the dead worker's import over once its
claim lapses, and exactly one of them downloads it again (issue 8, #11)."""

from __future__ import annotations

import hashlib
import http.server
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port, wait_http
from tests.integration.image.test_serve import EXE

pytestmark = pytest.mark.integration

MiB = 1 << 20
PAYLOAD = os.urandom(6 * MiB)


class Source(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD; while `hold` is set it sends the first MiB and then stalls."""

    hold = threading.Event()
    gets: list[float] = []

    def do_GET(self) -> None:
        Source.gets.append(time.monotonic())
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        if Source.hold.is_set():
            self.wfile.write(PAYLOAD[:MiB])
            self.wfile.flush()
            while Source.hold.is_set():
                time.sleep(0.05)
            return  # the client is gone by now
        self.wfile.write(PAYLOAD)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def source() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Source)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        Source.hold.clear()
        server.shutdown()


def test_killed_workers_import_is_resumed_once(tmp_path: Path, source: str) -> None:
    state = tmp_path / "state"
    ports = {"identity": free_port(), "image": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVERCAST_", "OS_"))}
    env.update({"OVERCAST_DEFAULT__BIND_HOST": "127.0.0.1",
                "OVERCAST_IDENTITY__PORT": str(ports["identity"]),
                "OVERCAST_IMAGE__PORT": str(ports["image"]),
                "OVERCAST_IDENTITY__PASSWORD_HASH_ROUNDS": "4",
                "OVERCAST_IMAGE__WEB_DOWNLOAD_ALLOWED_HOSTS": source,
                "OVERCAST_IMAGE__IMPORT_CLAIM_LEASE": "3",
                "OVERCAST_IMAGE__IMPORT_RESYNC_INTERVAL": "0.5"})
    for args in (["db", "upgrade"], ["bootstrap", "--admin-password", "pw"]):
        subprocess.run([EXE, *args, "--state-dir", str(state)], env=env, check=True,
                       capture_output=True)
    procs: list[subprocess.Popen[bytes]] = []

    def serve(name: str, *extra: str) -> subprocess.Popen[bytes]:
        log = tmp_path / f"{name}-{len(procs)}.log"
        # A session of its own: killing its group kills uvicorn's worker processes too.
        proc = subprocess.Popen([EXE, "serve", name, "--state-dir", str(state), *extra],
                                env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        procs.append(proc)
        wait_http(f"http://127.0.0.1:{ports[name]}/", proc=proc, log=log)
        return proc

    try:
        serve("identity")
        image = serve("image", "--workers", "2")
        r = httpx.post(f"http://127.0.0.1:{ports['identity']}/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"}, "password": "pw"}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}})
        headers = {"X-Auth-Token": r.headers["X-Subject-Token"]}
        base = f"http://127.0.0.1:{ports['image']}/v2/images"
        r = httpx.post(base, headers=headers, json={"name": "w", "disk_format": "raw",
                                                    "container_format": "bare"})
        image_id = r.json()["id"]
        Source.hold.set()
        r = httpx.post(f"{base}/{image_id}/import", headers=headers, json={
            "method": {"name": "web-download", "uri": f"http://{source}/disk.raw"}})
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 20
        while not Source.gets and time.monotonic() < deadline:
            time.sleep(0.05)
        assert Source.gets, "the import never started"
        os.killpg(image.pid, signal.SIGKILL)  # both workers die mid-download
        image.wait(timeout=10)
        Source.hold.clear()
        restarted_at = time.monotonic()
        serve("image", "--workers", "2")
        shown: dict[str, object] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            shown = httpx.get(f"{base}/{image_id}", headers=headers).json()
            if shown["status"] != "importing":
                break
            time.sleep(0.2)
        assert shown["status"] == "active", shown
        assert shown["checksum"] == hashlib.md5(PAYLOAD).hexdigest()
        r = httpx.get(f"{base}/{image_id}/file", headers=headers)
        assert r.content == PAYLOAD
        time.sleep(1.5)  # three more resync passes of each worker: none downloads again
        again = [t for t in Source.gets if t > restarted_at]
        assert len(again) == 1, f"{len(again)} downloads after the restart"
        tasks = httpx.get(f"{base}/{image_id}/tasks", headers=headers).json()["tasks"]
        assert [t["status"] for t in tasks] == ["success"]
        store = state / "images"
        assert sorted(p.name for p in store.iterdir() if p.is_file()) == [image_id]
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
