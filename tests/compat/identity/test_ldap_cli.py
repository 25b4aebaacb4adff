"""An LDAP-backed domain through the real `openstack` CLI: its users listed from slapd, and a
login (token issue, a project-scoped command) as one of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.compat.conftest import Cloud
from tests.ldap_server import Slapd, start_slapd

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    server = start_slapd(tmp_path_factory.mktemp("ldap"))
    yield server
    server.stop()


def test_user_list_and_login_from_ldap(cloud: Cloud, slapd: Slapd) -> None:
    domain: Any = cloud.openstack_json("domain", "create", "ldapdomain")
    # The CLI has no domain-configuration command: the API, with the admin's token
    token: Any = cloud.openstack_json("token", "issue")
    r = httpx.put(f"{cloud.auth_url}/domains/{domain['id']}/config",
                  headers={"X-Auth-Token": token["id"]},
                  json={"config": slapd.domain_config(use_tls=True,
                                                      tls_cacertfile=str(slapd.ca_file))})
    assert r.status_code == 201, r.text

    users: Any = cloud.openstack_json("user", "list", "--domain", "ldapdomain", "--long")
    by_name = {u["Name"]: u for u in users}
    assert set(by_name) == {"alice", "bob", "carol"}
    assert by_name["alice"]["Email"] == "alice@example.org"
    assert by_name["carol"]["Enabled"] is False
    groups: Any = cloud.openstack_json("group", "list", "--domain", "ldapdomain")
    assert {g["Name"] for g in groups} == {"devs", "ops"}
    # (by id: the CLI looks a group name up with the domain's name as its domain_id)
    devs = next(g["ID"] for g in groups if g["Name"] == "devs")
    members: Any = cloud.openstack_json("user", "list", "--group", devs)
    assert {u["Name"] for u in members} == {"alice", "carol"}
    # Writes are refused with Keystone's words
    r2 = cloud.openstack("user", "set", "--email", "x@y", "--domain", "ldapdomain", "bob",
                         check=False)
    assert r2.returncode != 0 and "LDAP does not support write operations" in r2.stderr

    # A role on a project, granted in Overcast to the LDAP user; then alice logs in
    cloud.openstack("project", "create", "--domain", "default", "ldap-cli-proj")
    cloud.openstack("role", "add", "--project", "ldap-cli-proj", "--project-domain", "default",
                    "--user", "alice", "--user-domain", "ldapdomain", "member")
    env = {"OS_USERNAME": "alice", "OS_PASSWORD": "alice-pass",
           "OS_USER_DOMAIN_NAME": "ldapdomain", "OS_PROJECT_NAME": "ldap-cli-proj",
           "OS_PROJECT_DOMAIN_NAME": "Default", "OS_AUTH_URL": cloud.auth_url,
           "OS_IDENTITY_API_VERSION": "3"}
    issued: Any = cloud.openstack_json("token", "issue", cloud="", env=env)
    assert issued["user_id"] == by_name["alice"]["ID"]
    projects: Any = cloud.openstack_json("project", "list", "--my-projects", cloud="", env=env)
    assert [p["Name"] for p in projects] == ["ldap-cli-proj"]
    bad = cloud.openstack("token", "issue", cloud="", env={**env, "OS_PASSWORD": "wrong"},
                          check=False)
    assert bad.returncode != 0 and "401" in bad.stderr
