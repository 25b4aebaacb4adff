"""Glance v2 behaviour through HTTP: images, patch, visibility, members, tags, lists, faults."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import struct
import threading
from pathlib import Path

from overcast.config import Config
from tests.functional.image.conftest import Glance

PATCH = "application/openstack-images-v2.1-json-patch"


def qcow2_header(size: int, backing: bool = False, *, encrypted: bool = False,
                 data_file: bool = False) -> bytes:
    """The first bytes of a qcow2 image (version 3) of `size` virtual bytes; optionally with a
    backing file, AES encryption (crypt_method 1) or an external data file (incompatible
    feature bit 2)."""
    backing_offset = 512 if backing else 0
    header = struct.pack(">4sIQIIQIIQQIIQQQQII", b"QFI\xfb", 3, backing_offset,
                         11 if backing else 0, 16, size, 1 if encrypted else 0, 1, 0x30000,
                         0x10000, 1, 0, 0, 4 if data_file else 0, 0, 0, 4, 104)
    body = header.ljust(512, b"\0")
    if backing:
        body += b"/etc/passwd"
    return body.ljust(4096, b"\0")


async def test_versions_are_public_as_glances(glance: Glance) -> None:
    # Glance 33 without an image cache: GET / is 300, GET /versions (asked by name) 200, the
    # same list: no cache-API versions (2.14, 2.16), v2.17 CURRENT.
    for path, status in (("/", 300), ("/versions", 200)):
        r = await glance.http.get(path)
        assert r.status_code == status
        listed = [(v["id"], v["status"]) for v in r.json()["versions"]]
        assert listed[:2] == [("v2.15", "SUPPORTED"), ("v2.13", "SUPPORTED")]
        assert ("v2.17", "CURRENT") in listed and listed[-1] == ("v2.0", "SUPPORTED")
        assert not {"v2.14", "v2.16"} & {v for v, _ in listed}
        assert [s for _, s in listed].count("CURRENT") == 1
        assert r.json()["versions"][0]["links"] == [
            {"rel": "self", "href": f"{str(glance.http.base_url).rstrip('/')}/v2/"}]


async def test_v2_root_is_not_public(glance: Glance) -> None:
    # Glance checks the token first (keystonemiddleware), then has nothing at /v2/.
    for path in ("/v2", "/v2/"):
        r = await glance.http.get(path)
        assert r.status_code == 401 and "WWW-Authenticate" in r.headers, path
        r = await glance.http.get(path, headers=glance.alice)
        assert r.status_code == 404, path


async def test_create_show_and_defaults(glance: Glance) -> None:
    r = await glance.http.post("/v2/images", headers=glance.alice,
                               json={"name": "cirros", "disk_format": "qcow2",
                                     "container_format": "bare", "os_distro": "cirros"})
    assert r.status_code == 201, r.text
    assert r.headers["OpenStack-image-import-methods"] == "glance-direct"
    img = r.json()
    assert img["status"] == "queued" and img["visibility"] == "shared"
    assert img["owner"] == glance.alpha and img["os_distro"] == "cirros"
    assert img["size"] is None and img["checksum"] is None and img["min_ram"] == 0
    assert img["self"] == f"/v2/images/{img['id']}" and img["schema"] == "/v2/schemas/image"
    shown = (await glance.http.get(f"/v2/images/{img['id']}", headers=glance.alice)).json()
    assert shown == img


async def test_bad_input_is_4xx_in_glance_shape(glance: Glance) -> None:
    # In Glance's order: the image schema first (so a reserved name with a non-string value is
    # a 400), then reserved names, then read-only attributes the schema lets through.
    for body, code in (({"min_ram": "a lot"}, 400), ({"visibility": "everyone"}, 400),
                       ({"disk_format": "floppy"}, 400), ({"status": "active"}, 403),
                       ({"deleted": True}, 400), ({"deleted": "yes"}, 403),
                       ({"os_glance_x": "1"}, 403), ({"self": 5}, 403), ({"status": 5}, 400),
                       ({"name": "x" * 256}, 400), ({"prop": 5}, 400)):
        r = await glance.http.post("/v2/images", headers=glance.alice, json=body)
        assert r.status_code == code, (body, r.text)
        fault = r.json()
        assert fault["code"].startswith(str(code)) and fault["message"]
    r = await glance.http.post("/v2/images", headers=glance.alice, content=b"{not json")
    assert r.status_code == 400
    listed = (await glance.http.get("/v2/images", headers=glance.alice)).json()["images"]
    assert listed == []  # nothing half-written
    r = await glance.http.get("/v2/images/00000000-0000-0000-0000-000000000000",
                              headers=glance.alice)
    assert r.status_code == 404 and r.json()["code"] == "404 Not Found"
    for method in ("GET", "DELETE"):  # an empty id is not the list
        r = await glance.http.request(method, "/v2/images/", headers=glance.alice)
        assert r.status_code == 404


async def test_public_needs_admin_and_private_is_404_across_projects(glance: Glance) -> None:
    r = await glance.http.post("/v2/images", headers=glance.alice, json={"visibility": "public"})
    assert r.status_code == 403
    private = await glance.create(glance.alice, name="mine", visibility="private")
    public = await glance.create(glance.admin, name="pub", visibility="public")
    community = await glance.create(glance.alice, name="comm", visibility="community")
    r = await glance.http.get(f"/v2/images/{private['id']}", headers=glance.bob)
    assert r.status_code == 404
    r = await glance.patch(glance.bob, private["id"], [{"op": "replace", "path": "/name",
                                                        "value": "stolen"}])
    assert r.status_code == 404
    r = await glance.http.delete(f"/v2/images/{private['id']}", headers=glance.bob)
    assert r.status_code == 404
    r = await glance.http.get(f"/v2/images/{community['id']}", headers=glance.bob)
    assert r.status_code == 200
    names = {i["name"] for i in (await glance.http.get("/v2/images", headers=glance.bob)
                                 ).json()["images"]}
    assert names == {"pub"}  # community images of others are listed only when asked
    r = await glance.http.get("/v2/images?visibility=community", headers=glance.bob)
    assert [i["name"] for i in r.json()["images"]] == ["comm"]
    admin_names = {i["name"] for i in (await glance.http.get("/v2/images", headers=glance.admin)
                                       ).json()["images"]}
    assert {"mine", "pub", "comm"} <= admin_names
    assert public["visibility"] == "public"


async def test_json_patch(glance: Glance) -> None:
    img = await glance.create(glance.alice, name="a", disk_format="raw", container_format="bare")
    r = await glance.patch(glance.alice, img["id"], [
        {"op": "replace", "path": "/name", "value": "b"},
        {"op": "add", "path": "/k", "value": "v"},
        {"op": "add", "path": "/min_ram", "value": 128},
        {"op": "replace", "path": "/protected", "value": True},
        {"op": "add", "path": "/tags", "value": ["x", "y", "x"]},
    ])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["k"], body["min_ram"], body["protected"]) == ("b", "v", 128, True)
    assert sorted(body["tags"]) == ["x", "y"]
    r = await glance.patch(glance.alice, img["id"], [{"op": "remove", "path": "/k"}])
    assert r.status_code == 200 and "k" not in r.json()
    cases = [
        ([{"op": "remove", "path": "/k"}], 409),
        ([{"op": "replace", "path": "/nope", "value": "1"}], 409),
        ([{"op": "remove", "path": "/name"}], 403),
        ([{"op": "replace", "path": "/status", "value": "active"}], 403),
        ([{"op": "replace", "path": "/min_disk", "value": -1}], 400),
        ([{"op": "move", "path": "/name", "value": "x"}], 400),
        ([{"op": "add", "path": "/a/b", "value": "x"}], 400),
        ({"op": "add"}, 400),
    ]
    for ops, code in cases:
        r = await glance.patch(glance.alice, img["id"], ops)  # type: ignore[arg-type]
        assert r.status_code == code, (ops, r.text)
    r = await glance.http.patch(f"/v2/images/{img['id']}", headers=glance.alice,
                                json=[{"op": "replace", "path": "/name", "value": "c"}])
    assert r.status_code == 415
    # v2.0 patch format
    r = await glance.http.patch(f"/v2/images/{img['id']}", json=[{"replace": "/name",
                                                                   "value": "old-style"}],
                                headers={**glance.alice, "Content-Type":
                                         "application/openstack-images-v2.0-json-patch"})
    assert r.status_code == 200 and r.json()["name"] == "old-style"
    # protected: no delete until unprotected
    r = await glance.http.delete(f"/v2/images/{img['id']}", headers=glance.alice)
    assert r.status_code == 403
    await glance.patch(glance.alice, img["id"], [{"op": "replace", "path": "/protected",
                                                  "value": False}])
    r = await glance.http.delete(f"/v2/images/{img['id']}", headers=glance.alice)
    assert r.status_code == 204
    r = await glance.http.get(f"/v2/images/{img['id']}", headers=glance.alice)
    assert r.status_code == 404


async def test_upload_download_checksums_and_range(glance: Glance) -> None:
    img = await glance.create(glance.alice, name="raw", disk_format="raw", container_format="bare")
    data = bytes(range(256)) * 4096 * 3  # 3 MiB: several batches
    r = await glance.upload(glance.alice, img["id"], data)
    assert r.status_code == 204, r.text
    shown = (await glance.http.get(f"/v2/images/{img['id']}", headers=glance.alice)).json()
    assert shown["status"] == "active" and shown["size"] == len(data)
    assert shown["virtual_size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    r = await glance.http.get(f"/v2/images/{img['id']}/file", headers=glance.alice)
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-MD5"] == shown["checksum"]
    r = await glance.http.get(f"/v2/images/{img['id']}/file",
                              headers={**glance.alice, "Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    r = await glance.http.get(f"/v2/images/{img['id']}/file",
                              headers={**glance.alice, "Range": "bytes=-5"})
    assert r.status_code == 206 and r.content == data[-5:]
    r = await glance.http.get(f"/v2/images/{img['id']}/file",
                              headers={**glance.alice, "Range": f"bytes={len(data)}-"})
    assert r.status_code == 416
    r = await glance.upload(glance.alice, img["id"], b"again")
    assert r.status_code == 409
    # no data yet: 204
    empty = await glance.create(glance.alice, name="e")
    r = await glance.http.get(f"/v2/images/{empty['id']}/file", headers=glance.alice)
    assert r.status_code == 204
    r = await glance.upload(glance.alice, empty["id"], b"data")
    assert r.status_code == 400  # no disk/container format yet
    r = await glance.http.put(f"/v2/images/{empty['id']}/file", content=b"x",
                              headers={**glance.alice, "Content-Type": "text/plain"})
    assert r.status_code == 415


async def test_disguised_formats_and_backing_files_are_refused(glance: Glance) -> None:
    disguised = await glance.create(glance.alice, name="d", disk_format="raw",
                                    container_format="bare")
    r = await glance.upload(glance.alice, disguised["id"], qcow2_header(1 << 30))
    assert r.status_code == 400, r.text
    after = (await glance.http.get(f"/v2/images/{disguised['id']}", headers=glance.alice)).json()
    assert after["status"] == "queued" and after["size"] is None
    evil = await glance.create(glance.alice, name="b", disk_format="qcow2",
                               container_format="bare")
    r = await glance.upload(glance.alice, evil["id"], qcow2_header(1 << 30, backing=True))
    assert r.status_code == 400 and "backing" in r.json()["message"]
    good = await glance.create(glance.alice, name="q", disk_format="qcow2",
                               container_format="bare")
    r = await glance.upload(glance.alice, good["id"], qcow2_header(1 << 30))
    assert r.status_code == 204, r.text
    shown = (await glance.http.get(f"/v2/images/{good['id']}", headers=glance.alice)).json()
    assert shown["virtual_size"] == 1 << 30 and shown["size"] == 4096


async def test_deactivate_reactivate(glance: Glance) -> None:
    img = await glance.create(glance.alice, name="r", disk_format="raw", container_format="bare")
    r = await glance.http.post(f"/v2/images/{img['id']}/actions/deactivate", headers=glance.admin)
    assert r.status_code == 403  # queued
    await glance.upload(glance.alice, img["id"], b"abc")
    await glance.http.post(f"/v2/images/{img['id']}/members", headers=glance.alice,
                           json={"member": glance.beta})
    r = await glance.http.post(f"/v2/images/{img['id']}/actions/deactivate", headers=glance.bob)
    assert r.status_code == 403  # a member may see it, only the owner or an admin deactivates
    r = await glance.http.post(f"/v2/images/{img['id']}/actions/deactivate", headers=glance.alice)
    assert r.status_code == 204
    r = await glance.http.get(f"/v2/images/{img['id']}/file", headers=glance.alice)
    assert r.status_code == 403
    r = await glance.http.get(f"/v2/images/{img['id']}/file", headers=glance.admin)
    assert r.status_code == 200 and r.content == b"abc"
    r = await glance.http.post(f"/v2/images/{img['id']}/actions/reactivate", headers=glance.alice)
    assert r.status_code == 204
    r = await glance.http.get(f"/v2/images/{img['id']}/file", headers=glance.alice)
    assert r.content == b"abc"


async def test_members(glance: Glance) -> None:
    img = await glance.create(glance.alice, name="s", visibility="shared")
    base = f"/v2/images/{img['id']}/members"
    r = await glance.http.get(f"/v2/images/{img['id']}", headers=glance.bob)
    assert r.status_code == 404
    r = await glance.http.post(base, headers=glance.alice, json={"member": glance.beta})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending" and r.json()["member_id"] == glance.beta
    r = await glance.http.post(base, headers=glance.alice, json={"member": glance.beta})
    assert r.status_code == 409
    # a pending member sees the image but does not list it
    assert (await glance.http.get(f"/v2/images/{img['id']}", headers=glance.bob)).status_code == 200
    listed = (await glance.http.get("/v2/images", headers=glance.bob)).json()["images"]
    assert img["id"] not in [i["id"] for i in listed]
    r = await glance.http.get("/v2/images?member_status=pending", headers=glance.bob)
    assert img["id"] in [i["id"] for i in r.json()["images"]]
    r = await glance.http.put(f"{base}/{glance.beta}", headers=glance.alice,
                              json={"status": "accepted"})
    assert r.status_code == 403  # only the member decides
    r = await glance.http.put(f"{base}/{glance.beta}", headers=glance.bob,
                              json={"status": "maybe"})
    assert r.status_code == 400
    # The openstack CLI sends the member id along (Glance reads only the status).
    r = await glance.http.put(f"{base}/{glance.beta}", headers=glance.bob,
                              json={"status": "accepted", "member": glance.beta})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    listed = (await glance.http.get("/v2/images", headers=glance.bob)).json()["images"]
    assert img["id"] in [i["id"] for i in listed]
    r = await glance.http.get(base, headers=glance.bob)
    assert [m["member_id"] for m in r.json()["members"]] == [glance.beta]
    r = await glance.http.delete(f"{base}/{glance.beta}", headers=glance.bob)
    assert r.status_code == 403
    r = await glance.http.delete(f"{base}/{glance.beta}", headers=glance.alice)
    assert r.status_code == 204
    assert (await glance.http.get(f"/v2/images/{img['id']}", headers=glance.bob)).status_code == 404
    private = await glance.create(glance.alice, name="p", visibility="private")
    r = await glance.http.post(f"/v2/images/{private['id']}/members", headers=glance.alice,
                               json={"member": glance.beta})
    assert r.status_code == 403


async def test_tags(glance: Glance) -> None:
    img = await glance.create(glance.alice, name="t", tags=["a"])
    r = await glance.http.put(f"/v2/images/{img['id']}/tags/b", headers=glance.alice)
    assert r.status_code == 204
    r = await glance.http.get("/v2/images?tag=a&tag=b", headers=glance.alice)
    assert [i["id"] for i in r.json()["images"]] == [img["id"]]
    r = await glance.http.delete(f"/v2/images/{img['id']}/tags/a", headers=glance.alice)
    assert r.status_code == 204
    r = await glance.http.delete(f"/v2/images/{img['id']}/tags/a", headers=glance.alice)
    assert r.status_code == 404
    r = await glance.http.put(f"/v2/images/{img['id']}/tags/x", headers=glance.bob)
    assert r.status_code == 404


async def test_list_filters_sort_and_pages(glance: Glance) -> None:
    ids = []
    for i, (fmt, size) in enumerate((("raw", 10), ("qcow2", 0), ("raw", 30), ("iso", 0))):
        img = await glance.create(glance.alice, name=f"img-{i}", disk_format=fmt,
                                  container_format="bare", min_ram=i)
        ids.append(img["id"])
        if size:
            await glance.upload(glance.alice, img["id"], b"x" * size)
    get = glance.http.get

    async def names(query: str) -> list[str]:
        r = await get(f"/v2/images?{query}", headers=glance.alice)
        assert r.status_code == 200, r.text
        return [i["name"] for i in r.json()["images"]]

    assert await names("") == ["img-3", "img-2", "img-1", "img-0"]  # created_at desc
    assert await names("sort_key=name&sort_dir=asc") == ["img-0", "img-1", "img-2", "img-3"]
    assert await names("sort=disk_format:asc,name:desc") == ["img-3", "img-1", "img-2", "img-0"]
    assert await names("disk_format=raw&sort_key=name&sort_dir=asc") == ["img-0", "img-2"]
    assert await names("size_min=20") == ["img-2"]
    assert await names("size=10") == ["img-0"]
    assert await names("size_max=20") == ["img-0"]
    assert await names("status=queued&sort_key=name&sort_dir=asc") == ["img-1", "img-3"]
    assert await names("name=in:img-1,img-3&sort_key=name&sort_dir=asc") == ["img-1", "img-3"]
    assert await names("created_at=lt:2000-01-01T00:00:00Z") == []
    assert len(await names("updated_at=gte:2000-01-01T00:00:00Z")) == 4
    # pages: limit + marker + next
    seen: list[str] = []
    url = "/v2/images?limit=3&sort_key=name&sort_dir=asc"
    while url:
        r = await get(url, headers=glance.alice)
        body = r.json()
        seen += [i["name"] for i in body["images"]]
        url = body.get("next", "")
    assert seen == ["img-0", "img-1", "img-2", "img-3"]
    for bad in ("sort_key=color", "sort_dir=up", "limit=-1", "marker=nope", "size_min=big",
                "visibility=everyone", "created_at=soon:2020-01-01T00:00:00Z"):
        r = await get(f"/v2/images?{bad}", headers=glance.alice)
        assert r.status_code == 400, bad


async def test_stage_and_glance_direct_import(glance: Glance) -> None:
    r = await glance.http.get("/v2/info/import", headers=glance.alice)
    assert r.json()["import-methods"]["value"] == ["glance-direct"]
    r = await glance.http.get("/v2/info/stores", headers=glance.alice)
    assert r.json()["stores"][0]["id"] == "file"
    img = await glance.create(glance.alice, name="imp", disk_format="raw", container_format="bare")
    r = await glance.http.post(f"/v2/images/{img['id']}/import", headers=glance.alice,
                               json={"method": {"name": "glance-direct"}})
    assert r.status_code == 409  # nothing staged
    data = b"staged bytes" * 1000
    r = await glance.http.put(f"/v2/images/{img['id']}/stage", content=data,
                              headers={**glance.alice, "Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    shown = (await glance.http.get(f"/v2/images/{img['id']}", headers=glance.alice)).json()
    assert shown["status"] == "uploading"
    r = await glance.http.post(f"/v2/images/{img['id']}/import", headers=glance.alice,
                               json={"method": {"name": "web-download", "uri": "http://x/"}})
    assert r.status_code == 400  # not offered
    r = await glance.http.post(f"/v2/images/{img['id']}/import", headers=glance.alice,
                               json={"method": {"name": "glance-direct"}})
    assert r.status_code == 202, r.text
    import_request_id = r.headers["x-openstack-request-id"]
    shown = await glance.poll(f"/v2/images/{img['id']}", glance.alice,
                              lambda i: i["status"] == "active")
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    r = await glance.http.get(f"/v2/images/{img['id']}/file", headers=glance.alice)
    assert r.content == data
    tasks = (await glance.http.get(f"/v2/images/{img['id']}/tasks", headers=glance.alice)
             ).json()["tasks"]
    assert [t["status"] for t in tasks] == ["success"]
    assert tasks[0]["request_id"] == import_request_id
    assert tasks[0]["input"]["import_req"]["method"]["name"] == "glance-direct"
    r = await glance.http.get(f"/v2/images/{img['id']}/tasks", headers=glance.bob)
    assert r.status_code == 404


async def test_tasks_api_is_admin_only_and_checks_the_url(glance: Glance) -> None:
    task = {"type": "import", "input": {"import_from": "http://nowhere.example/x.qcow2",
                                        "import_from_format": "qcow2",
                                        "image_properties": {"name": "t"}}}
    r = await glance.http.post("/v2/tasks", headers=glance.alice, json=task)
    assert r.status_code == 403
    r = await glance.http.post("/v2/tasks", headers=glance.admin, json=task)
    assert r.status_code == 400  # web-download is off: no host is allowed
    r = await glance.http.post("/v2/tasks", headers=glance.admin, json={"type": "clone"})
    assert r.status_code == 400
    r = await glance.http.get("/v2/tasks", headers=glance.admin)
    assert r.status_code == 200 and r.json()["tasks"] == []


async def test_schemas(glance: Glance) -> None:
    for name in ("image", "images", "member", "members"):
        r = await glance.http.get(f"/v2/schemas/{name}", headers=glance.alice)
        assert r.status_code == 200 and r.json()["name"] == name
    image = (await glance.http.get("/v2/schemas/image", headers=glance.alice)).json()
    assert image["additionalProperties"] == {"type": "string"}
    assert "disk_format" in image["properties"]


async def test_format_match_can_be_turned_off_but_not_safety(glance: Glance,
                                                             image_config: Config) -> None:
    image_config.image.require_image_format_match = False  # as tempest's interop run needs
    bogus = await glance.create(glance.alice, name="v", disk_format="vhd", container_format="bare")
    r = await glance.upload(glance.alice, bogus["id"], b"not a vhd at all" * 100)
    assert r.status_code == 204, r.text
    evil = await glance.create(glance.alice, name="b", disk_format="qcow2",
                               container_format="bare")
    r = await glance.upload(glance.alice, evil["id"], qcow2_header(1 << 30, backing=True))
    assert r.status_code == 400


async def test_web_download_from_an_allowed_host(glance: Glance, image_config: Config,
                                                 tmp_path: Path) -> None:
    payload = os.urandom(200_000)
    (tmp_path / "disk.raw").write_bytes(payload)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        img = await glance.create(glance.alice, name="w", disk_format="raw",
                                  container_format="bare")
        body = {"method": {"name": "web-download", "uri": f"{base}/disk.raw"}}
        r = await glance.http.post(f"/v2/images/{img['id']}/import", headers=glance.alice,
                                   json=body)
        assert r.status_code == 400  # off by default: no host is allowed
        image_config.image.web_download_allowed_hosts = "127.0.0.1"
        r = await glance.http.get("/v2/info/import", headers=glance.alice)
        assert r.json()["import-methods"]["value"] == ["glance-direct", "web-download"]
        r = await glance.http.post(f"/v2/images/{img['id']}/import", headers=glance.alice,
                                   json={"method": {"name": "web-download",
                                                    "uri": "http://elsewhere.example/x"}})
        assert r.status_code == 400
        r = await glance.http.post(f"/v2/images/{img['id']}/import", headers=glance.alice,
                                   json=body)
        assert r.status_code == 202, r.text
        shown = await glance.poll(f"/v2/images/{img['id']}", glance.alice,
                                  lambda i: i["status"] == "active")
        assert shown["checksum"] == hashlib.md5(payload).hexdigest()
        r = await glance.http.get(f"/v2/images/{img['id']}/file", headers=glance.alice)
        assert r.content == payload
        # a missing file fails the import: the image goes back to queued, the task says why
        img2 = await glance.create(glance.alice, name="w2", disk_format="raw",
                                   container_format="bare")
        r = await glance.http.post(f"/v2/images/{img2['id']}/import", headers=glance.alice,
                                   json={"method": {"name": "web-download",
                                                    "uri": f"{base}/missing.raw"}})
        assert r.status_code == 202
        await glance.poll(f"/v2/images/{img2['id']}", glance.alice,
                          lambda i: i["status"] == "queued")
        tasks = (await glance.poll(f"/v2/images/{img2['id']}/tasks", glance.alice,
                                   lambda b: b["tasks"][0]["status"] != "processing"))["tasks"]
        assert tasks[0]["status"] == "failure" and "404" in tasks[0]["message"]
        # the legacy tasks API imports through the same path
        r = await glance.http.post("/v2/tasks", headers=glance.admin, json={
            "type": "import", "input": {"import_from": f"{base}/disk.raw",
                                        "import_from_format": "raw",
                                        "image_properties": {"name": "from-task",
                                                             "disk_format": "raw",
                                                             "container_format": "bare"}}})
        assert r.status_code == 201, r.text
        task_id = r.json()["id"]
        task = await glance.poll(f"/v2/tasks/{task_id}", glance.admin,
                                 lambda t: t["status"] != "processing")
        assert task["status"] == "success", task
        shown = await glance.poll(f"/v2/images/{task['result']['image_id']}", glance.admin,
                                  lambda i: i["status"] == "active")
        assert shown["name"] == "from-task" and shown["size"] == len(payload)
    finally:
        server.shutdown()



#: Content qemu would follow to other files or cannot read safely, and the reason each gets.
VMDK_DESCRIPTOR = (b'# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
                   b'createType="monolithicFlat"\nRW 2048 FLAT "/etc/shadow" 0\n').ljust(1024, b"\n")
UNSAFE = {
    "backing file": (qcow2_header(1 << 30, backing=True), "qcow2",
                     "qcow2 images with a backing file are not allowed."),
    "data file": (qcow2_header(1 << 30, data_file=True), "qcow2",
                  "qcow2 images with an external data file are not allowed."),
    "encrypted": (qcow2_header(1 << 30, encrypted=True), "qcow2",
                  "Encrypted qcow2 images are not allowed."),
    "vmdk extents": (VMDK_DESCRIPTOR, "vmdk", "vmdk images of type monolithicFlat are not "
                     "allowed; only monolithicSparse and streamOptimized are."),
}


async def test_unsafe_content_is_refused_whatever_the_container_format(glance: Glance) -> None:
    # Regression (issue 8, defect 9): only bare images were inspected, so a qcow2 with a
    # backing file went active under ovf, compressed or docker.
    for container in ("bare", "ovf", "ova", "compressed", "docker", "aki"):
        for case, (content, disk_format, reason) in UNSAFE.items():
            for declared in (disk_format, "raw"):
                img = await glance.create(glance.alice, name=case, disk_format=declared,
                                          container_format=container)
                r = await glance.upload(glance.alice, img["id"], content)
                assert r.status_code == 400, (container, case, declared, r.text)
                assert r.json()["message"] == f"{reason}<br /><br />\n\n\n", (container, case)
                shown = (await glance.http.get(f"/v2/images/{img['id']}",
                                               headers=glance.alice)).json()
                assert shown["status"] == "queued" and shown["size"] is None
    # The same through glance-direct: the import fails, the task says why, nothing is stored.
    img = await glance.create(glance.alice, name="staged", disk_format="qcow2",
                              container_format="ovf")
    r = await glance.http.put(f"/v2/images/{img['id']}/stage", content=UNSAFE["backing file"][0],
                              headers={**glance.alice, "Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    r = await glance.http.post(f"/v2/images/{img['id']}/import", headers=glance.alice,
                               json={"method": {"name": "glance-direct"}})
    assert r.status_code == 202, r.text
    tasks = (await glance.poll(f"/v2/images/{img['id']}/tasks", glance.alice,
                               lambda b: b["tasks"][0]["status"] != "processing"))["tasks"]
    assert tasks[0]["status"] == "failure"
    assert tasks[0]["message"] == "qcow2 images with a backing file are not allowed."
    shown = (await glance.http.get(f"/v2/images/{img['id']}", headers=glance.alice)).json()
    assert shown["status"] == "queued" and shown["size"] is None


async def test_format_match_applies_to_bare_containers_only(glance: Glance) -> None:
    # As Glance: a wrapped disk (ovf, compressed, ...) is not checked against its disk_format
    # and gets no virtual size; a bare one is.
    wrapped = await glance.create(glance.alice, name="w", disk_format="raw",
                                  container_format="compressed")
    r = await glance.upload(glance.alice, wrapped["id"], qcow2_header(1 << 30))
    assert r.status_code == 204, r.text
    shown = (await glance.http.get(f"/v2/images/{wrapped['id']}", headers=glance.alice)).json()
    assert shown["status"] == "active" and shown["virtual_size"] is None
    bare = await glance.create(glance.alice, name="b", disk_format="raw", container_format="bare")
    r = await glance.upload(glance.alice, bare["id"], qcow2_header(1 << 30))
    assert r.status_code == 400
    assert r.json()["message"].startswith("Image disk_format is raw but its content is qcow2.")
