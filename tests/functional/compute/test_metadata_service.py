"""The metadata API (port 8775) as a guest reads it through Neutron's metadata proxy: a server
booted with user data and a keypair (fake driver), then every request signed as the proxy
signs it (X-Instance-ID, X-Tenant-ID, X-Instance-ID-Signature = HMAC-SHA256 of the id)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from overcast.common.db import Database
from overcast.compute.conductor import desired_of
from overcast.compute.drivers.base import ConfigDrive
from overcast.compute.drivers.qemu.config_drive import _files
from overcast.compute.instance_models import Instance
from overcast.compute.metadata.app import create_app as metadata_app
from overcast.config import Config
from tests.functional.compute.conftest import mv
from tests.functional.compute.servers_cloud import Cloud, servers_cloud
from tests.functional.conftest import running

pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)

SECRET = "proxy-secret-for-tests"
PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
              " alice@example")
USER_DATA = b"#!/bin/sh\necho hello from user data\n\x00\xff binary tail"


@dataclass
class Guest:
    cloud: Cloud
    md: httpx.AsyncClient
    server_id: str
    project_id: str
    config: Config

    def signed(self, instance_id: str | None = None, tenant: str | None = None,
               secret: str = SECRET) -> dict[str, str]:
        iid = instance_id or self.server_id
        return {"X-Instance-ID": iid, "X-Tenant-ID": tenant or self.project_id,
                "X-Instance-ID-Signature": hmac.new(secret.encode(), iid.encode(),
                                                    hashlib.sha256).hexdigest()}

    async def get(self, path: str, status: int = 200) -> httpx.Response:
        r = await self.md.get(path, headers=self.signed())
        assert r.status_code == status, (path, r.status_code, r.text)
        return r


async def _active(c: Cloud, sid: str) -> dict[str, object]:
    for _ in range(1500):
        r = await c.http.get(f"/v2.1/servers/{sid}", headers=mv("2.96", c.alice))
        server: dict[str, object] = r.json()["server"]
        if server["status"] == "ACTIVE":
            return server
        await asyncio.sleep(0.02)
    raise AssertionError(f"{sid} never became ACTIVE")


@pytest.fixture
async def guest(compute_config: Config) -> AsyncIterator[Guest]:
    compute_config.compute.metadata_proxy_shared_secret = SECRET
    async with servers_cloud(compute_config, driver="fake", hosts=1, image=b"x" * 4096,
                             disk_format="raw") as c:
        r = await c.http.post("/v2.1/os-keypairs", headers=mv("2.92", c.alice),
                              json={"keypair": {"name": "kp1", "public_key": PUBLIC_KEY}})
        assert r.status_code == 201, r.text
        r = await c.http.post("/v2.1/servers", headers=mv("2.96", c.alice), json={"server": {
            "name": "vm-md", "imageRef": c.image, "flavorRef": "1", "networks": "none",
            "key_name": "kp1", "config_drive": True, "metadata": {"role": "web", "n": "1"},
            "user_data": base64.b64encode(USER_DATA).decode()}})
        assert r.status_code == 202, r.text
        sid = r.json()["server"]["id"]
        server = await _active(c, sid)
        async with running(metadata_app(compute_config)) as md:
            yield Guest(c, md, sid, str(server["tenant_id"]), compute_config)


async def test_openstack_documents_of_a_booted_server(guest: Guest) -> None:
    assert (await guest.get("/openstack")).text.splitlines()[-1] == "latest"
    listing = (await guest.get("/openstack/latest/")).text.splitlines()
    assert listing == ["meta_data.json", "user_data", "password", "vendor_data.json",
                       "network_data.json", "vendor_data2.json"]
    r = await guest.get("/openstack/latest/meta_data.json")
    assert r.headers["content-type"].startswith("application/json")
    md = r.json()
    assert md["uuid"] == guest.server_id and md["name"] == "vm-md"
    assert md["hostname"] == "vm-md" and md["project_id"] == guest.project_id
    assert md["launch_index"] == 0 and md["availability_zone"] == "nova"
    assert md["public_keys"] == {"kp1": PUBLIC_KEY}
    assert md["keys"] == [{"name": "kp1", "type": "ssh", "data": PUBLIC_KEY}]
    assert md["meta"] == {"role": "web", "n": "1"} and md["devices"] == []
    assert (await guest.get("/openstack/latest/user_data")).content == USER_DATA
    assert (await guest.get("/openstack/2012-08-10/user_data")).content == USER_DATA
    assert (await guest.get("/openstack/latest/vendor_data.json")).json() == {}
    assert (await guest.get("/openstack/latest/vendor_data2.json")).json() == {}
    # No Networking in this cloud: a server without ports, as Nova renders it.
    assert (await guest.get("/openstack/latest/network_data.json")).json() == {
        "links": [], "networks": [], "services": []}
    # Versions before a document existed do not have it; unknown paths are 404s.
    await guest.get("/openstack/2012-08-10/network_data.json", 404)
    await guest.get("/openstack/1999-01-01/meta_data.json", 404)
    await guest.get("/openstack/latest/nothing", 404)

    # The config drive the agent writes holds the same bytes (one renderer for both).
    db = Database(guest.config.database_url("compute"))
    try:
        async with db.read() as s:
            inst = (await s.execute(select(Instance).where(
                Instance.uuid == guest.server_id))).scalar_one()
            desired = desired_of(inst)
    finally:
        await db.dispose()
    files = _files(ConfigDrive(meta_data=desired.meta_data, user_data=USER_DATA,
                               network_data={"links": [], "networks": [], "services": []}))
    for name in ("meta_data.json", "network_data.json", "vendor_data.json",
                 "vendor_data2.json", "user_data"):
        assert (await guest.get(f"/openstack/latest/{name}")).content == files[name], name


async def test_ec2_tree(guest: Guest) -> None:
    root = await guest.md.get("/")  # the version list needs no instance
    assert root.status_code == 200 and root.text.splitlines()[-1] == "latest"
    tree = (await guest.get("/latest/meta-data/")).text.splitlines()
    for entry in ("ami-id", "hostname", "instance-id", "instance-type", "local-ipv4",
                  "placement/", "public-keys/", "reservation-id"):
        assert entry in tree, tree
    assert (await guest.get("/latest/meta-data/hostname")).text == "vm-md"
    assert (await guest.get("/latest/meta-data/instance-type")).text == "m1.tiny"
    assert (await guest.get("/latest/meta-data/instance-id")).text.startswith("i-")
    assert (await guest.get("/latest/meta-data/ami-id")).text.startswith("ami-")
    assert (await guest.get("/latest/meta-data/placement/availability-zone")).text == "nova"
    assert (await guest.get("/latest/meta-data/public-keys/")).text == "0=kp1"
    assert (await guest.get("/latest/meta-data/public-keys/0/")).text == "openssh-key"
    assert (await guest.get("/latest/meta-data/public-keys/0/openssh-key")).text == PUBLIC_KEY
    assert (await guest.get("/latest/user-data")).content == USER_DATA
    assert (await guest.get("/2009-04-04/meta-data/hostname")).text == "vm-md"
    await guest.get("/1.0/meta-data/instance-type", 404)  # came with 2007-08-29
    await guest.get("/latest/meta-data/nothing", 404)
    await guest.get("/2042-01-01/meta-data/", 404)

    # Requests the proxy did not sign are refused.
    path = "/openstack/latest/meta_data.json"
    r = await guest.md.get(path, headers=guest.signed(secret="wrong"))
    assert r.status_code == 403, r.text
    assert guest.server_id not in r.text
    headers = guest.signed()
    del headers["X-Instance-ID-Signature"]
    r = await guest.md.get(path, headers=headers)
    assert r.status_code == 400 and "X-Instance-ID-Signature" in r.text
    r = await guest.md.get(path, headers={"X-Tenant-ID": guest.project_id})
    assert r.status_code == 400 and "X-Instance-ID header" in r.text
    # Signed, but for an instance that does not exist, or for another project: 404.
    r = await guest.md.get(path, headers=guest.signed("5b1e3e38-0c7a-4f43-b1d6-0d2a1c1b2f11"))
    assert r.status_code == 404
    r = await guest.md.get(path, headers=guest.signed(tenant="another-project"))
    assert r.status_code == 404
    r = await guest.md.get(path, headers={**guest.signed(), "X-Instance-ID-Signature": "ab"})
    assert r.status_code == 403


async def test_the_guest_posts_its_password_once(guest: Guest) -> None:
    assert (await guest.get("/openstack/latest/password")).text == ""
    r = await guest.md.post("/openstack/latest/password", content=b"x" * 1021,
                            headers=guest.signed())
    assert r.status_code == 400
    r = await guest.md.post("/openstack/latest/password", content=b"c2VjcmV0", headers=guest.signed())
    assert r.status_code == 200, r.text
    assert (await guest.get("/openstack/2013-04-04/password")).text == "c2VjcmV0"
    r = await guest.md.post("/openstack/latest/password", content=b"again", headers=guest.signed())
    assert r.status_code == 409
    await guest.get("/openstack/2012-08-10/password", 404)  # came with 2013-04-04
    # The owner reads it through the compute API (os-server-password), and clears it; then
    # the guest may post again.
    c, sid = guest.cloud, guest.server_id
    r = await c.http.get(f"/v2.1/servers/{sid}/os-server-password", headers=c.alice)
    assert r.status_code == 200 and r.json() == {"password": "c2VjcmV0"}
    r = await c.http.get(f"/v2.1/servers/{sid}/os-server-password", headers=c.bob)
    assert r.status_code == 404
    r = await c.http.delete(f"/v2.1/servers/{sid}/os-server-password", headers=c.bob)
    assert r.status_code == 404
    r = await c.http.delete(f"/v2.1/servers/{sid}/os-server-password", headers=c.alice)
    assert r.status_code == 204
    assert (await c.http.get(f"/v2.1/servers/{sid}/os-server-password",
                             headers=c.alice)).json() == {"password": ""}
    r = await guest.md.post("/openstack/latest/password", content=b"bmV3", headers=guest.signed())
    assert r.status_code == 200
    assert json.loads((await guest.get("/openstack/latest/meta_data.json")).content)["uuid"]
