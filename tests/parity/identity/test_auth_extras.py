"""Identity parity for trusts in use, auth receipts, user options and the own-password change:
the same requests to Keystone 30 (recorded, its default configuration) and to Overcast."""

from __future__ import annotations

from typing import Any

import pytest

from tests.parity.client import Api, Target, differs, password_auth
from tests.parity.snapshot import Snapshot

pytestmark = pytest.mark.validated


def _make_user(identity: Api, name: str, password: str, **extra: Any) -> str:
    r = identity.post("/v3/users", json={"user": {"name": name, "password": password,
                                                  "domain_id": "default", **extra}})
    assert r.status_code == 201, r.text
    return str(r.json()["user"]["id"])


def _role_id(identity: Api, name: str) -> str:
    return str(identity.get(f"/v3/roles?name={name}").json()["roles"][0]["id"])


def _trust_auth(user: str, password: str, trust_id: str) -> dict[str, Any]:
    body = password_auth(user, password, project=None)
    body["auth"]["scope"] = {"OS-TRUST:trust": {"id": trust_id}}
    return body


@differs("$.trust_token.body.token.catalog", "overcast differs: the catalogs list different "
         "services (Overcast's bootstrap registers its own), as in test_token_catalog")
def test_trust_scoped_tokens(identity: Api, snapshot: Snapshot) -> None:
    r = identity.post("/v3/projects", json={"project": {"name": "parity-trust-proj",
                                                        "domain_id": "default"}})
    project = r.json()["project"]["id"]
    trustor = _make_user(identity, "parity-trustor", "parity-trustor-pw")
    trustee = _make_user(identity, "parity-trustee", "parity-trustee-pw")
    member = _role_id(identity, "member")
    r = identity.put(f"/v3/projects/{project}/users/{trustor}/roles/{member}")
    assert r.status_code == 204, r.text
    r = identity.post("/v3/auth/tokens", json=password_auth(
        "parity-trustor", "parity-trustor-pw", project="parity-trust-proj"), token=False)
    trustor_token = r.headers["X-Subject-Token"]
    body = {"trust": {"trustor_user_id": trustor, "trustee_user_id": trustee,
                      "project_id": project, "impersonation": True, "remaining_uses": 1,
                      "roles": [{"name": "member"}]}}
    r = identity.post("/v3/OS-TRUST/trusts", json=body, token=trustor_token)
    assert r.status_code == 201, r.text
    trust = r.json()["trust"]["id"]

    r = snapshot.match("trust_token", identity.post(
        "/v3/auth/tokens", json=_trust_auth("parity-trustee", "parity-trustee-pw", trust),
        token=False))
    token = r.headers["X-Subject-Token"]
    snapshot.match("validate", identity.get("/v3/auth/tokens?nocatalog",
                                            headers={"X-Subject-Token": token}))
    snapshot.match("uses_spent", identity.post(
        "/v3/auth/tokens", json=_trust_auth("parity-trustee", "parity-trustee-pw", trust),
        token=False))
    snapshot.match("rescope_trust_token", identity.post("/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": token}}}}, token=False))
    snapshot.match("not_the_trustee", identity.post(
        "/v3/auth/tokens", json=_trust_auth("parity-trustor", "parity-trustor-pw", trust),
        token=False))

    body["trust"].update(impersonation=False, remaining_uses=None)
    r = identity.post("/v3/OS-TRUST/trusts", json=body, token=trustor_token)
    second = r.json()["trust"]["id"]
    r = identity.post("/v3/auth/tokens?nocatalog",
                      json=_trust_auth("parity-trustee", "parity-trustee-pw", second), token=False)
    snapshot.match("plain_trust_token", r)
    token2 = r.headers["X-Subject-Token"]
    identity.delete(f"/v3/OS-TRUST/trusts/{second}", token=trustor_token)
    snapshot.match("validate_deleted_trust", identity.get(
        "/v3/auth/tokens", headers={"X-Subject-Token": token2}))
    for uid in (trustor, trustee):
        identity.delete(f"/v3/users/{uid}")
    identity.delete(f"/v3/projects/{project}")


@differs("$.receipt_bad.body.error.message", "overcast differs: Keystone's ReceiptNotFound "
         "repeats the whole receipt; Overcast its first 8 characters", value_only=True)
def test_auth_receipt(identity: Api, snapshot: Snapshot) -> None:
    # password and token are methods Keystone has by default: a rule asking for both makes a
    # password alone a first factor
    uid = _make_user(identity, "parity-mfa", "parity-mfa-pw", options={
        "multi_factor_auth_rules": [["password", "token"]], "multi_factor_auth_enabled": True})
    login = password_auth("parity-mfa", "parity-mfa-pw", project=None)
    r = snapshot.match("receipt", identity.post("/v3/auth/tokens", json=login, token=False))
    assert r.headers.get("Openstack-Auth-Receipt")
    snapshot.match("receipt_bad", identity.post(
        "/v3/auth/tokens", json=login, token=False,
        headers={"Openstack-Auth-Receipt": "not-a-receipt"}))
    snapshot.match("wrong_password", identity.post(
        "/v3/auth/tokens", json=password_auth("parity-mfa", "wrong", project=None), token=False))
    identity.delete(f"/v3/users/{uid}")


def test_user_options_and_own_password_change(identity: Api, snapshot: Snapshot) -> None:
    uid = _make_user(identity, "parity-opts", "parity-opts-pw-1")
    snapshot.match("set_options", identity.patch(f"/v3/users/{uid}", json={"user": {"options": {
        "ignore_lockout_failure_attempts": True, "lock_password": False,
        "multi_factor_auth_rules": [["password"]]}}}))
    snapshot.match("unset_option", identity.patch(f"/v3/users/{uid}", json={"user": {
        "options": {"lock_password": None}}}))
    snapshot.match("bad_option_type", identity.patch(f"/v3/users/{uid}", json={"user": {
        "options": {"lock_password": "yes"}}}))
    # the own password change needs no token (the original password is the proof)
    url = f"/v3/users/{uid}/password"
    snapshot.match("change_wrong_original", identity.post(url, token=False, json={"user": {
        "original_password": "wrong", "password": "parity-opts-pw-2"}}))
    snapshot.match("change", identity.post(url, token=False, json={"user": {
        "original_password": "parity-opts-pw-1", "password": "parity-opts-pw-2"}}))
    snapshot.match("lock_password", identity.patch(f"/v3/users/{uid}", json={"user": {
        "options": {"lock_password": True}}}))
    snapshot.match("change_locked", identity.post(url, token=False, json={"user": {
        "original_password": "parity-opts-pw-2", "password": "parity-opts-pw-3"}}))
    identity.delete(f"/v3/users/{uid}")


def test_token_method_with_a_bad_token(identity: Api, target: Target, snapshot: Snapshot) -> None:
    """The `token` method with a token that does not validate (what tempest's
    test_user_update_own_password checks after a password change)."""
    r = identity.post("/v3/auth/tokens", json=password_auth("admin", target.admin_password),
                      token=False)
    tok = r.headers["X-Subject-Token"]
    identity.delete("/v3/auth/tokens", headers={"X-Subject-Token": tok})
    for key, bad in (("revoked", tok), ("garbage", "gAAAAAgarbage")):
        snapshot.match(key, identity.post("/v3/auth/tokens", token=False, json={"auth": {
            "identity": {"methods": ["token"], "token": {"id": bad}}}}))
