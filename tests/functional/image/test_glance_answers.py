"""The image API answers as Glance 33 does where tests/parity recorded a difference: each
refusal's words (webob's explanation above a detail where Glance raises `HTTPxxx(detail)`,
jsonschema's text for a body that does not match the image schema), a range download's
Content-MD5, a list's `first`, /v2/info/stores, the image schema document.

The expected texts are Glance's, as recorded in tests/parity/image/test_image.snapshot.json.
"""

from __future__ import annotations

import hashlib

import httpx

from tests.functional.image.conftest import Glance

PATCH = "application/openstack-images-v2.1-json-patch"
SUFFIX = "<br /><br />\n\n\n"  # webob's body template after an explanation with no detail
NO_SUCH = "0badc0de-0000-4000-8000-00000000cafe"


def conflict(detail: str) -> str:
    return f"There was a conflict when trying to complete your request.<br /><br />\n{detail}\n\n"


def denied(detail: str) -> str:
    return f"Access was denied to this resource.<br /><br />\n{detail}\n\n"


async def _patch(glance: Glance, image_id: str, ops: bytes, **headers: str) -> httpx.Response:
    return await glance.http.patch(f"/v2/images/{image_id}", content=ops, headers={
        **glance.alice, "Content-Type": PATCH, **headers})


async def test_body_refusals_quote_the_image_schema_as_glance(glance: Glance) -> None:
    r = await glance.http.post("/v2/images", headers=glance.alice,
                               json={"name": "x", "disk_format": "floppy"})
    assert r.status_code == 400
    assert r.json()["message"] == (
        "Provided object does not match schema 'image': 'floppy' is not one of [None, 'ami', "
        "'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop']\n\n"
        "Failed validating 'enum' in schema['properties']['disk_format']:\n"
        "    {'type': ['null', 'string'],\n     'description': 'Format of the disk',\n"
        "     'enum': [None,\n              'ami',\n              'ari',\n              'aki',\n"
        "              'vhd',\n              'vhdx',\n              'vmdk',\n              'raw',\n"
        "              'qcow2',\n              'vdi',\n              'iso',\n"
        "              'ploop']}\n\nOn instance['disk_format']:\n    'floppy'" + SUFFIX)
    img = await glance.create(glance.alice, name="p", disk_format="raw", container_format="bare")
    r = await _patch(glance, img["id"], b'[{"op": "replace", "path": "/min_ram", "value": "lots"}]')
    assert r.status_code == 400
    assert r.json()["message"] == (
        "Provided object does not match schema 'image': 'lots' is not of type 'integer'\n\n"
        "Failed validating 'type' in schema['properties']['min_ram']:\n"
        "    {'type': 'integer',\n     'description': 'Amount of ram (in MB) required to boot "
        "image.'}\n\nOn instance['min_ram']:\n    'lots'" + SUFFIX)
    # a custom property's value must be a string (the schema's additionalProperties)
    r = await glance.http.post("/v2/images", headers=glance.alice, json={"prop": 5})
    assert r.json()["message"] == (
        "Provided object does not match schema 'image': 5 is not of type 'string'\n\n"
        "Failed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\n"
        "On instance['prop']:\n    5" + SUFFIX)
    # reserved names: the schema first, then webob's explanation above Glance's detail
    r = await glance.http.post("/v2/images", headers=glance.alice,
                               json={"name": "x", "os_glance_foo": "1"})
    assert r.status_code == 403
    assert r.json()["message"] == denied("Attribute 'os_glance_foo' is reserved.")
    r = await glance.http.post("/v2/images", headers=glance.alice, json={"p" * 256: "v"})
    assert r.status_code == 400
    assert r.json()["message"] == ("Custom property should not be greater than 255 characters."
                                   + SUFFIX)


async def test_patch_refusals_are_worded_as_glances(glance: Glance) -> None:
    img = await glance.create(glance.alice, name="p", disk_format="raw", container_format="bare")
    remove = b'[{"op": "remove", "path": "/hw_disk_bus"}]'
    r = await _patch(glance, img["id"], remove)
    assert r.status_code == 409
    assert r.json()["message"] == conflict("Property hw_disk_bus does not exist.")
    r = await _patch(glance, img["id"], b'[{"op": "replace", "path": "/nope", "value": "x"}]')
    assert r.status_code == 409 and r.json()["message"] == conflict("Property nope does not exist.")
    r = await _patch(glance, img["id"], b'[{"op": "remove", "path": "/name"}]')
    assert r.status_code == 403 and r.json()["message"] == denied("Property name may not be removed.")
    # the same refusal in webob's other formats: the detail under the explanation
    r = await _patch(glance, img["id"], remove, Accept="*/*")
    assert r.headers["content-type"].startswith("text/html")
    assert ("  There was a conflict when trying to complete your request.<br /><br />\n"
            "Property hw_disk_bus does not exist.\n\n\n </body>") in r.text
    r = await _patch(glance, img["id"], remove, Accept="")
    assert r.text == ("409 Conflict\n\nThere was a conflict when trying to complete your request."
                      "\n\n Property hw_disk_bus does not exist.  ")  # webob's strip_tags
    # webob's own 415 page: the request's media type, then what PATCH expects
    r = await glance.http.patch(f"/v2/images/{img['id']}", headers=glance.alice,
                                json=[{"op": "replace", "path": "/name", "value": "x"}])
    assert r.status_code == 415
    allowed = ("application/openstack-images-v2.0-json-patch, "
               "application/openstack-images-v2.1-json-patch")
    assert r.json()["message"] == (
        "The request media type application/json is not supported by this server.\n<br /><br />\n"
        f"Image PATCH expects Content-Type one of: {allowed}")
    assert r.headers["Accept-Patch"] == allowed


async def test_image_refusals_are_worded_as_glances(glance: Glance) -> None:
    img = await glance.create(glance.alice, name="d", disk_format="raw", container_format="bare")
    r = await glance.http.put(f"/v2/images/{img['id']}/file", content=b"x",
                              headers={**glance.alice, "Content-Type": "text/plain; charset=x"})
    assert r.status_code == 415
    assert r.json()["message"] == ("The request media type text/plain; charset=x is not supported "
                                   "by this server.\n<br /><br />\nInvalid content type text/plain")
    assert (await glance.http.delete(f"/v2/images/{img['id']}", headers=glance.alice)
            ).status_code == 204
    r = await glance.http.delete(f"/v2/images/{img['id']}", headers=glance.alice)
    assert r.status_code == 404
    assert r.json()["message"] == f"Failed to find image {img['id']} to delete" + SUFFIX
    # tags: Glance's tag controller names the image; a missing tag is a bare HTTPNotFound()
    img = await glance.create(glance.alice, name="t")
    r = await glance.http.delete(f"/v2/images/{img['id']}/tags/red", headers=glance.alice)
    assert r.status_code == 404 and r.json()["message"] == "The resource could not be found." + SUFFIX
    r = await glance.http.put(f"/v2/images/{NO_SUCH}/tags/red", headers=glance.alice)
    assert r.status_code == 404 and r.json()["message"] == f"Image {NO_SUCH} not found." + SUFFIX
    long = "t" * 256  # Glance checks {"tags": [tag]} against the image schema
    r = await glance.http.put(f"/v2/images/{img['id']}/tags/{long}", headers=glance.alice)
    assert r.status_code == 400
    assert r.json()["message"] == (
        f"Provided object does not match schema 'image': '{long}' is too long\n\n"
        "Failed validating 'maxLength' in schema['properties']['tags']['items']:\n"
        f"    {{'type': 'string', 'maxLength': 255}}\n\nOn instance['tags'][0]:\n    '{long}'"
        + SUFFIX)
    r = await glance.http.post(f"/v2/images/{img['id']}/import", headers=glance.alice,
                               json={"method": {"name": "teleport"}})
    assert r.status_code == 400
    assert r.json()["message"] == "Unknown import method name 'teleport'." + SUFFIX


async def test_list_refusals_and_first_are_glances(glance: Glance) -> None:
    r = await glance.http.get(f"/v2/images?marker={NO_SUCH}", headers=glance.alice)
    assert r.status_code == 400
    assert r.json()["message"] == f"No image found with ID {NO_SUCH}" + SUFFIX
    for query in ("sort_key=nope", "sort=nope:asc", "sort_key=min_ram"):  # Glance's eight only
        r = await glance.http.get(f"/v2/images?{query}", headers=glance.alice)
        key = query.split("=")[1].split(":")[0]
        assert r.status_code == 400, query
        assert r.json()["message"] == (
            f"Invalid sort key: {key}. It must be one of the following: name, status, "
            "container_format, disk_format, size, id, created_at, updated_at." + SUFFIX)
    r = await glance.http.get("/v2/images?sort=name&sort_key=name", headers=glance.alice)
    assert r.json()["message"] == "Old and new sorting syntax cannot be combined" + SUFFIX
    r = await glance.http.get("/v2/images?sort_key=name&sort_key=id&sort_key=size"
                              "&sort_dir=asc&sort_dir=desc", headers=glance.alice)
    assert r.json()["message"] == ("Number of sort dirs does not match the number of sort keys"
                                   + SUFFIX)
    for n in ("a", "b", "c"):
        await glance.create(glance.alice, name=f"first-{n}", tags=["first"])
    query = "tag=first&sort_key=name&sort_dir=asc&limit=2"
    page = (await glance.http.get(f"/v2/images?{query}", headers=glance.alice)).json()
    assert page["first"] == f"/v2/images?{query}"  # the query repeated, as Glance's
    assert [i["name"] for i in page["images"]] == ["first-a", "first-b"]
    page2 = (await glance.http.get(page["next"], headers=glance.alice)).json()
    assert page2["first"] == f"/v2/images?{query}"  # without the marker
    assert [i["name"] for i in page2["images"]] == ["first-c"]
    listed = (await glance.http.get("/v2/images", headers=glance.alice)).json()
    assert listed["first"] == "/v2/images"


async def test_member_refusals_are_worded_as_glances(glance: Glance) -> None:
    shared = await glance.create(glance.alice, name="s", visibility="shared")
    members = f"/v2/images/{shared['id']}/members"
    r = await glance.http.post(members, headers=glance.alice, json={"member": glance.beta})
    assert r.status_code == 200
    r = await glance.http.post(members, headers=glance.alice, json={"member": glance.beta})
    assert r.status_code == 409
    assert r.json()["message"] == (f"Member {glance.beta} is duplicated for image {shared['id']}"
                                   + SUFFIX)
    assert (await glance.http.delete(f"{members}/{glance.beta}", headers=glance.alice)
            ).status_code == 204
    r = await glance.http.get(f"{members}/{glance.beta}", headers=glance.alice)
    assert r.status_code == 404
    assert r.json()["message"] == (f"{glance.beta} not found in the member list of the image "
                                   f"{shared['id']}." + SUFFIX)
    r = await glance.http.get(f"/v2/images/{NO_SUCH}/members", headers=glance.alice)
    assert r.status_code == 404 and r.json()["message"] == f"Image {NO_SUCH} not found." + SUFFIX
    # a private image has no members, whatever is asked of them (before any rule)
    private = await glance.create(glance.alice, name="p", visibility="private")
    members = f"/v2/images/{private['id']}/members"
    answers = [
        (await glance.http.post(members, headers=glance.alice, json={"member": glance.beta}),
         403, f"Not allowed to create members for image {private['id']}."),
        (await glance.http.get(members, headers=glance.alice), 403,
         f"Not allowed to list members for image {private['id']}: Only shared images have "
         "members."),
        (await glance.http.get(f"{members}/{glance.beta}", headers=glance.alice), 404,
         "Only shared images have members."),
        (await glance.http.put(f"{members}/{glance.beta}", headers=glance.alice,
                               json={"status": "accepted"}),
         403, f"Not allowed to update members for image {private['id']}."),
        (await glance.http.delete(f"{members}/{glance.beta}", headers=glance.alice), 403,
         f"Not allowed to delete members for image {private['id']}."),
    ]
    for r, status, message in answers:
        assert (r.status_code, r.json()["message"]) == (status, message + SUFFIX)


async def test_range_download_carries_the_images_md5(glance: Glance) -> None:
    data = bytes(range(256)) * 4
    img = await glance.create(glance.alice, name="r", disk_format="raw", container_format="bare")
    assert (await glance.upload(glance.alice, img["id"], data)).status_code == 204
    r = await glance.http.get(f"/v2/images/{img['id']}/file",
                              headers={**glance.alice, "Range": "bytes=0-9"})
    assert r.status_code == 206 and r.content == data[:10]
    assert r.headers["Content-Range"] == f"bytes 0-9/{len(data)}"
    assert r.headers["Content-MD5"] == hashlib.md5(data).hexdigest()  # the whole image's


async def test_stores_info_and_image_schema_are_glances(glance: Glance) -> None:
    r = await glance.http.get("/v2/info/stores", headers=glance.alice)
    assert r.json() == {"stores": [{"id": "file", "default": "true"}]}
    schema = (await glance.http.get("/v2/schemas/image", headers=glance.alice)).json()
    props = schema["properties"]
    assert props["disk_format"]["enum"] == [None, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw",
                                            "qcow2", "vdi", "iso", "ploop"]
    assert props["status"]["enum"] == ["queued", "saving", "active", "killed", "deleted",
                                       "uploading", "importing", "pending_delete", "deactivated"]
    assert props["stores"]["description"].endswith(
        "May be a comma-separated list of store identifiers.")
    validation = props["locations"]["items"]["properties"]["validation_data"]
    assert validation["required"] == ["os_hash_algo", "os_hash_value"]
    assert validation["writeOnly"] is True and validation["additionalProperties"] is False
    assert list(props["disk_format"]) == ["type", "description", "enum"]  # Glance's key order
