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
NO_MANAGER_ROLE = ("overcast differs: bootstrap creates no `manager` role; Keystone 30's bootstrap makes "
                   "admin => manager => member => reader, so an admin token lists 4 roles, ours 3")


APPCRED_RULES = ("overcast differs: `access_rules: []` in an application credential made without rules; "
                 "Keystone 30 has no `access_rules` key then")
APPCRED_LINK = ("overcast differs: links.self is <identity-url>/v3/users/<user>/application_credentials/"
                "<id>; Keystone 30's is <identity-url>/v3/application_credentials/<id>")
APPCRED_ROLES = ("overcast differs: `roles` holds the role asked for as {id, name, domain_id}; Keystone 30 "
                 "lists it and its implied roles (member and reader), each with description, domain_id, id, "
                 "name and options {immutable: true}")
APPCRED_SYSTEM = "overcast differs: no `system` key; Keystone 30 has `system: null`"
APPCRED_UNRESTRICTED = ("overcast differs: `unrestricted: false` when not given; Keystone 30 answers "
                        "`unrestricted: null`")


def _user_id(identity: Api) -> str:
    r = identity.get("/v3/auth/tokens", headers={"X-Subject-Token": identity.token})
    return str(r.json()["token"]["user"]["id"])


@differs("$.root.headers.location", "overcast differs: GET / (300 Multiple Choices) has no "
         "Location header; Keystone points it at <identity-url>/v3/")
def test_versions(identity: Api, snapshot: Snapshot) -> None:
    snapshot.match("v3", identity.get("/v3", token=False))
    snapshot.match("root", identity.get("/", token=False))


@differs("$.check.headers.content-type", "overcast differs: HEAD /v3/auth/tokens (200) has no Content-Type; "
         "Keystone sends application/json")
@differs("$.issue.body.token.roles", NO_MANAGER_ROLE)
@differs("$.validate.body.token.roles", NO_MANAGER_ROLE)
@message("validate_revoked", "'Could not find token: <first 10 characters>...' where Keystone says "
         "'Failed to validate token'")
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


@message("garbage_subject", "'Could not find token: not-a-to...' where Keystone says 'Could not "
         "recognize Fernet token'")
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


@message("duplicate", "'... Duplicate entry found with name parity-project at domain ID default.' where "
         "Keystone says '... it is not permitted to have two projects with either the same name or same "
         "id in the same domain: name is parity-project, project id <id>.'")
@differs("$.update.body.project.extra", "overcast differs: the PATCH answer has no `extra` key; Keystone 30 "
         "includes `extra: {}` in an updated project (not in create/show)")
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
@differs("$.update.body.user.extra", "overcast differs: the PATCH answer has no `extra` key; Keystone 30 "
         "echoes `extra: {\"email\": ...}` in an updated user (not in create/show)")
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


@message("revoke_again", "'Could not find role assignment with role: <role>, user: <user>, project: "
         "<project>.' where Keystone says '... user or group: <user>, project, domain, or system: "
         "<project>.'")
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


@differs("$.user_groups.body.groups[0].membership_expires_at", "overcast differs: GET /v3/users/{id}/groups "
         "has no `membership_expires_at`; Keystone 30 lists it (null for a local group)")
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


@differs("$.create.body.application_credential.access_rules", APPCRED_RULES)
@differs("$.create.body.application_credential.links.self", APPCRED_LINK)
@differs("$.create.body.application_credential.roles", APPCRED_ROLES)
@differs("$.create.body.application_credential.system", APPCRED_SYSTEM)
@differs("$.create.body.application_credential.unrestricted", APPCRED_UNRESTRICTED)
@differs("$.show.body.application_credential.access_rules", APPCRED_RULES)
@differs("$.show.body.application_credential.links.self", APPCRED_LINK)
@differs("$.show.body.application_credential.roles", APPCRED_ROLES)
@differs("$.show.body.application_credential.system", APPCRED_SYSTEM)
@differs("$.show.body.application_credential.unrestricted", APPCRED_UNRESTRICTED)
@differs("$.list.body.application_credentials[0].access_rules", APPCRED_RULES)
@differs("$.list.body.application_credentials[0].links.self", APPCRED_LINK)
@differs("$.list.body.application_credentials[0].roles", APPCRED_ROLES)
@differs("$.list.body.application_credentials[0].system", APPCRED_SYSTEM)
@differs("$.list.body.application_credentials[0].unrestricted", APPCRED_UNRESTRICTED)
@message("duplicate", "'An application credential named parity-appcred already exists.' where Keystone "
         "says 'Conflict occurred attempting to store application_credential - Duplicate entry found "
         "with name parity-appcred.'")
@differs("$.login.body.token.roles", "overcast differs: an application credential token lists only the "
         "delegated role (member); Keystone 30 adds its implied roles (member and reader)")
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


@message("duplicate", "'A credential with that id already exists.' where Keystone says 'Conflict "
         "occurred attempting to store credential - Duplicate entry found with ID <id>.'")
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
