"""The metadata definitions catalog through HTTP: namespaces and their objects, properties, tags
and resource type associations; visibility across projects, admin-only writes, protection."""

from __future__ import annotations

from typing import Any

import httpx

from tests.functional.image.conftest import Glance

NS = "/v2/metadefs/namespaces"
SEEDED = ["OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Aggregate",
          "OS::Nova::Server", "OS::Trove::Instance"]
HYPERVISOR = {"title": "Hypervisor Type", "type": "string", "enum": ["kvm", "qemu"],
              "description": "The hypervisor type."}


async def make(glance: Glance, **body: Any) -> dict[str, Any]:
    body.setdefault("visibility", "public")
    r = await glance.http.post(NS, headers=glance.admin, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def codes(glance: Glance, who: dict[str, str], calls: list[tuple[str, str, Any]]
                ) -> list[int]:
    out = []
    for method, path, body in calls:
        r: httpx.Response = await glance.http.request(method, path, headers=who, json=body)
        out.append(r.status_code)
    return out


async def test_resource_types_are_seeded_and_readable(glance: Glance) -> None:
    r = await glance.http.get("/v2/metadefs/resource_types", headers=glance.alice)
    assert r.status_code == 200, r.text
    types = r.json()["resource_types"]
    assert [t["name"] for t in types] == SEEDED
    assert set(types[0]) == {"name", "created_at", "updated_at"}
    r = await glance.http.get("/v2/metadefs/resource_types")
    assert r.status_code == 401


async def test_namespace_round_trip_with_contents(glance: Glance) -> None:
    r = await glance.http.post(NS, headers=glance.admin, json={
        "namespace": "OS::Compute::Hypervisor", "display_name": "Hypervisor Selection",
        "description": "Choose capabilities.", "visibility": "public", "protected": False,
        "properties": {"hypervisor_type": HYPERVISOR},
        "objects": [{"name": "CPU Limits", "required": ["quota:cpu_period"], "properties": {
            "quota:cpu_period": {"title": "Quota: CPU Period", "type": "integer",
                                 "minimum": 1000}}}],
        "tags": [{"name": "fast"}],
        "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "hw_"},
                                       {"name": "OS::Nova::Flavor", "prefix": "hw:"}]})
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith(f"{NS}/OS::Compute::Hypervisor")
    created = r.json()
    assert created["owner"] and created["visibility"] == "public"
    assert created["self"] == f"{NS}/OS::Compute::Hypervisor"
    assert created["schema"] == "/v2/schemas/metadefs/namespace"
    assert created["properties"] == {"hypervisor_type": HYPERVISOR}
    assert created["tags"] == [{"name": "fast"}]
    assert created["objects"][0]["self"] == f"{NS}/OS::Compute::Hypervisor/objects/CPU Limits"
    shown = (await glance.http.get(f"{NS}/OS::Compute::Hypervisor", headers=glance.alice)).json()
    assert shown == created
    assert {a["name"]: a["prefix"] for a in shown["resource_type_associations"]} == {
        "OS::Glance::Image": "hw_", "OS::Nova::Flavor": "hw:"}

    # ?resource_type= puts that association's prefix on property names.
    r = await glance.http.get(f"{NS}/OS::Compute::Hypervisor?resource_type=OS::Nova::Flavor",
                              headers=glance.alice)
    assert list(r.json()["properties"]) == ["hw:hypervisor_type"]
    assert r.json()["objects"][0]["required"] == ["hw:quota:cpu_period"]
    r = await glance.http.get(f"{NS}/OS::Compute::Hypervisor/properties/hw_hypervisor_type"
                              "?resource_type=OS::Glance::Image", headers=glance.alice)
    assert r.status_code == 200 and r.json()["name"] == "hypervisor_type"
    r = await glance.http.get(f"{NS}/OS::Compute::Hypervisor/properties/hypervisor_type"
                              "?resource_type=OS::Glance::Image", headers=glance.alice)
    assert r.status_code == 404

    listed = (await glance.http.get(NS, headers=glance.alice)).json()
    assert listed["schema"] == "/v2/schemas/metadefs/namespaces" and listed["first"] == NS
    item = next(n for n in listed["namespaces"] if n["namespace"] == "OS::Compute::Hypervisor")
    assert len(item["resource_type_associations"]) == 2 and "properties" not in item
    r = await glance.http.get(f"{NS}?resource_types=OS::Nova::Flavor", headers=glance.alice)
    assert [n["namespace"] for n in r.json()["namespaces"]] == ["OS::Compute::Hypervisor"]
    r = await glance.http.get(f"{NS}?resource_types=OS::Nova::Server", headers=glance.alice)
    assert r.json()["namespaces"] == []

    # PUT replaces the namespace's own attributes (a rename too), not its contents.
    r = await glance.http.put(f"{NS}/OS::Compute::Hypervisor", headers=glance.admin, json={
        "namespace": "OS::Compute::Hyper", "visibility": "private", "protected": True})
    assert r.status_code == 200, r.text
    updated = r.json()
    assert (updated["namespace"], updated["visibility"], updated["protected"]) == (
        "OS::Compute::Hyper", "private", True)
    assert "display_name" not in updated and "properties" not in updated
    assert (await glance.http.get(f"{NS}/OS::Compute::Hypervisor", headers=glance.admin)
            ).status_code == 404
    shown = (await glance.http.get(f"{NS}/OS::Compute::Hyper", headers=glance.admin)).json()
    assert shown["properties"] == {"hypervisor_type": HYPERVISOR}

    r = await glance.http.delete(f"{NS}/OS::Compute::Hyper", headers=glance.admin)
    assert r.status_code == 403  # protected
    r = await glance.http.put(f"{NS}/OS::Compute::Hyper", headers=glance.admin,
                              json={"namespace": "OS::Compute::Hyper"})
    assert r.json()["protected"] is False and r.json()["visibility"] == "private"
    r = await glance.http.delete(f"{NS}/OS::Compute::Hyper", headers=glance.admin)
    assert r.status_code == 204
    assert (await glance.http.get(f"{NS}/OS::Compute::Hyper", headers=glance.admin)
            ).status_code == 404
    # The resource types stay when the namespace goes.
    types = (await glance.http.get("/v2/metadefs/resource_types", headers=glance.admin)).json()
    assert [t["name"] for t in types["resource_types"]] == SEEDED


async def test_private_namespace_of_another_project_is_404(glance: Glance) -> None:
    await make(glance, namespace="alpha-ns", visibility="private", owner=glance.alpha,
               tags=[{"name": "t"}], properties={"p": HYPERVISOR}, objects=[{"name": "o"}])
    await make(glance, namespace="admin-private", visibility="private")
    await make(glance, namespace="everyone", visibility="public")

    def names(r: httpx.Response) -> set[str]:
        return {n["namespace"] for n in r.json()["namespaces"]}

    assert names(await glance.http.get(NS, headers=glance.alice)) == {"alpha-ns", "everyone"}
    assert names(await glance.http.get(NS, headers=glance.bob)) == {"everyone"}
    assert {"alpha-ns", "admin-private", "everyone"} <= names(
        await glance.http.get(NS, headers=glance.admin))
    assert names(await glance.http.get(f"{NS}?visibility=private", headers=glance.alice)) == {
        "alpha-ns"}
    for path in ("", "/objects", "/objects/o", "/properties", "/properties/p", "/tags",
                 "/tags/t", "/resource_types"):
        assert (await glance.http.get(f"{NS}/alpha-ns{path}", headers=glance.alice)
                ).status_code == 200, path
        assert (await glance.http.get(f"{NS}/alpha-ns{path}", headers=glance.bob)
                ).status_code == 404, path
    # Writes on what bob cannot see are 404 too, never 403.
    assert await codes(glance, glance.bob, [
        ("PUT", f"{NS}/alpha-ns", {"namespace": "alpha-ns"}),
        ("DELETE", f"{NS}/alpha-ns", None),
        ("POST", f"{NS}/alpha-ns/objects", {"name": "x"}),
        ("DELETE", f"{NS}/alpha-ns/tags", None),
        ("POST", f"{NS}/alpha-ns/tags/new", None),
    ]) == [404] * 5


async def test_writes_are_admin_only(glance: Glance) -> None:
    await make(glance, namespace="alpha-ns", visibility="private", owner=glance.alpha,
               tags=[{"name": "t"}], properties={"p": HYPERVISOR}, objects=[{"name": "o"}],
               resource_type_associations=[{"name": "OS::Glance::Image"}])
    r = await glance.http.post(NS, headers=glance.alice, json={"namespace": "mine"})
    assert r.status_code == 403 and r.json()["code"] == "403 Forbidden"
    n = f"{NS}/alpha-ns"
    assert await codes(glance, glance.alice, [
        ("PUT", n, {"namespace": "alpha-ns"}),
        ("DELETE", n, None),
        ("POST", f"{n}/objects", {"name": "x"}),
        ("PUT", f"{n}/objects/o", {"name": "o"}),
        ("DELETE", f"{n}/objects/o", None),
        ("DELETE", f"{n}/objects", None),
        ("POST", f"{n}/properties", {"name": "q", **HYPERVISOR}),
        ("PUT", f"{n}/properties/p", {"name": "p", **HYPERVISOR}),
        ("DELETE", f"{n}/properties/p", None),
        ("DELETE", f"{n}/properties", None),
        ("POST", f"{n}/tags/new", None),
        ("POST", f"{n}/tags", {"tags": [{"name": "a"}]}),
        ("PUT", f"{n}/tags/t", {"name": "u"}),
        ("DELETE", f"{n}/tags/t", None),
        ("DELETE", f"{n}/tags", None),
        ("POST", f"{n}/resource_types", {"name": "OS::Nova::Flavor"}),
        ("DELETE", f"{n}/resource_types/OS::Glance::Image", None),
    ]) == [403] * 17
    shown = (await glance.http.get(n, headers=glance.alice)).json()
    assert shown["tags"] == [{"name": "t"}] and list(shown["properties"]) == ["p"]
    assert [o["name"] for o in shown["objects"]] == ["o"]


async def test_protected_namespace_keeps_its_contents(glance: Glance) -> None:
    await make(glance, namespace="locked", protected=True, tags=[{"name": "t"}],
               properties={"p": HYPERVISOR}, objects=[{"name": "o"}],
               resource_type_associations=[{"name": "OS::Glance::Image"}])
    n = f"{NS}/locked"
    assert await codes(glance, glance.admin, [
        ("DELETE", n, None),
        ("DELETE", f"{n}/objects/o", None),
        ("DELETE", f"{n}/objects", None),
        ("DELETE", f"{n}/properties/p", None),
        ("DELETE", f"{n}/properties", None),
        ("DELETE", f"{n}/tags/t", None),
        ("DELETE", f"{n}/tags", None),
        ("DELETE", f"{n}/resource_types/OS::Glance::Image", None),
    ]) == [403] * 8
    # Adding to a protected namespace is allowed; a missing child is still 404.
    assert await codes(glance, glance.admin, [
        ("POST", f"{n}/tags/t2", None),
        ("DELETE", f"{n}/tags/nope", None),
    ]) == [201, 404]
    r = await glance.http.put(n, headers=glance.admin, json={"namespace": "locked",
                                                             "visibility": "public"})
    assert r.status_code == 200 and r.json()["protected"] is False
    assert await codes(glance, glance.admin, [
        ("DELETE", f"{n}/objects/o", None),
        ("DELETE", f"{n}/properties", None),
        ("DELETE", f"{n}/tags", None),
        ("DELETE", f"{n}/resource_types/OS::Glance::Image", None),
        ("DELETE", f"{n}/resource_types/OS::Glance::Image", None),
    ]) == [204, 204, 204, 204, 404]
    shown = (await glance.http.get(n, headers=glance.admin)).json()
    for key in ("objects", "properties", "tags", "resource_type_associations"):
        assert key not in shown


async def test_objects_properties_and_tags(glance: Glance) -> None:
    await make(glance, namespace="ns")
    n = f"{NS}/ns"
    h = glance.admin
    # objects
    r = await glance.http.post(f"{n}/objects", headers=h, json={
        "name": "CPU Limits", "description": "d",
        "properties": {"quota:cpu_shares": {"title": "Shares", "type": "integer"}}})
    assert r.status_code == 201, r.text
    obj = r.json()
    assert obj["schema"] == "/v2/schemas/metadefs/object" and "required" not in obj
    assert (await glance.http.get(f"{n}/objects/CPU Limits", headers=glance.bob)).json() == obj
    r = await glance.http.put(f"{n}/objects/CPU Limits", headers=h, json={"name": "CPU"})
    assert r.status_code == 200 and r.json()["properties"] == {} and "description" not in r.json()
    r = await glance.http.get(f"{n}/objects", headers=glance.bob)
    assert [o["name"] for o in r.json()["objects"]] == ["CPU"]
    assert r.json()["schema"] == "v2/schemas/metadefs/objects"
    assert (await glance.http.delete(f"{n}/objects/CPU", headers=h)).status_code == 204
    assert (await glance.http.get(f"{n}/objects/CPU", headers=h)).status_code == 404
    assert (await glance.http.delete(f"{n}/objects/CPU", headers=h)).status_code == 404

    # properties
    r = await glance.http.post(f"{n}/properties", headers=h, json={"name": "hv", **HYPERVISOR})
    assert r.status_code == 201 and r.json() == {"name": "hv", **HYPERVISOR}
    assert (await glance.http.get(f"{n}/properties/hv", headers=glance.bob)).json() == r.json()
    r = await glance.http.put(f"{n}/properties/hv", headers=h,
                              json={"name": "hv2", "title": "T", "type": "boolean"})
    assert r.status_code == 200 and r.json() == {"name": "hv2", "title": "T", "type": "boolean"}
    r = await glance.http.get(f"{n}/properties", headers=h)
    assert r.json() == {"properties": {"hv2": {"title": "T", "type": "boolean"}}}
    assert (await glance.http.delete(f"{n}/properties/hv2", headers=h)).status_code == 204
    assert (await glance.http.get(f"{n}/properties", headers=h)).json() == {"properties": {}}

    # tags: bulk create replaces, X-Openstack-Append adds
    r = await glance.http.post(f"{n}/tags", headers=h,
                               json={"tags": [{"name": "a"}, {"name": "b"}, {"name": "c"}]})
    assert r.status_code == 201 and r.json() == {"tags": [{"name": "a"}, {"name": "b"},
                                                          {"name": "c"}]}
    r = await glance.http.post(f"{n}/tags", headers=h, json={"tags": [{"name": "x"}]})
    assert sorted(t["name"] for t in (await glance.http.get(f"{n}/tags", headers=h)).json()[
        "tags"]) == ["x"]
    r = await glance.http.post(f"{n}/tags", headers={**h, "X-Openstack-Append": "True"},
                               json={"tags": [{"name": "y"}]})
    assert r.status_code == 201
    r = await glance.http.post(f"{n}/tags/z", headers=h)
    assert r.status_code == 201 and r.json()["name"] == "z" and r.json()["created_at"]
    r = await glance.http.get(f"{n}/tags?sort_key=name&sort_dir=asc", headers=glance.bob)
    assert [t["name"] for t in r.json()["tags"]] == ["x", "y", "z"]
    r = await glance.http.get(f"{n}/tags?sort_key=name&sort_dir=asc&limit=1&marker=x",
                              headers=h)
    assert [t["name"] for t in r.json()["tags"]] == ["y"]
    r = await glance.http.put(f"{n}/tags/z", headers=h, json={"name": "zz"})
    assert r.status_code == 200 and r.json()["name"] == "zz"
    assert (await glance.http.get(f"{n}/tags/zz", headers=h)).json()["name"] == "zz"
    assert (await glance.http.get(f"{n}/tags/z", headers=h)).status_code == 404
    assert (await glance.http.delete(f"{n}/tags/zz", headers=h)).status_code == 204
    assert (await glance.http.delete(f"{n}/tags", headers=h)).status_code == 204
    assert (await glance.http.get(f"{n}/tags", headers=h)).json() == {"tags": []}

    # resource type associations; an unknown resource type is created on first use
    r = await glance.http.post(f"{n}/resource_types", headers=h,
                               json={"name": "OS::Cinder::Volume", "prefix": "hw_",
                                     "properties_target": "image"})
    assert r.status_code == 201, r.text
    assert (r.json()["name"], r.json()["prefix"], r.json()["properties_target"]) == (
        "OS::Cinder::Volume", "hw_", "image")
    r = await glance.http.post(f"{n}/resource_types", headers=h, json={"name": "X::New::Type"})
    assert r.status_code == 201 and "prefix" not in r.json()
    r = await glance.http.get(f"{n}/resource_types", headers=glance.bob)
    assert [a["name"] for a in r.json()["resource_type_associations"]] == [
        "OS::Cinder::Volume", "X::New::Type"]
    r = await glance.http.get("/v2/metadefs/resource_types", headers=h)
    assert [t["name"] for t in r.json()["resource_types"]] == [*SEEDED, "X::New::Type"]
    r = await glance.http.delete(f"{n}/resource_types/OS::Cinder::Volume", headers=h)
    assert r.status_code == 204
    r = await glance.http.get(f"{n}/resource_types", headers=h)
    assert [a["name"] for a in r.json()["resource_type_associations"]] == ["X::New::Type"]


async def test_duplicates_are_409(glance: Glance) -> None:
    await make(glance, namespace="one", tags=[{"name": "t"}], properties={"p": HYPERVISOR},
               objects=[{"name": "o"}], resource_type_associations=[{"name": "OS::Nova::Flavor"}])
    await make(glance, namespace="two", objects=[{"name": "o2"}])
    n = f"{NS}/one"
    assert await codes(glance, glance.admin, [
        ("POST", NS, {"namespace": "one"}),
        ("PUT", f"{NS}/two", {"namespace": "one"}),
        ("POST", f"{n}/objects", {"name": "o"}),
        ("POST", f"{n}/properties", {"name": "p", **HYPERVISOR}),
        ("POST", f"{n}/tags/t", None),
        ("POST", f"{n}/tags", {"tags": [{"name": "a"}, {"name": "a"}]}),
        ("POST", f"{n}/tags", {"tags": [{"name": "t"}]}),  # replaces the tags: no clash
        ("POST", f"{n}/resource_types", {"name": "OS::Nova::Flavor"}),
        ("POST", NS, {"namespace": "three", "objects": [{"name": "x"}, {"name": "x"}]}),
    ]) == [409, 409, 409, 409, 409, 409, 201, 409, 409]
    r = await glance.http.post(f"{n}/tags", headers={**glance.admin, "X-Openstack-Append": "yes"},
                               json={"tags": [{"name": "t"}]})
    assert r.status_code == 409
    await glance.http.post(f"{n}/objects", headers=glance.admin, json={"name": "o3"})
    r = await glance.http.put(f"{n}/objects/o3", headers=glance.admin, json={"name": "o"})
    assert r.status_code == 409
    # A failed create leaves nothing behind.
    assert (await glance.http.get(f"{NS}/three", headers=glance.admin)).status_code == 404


async def test_bad_input(glance: Glance) -> None:
    await make(glance, namespace="ns")
    n = f"{NS}/ns"
    cases: list[tuple[str, str, Any, int]] = [
        ("POST", NS, {}, 400),
        ("POST", NS, {"namespace": "x" * 81}, 400),
        ("POST", NS, {"namespace": "v", "visibility": "shared"}, 400),
        ("POST", NS, {"namespace": "v", "protected": "yes"}, 400),
        ("POST", NS, {"namespace": "v", "colour": "blue"}, 400),
        ("POST", NS, {"namespace": "v", "properties": {"p": {"title": "no type"}}}, 400),
        ("POST", NS, {"namespace": "v", "created_at": "now"}, 403),
        ("POST", NS, {"namespace": "v", "self": "/x"}, 403),
        ("PUT", n, {"visibility": "public"}, 400),
        ("POST", f"{n}/properties", {"name": "p", "title": "t"}, 400),
        ("POST", f"{n}/properties", {"name": "p", "title": "t", "type": "text"}, 400),
        ("POST", f"{n}/properties", {"title": "t", "type": "string"}, 400),
        ("POST", f"{n}/properties", {"name": "p", "title": "t", "type": "string",
                                     "minLength": -1}, 400),
        ("POST", f"{n}/properties", {"name": "p", "title": "t", "type": "string",
                                     "colour": 1}, 400),
        ("POST", f"{n}/objects", {"description": "no name"}, 400),
        ("POST", f"{n}/objects", {"name": "o", "required": ["a", "a"]}, 400),
        ("POST", f"{n}/objects", {"name": "o", "properties": {"p": {"type": "string"}}}, 400),
        ("POST", f"{n}/tags/{'t' * 81}", None, 400),
        ("POST", f"{n}/tags", {"tags": [{"nom": "a"}]}, 400),
        ("POST", f"{n}/tags", [{"name": "a"}], 400),
        ("PUT", f"{n}/tags/t", {}, 400),
        ("POST", f"{n}/resource_types", {"prefix": "hw_"}, 400),
        ("POST", f"{n}/resource_types", {"name": "R", "created_at": "x"}, 403),
        ("GET", f"{NS}?limit=many", None, 400),
        ("GET", f"{NS}?limit=-1", None, 400),
        ("GET", f"{NS}?sort_dir=up", None, 400),
        ("GET", f"{NS}?sort_key=colour", None, 400),
        ("GET", f"{NS}?visibility=shared", None, 400),
        ("GET", f"{NS}?marker=nope", None, 404),
        ("GET", f"{n}/tags?sort_key=colour", None, 400),
        ("PATCH", n, {}, 405),
    ]
    for method, path, body, code in cases:
        r = await glance.http.request(method, path, headers=glance.admin, json=body)
        assert r.status_code == code, (method, path, body, r.text)
        assert r.json()["code"].startswith(str(code)), r.text
    r = await glance.http.post(NS, headers=glance.admin, content=b"{not json")
    assert r.status_code == 400
    names = [x["namespace"] for x in (await glance.http.get(NS, headers=glance.admin)).json()[
        "namespaces"]]
    assert names == ["ns"]


async def test_namespace_pages(glance: Glance) -> None:
    for name in ("a", "b", "c"):
        await make(glance, namespace=name)
    r = await glance.http.get(f"{NS}?limit=2&sort_key=namespace&sort_dir=asc",
                              headers=glance.alice)
    body = r.json()
    assert [n["namespace"] for n in body["namespaces"]] == ["a", "b"]
    assert "marker=b" in body["next"] and "limit=2" in body["next"]
    assert body["first"] == f"{NS}?limit=2&sort_key=namespace&sort_dir=asc"
    r = await glance.http.get(body["next"], headers=glance.alice)
    assert [n["namespace"] for n in r.json()["namespaces"]] == ["c"] and "next" not in r.json()
    r = await glance.http.get(NS, headers=glance.alice)  # newest first by default
    assert [n["namespace"] for n in r.json()["namespaces"]] == ["c", "b", "a"]


async def test_schemas(glance: Glance) -> None:
    expected = {"namespace": "namespace", "namespaces": "namespaces", "object": "object",
                "objects": "objects", "property": "property", "properties": "properties",
                "tag": "tag", "tags": "tags", "resource_type": "resource_type_association",
                "resource_types": "resource_type_associations"}
    for path, name in expected.items():
        r = await glance.http.get(f"/v2/schemas/metadefs/{path}", headers=glance.alice)
        assert r.status_code == 200, path
        assert r.json()["name"] == name
    namespace = (await glance.http.get("/v2/schemas/metadefs/namespace", headers=glance.bob)
                 ).json()
    assert namespace["required"] == ["namespace"] and namespace["additionalProperties"] is False
    assert namespace["properties"]["visibility"]["enum"] == ["public", "private"]
    prop = (await glance.http.get("/v2/schemas/metadefs/property", headers=glance.bob)).json()
    assert prop["required"] == ["type", "title", "name"]
