"""CRUD of domains, projects, users, groups, roles, catalog; errors; policy personas."""

from __future__ import annotations

import asyncio

from tests.functional.identity.conftest import Keystone


async def test_project_lifecycle_and_errors(keystone: Keystone) -> None:
    h = keystone.admin
    r = await keystone.http.post("/v3/projects", headers=h, json={"project": {
        "name": "demo", "description": "Demo Project", "domain_id": "default", "color": "blue"}})
    assert r.status_code == 201, r.text
    p = r.json()["project"]
    assert p["description"] == "Demo Project" and p["enabled"] is True
    assert p["color"] == "blue" and p["is_domain"] is False and p["parent_id"] == "default"
    r = await keystone.http.post("/v3/projects", headers=h, json={"project": {"name": "demo"}})
    assert r.status_code == 409 and r.json()["error"]["title"] == "Conflict"
    r = await keystone.http.post("/v3/projects", headers=h, json={"project": {
        "name": "x", "enabled": "yes"}})
    assert r.status_code == 400
    r = await keystone.http.post("/v3/projects", headers=h, json={"project": {"name": "y" * 65}})
    assert r.status_code == 400
    r = await keystone.http.patch(f"/v3/projects/{p['id']}", headers=h,
                                  json={"project": {"enabled": False}})
    assert r.status_code == 200 and r.json()["project"]["enabled"] is False
    r = await keystone.http.get("/v3/projects?name=demo", headers=h)
    assert [x["id"] for x in r.json()["projects"]] == [p["id"]]
    assert (await keystone.http.delete(f"/v3/projects/{p['id']}", headers=h)).status_code == 204
    r = await keystone.http.get(f"/v3/projects/{p['id']}", headers=h)
    assert r.status_code == 404
    assert r.json()["error"]["message"] == f"Could not find project: {p['id']}."


async def test_project_hierarchy_and_tags(keystone: Keystone) -> None:
    h = keystone.admin
    parent = (await keystone.http.post("/v3/projects", headers=h, json={"project": {
        "name": "parent", "tags": ["a"]}})).json()["project"]
    child = (await keystone.http.post("/v3/projects", headers=h, json={"project": {
        "name": "child", "parent_id": parent["id"]}})).json()["project"]
    assert child["parent_id"] == parent["id"] and child["domain_id"] == "default"
    r = await keystone.http.get(f"/v3/projects/{parent['id']}?subtree_as_ids", headers=h)
    assert r.json()["project"]["subtree"] == {child["id"]: None}
    assert (await keystone.http.delete(f"/v3/projects/{parent['id']}",
                                       headers=h)).status_code == 403
    assert (await keystone.http.put(f"/v3/projects/{parent['id']}/tags/b",
                                    headers=h)).status_code == 201
    r = await keystone.http.get(f"/v3/projects/{parent['id']}/tags", headers=h)
    assert r.json()["tags"] == ["a", "b"]
    r = await keystone.http.get("/v3/projects?tags=a,b", headers=h)
    assert [p["name"] for p in r.json()["projects"]] == ["parent"]


async def test_member_is_refused_admin_apis_and_sees_only_own(keystone: Keystone) -> None:
    ids = await keystone.make_user("dave", "dave-pass", "dave-proj")
    other = await keystone.make_user("erin", "erin-pass", "erin-proj")
    token = await keystone.token("dave", "dave-pass", "dave-proj")
    me = keystone.as_(token)
    # `openstack service list` as a plain user: 403, as the install guides show
    r = await keystone.http.get("/v3/services", headers=me)
    assert r.status_code == 403 and r.json()["error"]["code"] == 403
    assert (await keystone.http.get("/v3/users", headers=me)).status_code == 403
    assert (await keystone.http.post("/v3/projects", headers=me, json={"project": {
        "name": "mine"}})).status_code == 403
    assert (await keystone.http.get(f"/v3/users/{ids['user_id']}", headers=me)).status_code == 200
    assert (await keystone.http.get(f"/v3/users/{other['user_id']}",
                                    headers=me)).status_code == 403
    assert (await keystone.http.get(f"/v3/projects/{other['project_id']}",
                                    headers=me)).status_code == 403
    r = await keystone.http.get("/v3/auth/projects", headers=me)
    assert [p["name"] for p in r.json()["projects"]] == ["dave-proj"]
    r = await keystone.http.get(f"/v3/users/{ids['user_id']}/projects", headers=me)
    assert [p["name"] for p in r.json()["projects"]] == ["dave-proj"]
    r = await keystone.http.get("/v3/auth/catalog", headers=me)
    assert any(s["type"] == "identity" for s in r.json()["catalog"])


async def test_groups_grants_and_effective_assignments(keystone: Keystone) -> None:
    h = keystone.admin
    user = (await keystone.make_user("frank", "frank-pass"))["user_id"]
    project = (await keystone.http.post("/v3/projects", headers=h, json={"project": {
        "name": "team"}})).json()["project"]["id"]
    group = (await keystone.http.post("/v3/groups", headers=h, json={"group": {
        "name": "devs"}})).json()["group"]["id"]
    assert (await keystone.http.put(f"/v3/groups/{group}/users/{user}",
                                    headers=h)).status_code == 204
    assert (await keystone.http.head(f"/v3/groups/{group}/users/{user}",
                                     headers=h)).status_code == 204
    member = (await keystone.http.get("/v3/roles?name=member",
                                      headers=h)).json()["roles"][0]["id"]
    assert (await keystone.http.put(f"/v3/projects/{project}/groups/{group}/roles/{member}",
                                    headers=h)).status_code == 204
    # frank gets a project token through the group
    await keystone.token("frank", "frank-pass", "team")
    r = await keystone.http.get(f"/v3/role_assignments?user.id={user}&effective&include_names",
                                headers=h)
    rows = r.json()["role_assignments"]
    assert {(a["role"]["name"], a["scope"]["project"]["name"]) for a in rows} == {
        ("member", "team"), ("reader", "team")}
    assert all(a["links"]["membership"].endswith(f"/v3/groups/{group}/users/{user}")
               for a in rows)
    r = await keystone.http.get(f"/v3/role_assignments?scope.project.id={project}", headers=h)
    [direct] = r.json()["role_assignments"]
    assert direct["group"]["id"] == group and direct["role"]["id"] == member


async def test_catalog_crud_shows_in_new_tokens(keystone: Keystone) -> None:
    h = keystone.admin
    svc = (await keystone.http.post("/v3/services", headers=h, json={"service": {
        "name": "swift", "type": "object-store", "description": "OpenStack Object Storage"}})
           ).json()["service"]
    assert svc["name"] == "swift" and svc["enabled"] is True
    r = await keystone.http.post("/v3/endpoints", headers=h, json={"endpoint": {
        "service_id": svc["id"], "interface": "public", "url": "http://controller:8080/v1",
        "region_id": "RegionOne"}})
    assert r.status_code == 201, r.text
    r = await keystone.http.post("/v3/endpoints", headers=h, json={"endpoint": {
        "service_id": svc["id"], "interface": "sideways", "url": "http://x"}})
    assert r.status_code == 400
    token = await keystone.token("admin", "admin-secret", "admin")
    body = (await keystone.http.get("/v3/auth/tokens", headers={
        **keystone.admin, "X-Subject-Token": token})).json()["token"]
    # (bootstrap registered Overcast's own object-store too: this test's is the one it made)
    [swift] = [s for s in body["catalog"] if s["id"] == svc["id"]]
    assert swift["name"] == "swift"
    assert swift["endpoints"][0]["url"] == "http://controller:8080/v1"
    # bootstrap registered the services Overcast runs, the image service among them
    [image] = [s for s in body["catalog"] if s["type"] == "image"]
    assert image["name"] == "glance"


async def test_unknown_routes_and_methods_speak_keystone(keystone: Keystone) -> None:
    r = await keystone.http.get("/v3/nothing-here", headers=keystone.admin)
    assert r.status_code == 404 and set(r.json()["error"]) == {"code", "title", "message"}
    r = await keystone.http.put("/v3/users", headers=keystone.admin)
    assert r.status_code == 405 and r.json()["error"]["code"] == 405


async def test_concurrent_writes_on_sqlite_never_5xx(keystone: Keystone) -> None:
    """SQLite under concurrent writers: every request succeeds (Keystone's 'database is
    locked' 500s are the failure this guards against)."""

    async def make(i: int) -> int:
        r = await keystone.http.post("/v3/projects", headers=keystone.admin,
                                     json={"project": {"name": f"p{i}"}})
        return r.status_code

    async def tag(i: int) -> int:
        r = await keystone.http.get("/v3/projects", headers=keystone.admin)
        return r.status_code

    codes = await asyncio.gather(*(make(i) for i in range(40)), *(tag(i) for i in range(20)))
    assert set(codes[:40]) == {201} and set(codes[40:]) == {200}
    r = await keystone.http.get("/v3/projects", headers=keystone.admin)
    assert len([p for p in r.json()["projects"] if p["name"].startswith("p")]) == 40


async def test_conflicts_and_missing_assignments_in_keystones_words(keystone: Keystone) -> None:
    h, http = keystone.admin, keystone.http
    # a project name taken in its domain: Keystone names the refused project's (new) id
    taken = (await http.post("/v3/projects", headers=h, json={"project": {
        "name": "taken"}})).json()["project"]
    r = await http.post("/v3/projects", headers=h, json={"project": {"name": "taken"}})
    prefix = ("Conflict occurred attempting to store project - it is not permitted to have two "
              "projects with either the same name or same id in the same domain: name is "
              "taken, project id ")
    message = r.json()["error"]["message"]
    assert r.status_code == 409 and message.startswith(prefix), r.text
    refused_id = message.removeprefix(prefix).removesuffix(".")
    assert len(refused_id) == 32 and refused_id != taken["id"]
    other = (await http.post("/v3/projects", headers=h, json={"project": {
        "name": "other"}})).json()["project"]
    r = await http.patch(f"/v3/projects/{other['id']}", headers=h,
                         json={"project": {"name": "taken"}})
    assert (r.status_code, r.json()["error"]["message"]) == (
        409, f"{prefix}{other['id']}."), r.text
    # a domain name taken, by either API (a domain is a project acting as a domain there)
    await http.post("/v3/domains", headers=h, json={"domain": {"name": "dom-taken"}})
    for url, body in (("/v3/domains", {"domain": {"name": "dom-taken"}}),
                      ("/v3/projects", {"project": {"name": "dom-taken", "is_domain": True}})):
        r = await http.post(url, headers=h, json=body)
        assert (r.status_code, r.json()["error"]["message"]) == (
            409, "Conflict occurred attempting to store project - it is not permitted to have "
                 "two projects acting as domains with the same name: dom-taken."), r.text
    # an EC2 credential's id is its access key's: a second one with that key is a conflict
    me = (await http.get("/v3/auth/tokens", headers={**h, "X-Subject-Token": keystone.admin_token}
                         )).json()["token"]
    ec2 = {"credential": {"type": "ec2", "user_id": me["user"]["id"],
                          "project_id": me["project"]["id"],
                          "blob": '{"access": "dup-access", "secret": "s"}'}}
    first = (await http.post("/v3/credentials", headers=h, json=ec2)).json()["credential"]
    r = await http.post("/v3/credentials", headers=h, json=ec2)
    assert (r.status_code, r.json()["error"]["message"]) == (
        409, "Conflict occurred attempting to store credential - Duplicate entry found with "
             f"ID {first['id']}."), r.text
    # any other credential's id is drawn by the service, whatever the body says
    r = await http.post("/v3/credentials", headers=h, json={"credential": {
        "id": "chosen", "type": "cert", "user_id": me["user"]["id"], "blob": "PEM"}})
    assert r.status_code == 201 and r.json()["credential"]["id"] != "chosen", r.text
    # a grant removed twice
    reader = (await http.get("/v3/roles?name=reader", headers=h)).json()["roles"][0]["id"]
    user = (await http.post("/v3/users", headers=h, json={"user": {
        "name": "granted"}})).json()["user"]["id"]
    for grant, target in ((f"/v3/projects/{taken['id']}/users/{user}/roles/{reader}", taken["id"]),
                          (f"/v3/system/users/{user}/roles/{reader}", "system")):
        assert (await http.put(grant, headers=h)).status_code == 204
        assert (await http.delete(grant, headers=h)).status_code == 204
        r = await http.delete(grant, headers=h)
        assert (r.status_code, r.json()["error"]["message"]) == (
            404, f"Could not find role assignment with role: {reader}, user or group: {user}, "
                 f"project, domain, or system: {target}."), r.text


async def test_patch_answers_repeat_extra_attributes(keystone: Keystone) -> None:
    """Keystone's PATCH of a project or a user answers its extra attributes twice: at the top
    level and under `extra` (its driver's to_dict(include_extra_dict=True)); nothing else
    does."""
    h, http = keystone.admin, keystone.http
    p = (await http.post("/v3/projects", headers=h, json={"project": {
        "name": "plain"}})).json()["project"]
    assert "extra" not in p
    r = await http.patch(f"/v3/projects/{p['id']}", headers=h,
                         json={"project": {"description": "d"}})
    assert r.status_code == 200 and r.json()["project"]["extra"] == {}, r.text
    r = await http.patch(f"/v3/projects/{p['id']}", headers=h,
                         json={"project": {"color": "red"}})
    assert r.json()["project"]["color"] == "red"
    assert r.json()["project"]["extra"] == {"color": "red"}
    assert "extra" not in (await http.get(f"/v3/projects/{p['id']}", headers=h)).json()["project"]
    d = (await http.post("/v3/projects", headers=h, json={"project": {
        "name": "pdom", "is_domain": True}})).json()["project"]
    r = await http.patch(f"/v3/projects/{d['id']}", headers=h,
                         json={"project": {"description": "x"}})
    assert r.json()["project"]["extra"] == {}
    assert "extra" not in (await http.patch(f"/v3/domains/{d['id']}", headers=h, json={
        "domain": {"description": "y"}})).json()["domain"]
    u = (await http.post("/v3/users", headers=h, json={"user": {
        "name": "mailed", "email": "a@example.org"}})).json()["user"]
    assert "extra" not in u
    r = await http.patch(f"/v3/users/{u['id']}", headers=h,
                         json={"user": {"email": "b@example.org", "password": "pw-mailed"}})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["email"] == "b@example.org"
    assert r.json()["user"]["extra"] == {"email": "b@example.org"}
    assert "extra" not in (await http.get(f"/v3/users/{u['id']}", headers=h)).json()["user"]


async def test_a_users_groups_show_membership_expiry(keystone: Keystone) -> None:
    h, http = keystone.admin, keystone.http
    g = (await http.post("/v3/groups", headers=h, json={"group": {
        "name": "expiring"}})).json()["group"]
    u = (await http.post("/v3/users", headers=h, json={"user": {
        "name": "in-group"}})).json()["user"]
    assert (await http.put(f"/v3/groups/{g['id']}/users/{u['id']}", headers=h)).status_code == 204
    r = await http.get(f"/v3/users/{u['id']}/groups", headers=h)
    # null: only federated memberships expire (keystone/identity/core.py)
    assert r.json()["groups"] == [{**g, "membership_expires_at": None}]
    assert "membership_expires_at" not in (await http.get(f"/v3/groups/{g['id']}",
                                                          headers=h)).json()["group"]


async def test_adding_a_tag_answers_as_keystone(keystone: Keystone) -> None:
    """keystone/api/projects.py ProjectTagResource.put: 201, an empty text/html body, and a
    Location, the tag percent-encoded; a tag outside latin-1 too. (Keystone's Location leaves
    out "projects/"; ours leads to the tag.)"""
    h, http = keystone.admin, keystone.http
    p = (await http.post("/v3/projects", headers=h, json={"project": {
        "name": "tagged"}})).json()["project"]
    for tag, encoded in (("new-tag", "new-tag"), ("euro-€", "euro-%E2%82%AC"),
                         ("a b", "a%20b")):
        r = await http.put(f"/v3/projects/{p['id']}/tags/{tag}", headers=h)
        assert r.status_code == 201, r.text
        assert r.content == b""
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert r.headers["location"] == f"http://testserver/v3/projects/{p['id']}/tags/{encoded}"
        assert (await http.get(f"/v3/projects/{p['id']}/tags/{tag}",
                               headers=h)).status_code == 204
    r = await http.get(f"/v3/projects/{p['id']}/tags", headers=h)
    assert r.json()["tags"] == ["new-tag", "euro-€", "a b"]
