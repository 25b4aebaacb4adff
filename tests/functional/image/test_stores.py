"""Several file stores: upload to a named store, import to some or all, copy, drop one copy."""

from __future__ import annotations

import hashlib

import pytest

from overcast.config import Config
from tests.functional.image.conftest import Glance

pytestmark = pytest.mark.image_stores("fast", "slow")


async def _stage(glance: Glance, data: bytes) -> str:
    img = await glance.create(glance.alice, name="ms", disk_format="raw", container_format="bare")
    r = await glance.http.put(f"/v2/images/{img['id']}/stage", content=data,
                              headers={**glance.alice, "Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    return str(img["id"])


def _files(config: Config, image_id: str) -> list[str]:
    return sorted(sid for sid, spec in config.image_stores.items()
                  if spec.path is not None and (spec.path / image_id).exists())


async def test_stores_are_listed_and_uploads_can_name_one(glance: Glance,
                                                          image_config: Config) -> None:
    r = await glance.http.get("/v2/info/stores", headers=glance.alice)
    assert [(s["id"], s.get("default", False)) for s in r.json()["stores"]] == [
        ("file", "true"), ("fast", False), ("slow", False)]  # Glance's "true", a string
    r = await glance.http.get("/v2/info/import", headers=glance.alice)
    assert "copy-image" in r.json()["import-methods"]["value"]
    img = await glance.create(glance.alice, name="u", disk_format="raw", container_format="bare")
    r = await glance.http.put(f"/v2/images/{img['id']}/file", content=b"abc", headers={
        **glance.alice, "Content-Type": "application/octet-stream", "X-Image-Meta-Store": "fast"})
    assert r.status_code == 204, r.text
    shown = (await glance.http.get(f"/v2/images/{img['id']}", headers=glance.alice)).json()
    assert shown["stores"] == "fast" and _files(image_config, img["id"]) == ["fast"]
    img2 = await glance.create(glance.alice, name="u2", disk_format="raw", container_format="bare")
    r = await glance.http.put(f"/v2/images/{img2['id']}/file", content=b"abc", headers={
        **glance.alice, "Content-Type": "application/octet-stream", "X-Image-Meta-Store": "tape"})
    assert r.status_code == 409


async def test_import_to_all_stores_copy_and_drop_one(glance: Glance,
                                                      image_config: Config) -> None:
    data = b"multi-store" * 5000
    image_id = await _stage(glance, data)
    r = await glance.http.post(f"/v2/images/{image_id}/import", headers=glance.alice,
                               json={"method": {"name": "glance-direct"}, "all_stores": True})
    assert r.status_code == 202, r.text
    shown = await glance.poll(f"/v2/images/{image_id}", glance.alice,
                              lambda i: i["status"] == "active"
                              and i.get("os_glance_importing_to_stores") == "")
    assert shown["stores"] == "fast,file,slow" and shown["os_glance_failed_import"] == ""
    assert _files(image_config, image_id) == ["fast", "file", "slow"]
    assert shown["checksum"] == hashlib.md5(data).hexdigest()

    r = await glance.http.delete(f"/v2/stores/fast/{image_id}", headers=glance.alice)
    assert r.status_code == 403  # admin only
    r = await glance.http.delete(f"/v2/stores/fast/{image_id}", headers=glance.admin)
    assert r.status_code == 204
    shown = (await glance.http.get(f"/v2/images/{image_id}", headers=glance.alice)).json()
    assert shown["stores"] == "file,slow" and _files(image_config, image_id) == ["file", "slow"]
    r = await glance.http.get(f"/v2/images/{image_id}/file", headers=glance.alice)
    assert r.content == data

    r = await glance.http.post(f"/v2/images/{image_id}/import", headers=glance.alice,
                               json={"method": {"name": "copy-image"}, "stores": ["fast"]})
    assert r.status_code == 202, r.text
    shown = await glance.poll(f"/v2/images/{image_id}", glance.alice,
                              lambda i: i.get("stores") == "fast,file,slow")
    assert _files(image_config, image_id) == ["fast", "file", "slow"]

    await glance.http.delete(f"/v2/stores/fast/{image_id}", headers=glance.admin)
    await glance.http.delete(f"/v2/stores/file/{image_id}", headers=glance.admin)
    r = await glance.http.delete(f"/v2/stores/slow/{image_id}", headers=glance.admin)
    assert r.status_code == 409  # the last copy
    r = await glance.http.delete(f"/v2/images/{image_id}", headers=glance.alice)
    assert r.status_code == 204
    assert _files(image_config, image_id) == []


async def test_import_to_specific_stores(glance: Glance, image_config: Config) -> None:
    image_id = await _stage(glance, b"x" * 1000)
    r = await glance.http.post(f"/v2/images/{image_id}/import", headers=glance.alice,
                               json={"method": {"name": "glance-direct"},
                                     "stores": ["slow", "nowhere"]})
    assert r.status_code == 409
    r = await glance.http.post(f"/v2/images/{image_id}/import", headers=glance.alice,
                               json={"method": {"name": "glance-direct"},
                                     "stores": ["slow", "fast"]})
    assert r.status_code == 202
    shown = await glance.poll(f"/v2/images/{image_id}", glance.alice,
                              lambda i: i.get("stores") == "fast,slow")
    assert _files(image_config, image_id) == ["fast", "slow"]
    assert shown["status"] == "active"
