"""Hostile query values and body fields on every image route: always a 4xx in Glance's shape,
never a 5xx (issue 8, #5: `size_min=1e23` answered 500)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.functional.image.conftest import Glance

PATCH = "application/openstack-images-v2.1-json-patch"
BIG = "x" * 65536
LONG = "x" * 16384  # as long as a URL's query or path may be (httpx stops at 64 KiB)
#: Values a careless client or an attacker sends where something else is expected.
HOSTILE_VALUES: list[Any] = [
    10**23, -(10**23), 2**63, -1, 1.5, 1e308, [], ["a"], {}, {"a": 1}, None, True, "", BIG,
    "\u0000", "💥",
]
HOSTILE_QUERY = ["1e23", "100000000000000000000000", "-100000000000000000000000", "-1", "1.5",
                 "[]", "{}", "null", "", "\u0000", "%", LONG, "in:", 'in:"', "gte:", "lt:1e23",
                 "9999-99-99T99:99:99Z", "true,false"]
LIST_PARAMS = ["limit", "marker", "sort_key", "sort_dir", "sort", "tag", "name", "id", "status",
               "visibility", "owner", "member_status", "disk_format", "container_format",
               "protected", "os_hidden", "size", "size_min", "size_max", "created_at",
               "updated_at", "a_property", LONG]


#: Every answer that broke the rule in the running test (all are reported, not the first).
FOUND: list[str] = []


@pytest.fixture(autouse=True)
def no_5xx() -> Iterator[None]:
    FOUND.clear()
    yield
    assert not FOUND, f"{len(FOUND)} bad answers:\n" + "\n".join(FOUND[:40])


def expect_4xx(r: httpx.Response, what: object) -> None:
    """A 2xx/3xx, or a 4xx with Glance's fault body; never a 5xx."""
    if r.status_code >= 500:
        FOUND.append(f"{str(what)[:160]}: {r.status_code}")
    elif r.status_code >= 400:
        fault = r.json()
        if not (fault["code"].startswith(str(r.status_code)) and fault["message"]):
            FOUND.append(f"{str(what)[:160]}: {fault}")


async def test_list_filters_refuse_hostile_values(glance: Glance) -> None:
    await glance.create(glance.alice, name="one", disk_format="raw", container_format="bare")
    for param in LIST_PARAMS:
        for value in HOSTILE_QUERY:
            r = await glance.http.get("/v2/images", params={param: value}, headers=glance.alice)
            expect_4xx(r, (param, value[:20]))
    for param in ("size_min", "size_max", "size"):
        for value in ("1e23", "100000000000000000000000", "-100000000000000000000000"):
            r = await glance.http.get("/v2/images", params={param: value}, headers=glance.alice)
            assert r.status_code == 400, (param, value, r.text)
            assert r.json()["message"].startswith(f"Invalid {param} value"), r.text


async def test_image_bodies_refuse_hostile_values(glance: Glance) -> None:
    img = await glance.create(glance.alice, name="target", disk_format="raw",
                              container_format="bare")
    fields = ["name", "visibility", "protected", "os_hidden", "min_disk", "min_ram",
              "disk_format", "container_format", "owner", "tags", "id", "kernel_id", "a_prop",
              BIG]
    for field in fields:
        for value in HOSTILE_VALUES:
            r = await glance.http.post("/v2/images", headers=glance.alice, json={field: value})
            expect_4xx(r, ("create", field, repr(value)[:20]))
            r = await glance.patch(glance.alice, img["id"], [
                {"op": "add", "path": f"/{field}", "value": value}])
            expect_4xx(r, ("patch", field, repr(value)[:20]))
    for body in HOSTILE_VALUES + [[{"op": v, "path": v, "value": v}] for v in HOSTILE_VALUES]:
        r = await glance.patch(glance.alice, img["id"], body)
        expect_4xx(r, ("patch body", repr(body)[:30]))
        r = await glance.http.post("/v2/images", content=json.dumps(body), headers={
            **glance.alice, "Content-Type": "application/json"})
        expect_4xx(r, ("create body", repr(body)[:30]))


async def test_nul_is_refused_everywhere_and_only_nul(glance: Glance) -> None:
    # PostgreSQL cannot store NUL in text: refused (400) on every database alike.
    for r in (await glance.http.post("/v2/images", headers=glance.alice, json={"name": "a\0"}),
              await glance.http.get("/v2/images", params={"name": "a\0"}, headers=glance.alice),
              await glance.http.get("/v2/images/a%00", headers=glance.alice)):
        assert r.status_code == 400, r.text
        assert r.json()["message"].startswith("Invalid input: text may not contain the NUL character")
    # A backslash followed by "u0000" is text like any other.
    img = await glance.create(glance.alice, name="back\\u0000slash")
    assert img["name"] == "back\\u0000slash"


async def probe(glance: Glance, who: dict[str, str], method: str, path: str,
                body: dict[str, Any], extra: tuple[str, ...] = ()) -> None:
    """Send `body` with each field (and each of `extra`) set to each hostile value, and each
    hostile value as the whole body: never a 5xx."""
    for field in (*body, *extra):
        for value in HOSTILE_VALUES:
            r = await glance.http.request(method, path, headers=who, json={**body, field: value})
            expect_4xx(r, (method, path, field, repr(value)[:20]))
    for value in HOSTILE_VALUES:
        r = await glance.http.request(method, path, headers=who, json=value)
        expect_4xx(r, (method, path, "body", repr(value)[:20]))


async def test_member_import_and_task_bodies_refuse_hostile_values(glance: Glance) -> None:
    img = await glance.create(glance.alice, name="s", disk_format="raw", container_format="bare")
    members = f"/v2/images/{img['id']}/members"
    await probe(glance, glance.alice, "POST", members, {"member": glance.beta})
    r = await glance.http.post(members, headers=glance.alice, json={"member": glance.beta})
    assert r.status_code == 200, r.text
    await probe(glance, glance.bob, "PUT", f"{members}/{glance.beta}", {"status": "accepted"})
    await probe(glance, glance.alice, "POST", f"/v2/images/{img['id']}/import",
                {"method": {"name": "glance-direct", "uri": "http://x/"}, "stores": ["file"],
                 "all_stores": False, "all_stores_must_succeed": True})
    await probe(glance, glance.alice, "POST", f"/v2/images/{img['id']}/import",
                {"method": {"name": "glance-direct"}}, extra=("method",))
    await probe(glance, glance.admin, "POST", "/v2/tasks",
                {"type": "import", "input": {"import_from": "http://x/", "import_from_format":
                                             "raw", "image_properties": {"name": "t"}}})
    await probe(glance, glance.admin, "POST", "/v2/tasks",
                {"type": "import", "input": {"import_from": "http://x/",
                                             "image_properties": {"name": "t"}}},
                extra=("input",))
    r = await glance.http.post("/v2/tasks", content='{"type": "import", "input": {"import_from":'
                               ' "http://x/", "image_properties": {}, "extra": NaN}}',
                               headers={**glance.admin, "Content-Type": "application/json"})
    expect_4xx(r, "NaN in a task's input")
    assert r.status_code == 400, r.text
    for value in ("1e23", LONG, "%00", "%F0%9F%92%A5", "-1"):
        for path in (f"/v2/images/{img['id']}/tags/{value}", f"/v2/images/{value}",
                     f"/v2/images/{value}/members/{value}", f"/v2/stores/{value}/{img['id']}",
                     f"/v2/tasks/{value}", f"/v2/images/{value}/tasks"):
            for method in ("GET", "PUT", "DELETE"):
                r = await glance.http.request(method, path, headers=glance.alice)
                expect_4xx(r, (method, path[:60]))
        for param in ("limit", "status", "type", "marker", "sort_key", "sort_dir"):
            r = await glance.http.get("/v2/tasks", params={param: value}, headers=glance.admin)
            expect_4xx(r, ("tasks", param, value[:20]))
    r = await glance.upload(glance.alice, img["id"], b"abc")
    assert r.status_code == 204, r.text
    for value in ("bytes=1e23-", "bytes=100000000000000000000000-",
                  "bytes=-100000000000000000000000", "bytes=0-100000000000000000000000",
                  "bytes=-", "bytes=1-0", BIG, "bytes=\u0000-1"):
        r = await glance.http.get(f"/v2/images/{img['id']}/file",
                                  headers={**glance.alice, "Range": value})
        expect_4xx(r, ("range", value[:30]))
    fresh = await glance.create(glance.alice, name="f", disk_format="raw", container_format="bare")
    for length in ("1e23", "100000000000000000000000", "-1", BIG):
        r = await glance.http.put(f"/v2/images/{fresh['id']}/file", content=b"abc", headers={
            **glance.alice, "Content-Type": "application/octet-stream",
            "Content-Length": length})
        expect_4xx(r, ("content-length", length[:20]))


async def test_metadefs_bodies_and_filters_refuse_hostile_values(glance: Glance) -> None:
    ns = "/v2/metadefs/namespaces"
    prop = {"name": "p", "title": "P", "type": "integer", "description": "d", "minimum": 0,
            "maximum": 10, "enum": [1, 2], "default": 1, "readonly": False, "operators": ["<or>"],
            "pattern": "x", "minLength": 1, "maxLength": 2, "items": {"type": "string"},
            "uniqueItems": True, "minItems": 0, "maxItems": 3, "additionalItems": False,
            "confidential": False}
    body = {"namespace": "N1", "display_name": "n", "description": "d", "visibility": "public",
            "protected": False, "owner": glance.alpha,
            "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "p_"}],
            "properties": {"p": {k: v for k, v in prop.items() if k != "name"}},
            "objects": [{"name": "o", "description": "d", "required": [],
                         "properties": {}}], "tags": [{"name": "t"}]}
    await probe(glance, glance.admin, "POST", ns, {**body, "namespace": "PROBE"})
    r = await glance.http.post(ns, headers=glance.admin, json=body)
    assert r.status_code == 201, r.text
    await probe(glance, glance.admin, "PUT", f"{ns}/N1", body)
    await probe(glance, glance.admin, "POST", f"{ns}/N1/properties", {**prop, "name": "q"})
    await probe(glance, glance.admin, "PUT", f"{ns}/N1/properties/p", prop)
    obj = {"name": "o2", "description": "d", "required": ["p"],
           "properties": {"p": {k: v for k, v in prop.items() if k != "name"}}}
    await probe(glance, glance.admin, "POST", f"{ns}/N1/objects", obj)
    await probe(glance, glance.admin, "PUT", f"{ns}/N1/objects/o", obj)
    await probe(glance, glance.admin, "POST", f"{ns}/N1/tags", {"tags": [{"name": "a"}]})
    await probe(glance, glance.admin, "PUT", f"{ns}/N1/tags/t", {"name": "t2"})
    await probe(glance, glance.admin, "POST", f"{ns}/N1/resource_types",
                {"name": "OS::Nova::Flavor", "prefix": "x", "properties_target": "y"})
    for raw in ('{"namespace": "N3", "properties": {"p": {"title": "t", "type": "number", '
                '"default": NaN}}}', '{"namespace": "N3", "properties": {"p": {"title": "t", '
                '"type": "number", "enum": [Infinity, -Infinity]}}}',
                '{"namespace": "N3", "properties": {"p": {"title": "t", "type": "number", '
                '"minimum": 1e400}}}'):
        r = await glance.http.post(ns, headers={**glance.admin,
                                                "Content-Type": "application/json"}, content=raw)
        expect_4xx(r, ("not a JSON number", raw[-40:]))
        assert r.status_code == 400, r.text
    for nested in ({"properties": {"p": v}} for v in HOSTILE_VALUES):
        r = await glance.http.post(ns, headers=glance.admin, json={**body, "namespace": "N2",
                                                                    **nested})
        expect_4xx(r, ("nested property", repr(nested)[:40]))
    for param in ("limit", "marker", "sort_key", "sort_dir", "visibility", "resource_types",
                  "resource_type"):
        for value in HOSTILE_QUERY:
            for path in (ns, f"{ns}/N1/objects", f"{ns}/N1/tags", f"{ns}/N1",
                         f"{ns}/N1/properties/p_p"):
                r = await glance.http.get(path, params={param: value}, headers=glance.alice)
                expect_4xx(r, (path, param, value[:20]))
