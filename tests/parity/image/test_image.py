"""Image (Glance v2) parity: the same requests to Glance 33 (recorded, keystonemiddleware
against Keystone 30) and to Overcast.

Errors are asked for twice where it matters: with `Accept: application/json` (what openstacksdk
sends) and with `Accept: */*` (what python-glanceclient sends, and what Glance answers with its
webob text/html page), so the recording documents both of Glance's error formats (issue 8, item
16). Each test uses its own image names and tags, so the tests do not depend on each other.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.parity.client import Api, differs
from tests.parity.snapshot import NO_SUCH_UUID as NO_SUCH
from tests.parity.snapshot import Snapshot

pytestmark = pytest.mark.validated

DATA = b"parity image data: " + bytes(range(32, 127)) * 8
ANY = {"Accept": "*/*"}  # python-glanceclient's Accept
NO_ACCEPT: dict[str, str | None] = {"Accept": None}  # curl -H 'Accept:' and most scripts
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


def no_content_type(*keys: str) -> list[pytest.MarkDecorator]:
    why = ("overcast differs: a 204 answer has no Content-Type; Glance's 204s carry webob's default "
           "'text/html; charset=UTF-8'. Kept: a 204 has no body for a type to describe (RFC 9110 "
           "8.3), no client reads it (glanceclient, openstacksdk), and the OpenAPI document, checked "
           "by schemathesis' content-type conformance, documents 204s without content")
    return [differs(f"$.{k}.headers.content-type", why) for k in keys]


def auth_401(key: str) -> pytest.MarkDecorator:
    """keystonemiddleware's 401 in Glance carries no request id: it refuses before Glance's
    request-id layer; Overcast's request id is the outermost layer and is on every answer."""
    return differs(f"$.{key}.headers.x-openstack-request-id", "overcast differs: its 401 carries "
                   "an x-openstack-request-id; Glance's (refused by keystonemiddleware) has none")


REQUEST_ID = ("overcast differs: a request id on {what}; Glance has none. Kept: Overcast's request id is its "
              "outermost layer and on every answer, so each answer has a log line to find; Glance's "
              "version documents are answered before its request-id layer")


def apply(*marks: pytest.MarkDecorator | list[pytest.MarkDecorator]) -> Any:
    """All these marks on one test."""
    flat = [m for x in marks for m in (x if isinstance(x, list) else [x])]

    def deco(fn: Any) -> Any:
        for m in flat:
            fn = m(fn)
        return fn

    return deco



def _create(image: Api, name: str, **extra: Any) -> str:
    r = image.post("/v2/images", json={"name": name, "disk_format": "raw", "container_format": "bare",
                                      **extra})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _by_name(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("images"), list):
        body["images"] = sorted(body["images"], key=lambda i: i["name"])
    return body


@apply(
    differs("$.versions.headers.x-openstack-request-id", REQUEST_ID.format(what="/versions")),
    differs("$.root.headers.x-openstack-request-id", REQUEST_ID.format(what="GET /")),
    auth_401("v2_root"),
)
def test_versions(image: Api, snapshot: Snapshot) -> None:
    snapshot.match("versions", image.get("/versions", token=False))
    snapshot.match("root", image.get("/", token=False))
    snapshot.match("v2_root", image.get("/v2/", token=False))


@apply(
    [differs(f"$.image.body.properties.{p}", "overcast differs: lists the common image properties "
             "(architecture, os_distro, os_version, instance_uuid, kernel_id, ramdisk_id, description, "
             "cim_pasd_cpu_count) with is_base false, as a Glance with etc/glance/schema-image.json does; "
             "Glance 33 from PyPI installs no schema-image.json, so its schema has none of them")
     for p in ("architecture", "os_distro", "os_version", "instance_uuid", "kernel_id", "ramdisk_id",
               "description", "cim_pasd_cpu_count")],
)
def test_schemas(image: Api, snapshot: Snapshot) -> None:
    snapshot.match("member", image.get("/v2/schemas/member"))
    snapshot.match("image", image.get("/v2/schemas/image"))
    snapshot.match("missing", image.get("/v2/schemas/nothing"))


@apply(
    no_content_type("upload", "deactivate", "reactivate", "delete"),
)
def test_image_lifecycle(image: Api, snapshot: Snapshot) -> None:
    r = snapshot.match("create", image.post("/v2/images", json={
        "name": "parity-life", "disk_format": "raw", "container_format": "bare", "min_ram": 64,
        "tags": ["a"], "os_distro": "parity"}))
    iid = r.json()["id"]
    snapshot.match("show_queued", image.get(f"/v2/images/{iid}"))
    snapshot.match("download_queued", image.get(f"/v2/images/{iid}/file"))
    snapshot.match("upload", image.put(f"/v2/images/{iid}/file", content=DATA,
                                       headers={"Content-Type": "application/octet-stream"}))
    snapshot.match("show_active", image.get(f"/v2/images/{iid}"))
    r = snapshot.match("download", image.get(f"/v2/images/{iid}/file"))
    assert r.content == DATA and r.headers.get("Content-MD5") is not None
    assert hashlib.md5(DATA).hexdigest() == image.get(f"/v2/images/{iid}").json()["checksum"]
    snapshot.match("download_range", image.get(f"/v2/images/{iid}/file", headers={"Range": "bytes=0-9"}))
    snapshot.match("upload_again", image.put(f"/v2/images/{iid}/file", content=DATA,
                                             headers={"Content-Type": "application/octet-stream"}))
    snapshot.match("deactivate", image.post(f"/v2/images/{iid}/actions/deactivate"))
    snapshot.match("download_deactivated", image.get(f"/v2/images/{iid}/file"))
    snapshot.match("reactivate", image.post(f"/v2/images/{iid}/actions/reactivate"))
    snapshot.match("protect", image.patch(f"/v2/images/{iid}", headers=PATCH, content=(
        b'[{"op": "replace", "path": "/protected", "value": true}]')))
    snapshot.match("delete_protected", image.delete(f"/v2/images/{iid}"))
    image.patch(f"/v2/images/{iid}", headers=PATCH,
                content=b'[{"op": "replace", "path": "/protected", "value": false}]')
    snapshot.match("delete", image.delete(f"/v2/images/{iid}"))
    snapshot.match("show_deleted", image.get(f"/v2/images/{iid}"))
    snapshot.match("show_deleted_any", image.get(f"/v2/images/{iid}", headers=ANY))
    snapshot.match("show_deleted_no_accept", image.get(f"/v2/images/{iid}", headers=NO_ACCEPT))
    snapshot.match("delete_again", image.delete(f"/v2/images/{iid}"))


def test_image_patch(image: Api, snapshot: Snapshot) -> None:
    iid = _create(image, "parity-patch")
    url = f"/v2/images/{iid}"

    def patch(ops: bytes, headers: dict[str, str | None] | None = None) -> Any:
        return image.patch(url, content=ops, headers={**PATCH, **(headers or {})})

    snapshot.match("replace_add", patch(
        b'[{"op": "replace", "path": "/name", "value": "parity-patched"},'
        b' {"op": "add", "path": "/hw_disk_bus", "value": "scsi"},'
        b' {"op": "add", "path": "/min_disk", "value": 2}]'))
    snapshot.match("remove_property", patch(b'[{"op": "remove", "path": "/hw_disk_bus"}]'))
    snapshot.match("remove_missing", patch(b'[{"op": "remove", "path": "/hw_disk_bus"}]'))
    snapshot.match("remove_missing_any", patch(b'[{"op": "remove", "path": "/hw_disk_bus"}]', ANY))
    snapshot.match("read_only", patch(b'[{"op": "replace", "path": "/size", "value": 5}]'))
    snapshot.match("read_only_any", patch(b'[{"op": "replace", "path": "/size", "value": 5}]', ANY))
    snapshot.match("read_only_no_accept", patch(b'[{"op": "replace", "path": "/size", "value": 5}]',
                                                NO_ACCEPT))
    snapshot.match("bad_op", patch(b'[{"op": "move", "path": "/name"}]'))
    snapshot.match("bad_value", patch(b'[{"op": "replace", "path": "/min_ram", "value": "lots"}]'))
    snapshot.match("wrong_media_type", image.patch(
        url, json=[{"op": "replace", "path": "/name", "value": "x"}]))
    snapshot.match("wrong_media_type_any", image.patch(
        url, json=[{"op": "replace", "path": "/name", "value": "x"}], headers=ANY))
    rename = b'[{"op": "replace", "path": "/name", "value": "x"}]'
    snapshot.match("missing_image", image.patch(f"/v2/images/{NO_SUCH}", headers=PATCH, content=rename))


@apply(
    auth_401("bad_token"), auth_401("no_token"), auth_401("no_token_any"),
    )
def test_image_create_errors(image: Api, snapshot: Snapshot) -> None:
    floppy = {"name": "x", "disk_format": "floppy"}
    snapshot.match("bad_disk_format", image.post("/v2/images", json=floppy))
    snapshot.match("bad_disk_format_any", image.post("/v2/images", json=floppy, headers=ANY))
    snapshot.match("read_only_attr", image.post("/v2/images", json={"name": "x", "status": "active"}))
    snapshot.match("not_json", image.post("/v2/images", content=b"{nope",
                                          headers={"Content-Type": "application/json"}))
    snapshot.match("reserved_property", image.post("/v2/images", json={"name": "x", "os_glance_foo": "1"}))
    snapshot.match("no_token", image.get("/v2/images", token=False))
    snapshot.match("no_token_any", image.get("/v2/images", token=False, headers=ANY))
    snapshot.match("bad_token", image.get("/v2/images", token="not-a-token"))
    snapshot.match("upload_missing", image.put(f"/v2/images/{NO_SUCH}/file", content=DATA,
                                               headers={"Content-Type": "application/octet-stream"}))


def test_image_list(image: Api, snapshot: Snapshot) -> None:
    for n in ("parity-list-a", "parity-list-b", "parity-list-c"):
        _create(image, n, tags=["parity-list"], min_disk=1 if n.endswith("b") else 0)
    base = "/v2/images?tag=parity-list"
    snapshot.match("by_tag", image.get(base), normalize=_by_name)
    r = snapshot.match("page_1", image.get(f"{base}&sort_key=name&sort_dir=asc&limit=2"))
    nxt = r.json()["next"]
    snapshot.match("page_2", image.get(nxt))
    snapshot.match("sort_desc", image.get(f"{base}&sort=name:desc"))
    snapshot.match("by_name", image.get("/v2/images?name=parity-list-b"))
    snapshot.match("by_min_disk", image.get(f"{base}&size_min=0&status=queued&visibility=shared"),
                   normalize=_by_name)
    snapshot.match("bad_sort_key", image.get(f"{base}&sort_key=nope"))
    snapshot.match("bad_sort_dir", image.get(f"{base}&sort_dir=sideways"))
    snapshot.match("bad_limit", image.get(f"{base}&limit=-1"))
    snapshot.match("bad_marker", image.get(f"{base}&marker={NO_SUCH}"))
    snapshot.match("bad_visibility", image.get("/v2/images?visibility=everyone"))


@apply(
    no_content_type("add", "add_again", "delete"),
)
def test_image_tags(image: Api, snapshot: Snapshot) -> None:
    iid = _create(image, "parity-tags")
    snapshot.match("add", image.put(f"/v2/images/{iid}/tags/red"))
    snapshot.match("add_again", image.put(f"/v2/images/{iid}/tags/red"))
    snapshot.match("show", image.get(f"/v2/images/{iid}"))
    snapshot.match("delete", image.delete(f"/v2/images/{iid}/tags/red"))
    snapshot.match("delete_missing", image.delete(f"/v2/images/{iid}/tags/red"))
    snapshot.match("on_missing_image", image.put(f"/v2/images/{NO_SUCH}/tags/red"))


def test_image_members(image: Api, identity: Api, snapshot: Snapshot) -> None:
    pid = identity.post("/v3/projects", json={"project": {"name": "parity-image-member",
                                                          "domain_id": "default"}}).json()["project"]["id"]
    iid = _create(image, "parity-shared", visibility="shared")
    members = f"/v2/images/{iid}/members"
    snapshot.match("add", image.post(members, json={"member": pid}))
    snapshot.match("add_again", image.post(members, json={"member": pid}))
    snapshot.match("list", image.get(members))
    snapshot.match("show", image.get(f"{members}/{pid}"))
    snapshot.match("owner_sets_status", image.put(f"{members}/{pid}", json={"status": "accepted"}))
    snapshot.match("bad_body", image.post(members, json={"nobody": pid}))
    snapshot.match("delete", image.delete(f"{members}/{pid}"))
    snapshot.match("show_deleted", image.get(f"{members}/{pid}"))
    snapshot.match("show_deleted_any", image.get(f"{members}/{pid}", headers=ANY))
    private = _create(image, "parity-private", visibility="private")
    snapshot.match("add_to_private", image.post(f"/v2/images/{private}/members", json={"member": pid}))


def test_import_info(image: Api, snapshot: Snapshot) -> None:
    snapshot.match("import_info", image.get("/v2/info/import"))
    snapshot.match("stores_info", image.get("/v2/info/stores"))
    iid = _create(image, "parity-import")
    snapshot.match("import_unknown_method", image.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "teleport"}}))
    snapshot.match("import_not_staged", image.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "glance-direct"}}))


