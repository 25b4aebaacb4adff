"""OS-OAUTH1 consumers, /v3/policies, domain configuration and OS-EP-FILTER."""

from __future__ import annotations

from tests.functional.identity.conftest import Keystone


async def test_consumers_hide_secret_after_create(keystone: Keystone) -> None:
    h, http = keystone.admin, keystone.http
    r = await http.post("/v3/OS-OAUTH1/consumers", headers=h,
                        json={"consumer": {"description": "app", "owner": "ops"}})
    assert r.status_code == 201, r.text
    c = r.json()["consumer"]
    assert c["secret"] and c["description"] == "app" and c["owner"] == "ops"
    assert c["links"]["self"].endswith(f"/v3/OS-OAUTH1/consumers/{c['id']}")
    r = await http.get(f"/v3/OS-OAUTH1/consumers/{c['id']}", headers=h)
    shown = r.json()["consumer"]
    assert "secret" not in shown and shown["description"] == "app"
    r = await http.patch(f"/v3/OS-OAUTH1/consumers/{c['id']}", headers=h,
                         json={"consumer": {"description": "new"}})
    assert r.status_code == 200 and r.json()["consumer"]["description"] == "new"
    r = await http.patch(f"/v3/OS-OAUTH1/consumers/{c['id']}", headers=h,
                         json={"consumer": {"secret": "mine"}})
    assert r.status_code == 400
    r = await http.get("/v3/OS-OAUTH1/consumers", headers=h)
    assert [x["id"] for x in r.json()["consumers"]] == [c["id"]]
    assert "secret" not in r.json()["consumers"][0]
    assert (await http.delete(f"/v3/OS-OAUTH1/consumers/{c['id']}", headers=h)).status_code == 204
    r = await http.get(f"/v3/OS-OAUTH1/consumers/{c['id']}", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == 404


async def test_policies_crud_and_member_refused(keystone: Keystone) -> None:
    h, http = keystone.admin, keystone.http
    r = await http.post("/v3/policies", headers=h, json={"policy": {
        "type": "application/json", "blob": '{"a": "b"}', "color": "red"}})
    assert r.status_code == 201, r.text
    p = r.json()["policy"]
    assert p["type"] == "application/json" and p["blob"] == '{"a": "b"}' and p["color"] == "red"
    assert (await http.post("/v3/policies", headers=h,
                            json={"policy": {"type": "x"}})).status_code == 400
    r = await http.patch(f"/v3/policies/{p['id']}", headers=h, json={"policy": {"type": "t2"}})
    assert r.status_code == 200 and r.json()["policy"]["type"] == "t2"
    r = await http.get("/v3/policies?type=t2", headers=h)
    assert [x["id"] for x in r.json()["policies"]] == [p["id"]]
    await keystone.make_user("pam", "pam-pass", "pam-proj")
    me = keystone.as_(await keystone.token("pam", "pam-pass", "pam-proj"))
    assert (await http.get("/v3/policies", headers=me)).status_code == 403
    assert (await http.get("/v3/OS-OAUTH1/consumers", headers=me)).status_code == 403
    assert (await http.delete(f"/v3/policies/{p['id']}", headers=h)).status_code == 204
    assert (await http.get(f"/v3/policies/{p['id']}", headers=h)).status_code == 404


async def test_domain_config_lifecycle(keystone: Keystone) -> None:
    h, http = keystone.admin, keystone.http
    d = (await http.post("/v3/domains", headers=h,
                         json={"domain": {"name": "ldapdom"}})).json()["domain"]
    base = f"/v3/domains/{d['id']}/config"
    assert (await http.get(base, headers=h)).status_code == 404
    config = {"identity": {"driver": "ldap"},
              "ldap": {"url": "ldap://x:389/", "user_tree_dn": "ou=Users", "password": "s3"}}
    r = await http.put(base, headers=h, json={"config": config})
    assert r.status_code == 201, r.text
    assert r.json()["config"] == {"identity": {"driver": "ldap"},
                                  "ldap": {"url": "ldap://x:389/", "user_tree_dn": "ou=Users"}}
    r = await http.put(base, headers=h, json={"config": config})
    assert r.status_code == 200
    r = await http.get(f"{base}/ldap/url", headers=h)
    assert r.json() == {"config": {"url": "ldap://x:389/"}}
    assert (await http.get(f"{base}/ldap/password", headers=h)).status_code == 404
    r = await http.patch(f"{base}/identity", headers=h,
                         json={"config": {"identity": {"driver": "sql", "list_limit": 5}}})
    assert r.status_code == 200 and r.json()["config"]["identity"] == {"driver": "sql",
                                                                        "list_limit": 5}
    r = await http.patch(f"{base}/identity/driver", headers=h, json={"config": {"driver": "x"}})
    assert r.status_code == 200 and r.json()["config"]["identity"]["driver"] == "x"
    r = await http.patch(f"{base}/identity/driver", headers=h,
                         json={"config": {"list_limit": 1}})
    assert r.status_code == 403
    # unsupported groups and options: 403, as Keystone's InvalidDomainConfig
    r = await http.put(base, headers=h, json={"config": {"assignment": {"driver": "sql"}}})
    assert r.status_code == 403 and r.json()["error"]["code"] == 403
    assert (await http.get(f"{base}/ldap/nonsense", headers=h)).status_code == 403
    assert (await http.put(base, headers=h, json={"config": {}})).status_code == 403
    r = await http.patch(base, headers=h, json={"config": {"ldap": {"url": "ldap://y"}}})
    assert r.json()["config"]["ldap"]["url"] == "ldap://y"
    assert (await http.delete(f"{base}/identity/driver", headers=h)).status_code == 204
    assert (await http.get(f"{base}/identity/driver", headers=h)).status_code == 404
    assert (await http.delete(f"{base}/identity/driver", headers=h)).status_code == 404
    assert (await http.delete(f"{base}/identity", headers=h)).status_code == 204
    assert (await http.get(f"{base}/identity", headers=h)).status_code == 404
    assert (await http.delete(base, headers=h)).status_code == 204
    assert (await http.get(base, headers=h)).status_code == 404
    assert (await http.put("/v3/domains/nope/config", headers=h,
                           json={"config": config})).status_code == 404


async def test_domain_config_defaults(keystone: Keystone) -> None:
    h, http = keystone.admin, keystone.http
    r = await http.get("/v3/domains/config/default", headers=h)
    assert r.status_code == 200
    config = r.json()["config"]
    assert config["identity"]["driver"] == "sql" and "list_limit" in config["identity"]
    assert config["ldap"]["url"] == "ldap://localhost" and "password" not in config["ldap"]
    r = await http.get("/v3/domains/config/ldap/default", headers=h)
    assert list(r.json()["config"]) == ["ldap"]
    r = await http.get("/v3/domains/config/ldap/user_tree_dn/default", headers=h)
    assert r.json() == {"config": {"user_tree_dn": None}}
    assert (await http.get("/v3/domains/config/ldap/password/default",
                           headers=h)).status_code == 403
    assert (await http.get("/v3/domains/config/token/default", headers=h)).status_code == 403


async def test_endpoint_groups_and_project_endpoints(keystone: Keystone) -> None:
    h, http = keystone.admin, keystone.http
    svc = (await http.post("/v3/services", headers=h, json={"service": {
        "type": "thing", "name": "thing"}})).json()["service"]
    eps = []
    for iface in ("public", "internal"):
        r = await http.post("/v3/endpoints", headers=h, json={"endpoint": {
            "service_id": svc["id"], "interface": iface, "url": f"http://{iface}"}})
        eps.append(r.json()["endpoint"])
    proj = (await http.post("/v3/projects", headers=h,
                            json={"project": {"name": "epf"}})).json()["project"]
    r = await http.post("/v3/OS-EP-FILTER/endpoint_groups", headers=h, json={"endpoint_group": {
        "name": "pub", "description": "d",
        "filters": {"service_id": svc["id"], "interface": "public"}}})
    assert r.status_code == 201, r.text
    g = r.json()["endpoint_group"]
    r = await http.get("/v3/OS-EP-FILTER/endpoint_groups", headers=h)
    assert g in r.json()["endpoint_groups"]
    assert (await http.head(f"/v3/OS-EP-FILTER/endpoint_groups/{g['id']}",
                            headers=h)).status_code == 200
    assert (await http.post("/v3/OS-EP-FILTER/endpoint_groups", headers=h, json={
        "endpoint_group": {"name": "bad", "filters": {"enabled": True}}})).status_code == 400
    assert (await http.post("/v3/OS-EP-FILTER/endpoint_groups", headers=h, json={
        "endpoint_group": {"name": "bad", "filters": {"interface": "public"}, "x": 1}}
    )).status_code == 400
    r = await http.get(f"/v3/OS-EP-FILTER/endpoint_groups/{g['id']}/endpoints", headers=h)
    assert [e["id"] for e in r.json()["endpoints"]] == [eps[0]["id"]]
    r = await http.patch(f"/v3/OS-EP-FILTER/endpoint_groups/{g['id']}", headers=h,
                         json={"endpoint_group": {"name": "pub2"}})
    assert r.status_code == 200 and r.json()["endpoint_group"]["name"] == "pub2"
    # the group on a project
    url = f"/v3/OS-EP-FILTER/endpoint_groups/{g['id']}/projects/{proj['id']}"
    assert (await http.get(url, headers=h)).status_code == 404
    assert (await http.put(url, headers=h)).status_code == 204
    assert (await http.put(url, headers=h)).status_code == 409
    r = await http.get(url, headers=h)
    assert r.json()["project_endpoint_group"]["project_id"] == proj["id"]
    r = await http.get(f"/v3/OS-EP-FILTER/endpoint_groups/{g['id']}/projects", headers=h)
    assert [p["id"] for p in r.json()["projects"]] == [proj["id"]]
    r = await http.get(f"/v3/OS-EP-FILTER/projects/{proj['id']}/endpoint_groups", headers=h)
    assert [x["id"] for x in r.json()["endpoint_groups"]] == [g["id"]]
    # a single endpoint on the project
    pe = f"/v3/OS-EP-FILTER/projects/{proj['id']}/endpoints/{eps[1]['id']}"
    assert (await http.head(pe, headers=h)).status_code == 404
    assert (await http.put(pe, headers=h)).status_code == 204
    assert (await http.head(pe, headers=h)).status_code == 204
    r = await http.get(f"/v3/OS-EP-FILTER/projects/{proj['id']}/endpoints", headers=h)
    assert sorted(e["id"] for e in r.json()["endpoints"]) == sorted(e["id"] for e in eps)
    r = await http.get(f"/v3/OS-EP-FILTER/endpoints/{eps[1]['id']}/projects", headers=h)
    assert [p["id"] for p in r.json()["projects"]] == [proj["id"]]
    assert (await http.put(f"/v3/OS-EP-FILTER/projects/{proj['id']}/endpoints/nope",
                           headers=h)).status_code == 404
    assert (await http.delete(pe, headers=h)).status_code == 204
    assert (await http.delete(pe, headers=h)).status_code == 404
    assert (await http.delete(url, headers=h)).status_code == 204
    assert (await http.delete(f"/v3/OS-EP-FILTER/endpoint_groups/{g['id']}",
                              headers=h)).status_code == 204
    r = await http.get(f"/v3/OS-EP-FILTER/endpoint_groups/{g['id']}", headers=h)
    assert r.status_code == 404
