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
    # admin is a role the trustor does not hold there: refused
    body["trust"]["roles"] = [{"name": "admin"}]
    r = await keystone.http.post("/v3/OS-TRUST/trusts", headers=token, json=body)
    assert r.status_code == 403
    # a past expiry is a bad request
    body["trust"].update(roles=[{"name": "member"}], expires_at="2000-01-01T00:00:00Z")
    assert (await keystone.http.post("/v3/OS-TRUST/trusts", headers=token,
                                     json=body)).status_code == 400
    r = await keystone.http.get(f"/v3/OS-TRUST/trusts?trustor_user_id={trustor['user_id']}",
                                headers=token)
    assert [t["id"] for t in r.json()["trusts"]] == [trust["id"]]
    member = trust["roles"][0]["id"]
    assert (await keystone.http.head(f"/v3/OS-TRUST/trusts/{trust['id']}/roles/{member}",
                                     headers=token)).status_code == 200
    assert (await keystone.http.delete(f"/v3/OS-TRUST/trusts/{trust['id']}",
                                       headers=token)).status_code == 204
    assert (await keystone.http.get(f"/v3/OS-TRUST/trusts/{trust['id']}",
                                    headers=token)).status_code == 404


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
