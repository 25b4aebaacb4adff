"""Multi-factor logins: TOTP credentials, the `totp` method, per-user rules and auth receipts.

Facts: keystone/auth/plugins/totp.py (RFC 6238: 6 digits, 30 s, SHA-1, one earlier window),
keystone/auth/core.py UserMFARulesValidator, keystone/receipt/handlers.py (the 401 with
`Openstack-Auth-Receipt` and its body), api-ref "Multi-Factor Authentication".
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from tests.functional.identity.conftest import Keystone

pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)

GENERIC_401 = "The request you have made requires authentication."


def passcode(secret: str, at: float | None = None) -> str:
    """What an authenticator app shows (computed here independently of Overcast's code)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key, 6, hashes.SHA1(), 30)
    return totp.generate(time.time() if at is None else at).decode()


async def enrol(k: Keystone, name: str, rules: list[list[str]] | None) -> tuple[str, str]:
    """A user with a TOTP credential and the given multi-factor rules; (user id, secret)."""
    uid = (await k.make_user(name, f"{name}-pw"))["user_id"]
    secret = base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")
    r = await k.http.post("/v3/credentials", headers=k.admin, json={"credential": {
        "type": "totp", "user_id": uid, "blob": secret}})
    assert r.status_code == 201, r.text
    if rules is not None:
        r = await k.http.patch(f"/v3/users/{uid}", headers=k.admin, json={"user": {"options": {
            "multi_factor_auth_rules": rules, "multi_factor_auth_enabled": True}}})
        assert r.status_code == 200, r.text
    return uid, secret


def password(name: str) -> dict[str, Any]:
    return {"user": {"name": name, "domain": {"name": "Default"}, "password": f"{name}-pw"}}


def totp(uid: str, code: str) -> dict[str, Any]:
    return {"user": {"id": uid, "passcode": code}}


async def auth(k: Keystone, methods: dict[str, Any], receipt: str | None = None) -> httpx.Response:
    headers = {"Openstack-Auth-Receipt": receipt} if receipt else {}
    return await k.http.post("/v3/auth/tokens", headers=headers, json={"auth": {"identity": {
        "methods": list(methods), **methods}}})


async def test_totp_alone_logs_in(keystone: Keystone) -> None:
    uid, secret = await enrol(keystone, "tina", None)
    r = await auth(keystone, {"totp": totp(uid, passcode(secret))})
    assert r.status_code == 201, r.text
    assert r.json()["token"]["methods"] == ["totp"]
    # the previous 30 s window is still accepted (clock drift), the one before is not
    assert (await auth(keystone, {"totp": totp(uid, passcode(secret, time.time() - 30))})
            ).status_code == 201
    r = await auth(keystone, {"totp": totp(uid, passcode(secret, time.time() - 95))})
    assert (r.status_code, r.json()["error"]["message"]) == (401, GENERIC_401)
    # by name and domain, as keystoneauth's TOTP plugin may send it
    r = await auth(keystone, {"totp": {"user": {"name": "tina", "domain": {"name": "Default"},
                                                "passcode": passcode(secret)}}})
    assert r.status_code == 201, r.text


async def test_two_factors_through_a_receipt(keystone: Keystone) -> None:
    k = keystone
    uid, secret = await enrol(k, "mfa", [["password", "totp"]])
    first = await auth(k, {"password": password("mfa")})
    assert first.status_code == 401, first.text
    receipt = first.headers["Openstack-Auth-Receipt"]
    body = first.json()
    assert body["required_auth_methods"] == [["password", "totp"]]
    assert body["receipt"]["methods"] == ["password"]
    assert body["receipt"]["user"] == {"id": uid, "name": "mfa",
                                       "domain": {"id": "default", "name": "Default"}}
    assert body["receipt"]["expires_at"].endswith("Z") and "error" not in body
    assert "X-Subject-Token" not in first.headers
    second = await auth(k, {"totp": totp(uid, passcode(secret))}, receipt=receipt)
    assert second.status_code == 201, second.text
    assert sorted(second.json()["token"]["methods"]) == ["password", "totp"]
    # both factors in one request need no receipt
    both = await auth(k, {"password": password("mfa"), "totp": totp(uid, passcode(secret))})
    assert both.status_code == 201, both.text
    # a wrong second factor is the generic 401, with no new receipt
    bad = await auth(k, {"totp": totp(uid, "000000" if passcode(secret) != "000000" else "1")},
                     receipt=receipt)
    assert (bad.status_code, bad.json()["error"]["message"]) == (401, GENERIC_401)
    assert "Openstack-Auth-Receipt" not in bad.headers


async def test_receipt_is_bound_to_its_user_and_is_no_token(keystone: Keystone) -> None:
    k = keystone
    await enrol(k, "mfa1", [["password", "totp"]])
    uid2, secret2 = await enrol(k, "mfa2", [["password", "totp"]])
    receipt = (await auth(k, {"password": password("mfa1")})).headers["Openstack-Auth-Receipt"]
    r = await auth(k, {"totp": totp(uid2, passcode(secret2))}, receipt=receipt)
    assert r.status_code == 401, r.text
    assert (await k.http.get("/v3/auth/catalog", headers=k.as_(receipt))).status_code == 401
    r = await auth(k, {"totp": totp(uid2, passcode(secret2))}, receipt="garbage")
    assert (r.status_code, r.json()["error"]["message"]) == (
        401, "Could not find auth receipt: garbage...")


async def test_rules_disabled_or_naming_no_method_let_one_factor_through(
        keystone: Keystone) -> None:
    k = keystone
    uid, _ = await enrol(k, "off", [["password", "totp"]])
    await k.http.patch(f"/v3/users/{uid}", headers=k.admin, json={"user": {"options": {
        "multi_factor_auth_enabled": False}}})
    assert (await auth(k, {"password": password("off")})).status_code == 201
    # a rule made only of methods this cloud does not have cannot lock its user out
    await enrol(k, "odd", [["saml2", "kerberos"]])
    assert (await auth(k, {"password": password("odd")})).status_code == 201
    # either of two rules will do
    uid3, secret3 = await enrol(k, "either", [["password", "totp"], ["totp"]])
    assert (await auth(k, {"totp": totp(uid3, passcode(secret3))})).status_code == 201
