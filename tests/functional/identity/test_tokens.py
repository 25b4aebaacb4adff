"""Tokens: issue, scope, validate, revoke, and what invalidates them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.common.policy import Enforcer
from overcast.config import Config
from overcast.identity.policy import RULES
from overcast.identity.service import Identity
from tests.functional.conftest import ADMIN_PASSWORD
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth


async def test_version_documents_are_public(keystone: Keystone) -> None:
    r = await keystone.http.get("/")
    assert r.status_code == 300
    # Keystone points Location at its preferred (only) version
    assert r.headers["Location"] == "http://testserver/v3/"
    [v3] = r.json()["versions"]["values"]
    assert v3["id"] == "v3.14" and v3["status"] == "stable"
    assert v3["links"][0]["href"] == "http://testserver/v3/"
    r = await keystone.http.get("/v3")
    assert r.status_code == 200 and r.json()["version"]["id"] == "v3.14"


async def test_project_scoped_token_has_what_clients_read(keystone: Keystone) -> None:
    r = await keystone.http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
    assert r.status_code == 201
    assert r.headers["X-Openstack-Request-Id"].startswith("req-")
    token = r.json()["token"]
    assert token["methods"] == ["password"]
    assert token["user"]["name"] == "admin"
    assert token["user"]["domain"] == {"id": "default", "name": "Default"}
    assert token["project"]["name"] == "admin"
    assert token["project"]["domain"] == {"id": "default", "name": "Default"}
    # Keystone 30's bootstrap chain: admin ⇒ manager ⇒ member ⇒ reader
    assert {r["name"] for r in token["roles"]} == {"admin", "manager", "member", "reader"}
    assert token["expires_at"].endswith("Z") and token["issued_at"].endswith("Z")
    assert len(token["audit_ids"]) == 1
    [identity] = [s for s in token["catalog"] if s["type"] == "identity"]
    assert {e["interface"] for e in identity["endpoints"]} == {"public", "internal", "admin"}
    for ep in identity["endpoints"]:
        # tempest needs "region", keystoneauth "region_id" (CLIENT_SURFACE.md §1.2)
        assert ep["region"] == ep["region_id"] == "RegionOne"
        assert ep["url"].endswith("/v3") and ep["id"]


async def test_unscoped_domain_and_system_tokens(keystone: Keystone) -> None:
    r = await keystone.http.post("/v3/auth/tokens",
                                 json=password_auth("admin", ADMIN_PASSWORD, project=None))
    assert r.status_code == 201
    body = r.json()["token"]
    assert "project" not in body and "catalog" not in body and "roles" not in body

    auth = password_auth("admin", ADMIN_PASSWORD, project=None)
    auth["auth"]["scope"] = {"system": {"all": True}}
    r = await keystone.http.post("/v3/auth/tokens", json=auth)
    assert r.status_code == 201 and r.json()["token"]["system"] == {"all": True}

    auth["auth"]["scope"] = {"domain": {"id": "default"}}
    r = await keystone.http.post("/v3/auth/tokens", json=auth)
    assert r.status_code == 401  # admin has no role on the domain itself


async def test_wrong_password_and_unknown_user_look_the_same(keystone: Keystone) -> None:
    bad_pw = await keystone.http.post("/v3/auth/tokens", json=password_auth("admin", "nope"))
    no_user = await keystone.http.post("/v3/auth/tokens", json=password_auth("ghost", "nope"))
    assert bad_pw.status_code == no_user.status_code == 401
    assert bad_pw.json() == no_user.json() == {"error": {
        "code": 401, "title": "Unauthorized",
        "message": "The request you have made requires authentication."}}


async def test_malformed_auth_bodies_are_400(keystone: Keystone) -> None:
    r = await keystone.http.post("/v3/auth/tokens", content=b"{not json",
                                 headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == 400
    r = await keystone.http.post("/v3/auth/tokens", json={"auth": {}})
    assert r.status_code == 400
    r = await keystone.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": "admin"}}}}})
    assert r.status_code == 400


async def test_validate_check_and_revoke(keystone: Keystone) -> None:
    subject = await keystone.token("admin", ADMIN_PASSWORD, "admin")
    headers = {**keystone.admin, "X-Subject-Token": subject}
    r = await keystone.http.get("/v3/auth/tokens", headers=headers)
    assert r.status_code == 200 and r.headers["X-Subject-Token"] == subject
    assert r.json()["token"]["project"]["name"] == "admin"
    r = await keystone.http.head("/v3/auth/tokens", headers=headers)
    # HEAD carries the Content-Type of its GET, as Keystone's
    assert (r.status_code, r.headers.get("content-type")) == (200, "application/json")
    assert (await keystone.http.delete("/v3/auth/tokens", headers=headers)).status_code == 204
    r = await keystone.http.get("/v3/auth/tokens", headers=headers)
    assert (r.status_code, r.json()["error"]["message"]) == (404, "Failed to validate token")
    # a revoked token no longer authenticates anything
    r = await keystone.http.get("/v3/users", headers=keystone.as_(subject))
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Keystone uri=")
    # the admin's own token is untouched
    assert (await keystone.http.get("/v3/users", headers=keystone.admin)).status_code == 200


async def test_garbage_token_is_401_and_unknown_subject_404(keystone: Keystone) -> None:
    r = await keystone.http.get("/v3/users", headers={"X-Auth-Token": "gAAAAAnotatoken"})
    assert r.status_code == 401
    # a subject token that is no Fernet token, or none: Keystone's 404s, for every method
    for subject, message in (("bogus", "Could not recognize Fernet token"),
                             ("gAAAAABk" + "A" * 100, "Could not recognize Fernet token"),
                             (None, "No token in the request")):
        headers = {**keystone.admin, **({"X-Subject-Token": subject} if subject else {})}
        for method in ("GET", "DELETE"):
            r = await keystone.http.request(method, "/v3/auth/tokens", headers=headers)
            assert (r.status_code, r.json()["error"]["message"]) == (404, message), (
                method, subject, r.text)
        r = await keystone.http.head("/v3/auth/tokens", headers=headers)
        assert r.status_code == 404


async def test_token_method_keeps_expiry_and_audit_chain(keystone: Keystone) -> None:
    unscoped = await keystone.token("admin", ADMIN_PASSWORD)
    r = await keystone.http.post("/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": unscoped}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    assert r.status_code == 201, r.text
    body = r.json()["token"]
    first = (await keystone.http.get("/v3/auth/tokens", headers={
        **keystone.admin, "X-Subject-Token": unscoped})).json()["token"]
    assert body["expires_at"] == first["expires_at"]
    assert body["audit_ids"][1] == first["audit_ids"][0]
    assert body["methods"] == ["password", "token"]


async def test_password_change_revokes_and_old_password_fails(keystone: Keystone) -> None:
    ids = await keystone.make_user("alice", "first-pass", "alice-proj")
    token = await keystone.token("alice", "first-pass", "alice-proj")
    r = await keystone.http.post(f"/v3/users/{ids['user_id']}/password",
                                 headers=keystone.as_(token),
                                 json={"user": {"original_password": "first-pass",
                                                "password": "second-pass"}})
    assert r.status_code == 204, r.text
    assert (await keystone.http.get(f"/v3/users/{ids['user_id']}",
                                    headers=keystone.as_(token))).status_code == 401
    r = await keystone.http.post("/v3/auth/tokens", json=password_auth("alice", "first-pass",
                                                                       "alice-proj"))
    assert r.status_code == 401
    await keystone.token("alice", "second-pass", "alice-proj")


async def test_role_removal_ends_project_tokens(keystone: Keystone) -> None:
    ids = await keystone.make_user("bob", "bob-pass", "bob-proj")
    token = await keystone.token("bob", "bob-pass", "bob-proj")
    role_id = (await keystone.http.get("/v3/roles?name=member",
                                       headers=keystone.admin)).json()["roles"][0]["id"]
    r = await keystone.http.delete(
        f"/v3/projects/{ids['project_id']}/users/{ids['user_id']}/roles/{role_id}",
        headers=keystone.admin)
    assert r.status_code == 204
    r = await keystone.http.get("/v3/auth/tokens",
                                headers={**keystone.admin, "X-Subject-Token": token})
    assert r.status_code == 404
    r = await keystone.http.post("/v3/auth/tokens", json=password_auth("bob", "bob-pass",
                                                                       "bob-proj"))
    assert r.status_code == 401


async def test_application_credential_auth(keystone: Keystone) -> None:
    ids = await keystone.make_user("carol", "carol-pass", "carol-proj")
    token = await keystone.token("carol", "carol-pass", "carol-proj")
    r = await keystone.http.post(f"/v3/users/{ids['user_id']}/application_credentials",
                                 headers=keystone.as_(token),
                                 json={"application_credential": {"name": "ci"}})
    assert r.status_code == 201, r.text
    cred = r.json()["application_credential"]
    assert cred["secret"] and cred["project_id"] == ids["project_id"]
    assert {x["name"] for x in cred["roles"]} == {"member", "reader"}
    r = await keystone.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}})
    assert r.status_code == 201, r.text
    body = r.json()["token"]
    assert body["project"]["id"] == ids["project_id"]
    assert body["application_credential"]["restricted"] is True
    # restricted: it cannot mint another credential
    r = await keystone.http.post(f"/v3/users/{ids['user_id']}/application_credentials",
                                 headers=keystone.as_(r.headers["X-Subject-Token"]),
                                 json={"application_credential": {"name": "again"}})
    assert r.status_code == 403
    r = await keystone.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": cred["id"], "secret": "wrong"}}}})
    assert r.status_code == 401


async def test_tokens_survive_key_rotation(keystone: Keystone, cloud_config: object) -> None:
    """`overcast fernet rotate` on a live cloud: old tokens stay valid, new ones use the new
    primary key, and a token from a pruned key is refused."""
    from overcast.config import Config
    from overcast.identity.fernet import KeyRepository

    assert isinstance(cloud_config, Config)
    repo = KeyRepository(cloud_config.fernet_key_repository, max_active_keys=3)
    before = await keystone.token("admin", ADMIN_PASSWORD, "admin")
    repo.rotate()
    after = await keystone.token("admin", ADMIN_PASSWORD, "admin")
    for token in (before, after):
        r = await keystone.http.get("/v3/auth/tokens",
                                    headers={**keystone.admin, "X-Subject-Token": token})
        assert r.status_code == 200
    repo.rotate()
    repo.rotate()  # the key `before` was made with is pruned now
    fresh = await keystone.token("admin", ADMIN_PASSWORD, "admin")
    r = await keystone.http.get("/v3/auth/tokens",
                                headers={**keystone.as_(fresh), "X-Subject-Token": before})
    assert r.status_code == 404




async def test_revocation_wins_over_a_cache_reload_in_flight(cloud_config: Config,
                                                             keystone: Keystone) -> None:
    """A reload of the revocation list that began before a revoke committed must not install
    the older list (tempest's check-revoke-check raced like this under load: HEAD 200 after
    DELETE)."""
    token = await keystone.token("admin", ADMIN_PASSWORD, "admin")
    db = Database(cloud_config.database_url("identity"))
    identity = Identity(cloud_config, db)
    state = identity.state
    try:
        await identity.tokens.validate(token)
        inside, release = asyncio.Event(), asyncio.Event()
        original_read = db.read

        @contextlib.asynccontextmanager
        async def slow_read() -> AsyncIterator[Any]:
            async with original_read() as session:
                original_scalars = session.scalars

                async def scalars(*args: Any, **kwargs: Any) -> Any:
                    inside.set()
                    await release.wait()  # the revoke commits while the reload reads
                    return await original_scalars(*args, **kwargs)

                session.scalars = scalars
                yield session

        db.read = slow_read  # type: ignore[method-assign]
        state._checked_at = 0.0  # the next check reads the database
        state.revision = -1
        reload = asyncio.create_task(state.fresh())
        await inside.wait()
        db.read = original_read  # type: ignore[method-assign]
        # The admin revokes its own token, as DELETE /v3/auth/tokens would.
        ctx = RequestContext.internal(Enforcer(RULES), await identity.tokens.credentials(token))
        await identity.tokens.revoke(ctx, token)
        release.set()
        await reload
        with pytest.raises(faults.Unauthorized):
            await identity.tokens.validate(token)
    finally:
        await db.dispose()


async def test_domain_disable_keeps_revoked_a_token_scoped_to_another_domain(
        keystone: Keystone) -> None:
    """#8: disabling a domain revokes its users' tokens wherever they are scoped; enabling it
    again must not bring them back (Keystone matches the user's domain too)."""
    h, http = keystone.admin, keystone.http
    domain = (await http.post("/v3/domains", headers=h, json={"domain": {
        "name": "elsewhere"}})).json()["domain"]
    user = (await http.post("/v3/users", headers=h, json={"user": {
        "name": "wanderer", "domain_id": domain["id"], "password": "w-pass"}})).json()["user"]
    project = (await http.post("/v3/projects", headers=h, json={"project": {
        "name": "in-default", "domain_id": "default"}})).json()["project"]
    member = (await http.get("/v3/roles?name=member", headers=h)).json()["roles"][0]["id"]
    assert (await http.put(f"/v3/projects/{project['id']}/users/{user['id']}/roles/{member}",
                           headers=h)).status_code == 204
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "wanderer", "domain": {"name": "elsewhere"}, "password": "w-pass"}}},
        "scope": {"project": {"id": project["id"]}}}}
    r = await http.post("/v3/auth/tokens", json=auth)
    assert r.status_code == 201, r.text
    token = r.headers["X-Subject-Token"]
    assert r.json()["token"]["project"]["domain"]["id"] == "default"
    subject = {**h, "X-Subject-Token": token}
    assert (await http.get("/v3/auth/tokens", headers=subject)).status_code == 200

    for enabled in (False, True):
        r = await http.patch(f"/v3/domains/{domain['id']}", headers=h,
                             json={"domain": {"enabled": enabled}})
        assert r.status_code == 200, r.text
        r = await http.get("/v3/auth/tokens", headers=subject)
        # Keystone's words: its domain is disabled, then (enabled again) it was revoked
        assert (r.status_code, r.json()["error"]["message"]) == (404, (
            f"Unable to validate token because domain {domain['id']} is disabled"
            if not enabled else "Failed to validate token")), (enabled, r.text)
        r = await http.get(f"/v3/projects/{project['id']}", headers=keystone.as_(token))
        assert r.status_code == 401 and r.json()["error"]["message"] == (
            "The request you have made requires authentication.")
        # nor can it be traded for a new token
        r = await http.post("/v3/auth/tokens", json={"auth": {"identity": {
            "methods": ["token"], "token": {"id": token}}}})
        assert r.status_code == 404, (enabled, r.text)  # as Keystone's token method
    # the user logs in again once the domain is back
    assert (await http.post("/v3/auth/tokens", json=auth)).status_code == 201
