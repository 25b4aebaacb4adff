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


WEBOB = "Glance's JSON fault messages end with webob's '<br /><br />\\n\\n\\n', ours do not"


def message(key: str, why: str = "") -> pytest.MarkDecorator:
    """Overcast's fault message for `key` differs (status, headers and shape still compared)."""
    return differs(f"$.{key}.body.message", f"overcast differs: {why or WEBOB}", value_only=True)


def page(key: str) -> pytest.MarkDecorator:
    """The webob page (HTML for Accept */*) is Glance's format, but the message in it is worded
    as in the JSON answer this key's sibling declares."""
    return differs(f"$.{key}.body", "overcast differs: the page's message is worded differently "
                   "(see the JSON answer's declaration)", value_only=True)


def no_content_type(*keys: str) -> list[pytest.MarkDecorator]:
    why = ("overcast differs: a 204 answer has no Content-Type; Glance's 204s carry webob's default "
           "'text/html; charset=UTF-8'")
    return [differs(f"$.{k}.headers.content-type", why) for k in keys]


def auth_401(key: str) -> pytest.MarkDecorator:
    """keystonemiddleware's 401 in Glance carries no request id: it refuses before Glance's
    request-id layer; Overcast's request id is the outermost layer and is on every answer."""
    return differs(f"$.{key}.headers.x-openstack-request-id", "overcast differs: its 401 carries "
                   "an x-openstack-request-id; Glance's (refused by keystonemiddleware) has none")


def apply(*marks: pytest.MarkDecorator | list[pytest.MarkDecorator]) -> Any:
    """All these marks on one test."""
    flat = [m for x in marks for m in (x if isinstance(x, list) else [x])]

    def deco(fn: Any) -> Any:
        for m in flat:
            fn = m(fn)
        return fn

    return deco


VERSIONS = ("overcast differs: lists v2.0 to v2.16 with v2.16 CURRENT; Glance 33 lists v2.0 to v2.13, v2.15 "
            "and v2.17, v2.17 CURRENT")
FIRST = ("overcast differs: `first` is /v2/images without the query; Glance's `first` repeats the request's "
         "query (filters, sort, limit)")


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
    differs("$.versions.status", "overcast differs: GET /versions answers 300; Glance 33 answers 200"),
    differs("$.versions.body.versions", VERSIONS), differs("$.root.body.versions", VERSIONS),
    differs("$.versions.headers.x-openstack-request-id",
            "overcast differs: a request id on /versions; Glance has none"),
    differs("$.root.headers.x-openstack-request-id",
            "overcast differs: a request id on GET /; Glance has none"),
    differs("$.v2_root.status",
            "overcast differs: GET /v2/ without a token answers 300 with the versions; Glance "
            "runs keystonemiddleware first and answers 401"),
    differs("$.v2_root.body", "overcast differs: the versions document; Glance's 401 fault"),
    differs("$.v2_root.headers.www-authenticate",
            "overcast differs: no challenge (not a 401); Glance's 401 has one"),
    differs("$.v2_root.headers.x-openstack-request-id",
            "overcast differs: a request id; Glance's 401 has none"),
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
    differs("$.image.body.properties.disk_format.enum", "overcast differs: order of the enum ('ploop', 'iso' "
            "at the end; Glance: 'iso', 'ploop'); the same values"),
    differs("$.image.body.properties.status.enum", "overcast differs: order of the enum (Glance: ..., "
            "'uploading', 'importing', 'pending_delete', 'deactivated'; ours: ..., 'pending_delete', "
            "'deactivated', 'uploading', 'importing'); the same values"),
    differs("$.image.body.properties.locations.items.properties.validation_data", "overcast differs: a "
            "location has no `validation_data` schema (Glance 33: checksum, os_hash_algo, os_hash_value, "
            "required os_hash_algo and os_hash_value, writeOnly)"),
    differs("$.image.body.properties.stores.description", "overcast differs: 'Store in which image data "
            "resides.' where Glance adds '  Only present when the operator has enabled multiple stores.  May "
            "be a comma-separated list of store identifiers.'", value_only=True),
)
def test_schemas(image: Api, snapshot: Snapshot) -> None:
    snapshot.match("member", image.get("/v2/schemas/member"))
    snapshot.match("image", image.get("/v2/schemas/image"))
    snapshot.match("missing", image.get("/v2/schemas/nothing"))


@apply(
    no_content_type("upload", "deactivate", "reactivate", "delete"),
    differs("$.download_range.headers.content-md5", "overcast differs: no Content-MD5 on a 206 range answer; "
            "Glance sends the whole image's checksum there too"),
    message("delete_again", "'No image found with ID <id>' where Glance says 'Failed to find image <id> to "
            "delete' + webob's suffix"),
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


@apply(
    message("bad_value", "its own wording where Glance gives the jsonschema text (\"Provided object does not "
            "match schema 'image': 'lots' is not of type 'integer'...\")"),
    message("remove_missing", "'Property hw_disk_bus does not exist.' where Glance says 'There was a "
            "conflict when trying to complete your request.<br /><br />\\nProperty hw_disk_bus does not "
            "exist.\\n\\n'"),
    message("wrong_media_type", "'Unsupported Content-Type: application/json; ...' where Glance says 'The "
            "request media type application/json is not supported by this server.\\n<br /><br "
            "/>\\nImage PATCH "
            "expects Content-Type one of: ...'"),
    page("remove_missing_any"), page("wrong_media_type_any"),
    )
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
    message("bad_disk_format", "its own wording where Glance gives the jsonschema text (\"Provided object "
            "does not match schema 'image': 'floppy' is not one of [None, 'ami', ...]...\")"),
    page("bad_disk_format_any"),
    auth_401("bad_token"), auth_401("no_token"), auth_401("no_token_any"),
    message("reserved_property", "\"Attribute 'os_glance_foo' is reserved.\" where Glance says 'Access was "
            "denied to this resource.<br /><br />\\nAttribute \\'os_glance_foo\\' is reserved.\\n\\n'"),
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


@apply(
    message("bad_marker", "'Invalid marker. Image <id> could not be found.' where Glance says 'No image "
            "found with ID <id>' + webob's suffix"),
    message("bad_sort_key", "'... It is not in the list of allowed sort keys.' where Glance lists them: 'It "
            "must be one of the following: name, status, container_format, disk_format, size, id, "
            "created_at, "
            "updated_at.'"),
    [differs(f"$.{k}.body.first", FIRST) for k in ("by_tag", "page_1", "page_2", "sort_desc", "by_name",
                                                   "by_min_disk")],
)
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
    message("delete_missing", "'Tag red not found.' where Glance says 'The resource could not be found.' "
            "+ webob's suffix"),
    message("on_missing_image", "'No image found with ID <id>' where Glance says 'Image <id> not found.' + "
            "webob's suffix"),
)
def test_image_tags(image: Api, snapshot: Snapshot) -> None:
    iid = _create(image, "parity-tags")
    snapshot.match("add", image.put(f"/v2/images/{iid}/tags/red"))
    snapshot.match("add_again", image.put(f"/v2/images/{iid}/tags/red"))
    snapshot.match("show", image.get(f"/v2/images/{iid}"))
    snapshot.match("delete", image.delete(f"/v2/images/{iid}/tags/red"))
    snapshot.match("delete_missing", image.delete(f"/v2/images/{iid}/tags/red"))
    snapshot.match("on_missing_image", image.put(f"/v2/images/{NO_SUCH}/tags/red"))


@apply(
    message("add_again", "'Member <m> already has membership on image <i>' where Glance says 'Member "
            "<m> is duplicated for image <i>' + webob's suffix"),
    message("add_to_private", "'Only shared images have members. Image <id> is private.' where Glance says "
            "'Not allowed to create members for image <id>.' + webob's suffix"),
    message("show_deleted", "'Member <m> not found on image <i>' where Glance says '<m> not found in the "
            "member list of the image <i>.' + webob's suffix"),
    page("show_deleted_any"),
    )
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


@apply(
    message("import_unknown_method", "'Import method teleport is not supported by this cloud; supported: "
            "glance-direct' where Glance says \"Unknown import method name 'teleport'.\" + webob's suffix"),
    differs("$.stores_info.body.stores[0].default",
            "overcast differs: `default: true` (a boolean); Glance 33 "
            "answers the string \"true\""),
    differs("$.stores_info.body.stores[0].description",
            "overcast differs: a `description` ('Filesystem store "
            "file'); Glance has none for a store without one configured"),
)
def test_import_info(image: Api, snapshot: Snapshot) -> None:
    snapshot.match("import_info", image.get("/v2/info/import"))
    snapshot.match("stores_info", image.get("/v2/info/stores"))
    iid = _create(image, "parity-import")
    snapshot.match("import_unknown_method", image.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "teleport"}}))
    snapshot.match("import_not_staged", image.post(f"/v2/images/{iid}/import", json={
        "method": {"name": "glance-direct"}}))


