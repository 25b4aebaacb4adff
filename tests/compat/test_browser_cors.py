"""A real browser on another origin logs in and uploads image data straight to the image API
(issue 8 #18). Chromium enforces CORS itself: if a preflight is refused or a header is not
exposed, `fetch` fails in the page exactly as it would for a dashboard user."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.conftest import Cloud, start_cloud, stop_cloud
from tests.conftest import require
from tests.helpers import free_port

pytestmark = pytest.mark.compat

CHROMIUM = "/usr/bin/chromium"

PAGE = b"<!doctype html><title>dashboard</title><p>a page on another origin</p>"

# Runs inside the page: the same calls a dashboard's JavaScript would make.
UPLOAD = """
async ([identity, image, password, bytes]) => {
  const out = {};
  const auth = await fetch(identity + '/v3/auth/tokens', {method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({auth: {identity: {methods: ['password'], password: {user: {
      name: 'admin', domain: {name: 'Default'}, password: password}}},
      scope: {project: {name: 'admin', domain: {name: 'Default'}}}}})});
  out.auth = auth.status;
  const token = auth.headers.get('X-Subject-Token');
  out.token_visible = token !== null;
  const created = await fetch(image + '/v2/images', {method: 'POST',
    headers: {'X-Auth-Token': token, 'Content-Type': 'application/json'},
    body: JSON.stringify({name: 'from-a-browser', disk_format: 'raw',
                          container_format: 'bare'})});
  out.created = created.status;
  out.id = (await created.json()).id;
  const put = await fetch(image + '/v2/images/' + out.id + '/file', {method: 'PUT',
    headers: {'X-Auth-Token': token, 'Content-Type': 'application/octet-stream'},
    body: new Uint8Array(bytes)});
  out.uploaded = put.status;
  out.request_id_visible = put.headers.get('X-Openstack-Request-Id') !== null;
  return out;
}
"""

REFUSED = """
async ([image]) => {
  try { await fetch(image + '/v2/images', {headers: {'X-Auth-Token': 'x'}}); return 'read'; }
  catch (e) { return e.name; }
}
"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: Any) -> None:
        pass


def _serve_page() -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def browser() -> Iterator[Any]:
    require("chromium", shutil.which(CHROMIUM) is not None, "apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("playwright", False, "pip install playwright")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            yield b
        finally:
            b.close()


def test_a_page_on_another_origin_uploads_image_data(tmp_path: Path, browser: Any) -> None:
    server, origin = _serve_page()
    other, other_origin = _serve_page()
    cloud: Cloud = start_cloud(tmp_path, {"OVERCAST_CORS__ALLOWED_ORIGIN": origin})
    try:
        identity = f"http://127.0.0.1:{cloud.ports['identity']}"
        image = f"http://127.0.0.1:{cloud.ports['image']}"
        page = browser.new_page()
        page.goto(origin)
        data = list(range(256)) * 8
        out = page.evaluate(UPLOAD, [identity, image, cloud.admin_password, data])
        assert out["auth"] == 201 and out["token_visible"], out
        assert out["created"] == 201 and out["uploaded"] == 204, out
        assert out["request_id_visible"], out
        token = httpx.post(f"{identity}/v3/auth/tokens", json={"auth": {"identity": {
            "methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"},
                "password": cloud.admin_password}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
        ).headers["X-Subject-Token"]
        r = httpx.get(f"{image}/v2/images/{out['id']}/file", headers={"X-Auth-Token": token})
        assert r.content == bytes(data)

        # A page from an origin the operator did not allow is stopped by the browser.
        page2 = browser.new_page()
        page2.goto(other_origin)
        assert page2.evaluate(REFUSED, [image]) == "TypeError"
    finally:
        stop_cloud(cloud)
        server.shutdown()
        other.shutdown()
