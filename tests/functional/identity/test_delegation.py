"""Trusts, EC2 credentials and application-credential access rules."""

from __future__ import annotations

from tests.functional.identity.conftest import Keystone


async def test_trust_lifecycle_delegates_only_held_roles(keystone: Keystone) -> None:
    trustor = await keystone.make_user("trustor", "tr-pass", "tr-proj")
    trustee = await keystone.make_user("trustee", "te-pass")
    token = keystone.as_(await keystone.token("trustor", "tr-pass", "tr-proj"))
    body = {"trust": {"trustor_user_id": trustor["user_id"],
                      "trustee_user_id": trustee["user_id"],
                      "project_id": trustor["project_id"], "impersonation": False,
                      "roles": [{"name": "member"}]}}
    r = await keystone.http.post("/v3/OS-TRUST/trusts", headers=token, json=body)
    assert r.status_code == 201, r.text
    trust = r.json()["trust"]
    assert [x["name"] for x in trust["roles"]] == ["member"]
    assert trust["links"]["self"].endswith(f"/v3/OS-TRUST/trusts/{trust['id']}")
    # admin is a role the trustor does not hold there: Keystone answers as for a role it
    # cannot find (keystone/api/trusts.py _require_trustor_has_role_in_project)
    admin = (await keystone.http.get("/v3/roles?name=admin", headers=keystone.admin)).json()[
        "roles"][0]["id"]
    body["trust"]["roles"] = [{"name": "admin"}]
    r = await keystone.http.post("/v3/OS-TRUST/trusts", headers=token, json=body)
    assert (r.status_code, r.json()["error"]["message"]) == (
        404, f"Could not find role: {admin}."), r.text
    # a past expiry is a bad request
    body["trust"].update(roles=[{"name": "member"}], expires_at="2000-01-01T00:00:00Z")
    r = await keystone.http.post("/v3/OS-TRUST/trusts", headers=token, json=body)
    assert (r.status_code, r.json()["error"]["message"]) == (
        400, "The 'expires_at' must not be before now. The server could not comply with the "
             "request since it is either malformed or otherwise incorrect. The client is "
             "assumed to be in error."), r.text
    r = await keystone.http.get(f"/v3/OS-TRUST/trusts?trustor_user_id={trustor['user_id']}",
                                headers=token)
    assert [t["id"] for t in r.json()["trusts"]] == [trust["id"]]
    member = trust["roles"][0]["id"]
    r = await keystone.http.head(f"/v3/OS-TRUST/trusts/{trust['id']}/roles/{member}",
                                 headers=token)
    # with the Content-Type of its GET, as Keystone's HEAD
    assert (r.status_code, r.headers.get("content-type")) == (200, "application/json")
    assert (await keystone.http.delete(f"/v3/OS-TRUST/trusts/{trust['id']}",
                                       headers=token)).status_code == 204
    assert (await keystone.http.get(f"/v3/OS-TRUST/trusts/{trust['id']}",
                                    headers=token)).status_code == 404


async def test_trust_roles_are_checked_as_keystone_checks_them(keystone: Keystone) -> None:
    """keystone/api/trusts.py post: a trust on a project must delegate a role (403); a role
    named that does not exist, or that the trustor does not hold on the project (none without
    a project), is a 404; a trust with neither project nor roles is made."""
    trustor = await keystone.make_user("r-trustor", "p-r-trustor", "r-trustor-proj")
    trustee = await keystone.make_user("r-trustee", "p-r-trustee")
    me = keystone.as_(await keystone.token("r-trustor", "p-r-trustor", "r-trustor-proj"))
    member = (await keystone.http.get("/v3/roles?name=member", headers=keystone.admin)).json()[
        "roles"][0]["id"]
    base = {"trustor_user_id": trustor["user_id"], "trustee_user_id": trustee["user_id"],
            "impersonation": False}
    on_project = {**base, "project_id": trustor["project_id"]}
    no_such = "f00dfeed" * 4
    cases = [
        ({**on_project}, 403, "You are not authorized to perform the requested action: At "
                              "least one role should be specified."),
        ({**on_project, "roles": []}, 403, "You are not authorized to perform the requested "
                                           "action: At least one role should be specified."),
        ({**on_project, "roles": [{"name": "no-such-role"}]}, 404,
         "Role no-such-role is not defined"),
        ({**on_project, "roles": [{"id": no_such}]}, 404, f"Could not find role: {no_such}."),
        ({**base, "roles": [{"name": "member"}]}, 404, f"Could not find role: {member}."),
        ({**base, "project_id": no_such, "roles": [{"name": "member"}]}, 404,
         f"Could not find project: {no_such}."),
    ]
    for trust, status, message in cases:
        r = await keystone.http.post("/v3/OS-TRUST/trusts", headers=me, json={"trust": trust})
        assert (r.status_code, r.json()["error"]["message"]) == (status, message), (trust, r.text)
    r = await keystone.http.post("/v3/OS-TRUST/trusts", headers=me, json={"trust": base})
    assert r.status_code == 201, r.text
    assert (r.json()["trust"]["project_id"], r.json()["trust"]["roles"]) == (None, [])


async def test_ec2_credentials_are_per_user(keystone: Keystone) -> None:
    ids = await keystone.make_user("ec2user", "ec2-pass", "ec2-proj")
    other = await keystone.make_user("ec2other", "o-pass", "o-proj")
    me = keystone.as_(await keystone.token("ec2user", "ec2-pass", "ec2-proj"))
    url = f"/v3/users/{ids['user_id']}/credentials/OS-EC2"
    r = await keystone.http.post(url, headers=me, json={"tenant_id": ids["project_id"]})
    assert r.status_code == 201, r.text
    cred = r.json()["credential"]
    assert cred["tenant_id"] == ids["project_id"] and cred["access"] and cred["secret"]
    r = await keystone.http.get(f"{url}/{cred['access']}", headers=me)
    assert r.json()["credential"]["secret"] == cred["secret"]
    # another user can neither list nor read them
    them = keystone.as_(await keystone.token("ec2other", "o-pass", "o-proj"))
    assert (await keystone.http.get(url, headers=them)).status_code == 403
    assert other["user_id"] != ids["user_id"]
    assert (await keystone.http.delete(f"{url}/{cred['access']}", headers=me)).status_code == 204
    assert (await keystone.http.get(f"{url}/{cred['access']}", headers=me)).status_code == 404


async def test_access_rules_outlive_their_credential(keystone: Keystone) -> None:
    ids = await keystone.make_user("aruser", "ar-pass", "ar-proj")
    me = keystone.as_(await keystone.token("aruser", "ar-pass", "ar-proj"))
    rule = {"path": "/v2.1/servers/*/ips", "method": "GET", "service": "compute"}
    r = await keystone.http.post(f"/v3/users/{ids['user_id']}/application_credentials",
                                 headers=me, json={"application_credential": {
                                     "name": "ar", "access_rules": [rule],
                                     "expires_at": "2099-01-01T00:00:00.123456"}})
    assert r.status_code == 201, r.text
    cred = r.json()["application_credential"]
    assert cred["expires_at"] == "2099-01-01T00:00:00.123456"
    rule_id = cred["access_rules"][0]["id"]
    rules_url = f"/v3/users/{ids['user_id']}/access_rules"
    assert (await keystone.http.delete(f"{rules_url}/{rule_id}", headers=me)).status_code == 403
    assert (await keystone.http.delete(
        f"/v3/users/{ids['user_id']}/application_credentials/{cred['id']}",
        headers=me)).status_code == 204
    r = await keystone.http.get(rules_url, headers=me)
    assert [x["id"] for x in r.json()["access_rules"]] == [rule_id]
    assert (await keystone.http.delete(f"{rules_url}/{rule_id}", headers=me)).status_code == 204
    assert (await keystone.http.get(rules_url, headers=me)).json()["access_rules"] == []


async def test_application_credentials_as_keystone_30_shows_them(keystone: Keystone) -> None:
    """keystone/api/users.py and keystone/application_credential: the roles asked for plus
    every role they imply, each in full; `system: null`; `unrestricted` as given; no
    `access_rules` key without rules; a self link under /v3/application_credentials; and
    the token carries the implied roles too."""
    ids = await keystone.make_user("ac-view", "p-ac-view", "ac-view-proj", role="manager")
    me = keystone.as_(await keystone.token("ac-view", "p-ac-view", "ac-view-proj"))
    url = f"/v3/users/{ids['user_id']}/application_credentials"
    r = await keystone.http.post(url, headers=me, json={"application_credential": {
        "name": "view", "roles": [{"name": "manager"}]}})
    assert r.status_code == 201, r.text
    cred = r.json()["application_credential"]
    roles = {x["name"]: x for x in (await keystone.http.get(
        "/v3/roles", headers=keystone.admin)).json()["roles"]}
    shown = {name: {k: v for k, v in roles[name].items() if k != "links"}
             for name in ("manager", "member", "reader")}
    assert sorted(cred["roles"], key=lambda x: x["name"]) == list(shown.values())
    assert cred["system"] is None and cred["unrestricted"] is None and "access_rules" not in cred
    assert cred["links"] == {"self": f"http://testserver/v3/application_credentials/{cred['id']}"}
    for r in (await keystone.http.get(f"{url}/{cred['id']}", headers=me),
              await keystone.http.get(f"{url}?name=view", headers=me)):
        body = r.json()
        [shown_cred] = body.get("application_credentials") or [body["application_credential"]]
        assert shown_cred == {k: v for k, v in cred.items() if k != "secret"}
    r = await keystone.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}})
    assert r.status_code == 201, r.text
    assert {x["name"] for x in r.json()["token"]["roles"]} == {"manager", "member", "reader"}
    assert r.json()["token"]["application_credential"]["restricted"] is True

    r = await keystone.http.post(url, headers=me, json={"application_credential": {
        "name": "given", "unrestricted": False}})
    assert r.json()["application_credential"]["unrestricted"] is False

    admin_role = roles["admin"]["id"]
    refusals = [
        ({"name": "view"}, 409, "Conflict occurred attempting to store application_credential "
                                "- Duplicate entry found with name view."),
        ({"name": "x", "roles": [{"name": "no-such-role"}]}, 404,
         "Role no-such-role is not defined"),
        ({"name": "x", "roles": [{"name": "admin"}]}, 400,
         "Invalid application credential: Cannot create an application credential with "
         "unassigned role"),
        ({"name": "x", "roles": [{"id": admin_role}]}, 400,
         "Invalid application credential: Cannot create an application credential with "
         "unassigned role"),
    ]
    for body, status, message in refusals:
        r = await keystone.http.post(url, headers=me, json={"application_credential": body})
        assert (r.status_code, r.json()["error"]["message"]) == (status, message), (body, r.text)


async def test_application_credential_delegates_no_more_than_its_token(
        keystone: Keystone) -> None:
    """Keystone checks the roles against the caller's token: a token from an application
    credential limited to reader cannot make one with member, though the user holds it."""
    ids = await keystone.make_user("ac-narrow", "p-ac-narrow", "ac-narrow-proj")
    password = await keystone.token("ac-narrow", "p-ac-narrow", "ac-narrow-proj")
    _, token = await keystone.app_credential(password, ids["user_id"], "reader-only",
                                             roles=[{"name": "reader"}], unrestricted=True)
    url = f"/v3/users/{ids['user_id']}/application_credentials"
    r = await keystone.http.post(url, headers=keystone.as_(token), json={
        "application_credential": {"name": "wider", "roles": [{"name": "member"}]}})
    assert (r.status_code, r.json()["error"]["message"]) == (
        400, "Invalid application credential: Cannot create an application credential with "
             "unassigned role"), r.text
    # with no roles named, it gets the token's roles, not the user's
    r = await keystone.http.post(url, headers=keystone.as_(token), json={
        "application_credential": {"name": "same"}})
    assert r.status_code == 201, r.text
    assert [x["name"] for x in r.json()["application_credential"]["roles"]] == ["reader"]


async def test_application_credential_tokens_cannot_manage_trusts(keystone: Keystone) -> None:
    """Keystone's _check_application_credential: restricted or not, 403 on every trust call."""
    trustor = await keystone.make_user("ac-trustor", "p-ac-trustor", "ac-trustor-proj")
    trustee = await keystone.make_user("ac-trustee", "p-ac-trustee")
    password_token = await keystone.token("ac-trustor", "p-ac-trustor", "ac-trustor-proj")
    body = {"trust": {"trustor_user_id": trustor["user_id"],
                      "trustee_user_id": trustee["user_id"],
                      "project_id": trustor["project_id"], "impersonation": False,
                      "roles": [{"name": "member"}]}}
    r = await keystone.http.post("/v3/OS-TRUST/trusts", headers=keystone.as_(password_token),
                                 json=body)
    assert r.status_code == 201, r.text
    trust_id = r.json()["trust"]["id"]
    refused = {"error": {"code": 403, "title": "Forbidden", "message": (
        "You are not authorized to perform the requested action: Using method "
        "'application_credential' is not allowed for managing trusts..")}}
    for name, fields in (("restricted", {}), ("unrestricted", {"unrestricted": True})):
        _, token = await keystone.app_credential(password_token, trustor["user_id"], name,
                                                 **fields)
        me = keystone.as_(token)
        calls = [("POST", "/v3/OS-TRUST/trusts", body),
                 ("GET", f"/v3/OS-TRUST/trusts?trustor_user_id={trustor['user_id']}", None),
                 ("GET", f"/v3/OS-TRUST/trusts/{trust_id}", None),
                 ("GET", f"/v3/OS-TRUST/trusts/{trust_id}/roles", None),
                 ("DELETE", f"/v3/OS-TRUST/trusts/{trust_id}", None)]
        for method, url, payload in calls:
            r = await keystone.http.request(method, url, headers=me, json=payload)
            assert r.status_code == 403, (name, method, url, r.text)
            assert r.json() == refused
    r = await keystone.http.get(f"/v3/OS-TRUST/trusts?trustor_user_id={trustor['user_id']}",
                                headers=keystone.as_(password_token))
    assert [t["id"] for t in r.json()["trusts"]] == [trust_id]
