"""Remote consoles through the real `openstack` CLI (`console url show`, `console connection
show`), and the metadata API that `overcast up` runs beside Compute on its own port, read as
Neutron's metadata proxy reads it (signed with the secret in the state directory)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.compat.conftest import Cloud, start_cloud, stop_cloud

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def compute_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    c = start_cloud(tmp_path_factory.mktemp("consoles"), {
        "OVERCAST_COMPUTE__ENABLED": "true", "OVERCAST_COMPUTE__DRIVER": "fake",
        "OVERCAST_PLACEMENT__ENABLED": "false", "OVERCAST_OBJECT__ENABLED": "false"})
    yield c
    stop_cloud(c)


@pytest.fixture(scope="module")
def server(compute_cloud: Cloud, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    c = compute_cloud
    img = tmp_path_factory.mktemp("img") / "cirros.raw"
    img.write_bytes(b"\0" * 65536)
    c.openstack("image", "create", "--disk-format", "raw", "--container-format", "bare",
                "--file", str(img), "cirros")
    c.openstack("keypair", "create", "KP")
    created = c.openstack_json("server", "create", "--flavor", "m1.tiny", "--image", "cirros",
                               "--key-name", "KP", "--nic", "none", "--wait", "vm1")
    assert isinstance(created, dict) and created["status"] == "ACTIVE"
    return created


def _token(url: str) -> str:
    query = parse_qs(urlparse(url).query)
    if "path" in query:
        query = parse_qs(urlparse(query["path"][0]).query)
    return query["token"][0]


def test_console_urls(compute_cloud: Cloud, server: dict[str, str]) -> None:
    c = compute_cloud
    out = c.openstack_json("console", "url", "show", "--novnc", "vm1")
    assert isinstance(out, dict) and out["protocol"] == "vnc" and out["type"] == "novnc"
    assert "/vnc_auto.html?path=%3Ftoken%3D" in out["url"]
    # `overcast up` runs the noVNC proxy the URL names (its pages when Debian's novnc is in).
    assert urlparse(out["url"]).port == c.ports["novncproxy"]
    page = httpx.get(out["url"], timeout=30)
    assert page.status_code == (200 if Path("/usr/share/novnc/vnc.html").exists() else 404)
    conn = c.openstack_json("console", "connection", "show", _token(out["url"]))
    assert isinstance(conn, dict) and conn["instance_uuid"] == server["id"]
    out = c.openstack_json("console", "url", "show", "--serial", "vm1")
    assert isinstance(out, dict) and out["url"].startswith("ws://") and "?token=" in out["url"]
    r = c.openstack("console", "url", "show", "--spice", "vm1", check=False)
    assert r.returncode != 0 and "Unavailable console type spice-html5" in r.stderr
    r = c.openstack("console", "url", "show", "--novnc", "no-such-server", check=False)
    assert r.returncode != 0


def test_metadata_service_beside_compute(compute_cloud: Cloud, server: dict[str, str]) -> None:
    c = compute_cloud
    secret = (Path(c.state_dir) / "metadata-proxy-secret").read_text().strip()
    project = server.get("project_id") or c.openstack_json("server", "show", "vm1")["project_id"]  # type: ignore[index]
    headers = {"X-Instance-ID": server["id"], "X-Tenant-ID": str(project),
               "X-Instance-ID-Signature": hmac.new(secret.encode(), server["id"].encode(),
                                                   hashlib.sha256).hexdigest()}
    base = f"http://127.0.0.1:{c.ports['metadata']}"
    r = httpx.get(f"{base}/openstack/latest/meta_data.json", headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    md = r.json()
    assert md["uuid"] == server["id"] and list(md["public_keys"]) == ["KP"]
    r = httpx.get(f"{base}/latest/meta-data/public-keys/0/openssh-key", headers=headers,
                  timeout=30)
    assert r.status_code == 200 and r.text == md["public_keys"]["KP"]
    r = httpx.get(f"{base}/openstack/latest/meta_data.json",
                  headers={**headers, "X-Instance-ID-Signature": "0" * 64}, timeout=30)
    assert r.status_code == 403
