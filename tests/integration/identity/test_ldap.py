"""A domain whose configuration says `[identity] driver = ldap` reads its users and groups from
a real OpenLDAP (slapd started here), checks passwords by binding, over plain LDAP, StartTLS
and LDAPS; roles are granted in Overcast."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from overcast.cli import bootstrap, db_upgrade
from overcast.config import Config
from overcast.identity.app import create_app
from overcast.identity.directory import public_id
from tests.functional.conftest import ADMIN_PASSWORD, cloud_config, make_config, running
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth
from tests.ldap_server import SUFFIX, Slapd, certificates, start_slapd

__all__ = ["cloud_config"]  # the functional suite's fixture: each database kind


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    server = start_slapd(tmp_path_factory.mktemp("ldap"))
    yield server
    server.stop()


@pytest.fixture
async def keystone(tmp_path: Path) -> AsyncIterator[Keystone]:
    config = make_config(tmp_path)
    await db_upgrade(config, ["identity"])
    await bootstrap(config, ADMIN_PASSWORD)
    async with running(create_app(config)) as http:
        r = await http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        yield Keystone(http, r.headers["X-Subject-Token"])


@pytest.fixture
async def keystone_any_db(cloud_config: Config) -> AsyncIterator[Keystone]:
    """The identity service on each database kind (the shadow rows and id mapping are
    written as LDAP is read)."""
    async with running(create_app(cloud_config)) as http:
        r = await http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        yield Keystone(http, r.headers["X-Subject-Token"])


async def _ldap_domain(keystone: Keystone, config: dict[str, Any],
                       name: str = "ldapdomain") -> str:
    http, h = keystone.http, keystone.admin
    r = await http.post("/v3/domains", headers=h, json={"domain": {"name": name}})
    assert r.status_code == 201, r.text
    domain_id: str = r.json()["domain"]["id"]
    r = await http.put(f"/v3/domains/{domain_id}/config", headers=h, json={"config": config})
    assert r.status_code == 201, r.text
    return domain_id


async def _login(keystone: Keystone, user: str, password: str, domain: str = "ldapdomain",
                 **scope: Any) -> Any:
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": {"name": domain}, "password": password}}}}}
    if scope:
        body["auth"]["scope"] = scope
    return await keystone.http.post("/v3/auth/tokens", json=body)


async def test_users_and_groups_come_from_ldap(keystone: Keystone, slapd: Slapd) -> None:
    http, h = keystone.http, keystone.admin
    domain_id = await _ldap_domain(keystone, slapd.domain_config())
    r = await http.get(f"/v3/users?domain_id={domain_id}", headers=h)
    assert r.status_code == 200, r.text
    users = {u["name"]: u for u in r.json()["users"]}
    assert set(users) == {"alice", "bob", "carol"}
    alice = users["alice"]
    # The public id is Keystone's id_mapping hash: stable, and what Keystone would give
    assert alice["id"] == public_id(domain_id, "alice", "user")
    assert alice["domain_id"] == domain_id and alice["email"] == "alice@example.org"
    assert alice["enabled"] is True and users["carol"]["enabled"] is False
    assert users["bob"]["enabled"] is True  # no enabled attribute: user_enabled_default
    assert alice["description"] == "the first user"
    # ?name and ?enabled filter the directory's answer
    r = await http.get(f"/v3/users?domain_id={domain_id}&name=bob", headers=h)
    assert [u["name"] for u in r.json()["users"]] == ["bob"]
    r = await http.get(f"/v3/users?domain_id={domain_id}&enabled=false", headers=h)
    assert [u["name"] for u in r.json()["users"]] == ["carol"]
    # The same id again, and a show by id
    r = await http.get(f"/v3/users?domain_id={domain_id}", headers=h)
    assert {u["id"] for u in r.json()["users"]} == {u["id"] for u in users.values()}
    r = await http.get(f"/v3/users/{alice['id']}", headers=h)
    assert r.status_code == 200 and r.json()["user"]["name"] == "alice"
    # The unfiltered list is the SQL backend's, as Keystone's
    r = await http.get("/v3/users", headers=h)
    assert alice["id"] not in {u["id"] for u in r.json()["users"]}

    r = await http.get(f"/v3/groups?domain_id={domain_id}", headers=h)
    groups = {g["name"]: g for g in r.json()["groups"]}
    assert set(groups) == {"devs", "ops"}
    assert groups["devs"]["id"] == public_id(domain_id, "devs", "group")
    assert groups["devs"]["description"] == "developers"
    r = await http.get(f"/v3/groups/{groups['devs']['id']}/users", headers=h)
    assert sorted(u["name"] for u in r.json()["users"]) == ["alice", "carol"]
    r = await http.get(f"/v3/users/{alice['id']}/groups", headers=h)
    assert [g["name"] for g in r.json()["groups"]] == ["devs"]
    r = await http.head(f"/v3/groups/{groups['devs']['id']}/users/{alice['id']}", headers=h)
    assert r.status_code == 204
    r = await http.head(f"/v3/groups/{groups['ops']['id']}/users/{alice['id']}", headers=h)
    assert r.status_code == 404


async def test_ldap_is_read_only(keystone: Keystone, slapd: Slapd) -> None:
    http, h = keystone.http, keystone.admin
    domain_id = await _ldap_domain(keystone, slapd.domain_config())
    users = {u["name"]: u["id"] for u in (await http.get(
        f"/v3/users?domain_id={domain_id}", headers=h)).json()["users"]}
    groups = {g["name"]: g["id"] for g in (await http.get(
        f"/v3/groups?domain_id={domain_id}", headers=h)).json()["groups"]}
    ro = "LDAP does not support write operations"
    for call in (
            http.post("/v3/users", headers=h, json={"user": {"name": "dan",
                                                             "domain_id": domain_id}}),
            http.patch(f"/v3/users/{users['bob']}", headers=h, json={"user": {"enabled": False}}),
            http.delete(f"/v3/users/{users['bob']}", headers=h),
            http.post("/v3/groups", headers=h, json={"group": {"name": "new",
                                                               "domain_id": domain_id}}),
            http.patch(f"/v3/groups/{groups['ops']}", headers=h,
                       json={"group": {"description": "x"}}),
            http.delete(f"/v3/groups/{groups['ops']}", headers=h),
            http.put(f"/v3/groups/{groups['ops']}/users/{users['alice']}", headers=h)):
        r = await call
        assert r.status_code == 403, r.text
        assert r.json()["error"]["message"] == ro
    # A SQL group and an LDAP user do not meet
    r = await http.post("/v3/groups", headers=h, json={"group": {"name": "sqlgroup"}})
    sql_group = r.json()["group"]["id"]
    r = await http.put(f"/v3/groups/{sql_group}/users/{users['alice']}", headers=h)
    assert r.status_code == 403
    assert r.json()["error"]["message"] == (
        "Group membership across backend boundaries is not allowed. Group in question is "
        f"{sql_group}, user is {users['alice']}.")
    # Still there, unchanged
    r = await http.get(f"/v3/users/{users['bob']}", headers=h)
    assert r.json()["user"]["enabled"] is True


async def test_login_by_bind_and_roles_granted_in_overcast(keystone_any_db: Keystone,
                                                           slapd: Slapd) -> None:
    keystone = keystone_any_db
    http, h = keystone.http, keystone.admin
    # The directory as seeded (this test changes it, and runs once per database kind)
    slapd.ldapmodify(f"dn: cn=ops,ou=UserGroups,{SUFFIX}\nchangetype: modify\n"
                     f"replace: member\nmember: uid=bob,ou=Users,{SUFFIX}\n")
    slapd.ldapmodify(f"dn: uid=alice,ou=Users,{SUFFIX}\nchangetype: modify\n"
                     "replace: employeeType\nemployeeType: TRUE\n")
    domain_id = await _ldap_domain(keystone, slapd.domain_config())
    # Unscoped login as an LDAP user, by name and domain name
    r = await _login(keystone, "alice", "alice-pass")
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    alice = public_id(domain_id, "alice", "user")
    assert token["user"]["id"] == alice and token["user"]["domain"]["id"] == domain_id
    # Wrong password, unknown user, empty password (an anonymous bind would succeed),
    # disabled user: the one generic 401
    for user, password in (("alice", "wrong"), ("nobody", "x"), ("alice", ""),
                           ("carol", "carol-pass")):
        r = await _login(keystone, user, password)
        assert r.status_code == 401, (user, r.text)
        assert r.json()["error"]["message"] == ("The request you have made requires "
                                                "authentication.")

    # A role on a project, granted to the LDAP user in Overcast
    r = await http.post("/v3/projects", headers=h, json={"project": {"name": "ldap-proj"}})
    project = r.json()["project"]["id"]
    member = (await http.get("/v3/roles?name=member", headers=h)).json()["roles"][0]["id"]
    r = await http.put(f"/v3/projects/{project}/users/{alice}/roles/{member}", headers=h)
    assert r.status_code == 204, r.text
    r = await _login(keystone, "alice", "alice-pass", project={"id": project})
    assert r.status_code == 201, r.text
    assert [x["name"] for x in r.json()["token"]["roles"]] == ["member", "reader"]
    scoped = r.headers["X-Subject-Token"]
    r = await http.get("/v3/auth/tokens", headers={**h, "X-Subject-Token": scoped})
    assert r.status_code == 200 and r.json()["token"]["user"]["name"] == "alice"
    # ... by user id too
    r = await keystone.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"id": alice, "password": "alice-pass"}}},
        "scope": {"project": {"id": project}}}})
    assert r.status_code == 201, r.text

    # A role through an LDAP group: bob is in ops
    ops = public_id(domain_id, "ops", "group")
    r = await _login(keystone, "bob", "bob-pass", project={"id": project})
    assert r.status_code == 401  # no role yet
    await http.get(f"/v3/groups?domain_id={domain_id}", headers=h)  # the group is known
    r = await http.put(f"/v3/projects/{project}/groups/{ops}/roles/{member}", headers=h)
    assert r.status_code == 204, r.text
    r = await _login(keystone, "bob", "bob-pass", project={"id": project})
    assert r.status_code == 201, r.text
    bob_token = r.headers["X-Subject-Token"]

    # bob leaves ops in LDAP: his next login has no role there any more
    slapd.ldapmodify(f"dn: cn=ops,ou=UserGroups,{SUFFIX}\nchangetype: modify\n"
                     f"replace: member\nmember: uid=alice,ou=Users,{SUFFIX}\n")
    r = await _login(keystone, "bob", "bob-pass", project={"id": project})
    assert r.status_code == 401
    # ... and the token he had lost the role the group gave
    r = await http.get("/v3/auth/tokens", headers={**h, "X-Subject-Token": bob_token})
    assert r.status_code == 404

    # A user disabled in LDAP cannot log in, and shows disabled
    slapd.ldapmodify(f"dn: uid=alice,ou=Users,{SUFFIX}\nchangetype: modify\n"
                     "replace: employeeType\nemployeeType: FALSE\n")
    r = await _login(keystone, "alice", "alice-pass")
    assert r.status_code == 401
    r = await http.get(f"/v3/users/{alice}", headers=h)
    assert r.json()["user"]["enabled"] is False
    r = await http.get("/v3/auth/tokens", headers={**h, "X-Subject-Token": scoped})
    assert r.status_code == 404
    slapd.ldapmodify(f"dn: uid=alice,ou=Users,{SUFFIX}\nchangetype: modify\n"
                     "replace: employeeType\nemployeeType: TRUE\n")
    slapd.ldapmodify(f"dn: cn=ops,ou=UserGroups,{SUFFIX}\nchangetype: modify\n"
                     f"replace: member\nmember: uid=bob,ou=Users,{SUFFIX}\n")


@pytest.mark.parametrize("transport", ["starttls", "ldaps", "paged"])
async def test_tls_transports(keystone: Keystone, slapd: Slapd, transport: str) -> None:
    overrides: dict[str, object] = {"tls_cacertfile": str(slapd.ca_file)}
    if transport == "starttls":
        overrides["use_tls"] = True
    elif transport == "ldaps":
        overrides["url"] = slapd.ldaps_url
    else:
        overrides = {"page_size": 1, "query_scope": "sub"}
    await _ldap_domain(keystone, slapd.domain_config(**overrides))
    r = await keystone.http.get("/v3/users?domain_id=" + (await _domain_id(keystone)),
                                headers=keystone.admin)
    assert r.status_code == 200, r.text
    assert {u["name"] for u in r.json()["users"]} == {"alice", "bob", "carol"}
    r = await _login(keystone, "bob", "bob-pass")
    assert r.status_code == 201, r.text


async def _domain_id(keystone: Keystone, name: str = "ldapdomain") -> str:
    r = await keystone.http.get(f"/v3/domains?name={name}", headers=keystone.admin)
    return str(r.json()["domains"][0]["id"])


async def test_untrusted_certificate_and_down_server_are_503(keystone: Keystone,
                                                             slapd: Slapd, tmp_path: Path) -> None:
    other_ca = tmp_path / "other-ca.pem"
    (tmp_path / "other").mkdir()
    other_ca.write_bytes(certificates(tmp_path / "other").read_bytes())
    domain_id = await _ldap_domain(keystone, slapd.domain_config(
        use_tls=True, tls_cacertfile=str(other_ca)))
    r = await keystone.http.get(f"/v3/users?domain_id={domain_id}", headers=keystone.admin)
    assert r.status_code == 503
    assert r.json()["error"]["message"] == "The identity backend (LDAP) is unavailable."
    # A login against it fails closed, and says nothing more
    r = await _login(keystone, "bob", "bob-pass")
    assert r.status_code == 503
    # use_tls with ldaps:// is Keystone's "Invalid TLS / LDAPS combination"
    r = await keystone.http.patch(f"/v3/domains/{domain_id}/config", headers=keystone.admin,
                                  json={"config": {"ldap": {"url": slapd.ldaps_url}}})
    assert r.status_code == 200, r.text
    r = await keystone.http.get(f"/v3/users?domain_id={domain_id}", headers=keystone.admin)
    assert r.status_code == 503
    assert "Invalid TLS / LDAPS combination" in r.json()["error"]["message"]


async def test_entries_sharing_a_name_do_not_break_the_listing(keystone: Keystone,
                                                               slapd: Slapd) -> None:
    # Every person's objectClass is inetOrgPerson: as a name attribute, one name for all.
    domain_id = await _ldap_domain(keystone, slapd.domain_config(
        user_name_attribute="objectClass"))
    r = await keystone.http.get(f"/v3/users?domain_id={domain_id}", headers=keystone.admin)
    assert r.status_code == 200, r.text
    assert [u["name"] for u in r.json()["users"]] == ["inetOrgPerson"]
