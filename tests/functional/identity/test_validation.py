"""Wrong JSON types are 400s in Keystone's words, whatever field they are in."""

from __future__ import annotations

from typing import Any

from tests.functional.conftest import ADMIN_PASSWORD
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth


def _bad_request(message: str) -> dict[str, Any]:
    return {"error": {"code": 400, "title": "Bad Request", "message": message}}


async def test_auth_body_types(keystone: Keystone) -> None:
    """keystone/auth/schema.py: the field's path inside `auth`, then jsonschema's reason."""
    body = password_auth("admin", ADMIN_PASSWORD)
    body["auth"]["identity"]["password"]["user"]["domain"] = {"name": ["Default"]}
    r = await keystone.http.post("/v3/auth/tokens", json=body)
    assert r.status_code == 400
    assert r.json() == _bad_request("Invalid input for field 'identity/password/user/domain/name'"
                                    ": ['Default'] is not of type 'string'")

    body = password_auth("admin", ADMIN_PASSWORD)
    body["auth"]["scope"]["project"]["name"] = {"a": 1}
    r = await keystone.http.post("/v3/auth/tokens", json=body)
    assert r.json() == _bad_request("Invalid input for field 'scope/project/name': {'a': 1} is "
                                    "not of type 'string'")

    body = password_auth("admin", ADMIN_PASSWORD)
    body["auth"]["identity"]["password"]["user"]["password"] = ["hunter2"]
    r = await keystone.http.post("/v3/auth/tokens", json=body)
    # the value of a password is never echoed back
    assert r.json() == _bad_request("Invalid input for field 'identity/password/user/password'"
                                    ": '***' is not of type 'string'")

    r = await keystone.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": "password"}}})
    assert r.json() == _bad_request("Invalid input for field 'identity/methods': 'password' is "
                                    "not of type 'array'")
    r = await keystone.http.post("/v3/auth/tokens", json={"auth": {}})
    assert r.json() == _bad_request("'identity' is a required property")
    r = await keystone.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"password": "x"}}}}})
    assert r.json() == _bad_request("Invalid input for field identity/password/user: id or "
                                    "name must be present.")
    body = password_auth("admin", ADMIN_PASSWORD)
    body["auth"]["scope"] = {"system": {"all": "yes"}}
    r = await keystone.http.post("/v3/auth/tokens", json=body)
    assert r.json() == _bad_request("Invalid input for field 'scope/system/all': 'yes' is not "
                                    "of type 'boolean'")


async def test_resource_body_types(keystone: Keystone) -> None:
    """keystone/api/validation: "field/attribute <name>. Value: <value>. <reason>"."""
    h, http = keystone.admin, keystone.http
    ids = await keystone.make_user("types", "types-pass", "types-proj")
    me = keystone.as_(await keystone.token("types", "types-pass", "types-proj"))

    r = await http.post(f"/v3/users/{ids['user_id']}/application_credentials", headers=me, json={
        "application_credential": {"name": "ac", "access_rules": [{"id": {"a": 1}}]}})
    assert r.status_code == 400
    assert r.json() == _bad_request("Invalid input for field/attribute id. Value: {'a': 1}. "
                                    "{'a': 1} is not of type 'string'")

    r = await http.post(f"/v3/users/{ids['user_id']}/application_credentials", headers=me, json={
        "application_credential": {"name": "ac", "roles": [{"id": 42}]}})
    assert r.json() == _bad_request("Invalid input for field/attribute id. Value: 42. 42 is not "
                                    "of type 'string'")

    trust = {"trustor_user_id": ids["user_id"], "trustee_user_id": ids["user_id"],
             "impersonation": False, "project_id": ids["project_id"],
             "roles": [{"name": "member"}]}
    r = await http.post("/v3/OS-TRUST/trusts", headers=me, json={"trust": {
        **trust, "expires_at": 1893456000}})
    assert r.json() == _bad_request("Invalid input for field/attribute expires_at. Value: "
                                    "1893456000. 1893456000 is not of type 'string'")
    r = await http.post("/v3/OS-TRUST/trusts", headers=me, json={"trust": {
        **trust, "project_id": ["p"]}})
    assert r.json() == _bad_request("Invalid input for field/attribute project_id. Value: ['p']. "
                                    "['p'] is not of type 'string'")
    r = await http.post("/v3/OS-TRUST/trusts", headers=me, json={"trust": {
        **trust, "roles": [{"id": True}]}})
    assert r.json() == _bad_request("Invalid input for field/attribute id. Value: True. True is "
                                    "not of type 'string'")

    r = await http.post("/v3/credentials", headers=h, json={"credential": {
        "user_id": ids["user_id"], "type": "cert", "blob": "b", "project_id": 5}})
    assert r.json() == _bad_request("Invalid input for field/attribute project_id. Value: 5. 5 "
                                    "is not of type 'string'")

    r = await http.post("/v3/users", headers=h, json={"user": {"name": "u", "enabled": "true"}})
    assert r.json() == _bad_request("Invalid input for field/attribute enabled. Value: true. "
                                    "'true' is not of type 'boolean'")
    r = await http.post("/v3/users", headers=h, json={"user": {}})
    assert r.json() == _bad_request("Invalid input for field/attribute user. Value: {}. 'name' "
                                    "is a required property")
    r = await http.post("/v3/users", headers=h, json={"user": {"name": "u"}, "extra": 1})
    assert r.json() == _bad_request("Additional properties are not allowed ('extra' was "
                                    "unexpected)")
    r = await http.post("/v3/endpoints", headers=h, json={"endpoint": {
        "service_id": "x", "interface": "sideways", "url": "http://x"}})
    assert r.json() == _bad_request("Invalid input for field/attribute interface. Value: "
                                    "sideways. 'sideways' is not one of ['public', 'internal', "
                                    "'admin']")
    r = await http.post("/v3/projects", headers=h, json=[])
    assert r.json() == _bad_request("[] is not of type 'object'")


async def test_nul_characters_are_refused_everywhere(keystone: Keystone) -> None:
    """PostgreSQL cannot store or look up NUL in text: refused before anything tries."""
    h, http = keystone.admin, keystone.http
    nul = _bad_request("Invalid input: text may not contain the NUL character (\\u0000).")
    r = await http.post("/v3/projects", headers=h, json={"project": {"name": "a\u0000b"}})
    assert r.status_code == 400 and r.json() == nul
    r = await http.post("/v3/projects", headers=h, json={"project": {"name": "p", "x": {
        "k\u0000": 1}}})
    assert r.json() == nul
    r = await http.get("/v3/users/a%00b", headers=h)
    assert r.status_code == 400 and r.json() == nul
    r = await http.get("/v3/users?name=a%00b", headers=h)
    assert r.status_code == 400 and r.json() == nul
    # an escaped backslash before "u0000" is text, not NUL
    r = await http.post("/v3/projects", headers=h, json={"project": {"name": "a\\u0000b"}})
    assert r.status_code == 201, r.text
