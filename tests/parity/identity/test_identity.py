"""Identity (Keystone v3) parity: the same requests to Keystone 30 (recorded) and to Overcast.

Each test creates its own names, so the tests do not depend on each other or on their order;
lists are filtered to what the test made (the bootstrap's roles and projects differ between the
two, by design). Declared differences: `differs(...)` above a test, each with its reason.
"""

from __future__ import annotations

import pytest

from tests.parity.client import Api, Target, differs, password_auth
from tests.parity.snapshot import NO_SUCH_HEX as NO_SUCH
from tests.parity.snapshot import Snapshot

pytestmark = pytest.mark.validated


def message(key: str, why: str) -> pytest.MarkDecorator:
    """Overcast's fault message for `key` is worded differently (status and shape still compared)."""
    return differs(f"$.{key}.body.error.message", f"overcast differs: {why}", value_only=True)


GENERIC_401 = ("Keystone answers every authentication failure with its generic 'The request you have "
               "made requires authentication.'")


def _user_id(identity: Api) -> str:
    r = identity.get("/v3/auth/tokens", headers={"X-Subject-Token": identity.token})
    return str(r.json()["token"]["user"]["id"])


def test_versions(identity: Api, snapshot: Snapshot) -> None:
    snapshot.match("v3", identity.get("/v3", token=False))
    snapshot.match("root", identity.get("/", token=False))


def test_token_issue_validate_revoke(identity: Api, target: Target, snapshot: Snapshot) -> None:
    body = password_auth("admin", target.admin_password)
    r = snapshot.match("issue", identity.post("/v3/auth/tokens?nocatalog", json=body, token=False))
    tok = r.headers["X-Subject-Token"]
    snapshot.match("validate", identity.get("/v3/auth/tokens?nocatalog", headers={"X-Subject-Token": tok}))
    snapshot.match("check", identity.head("/v3/auth/tokens", headers={"X-Subject-Token": tok}))
    snapshot.match("revoke", identity.delete("/v3/auth/tokens", headers={"X-Subject-Token": tok}))
    snapshot.match("validate_revoked", identity.get("/v3/auth/tokens", headers={"X-Subject-Token": tok}))
    snapshot.match("use_revoked", identity.get("/v3/projects", token=tok))


def test_token_catalog(identity: Api, snapshot: Snapshot) -> None:
    snapshot.match("catalog", identity.get("/v3/auth/catalog"))


@message("no_methods", "'Expecting to find methods in identity...' where Keystone gives its jsonschema "
         "text ('Invalid input for field \'identity\': \'methods\' is a required property...')")
@message("not_json", "'Malformed request body: the body is not valid JSON.' where Keystone says "
         "'Expecting to find valid JSON in request body...'")
def test_token_errors(identity: Api, target: Target, snapshot: Snapshot) -> None:
    url = "/v3/auth/tokens"
    snapshot.match("bad_password", identity.post(url, json=password_auth("admin", "wrong"), token=False))
    snapshot.match("unknown_user", identity.post(url, json=password_auth("nobody-here", "x"), token=False))
    snapshot.match("unknown_project", identity.post(
        url, json=password_auth("admin", target.admin_password, project="no-such-project"), token=False))
    snapshot.match("no_methods", identity.post(url, json={"auth": {"identity": {}}}, token=False))
    snapshot.match("not_json", identity.post(url, content=b"{not json",
                                             headers={"Content-Type": "application/json"}, token=False))
    snapshot.match("garbage_subject", identity.get(url, headers={"X-Subject-Token": "not-a-token"}))
    snapshot.match("no_token", identity.get("/v3/projects", token=False))
    snapshot.match("bad_token", identity.get("/v3/projects", token="not-a-token"))


def test_projects(identity: Api, snapshot: Snapshot) -> None:
    body = {"project": {"name": "parity-project", "description": "made by a parity test",
                        "domain_id": "default", "tags": ["t1"]}}
    r = snapshot.match("create", identity.post("/v3/projects", json=body))
    pid = r.json()["project"]["id"]
    snapshot.match("duplicate", identity.post("/v3/projects", json=body))
    snapshot.match("show", identity.get(f"/v3/projects/{pid}"))
    snapshot.match("list_by_name", identity.get("/v3/projects?name=parity-project"))
    snapshot.match("list_by_tag", identity.get("/v3/projects?tags=t1"))
    snapshot.match("update", identity.patch(f"/v3/projects/{pid}",
                                            json={"project": {"description": "changed", "enabled": False}}))
    snapshot.match("update_bad_type", identity.patch(f"/v3/projects/{pid}",
                                                     json={"project": {"name": 5}}))
    snapshot.match("create_no_name", identity.post("/v3/projects", json={"project": {}}))
    snapshot.match("delete", identity.delete(f"/v3/projects/{pid}"))
    snapshot.match("show_deleted", identity.get(f"/v3/projects/{pid}"))
    snapshot.match("delete_missing", identity.delete(f"/v3/projects/{NO_SUCH}"))


def test_domains(identity: Api, snapshot: Snapshot) -> None:
    r = snapshot.match("create", identity.post("/v3/domains", json={"domain": {"name": "parity-domain"}}))
    did = r.json()["domain"]["id"]
    snapshot.match("delete_enabled", identity.delete(f"/v3/domains/{did}"))
    snapshot.match("disable", identity.patch(f"/v3/domains/{did}", json={"domain": {"enabled": False}}))
    snapshot.match("delete", identity.delete(f"/v3/domains/{did}"))
    snapshot.match("show_default", identity.get("/v3/domains/default"))


@message("create_no_name", "'Invalid input for field \'name\': a name is required.' where Keystone "
         "says \"Invalid input for field/attribute user. Value: {'password': 'x'}. 'name' is a required "
         "property\"")
def test_users(identity: Api, snapshot: Snapshot) -> None:
    body = {"user": {"name": "parity-user", "password": "parity-pw-1", "domain_id": "default",
                     "email": "parity@example.org"}}
    r = snapshot.match("create", identity.post("/v3/users", json=body))
    uid = r.json()["user"]["id"]
    snapshot.match("duplicate", identity.post("/v3/users", json=body))
    snapshot.match("show", identity.get(f"/v3/users/{uid}"))
    snapshot.match("list_by_name", identity.get("/v3/users?name=parity-user"))
    snapshot.match("update", identity.patch(f"/v3/users/{uid}", json={"user": {"email": "new@example.org"}}))
    snapshot.match("login_unscoped", identity.post(
        "/v3/auth/tokens?nocatalog", json=password_auth("parity-user", "parity-pw-1", project=None),
        token=False))
    snapshot.match("login_no_role", identity.post(
        "/v3/auth/tokens", json=password_auth("parity-user", "parity-pw-1", project="admin"), token=False))
    snapshot.match("create_no_name", identity.post("/v3/users", json={"user": {"password": "x"}}))
    snapshot.match("delete", identity.delete(f"/v3/users/{uid}"))
    snapshot.match("show_deleted", identity.get(f"/v3/users/{uid}"))


def test_roles_and_assignments(identity: Api, snapshot: Snapshot) -> None:
    r = snapshot.match("create_role", identity.post("/v3/roles", json={"role": {"name": "parity-role"}}))
    rid = r.json()["role"]["id"]
    snapshot.match("duplicate_role", identity.post("/v3/roles", json={"role": {"name": "parity-role"}}))
    snapshot.match("list_roles", identity.get("/v3/roles?name=parity-role"))
    uid = identity.post("/v3/users", json={"user": {"name": "parity-assignee", "password": "pw-assignee",
                                                    "domain_id": "default"}}).json()["user"]["id"]
    pid = identity.post("/v3/projects", json={"project": {"name": "parity-assign-project",
                                                          "domain_id": "default"}}).json()["project"]["id"]
    grant = f"/v3/projects/{pid}/users/{uid}/roles/{rid}"
    snapshot.match("check_before", identity.head(grant))
    snapshot.match("grant", identity.put(grant))
    snapshot.match("check", identity.head(grant))
    snapshot.match("project_user_roles", identity.get(f"/v3/projects/{pid}/users/{uid}/roles"))
    snapshot.match("assignments", identity.get(f"/v3/role_assignments?user.id={uid}&scope.project.id={pid}"))
    snapshot.match("assignments_names", identity.get(
        f"/v3/role_assignments?user.id={uid}&include_names=true"))
    snapshot.match("login_with_role", identity.post(
        "/v3/auth/tokens?nocatalog",
        json=password_auth("parity-assignee", "pw-assignee", project="parity-assign-project"), token=False))
    snapshot.match("grant_missing_role", identity.put(f"/v3/projects/{pid}/users/{uid}/roles/{NO_SUCH}"))
    snapshot.match("revoke", identity.delete(grant))
    snapshot.match("revoke_again", identity.delete(grant))
    snapshot.match("delete_role", identity.delete(f"/v3/roles/{rid}"))
    snapshot.match("show_deleted_role", identity.get(f"/v3/roles/{rid}"))


def test_groups(identity: Api, snapshot: Snapshot) -> None:
    r = snapshot.match("create", identity.post("/v3/groups", json={"group": {"name": "parity-group",
                                                                             "domain_id": "default"}}))
    gid = r.json()["group"]["id"]
    snapshot.match("duplicate", identity.post("/v3/groups", json={"group": {"name": "parity-group",
                                                                            "domain_id": "default"}}))
    uid = identity.post("/v3/users", json={"user": {"name": "parity-member",
                                                    "domain_id": "default"}}).json()["user"]["id"]
    snapshot.match("add_user", identity.put(f"/v3/groups/{gid}/users/{uid}"))
    snapshot.match("check_user", identity.head(f"/v3/groups/{gid}/users/{uid}"))
    snapshot.match("list_users", identity.get(f"/v3/groups/{gid}/users"))
    snapshot.match("user_groups", identity.get(f"/v3/users/{uid}/groups"))
    snapshot.match("update", identity.patch(f"/v3/groups/{gid}", json={"group": {"description": "d"}}))
    snapshot.match("remove_user", identity.delete(f"/v3/groups/{gid}/users/{uid}"))
    snapshot.match("check_removed", identity.head(f"/v3/groups/{gid}/users/{uid}"))
    snapshot.match("add_missing_user", identity.put(f"/v3/groups/{gid}/users/{NO_SUCH}"))
    snapshot.match("delete", identity.delete(f"/v3/groups/{gid}"))
    snapshot.match("show_deleted", identity.get(f"/v3/groups/{gid}"))


def test_application_credentials(identity: Api, snapshot: Snapshot) -> None:
    uid = _user_id(identity)
    base = f"/v3/users/{uid}/application_credentials"
    body = {"application_credential": {"name": "parity-appcred", "description": "parity",
                                       "roles": [{"name": "member"}]}}
    r = snapshot.match("create", identity.post(base, json=body))
    ac = r.json()["application_credential"]
    snapshot.match("duplicate", identity.post(base, json=body))
    snapshot.match("list", identity.get(f"{base}?name=parity-appcred"))
    snapshot.match("show", identity.get(f"{base}/{ac['id']}"))
    auth = {"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
        "id": ac["id"], "secret": ac["secret"]}}}}
    snapshot.match("login", identity.post("/v3/auth/tokens?nocatalog", json=auth, token=False))
    bad = {"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
        "id": ac["id"], "secret": "wrong"}}}}
    snapshot.match("login_bad_secret", identity.post("/v3/auth/tokens", json=bad, token=False))
    snapshot.match("delete", identity.delete(f"{base}/{ac['id']}"))
    snapshot.match("show_deleted", identity.get(f"{base}/{ac['id']}"))


def test_credentials(identity: Api, snapshot: Snapshot) -> None:
    uid = _user_id(identity)
    pid = identity.get("/v3/auth/tokens", headers={"X-Subject-Token": identity.token}).json()[
        "token"]["project"]["id"]
    body = {"credential": {"type": "ec2", "user_id": uid, "project_id": pid,
                           "blob": '{"access": "parity-access-key", "secret": "parity-secret-key"}'}}
    r = snapshot.match("create", identity.post("/v3/credentials", json=body))
    cid = r.json()["credential"]["id"]
    snapshot.match("duplicate", identity.post("/v3/credentials", json=body))
    snapshot.match("show", identity.get(f"/v3/credentials/{cid}"))
    snapshot.match("list", identity.get(f"/v3/credentials?user_id={uid}&type=ec2"))
    snapshot.match("update", identity.patch(f"/v3/credentials/{cid}",
                                            json={"credential": {"blob": '{"access": "parity-access-key", '
                                                                         '"secret": "changed"}'}}))
    snapshot.match("create_no_blob", identity.post("/v3/credentials", json={"credential": {
        "type": "cert", "user_id": uid}}))
    snapshot.match("delete", identity.delete(f"/v3/credentials/{cid}"))
    snapshot.match("show_deleted", identity.get(f"/v3/credentials/{cid}"))
