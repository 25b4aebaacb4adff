"""Hostile request bodies: wrong JSON types, nulls, huge and odd strings in every field of every
body the identity API reads. None may answer 5xx; a refusal is a 400 in Keystone's shape.

The operations and their fields come from /openapi-identity.json, so a body model added later
is probed too; the base bodies below make everything but the probed field valid, so the probe
reaches the domain code, not only the schema check.
"""

from __future__ import annotations

import json
from typing import Any

from tests.functional.conftest import ADMIN_PASSWORD
from tests.functional.identity.conftest import Keystone

HUGE = "x" * 20_000
HOSTILE: list[object] = [
    ["a"], {"a": 1}, 7, -1, 1e23, True, None, "", " ", HUGE, "\u0000", "caf\u00e9 \U0001f600",
    "../../etc/passwd", "%s%n", [[[[[["deep"]]]]]], {"id": {"id": {"id": "x"}}},
]


async def _fixtures(k: Keystone) -> dict[str, str]:
    """Real ids for every path parameter, so requests reach the domain code."""
    h, http = k.admin, k.http
    ids = await k.make_user("victim", "victim-pass", "victim-proj")
    out = {"user_id": ids["user_id"], "project_id": ids["project_id"], "domain_id": "default"}
    out["group_id"] = (await http.post("/v3/groups", headers=h, json={"group": {
        "name": "hostile-group"}})).json()["group"]["id"]
    out["role_id"] = (await http.post("/v3/roles", headers=h, json={"role": {
        "name": "hostile-role"}})).json()["role"]["id"]
    out["region_id"] = "RegionOne"
    svc = (await http.post("/v3/services", headers=h, json={"service": {
        "type": "hostile"}})).json()["service"]
    out["service_id"] = svc["id"]
    out["endpoint_id"] = (await http.post("/v3/endpoints", headers=h, json={"endpoint": {
        "service_id": svc["id"], "interface": "public", "url": "http://h"}})).json()[
        "endpoint"]["id"]
    out["credential_id"] = (await http.post("/v3/credentials", headers=h, json={"credential": {
        "user_id": ids["user_id"], "type": "totp", "blob": "SEED"}})).json()["credential"]["id"]
    out["consumer_id"] = (await http.post("/v3/OS-OAUTH1/consumers", headers=h, json={
        "consumer": {}})).json()["consumer"]["id"]
    out["policy_id"] = (await http.post("/v3/policies", headers=h, json={"policy": {
        "type": "t", "blob": "b"}})).json()["policy"]["id"]
    out["endpoint_group_id"] = (await http.post("/v3/OS-EP-FILTER/endpoint_groups", headers=h,
                                                json={"endpoint_group": {
                                                    "name": "g", "filters": {
                                                        "interface": "public"}}})).json()[
        "endpoint_group"]["id"]
    out["registered_limit_id"] = (await http.post("/v3/registered_limits", headers=h, json={
        "registered_limits": [{"service_id": svc["id"], "resource_name": "cores",
                               "default_limit": 10}]})).json()["registered_limits"][0]["id"]
    out["limit_id"] = (await http.post("/v3/limits", headers=h, json={"limits": [{
        "service_id": svc["id"], "project_id": ids["project_id"], "resource_name": "cores",
        "resource_limit": 5}]})).json()["limits"][0]["id"]
    out["group"] = "ldap"
    out["option"] = "url"
    return out


def _bases(f: dict[str, str], admin_user: str, admin_project: str) -> dict[str, dict[str, Any]]:
    """A valid body per (method, path): the probe changes one field at a time."""
    return {
        "POST /v3/auth/tokens": {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": "victim", "domain": {"id": "default"},
                     "password": "victim-pass"}}},
            "scope": {"project": {"id": f["project_id"]}}}},
        "POST /v3/domains": {"domain": {"name": "hostile-dom"}},
        "PATCH /v3/domains/{domain_id}": {"domain": {"description": "d"}},
        "POST /v3/projects": {"project": {"name": "hostile-proj"}},
        "PATCH /v3/projects/{project_id}": {"project": {"description": "d"}},
        "PUT /v3/projects/{project_id}/tags": {"tags": ["a"]},
        "POST /v3/users": {"user": {"name": "hostile-user"}},
        "PATCH /v3/users/{user_id}": {"user": {"description": "d"}},
        "POST /v3/users/{user_id}/password": {"user": {"original_password": "victim-pass",
                                                       "password": "victim-pass"}},
        "POST /v3/groups": {"group": {"name": "hostile-g2"}},
        "PATCH /v3/groups/{group_id}": {"group": {"description": "d"}},
        "POST /v3/roles": {"role": {"name": "hostile-r2"}},
        "PATCH /v3/roles/{role_id}": {"role": {"description": "d"}},
        "POST /v3/regions": {"region": {"description": "d"}},
        "PUT /v3/regions/{region_id}": {"region": {"description": "d"}},
        "PATCH /v3/regions/{region_id}": {"region": {"description": "d"}},
        "POST /v3/services": {"service": {"type": "t2"}},
        "PATCH /v3/services/{service_id}": {"service": {"description": "d"}},
        "POST /v3/endpoints": {"endpoint": {"service_id": f["service_id"],
                                            "interface": "internal", "url": "http://x"}},
        "PATCH /v3/endpoints/{endpoint_id}": {"endpoint": {"url": "http://y"}},
        "POST /v3/users/{user_id}/application_credentials": {"application_credential": {
            "name": "hostile-ac"}},
        "POST /v3/credentials": {"credential": {"user_id": admin_user, "type": "ec2",
                                                "project_id": admin_project,
                                                "blob": json.dumps({"access": "a",
                                                                    "secret": "s"})}},
        "PATCH /v3/credentials/{credential_id}": {"credential": {"blob": "NEW"}},
        "POST /v3/users/{user_id}/credentials/OS-EC2": {"tenant_id": f["project_id"]},
        "POST /v3/OS-TRUST/trusts": {"trust": {
            "trustor_user_id": admin_user, "trustee_user_id": f["user_id"],
            "project_id": admin_project, "impersonation": False,
            "roles": [{"name": "member"}]}},
        "POST /v3/OS-OAUTH1/consumers": {"consumer": {"description": "d"}},
        "PATCH /v3/OS-OAUTH1/consumers/{consumer_id}": {"consumer": {"description": "d"}},
        "POST /v3/policies": {"policy": {"type": "t", "blob": "b"}},
        "PATCH /v3/policies/{policy_id}": {"policy": {"blob": "b2"}},
        "PUT /v3/domains/{domain_id}/config": {"config": {"ldap": {"url": "ldap://x"}}},
        "PATCH /v3/domains/{domain_id}/config": {"config": {"ldap": {"url": "ldap://y"}}},
        "PATCH /v3/domains/{domain_id}/config/{group}": {"config": {"ldap": {"url": "ldap://z"}}},
        "PATCH /v3/domains/{domain_id}/config/{group}/{option}": {"config": {"url": "ldap://w"}},
        "POST /v3/OS-EP-FILTER/endpoint_groups": {"endpoint_group": {
            "name": "g2", "filters": {"interface": "admin"}}},
        "PATCH /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}": {"endpoint_group": {
            "description": "d"}},
        "POST /v3/registered_limits": {"registered_limits": [{
            "service_id": f["service_id"], "resource_name": "ram", "default_limit": 1}]},
        "PATCH /v3/registered_limits/{registered_limit_id}": {"registered_limit": {
            "description": "d"}},
        "POST /v3/limits": {"limits": [{"service_id": f["service_id"], "domain_id": "default",
                                        "resource_name": "cores", "resource_limit": 20}]},
        "PATCH /v3/limits/{limit_id}": {"limit": {"resource_limit": 6}},
    }


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, []):
            found = _resolve(doc, option)
            if found.get("properties"):
                return found
    return schema


def _field_paths(doc: dict[str, Any], schema: dict[str, Any], prefix: tuple[str, ...],
                 depth: int = 0) -> list[tuple[str, ...]]:
    """Every property path of a body schema (nested objects too), plus an unknown key."""
    schema = _resolve(doc, schema)
    out: list[tuple[str, ...]] = [(*prefix, "zz_unknown")]
    for name, sub in (schema.get("properties") or {}).items():
        out.append((*prefix, name))
        if depth < 3:
            out += _field_paths(doc, sub, (*prefix, name), depth + 1)
    return out


def _with(body: Any, path: tuple[str, ...], value: object) -> Any:
    body = json.loads(json.dumps(body))
    node = body
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return body


async def test_no_hostile_body_gets_a_5xx(keystone: Keystone) -> None:
    http, h = keystone.http, keystone.admin
    fixtures = await _fixtures(keystone)
    me = (await http.get("/v3/auth/tokens", headers={**h, "X-Subject-Token":
                                                      keystone.admin_token})).json()["token"]
    bases = _bases(fixtures, me["user"]["id"], me["project"]["id"])
    doc = (await http.get("/openapi-identity.json", headers=h)).json()
    await keystone.make_user("outsider", "outsider-pass", "outsider-proj")
    # as the admin, then as a member of another project (refusals must not be 5xx either)
    personas = {"admin": ("admin", ADMIN_PASSWORD, "admin"),
                "member": ("outsider", "outsider-pass", "outsider-proj")}
    failures: list[str] = []
    probed = set()
    for persona, (user, password, project) in personas.items():
        token = await keystone.token(user, password, project)
        for path, ops in doc["paths"].items():
            for method, op in ops.items():
                if "requestBody" not in op:
                    continue
                key = f"{method.upper()} {path}"
                if persona != "admin" and key == "POST /v3/auth/tokens":
                    continue  # no token involved: once is enough
                probed.add(key)
                assert key in bases, f"no base body for {key}: add one"
                url = path.format(**fixtures)
                schema = op["requestBody"]["content"]["application/json"]["schema"]
                bodies: list[Any] = [[], "x", 1, None, {}, {"zz": 1}]
                bodies += [{k: v} for k in bases[key] for v in ([], "x", 1, None)]
                bodies += [_with(bases[key], p, v) for p in _field_paths(doc, schema, ())
                           for v in HOSTILE]
                for body in bodies:
                    r = await http.request(method.upper(), url, json=body,
                                           headers={"X-Auth-Token": token})
                    if r.status_code == 401 and "auth/tokens" not in key:
                        # A probe may legitimately revoke the token: take a new one.
                        token = await keystone.token(user, password, project)
                        r = await http.request(method.upper(), url, json=body,
                                               headers={"X-Auth-Token": token})
                    if r.status_code >= 500:
                        failures.append(f"{persona}: {key} {json.dumps(body)[:300]} -> "
                                        f"{r.status_code} {r.text[:200]}")
                    elif r.status_code == 400:
                        error = r.json()["error"]
                        assert set(error) == {"code", "title", "message"}
                        assert error["code"] == 400
                        assert error["message"] and "Input should" not in error["message"], \
                            error
    assert probed == set(bases), f"base bodies for operations that have none: " \
                                 f"{sorted(set(bases) - probed)}"
    assert not failures, "\n".join(failures)
