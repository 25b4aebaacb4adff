"""OS-EP-FILTER narrows a project-scoped token's catalog; /v3/auth/{catalog,projects,domains,
system} answer for the caller's token."""

from __future__ import annotations

from typing import Any

from tests.functional.identity.conftest import Keystone


async def _endpoints(keystone: Keystone) -> dict[str, Any]:
    """Two services, three endpoints: compute public (RegionOne) and internal, volume public
    (RegionTwo)."""
    http, h = keystone.http, keystone.admin
    out: dict[str, Any] = {}
    for type_ in ("compute", "volumev3"):
        r = await http.post("/v3/services", headers=h,
                            json={"service": {"type": type_, "name": f"{type_}-svc"}})
        out[type_] = r.json()["service"]["id"]
    for key, svc, interface, region in (("cp", "compute", "public", "RegionOne"),
                                        ("ci", "compute", "internal", "RegionOne"),
                                        ("vp", "volumev3", "public", "RegionTwo")):
        r = await http.post("/v3/endpoints", headers=h, json={"endpoint": {
            "service_id": out[svc], "interface": interface, "region_id": region,
            "url": f"http://{key}.example:1/$(project_id)s"}})
        assert r.status_code == 201, r.text
        out[key] = r.json()["endpoint"]["id"]
    return out


def _ids(catalog: list[dict[str, Any]]) -> set[str]:
    return {e["id"] for svc in catalog for e in svc["endpoints"]}


async def test_project_endpoints_and_groups_filter_the_token_catalog(keystone: Keystone) -> None:
    http, h = keystone.http, keystone.admin
    eps = await _endpoints(keystone)
    ids = await keystone.make_user("cat", "cat-pass", "cat-proj")
    other = await keystone.make_user("dog", "dog-pass", "dog-proj")
    project = ids["project_id"]

    token = await keystone.token("cat", "cat-pass", "cat-proj")
    r = await http.get("/v3/auth/tokens", headers={**h, "X-Subject-Token": token})
    full = _ids(r.json()["token"]["catalog"])
    assert {eps["cp"], eps["ci"], eps["vp"]} <= full

    # One endpoint associated: the token's catalog holds it alone, and no empty service
    pe = f"/v3/OS-EP-FILTER/projects/{project}/endpoints/{eps['vp']}"
    assert (await http.put(pe, headers=h)).status_code == 204
    token = await keystone.token("cat", "cat-pass", "cat-proj")
    r = await http.post("/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": token}},
        "scope": {"project": {"id": project}}}})
    catalog = r.json()["token"]["catalog"]
    assert _ids(catalog) == {eps["vp"]}
    assert [svc["type"] for svc in catalog] == ["volumev3"]
    assert catalog[0]["endpoints"][0]["url"] == f"http://vp.example:1/{project}"
    r = await http.get("/v3/auth/catalog", headers=keystone.as_(token))
    assert _ids(r.json()["catalog"]) == {eps["vp"]}
    assert r.json()["links"]["self"].endswith("/v3/auth/catalog")

    # An endpoint group adds what its filters select
    r = await http.post("/v3/OS-EP-FILTER/endpoint_groups", headers=h, json={"endpoint_group": {
        "name": "compute-public", "filters": {"service_id": eps["compute"],
                                              "interface": "public"}}})
    group = r.json()["endpoint_group"]["id"]
    gp = f"/v3/OS-EP-FILTER/endpoint_groups/{group}/projects/{project}"
    assert (await http.put(gp, headers=h)).status_code == 204
    token = await keystone.token("cat", "cat-pass", "cat-proj")
    r = await http.get("/v3/auth/tokens", headers={**h, "X-Subject-Token": token})
    assert _ids(r.json()["token"]["catalog"]) == {eps["vp"], eps["cp"]}

    # Another project is not filtered
    dog = await keystone.token("dog", "dog-pass", "dog-proj")
    r = await http.get("/v3/auth/catalog", headers=keystone.as_(dog))
    assert _ids(r.json()["catalog"]) == full
    assert other["project_id"] != project

    # Associations removed: the whole catalog again
    assert (await http.delete(gp, headers=h)).status_code == 204
    assert (await http.delete(pe, headers=h)).status_code == 204
    token = await keystone.token("cat", "cat-pass", "cat-proj")
    r = await http.get("/v3/auth/catalog", headers=keystone.as_(token))
    assert _ids(r.json()["catalog"]) == full


async def test_a_deleted_endpoint_leaves_the_filter(keystone: Keystone) -> None:
    http, h = keystone.http, keystone.admin
    eps = await _endpoints(keystone)
    ids = await keystone.make_user("eel", "eel-pass", "eel-proj")
    pe = f"/v3/OS-EP-FILTER/projects/{ids['project_id']}/endpoints/{eps['ci']}"
    assert (await http.put(pe, headers=h)).status_code == 204
    token = await keystone.token("eel", "eel-pass", "eel-proj")
    r = await http.get("/v3/auth/catalog", headers=keystone.as_(token))
    assert _ids(r.json()["catalog"]) == {eps["ci"]}
    assert (await http.delete(f"/v3/endpoints/{eps['ci']}", headers=h)).status_code == 204
    r = await http.get("/v3/auth/catalog", headers=keystone.as_(token))
    assert eps["cp"] in _ids(r.json()["catalog"])  # no association left: unfiltered


async def test_auth_views(keystone: Keystone) -> None:
    http, h = keystone.http, keystone.admin
    ids = await keystone.make_user("fox", "fox-pass", "fox-proj")
    r = await http.get("/v3/roles?name=reader", headers=h)
    reader = r.json()["roles"][0]["id"]
    assert (await http.put(f"/v3/domains/default/users/{ids['user_id']}/roles/{reader}",
                           headers=h)).status_code == 204
    project_token = keystone.as_(await keystone.token("fox", "fox-pass", "fox-proj"))

    r = await http.get("/v3/auth/projects", headers=project_token)
    assert [p["id"] for p in r.json()["projects"]] == [ids["project_id"]]
    r = await http.get("/v3/auth/domains", headers=project_token)
    assert [d["id"] for d in r.json()["domains"]] == ["default"]
    r = await http.get("/v3/auth/system", headers=project_token)
    assert r.json()["system"] == [] and r.json()["links"]["self"].endswith("/v3/auth/system")
    for path in ("/v3/auth/projects", "/v3/auth/domains", "/v3/auth/system",
                 "/v3/auth/catalog"):
        r = await http.head(path, headers=project_token)
        assert r.status_code == 200 and r.content == b"", path

    # A domain-scoped token has no catalog here, as Keystone (a project scope is needed)
    r = await http.post("/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "fox", "domain": {"id": "default"}, "password": "fox-pass"}}},
        "scope": {"domain": {"id": "default"}}}})
    assert r.status_code == 201, r.text
    domain_token = keystone.as_(r.headers["X-Subject-Token"])
    r = await http.get("/v3/auth/catalog", headers=domain_token)
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "You are not authorized to perform the requested action."

    # The admin has the system
    r = await http.get("/v3/auth/system", headers=h)
    assert r.json()["system"] == [{"all": True}]
