"""Trusts used: tokens scoped with OS-TRUST:trust, as Keystone makes and checks them.

Facts: keystone/auth/core.py (the scope), keystone/models/token_model.py (who may use a trust,
which roles its token carries, when it stops validating), keystone/common/render_token.py (the
body), keystone/trust/core.py (redelegation), keystone/api/_shared/authentication.py (uses).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.identity.conftest import Keystone

pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)

GENERIC_403 = "You are not authorized to perform the requested action."
GENERIC_401 = "The request you have made requires authentication."


async def _role_id(k: Keystone, name: str) -> str:
    r = await k.http.get(f"/v3/roles?name={name}", headers=k.admin)
    found = r.json()["roles"]
    if found:
        return str(found[0]["id"])
    r = await k.http.post("/v3/roles", headers=k.admin, json={"role": {"name": name}})
    return str(r.json()["role"]["id"])


async def _parties(k: Keystone) -> dict[str, str]:
    """A trustor with member and `delegated-x` on a project, and a trustee with no role there."""
    trustor = await k.make_user("trustor", "trustor-pw", "trust-proj", role="member")
    extra = await _role_id(k, "delegated-x")
    r = await k.http.put(f"/v3/projects/{trustor['project_id']}/users/{trustor['user_id']}"
                         f"/roles/{extra}", headers=k.admin)
    assert r.status_code == 204, r.text
    trustee = await k.make_user("trustee", "trustee-pw")
    return {"trustor": trustor["user_id"], "project": trustor["project_id"],
            "trustee": trustee["user_id"], "extra_role": extra,
            "trustor_token": await k.token("trustor", "trustor-pw", "trust-proj")}


async def _trust(k: Keystone, p: dict[str, str], token: str | None = None,
                 **fields: Any) -> dict[str, Any]:
    body = {"trustor_user_id": p["trustor"], "trustee_user_id": p["trustee"],
            "project_id": p["project"], "impersonation": False,
            "roles": [{"name": "member"}], **fields}
    r = await k.http.post("/v3/OS-TRUST/trusts", headers=k.as_(token or p["trustor_token"]),
                          json={"trust": body})
    assert r.status_code == 201, r.text
    return dict(r.json()["trust"])


def _trust_auth(user: str, password: str, trust_id: str) -> dict[str, Any]:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"OS-TRUST:trust": {"id": trust_id}}}}


async def _validate(k: Keystone, token: str) -> Any:
    return await k.http.get("/v3/auth/tokens", headers={**k.admin, "X-Subject-Token": token})


async def test_trustee_gets_a_token_with_only_the_trusts_roles(keystone: Keystone) -> None:
    k = keystone
    p = await _parties(k)
    trust = await _trust(k, p)
    r = await k.http.post("/v3/auth/tokens", json=_trust_auth("trustee", "trustee-pw", trust["id"]))
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert token["user"]["id"] == p["trustee"]
    assert token["OS-TRUST:trust"] == {"id": trust["id"], "trustor_user": {"id": p["trustor"]},
                                       "trustee_user": {"id": p["trustee"]},
                                       "impersonation": False}
    assert token["project"]["id"] == p["project"] and "is_domain" not in token
    # member and what it implies (reader); not the trustor's other role
    assert {role["name"] for role in token["roles"]} == {"member", "reader"}
    assert token["catalog"]
    v = await _validate(k, r.headers["X-Subject-Token"])
    assert v.status_code == 200 and v.json()["token"]["OS-TRUST:trust"]["id"] == trust["id"]
    # the token works as a credential: its holder acts in the trust's project
    me = await k.http.get(f"/v3/projects/{p['project']}",
                          headers=k.as_(r.headers["X-Subject-Token"]))
    assert me.status_code == 200, me.text


async def test_impersonation_makes_the_trustor_the_tokens_user(keystone: Keystone) -> None:
    k = keystone
    p = await _parties(k)
    trust = await _trust(k, p, impersonation=True)
    # a trustee's unscoped token rescoped to the trust works as a password does
    unscoped = await k.token("trustee", "trustee-pw")
    r = await k.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["token"], "token": {"id": unscoped}},
        "scope": {"OS-TRUST:trust": {"id": trust["id"]}}}})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert token["user"]["id"] == p["trustor"] and token["user"]["name"] == "trustor"
    assert token["OS-TRUST:trust"]["impersonation"] is True
    assert token["OS-TRUST:trust"]["trustee_user"] == {"id": p["trustee"]}


async def test_only_the_trustee_may_use_a_trust(keystone: Keystone) -> None:
    k = keystone
    p = await _parties(k)
    trust = await _trust(k, p)
    await k.make_user("stranger", "stranger-pw")
    r = await k.http.post("/v3/auth/tokens", json=_trust_auth("stranger", "stranger-pw", trust["id"]))
    assert (r.status_code, r.json()["error"]["message"]) == (403, GENERIC_403), r.text
    r = await k.http.post("/v3/auth/tokens", json=_trust_auth("trustee", "trustee-pw", "f" * 32))
    assert (r.status_code, r.json()["error"]["message"]) == (401, GENERIC_401), r.text


async def test_remaining_uses_are_spent_by_tokens_made(keystone: Keystone) -> None:
    k = keystone
    p = await _parties(k)
    trust = await _trust(k, p, remaining_uses=2)
    tokens = []
    for _ in range(2):
        r = await k.http.post("/v3/auth/tokens",
                              json=_trust_auth("trustee", "trustee-pw", trust["id"]))
        assert r.status_code == 201, r.text
        tokens.append(r.headers["X-Subject-Token"])
    # as Keystone 30 (recorded): a used-up trust no longer validates its tokens either
    v = await _validate(k, tokens[0])
    assert (v.status_code, v.json()["error"]["message"]) == (
        404, f"Could not find trust: {trust['id']}."), v.text
    r = await k.http.post("/v3/auth/tokens", json=_trust_auth("trustee", "trustee-pw", trust["id"]))
    assert (r.status_code, r.json()["error"]["message"]) == (401, GENERIC_401), r.text
    # a failed login spends nothing: a new trust with one use still has it after a bad password
    one = await _trust(k, p, remaining_uses=1, roles=[{"name": "reader"}])
    bad = await k.http.post("/v3/auth/tokens", json=_trust_auth("trustee", "wrong", one["id"]))
    assert bad.status_code == 401
    shown = await k.http.get(f"/v3/OS-TRUST/trusts/{one['id']}",
                             headers=k.as_(p["trustor_token"]))
    assert shown.json()["trust"]["remaining_uses"] == 1


async def test_token_stops_validating_when_the_trust_is_deleted(keystone: Keystone) -> None:
    k = keystone
    p = await _parties(k)
    trust = await _trust(k, p)
    r = await k.http.post("/v3/auth/tokens", json=_trust_auth("trustee", "trustee-pw", trust["id"]))
    token = r.headers["X-Subject-Token"]
    assert (await _validate(k, token)).status_code == 200
    d = await k.http.delete(f"/v3/OS-TRUST/trusts/{trust['id']}", headers=k.as_(p["trustor_token"]))
    assert d.status_code == 204, d.text
    v = await _validate(k, token)
    assert (v.status_code, v.json()["error"]["message"]) == (
        404, f"Could not find trust: {trust['id']}."), v.text
    assert (await k.http.get("/v3/auth/catalog", headers=k.as_(token))).status_code == 401


async def test_token_stops_validating_when_the_trustor_loses_a_delegated_role(
        keystone: Keystone) -> None:
    k = keystone
    p = await _parties(k)
    trust = await _trust(k, p, roles=[{"id": p["extra_role"]}])
    r = await k.http.post("/v3/auth/tokens", json=_trust_auth("trustee", "trustee-pw", trust["id"]))
    token = r.headers["X-Subject-Token"]
    assert {x["name"] for x in r.json()["token"]["roles"]} == {"delegated-x"}
    d = await k.http.delete(f"/v3/projects/{p['project']}/users/{p['trustor']}/roles/"
                            f"{p['extra_role']}", headers=k.admin)
    assert d.status_code == 204, d.text
    assert (await _validate(k, token)).status_code == 404
    r = await k.http.post("/v3/auth/tokens", json=_trust_auth("trustee", "trustee-pw", trust["id"]))
    assert (r.status_code, r.json()["error"]["message"]) == (403, GENERIC_403), r.text


async def test_a_trust_scoped_token_makes_no_other_token(keystone: Keystone) -> None:
    k = keystone
    p = await _parties(k)
    trust = await _trust(k, p)
    r = await k.http.post("/v3/auth/tokens", json=_trust_auth("trustee", "trustee-pw", trust["id"]))
    r = await k.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["token"], "token": {"id": r.headers["X-Subject-Token"]}}}})
    assert (r.status_code, r.json()["error"]["message"]) == (403, (
        "You are not authorized to perform the requested action: Using trust-scoped token to "
        "create another token. Create a new trust-scoped token instead.")), r.text


async def test_trust_and_application_credentials_do_not_mix(keystone: Keystone) -> None:
    """As Keystone: an application credential's token does nothing with trusts, and a
    trust-scoped token manages no application credentials."""
    k = keystone
    p = await _parties(k)
    _, app_token = await k.app_credential(p["trustor_token"], p["trustor"], "ac")
    r = await k.http.post("/v3/OS-TRUST/trusts", headers=k.as_(app_token), json={"trust": {
        "trustor_user_id": p["trustor"], "trustee_user_id": p["trustee"],
        "project_id": p["project"], "impersonation": False, "roles": [{"name": "member"}]}})
    assert r.status_code == 403, r.text
    trust = await _trust(k, p, impersonation=True)
    r = await k.http.post("/v3/auth/tokens", json=_trust_auth("trustee", "trustee-pw", trust["id"]))
    trust_token = r.headers["X-Subject-Token"]
    r = await k.http.post(f"/v3/users/{p['trustor']}/application_credentials",
                          headers=k.as_(trust_token),
                          json={"application_credential": {"name": "escape"}})
    assert (r.status_code, r.json()["error"]["message"]) == (403, GENERIC_403), r.text
    r = await k.http.get(f"/v3/users/{p['trustor']}/application_credentials",
                         headers=k.as_(trust_token))
    assert r.status_code == 403, r.text


async def test_redelegation(keystone: Keystone) -> None:
    k = keystone
    p = await _parties(k)
    trust = await _trust(k, p, allow_redelegation=True, redelegation_count=2)
    assert trust["redelegation_count"] == 2
    r = await k.http.post("/v3/auth/tokens", json=_trust_auth("trustee", "trustee-pw", trust["id"]))
    trustee_token = r.headers["X-Subject-Token"]
    third = await k.make_user("third", "third-pw")
    body = {"trustor_user_id": p["trustee"], "trustee_user_id": third["user_id"],
            "project_id": p["project"], "impersonation": False, "allow_redelegation": True,
            "roles": [{"name": "member"}]}
    # more than the parent can give: a count it does not inherit, impersonation, a role
    for change in ({"redelegation_count": 2}, {"impersonation": True},
                   {"roles": [{"id": p["extra_role"]}]}):
        r = await k.http.post("/v3/OS-TRUST/trusts", headers=k.as_(trustee_token),
                              json={"trust": {**body, **change}})
        assert r.status_code in (403, 404), (change, r.text)
    r = await k.http.post("/v3/OS-TRUST/trusts", headers=k.as_(trustee_token),
                          json={"trust": body})
    assert r.status_code == 201, r.text
    child = r.json()["trust"]
    assert (child["redelegated_trust_id"], child["redelegation_count"]) == (trust["id"], 1)
    r = await k.http.post("/v3/auth/tokens", json=_trust_auth("third", "third-pw", child["id"]))
    assert r.status_code == 201, r.text
    assert r.json()["token"]["project"]["id"] == p["project"]
    # deleting the first trust deletes the one redelegated from it
    d = await k.http.delete(f"/v3/OS-TRUST/trusts/{trust['id']}", headers=k.as_(p["trustor_token"]))
    assert d.status_code == 204
    r = await k.http.post("/v3/auth/tokens", json=_trust_auth("third", "third-pw", child["id"]))
    assert r.status_code == 401, r.text


async def test_redelegation_depth_is_capped(keystone: Keystone) -> None:
    k = keystone
    p = await _parties(k)
    body = {"trustor_user_id": p["trustor"], "trustee_user_id": p["trustee"],
            "project_id": p["project"], "impersonation": False, "allow_redelegation": True,
            "redelegation_count": 4, "roles": [{"name": "member"}]}
    r = await k.http.post("/v3/OS-TRUST/trusts", headers=k.as_(p["trustor_token"]),
                          json={"trust": body})
    assert (r.status_code, r.json()["error"]["message"]) == (403, GENERIC_403), r.text
    r = await k.http.post("/v3/OS-TRUST/trusts", headers=k.as_(p["trustor_token"]),
                          json={"trust": {**body, "redelegation_count": None,
                                          "remaining_uses": 3}})
    assert (r.status_code, r.json()["error"]["message"]) == (
        400, "remaining_uses must not be set if redelegation is allowed"), r.text
