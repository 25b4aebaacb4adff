"""The install guide's identity steps, through the real `openstack` CLI and openstacksdk."""

from __future__ import annotations

import os
import pty
import select
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.compat.conftest import Cloud

pytestmark = pytest.mark.compat


def _with_tty(cloud: Cloud, args: list[str], answers: list[str]) -> str:
    """Run `openstack` on a pseudo-terminal (its controlling tty, as getpass wants) and answer
    its password prompts as a person would."""
    binary = shutil.which("openstack", path=str(Path(sys.executable).parent)) or "openstack"
    argv = [binary, "--os-cloud", "overcast", *args]
    pid, master = pty.fork()
    if pid == 0:  # the child: a new session whose controlling terminal is the pty
        os.execve(binary, argv, cloud.env)
    out = b""
    pending = list(answers)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
        if pending and out.rstrip().endswith(b":"):
            # getpass switches echo off with TCSAFLUSH, which drops input typed before it:
            # answer a moment after the prompt, as a person does.
            time.sleep(0.5)
            os.write(master, pending.pop(0).encode() + b"\n")
            out += b"\n"
    _, status = os.waitpid(pid, 0)
    os.close(master)
    assert os.waitstatus_to_exitcode(status) == 0, out.decode(errors="replace")
    return out.decode(errors="replace")


def test_install_guide_identity_walkthrough(cloud: Cloud) -> None:
    token = cloud.openstack_json("token", "issue")
    assert token["project_id"] and token["user_id"] and token["expires"]  # type: ignore[index]

    project = cloud.openstack_json("project", "create", "--domain", "default",
                                   "--description", "Demo Project", "demo")
    assert project["description"] == "Demo Project"  # type: ignore[index]
    # --password-prompt reads from a terminal, as a person types it twice
    _with_tty(cloud, ["user", "create", "--domain", "default", "--password-prompt", "demo"],
              ["demo-pass-1", "demo-pass-1"])
    cloud.openstack("user", "create", "--domain", "default", "--password", "other-pass",
                    "other")
    cloud.openstack("role", "create", "user")
    cloud.openstack("role", "add", "--project", "demo", "--user", "demo", "user")

    demo_env = {"OS_CLOUD": "overcast-demo", "OS_PASSWORD": "demo-pass-1"}
    demo_token = cloud.openstack_json("token", "issue", cloud="overcast-demo", env=demo_env)
    assert demo_token["project_id"] == project["id"]  # type: ignore[index]

    # A service from the install guides that Overcast does not run yet (the ones it runs,
    # image, placement, network, object-store, are registered by bootstrap).
    svc = cloud.openstack_json("service", "create", "--name", "heat", "--description",
                               "Orchestration", "orchestration")
    assert svc["type"] == "orchestration" and svc["name"] == "heat"  # type: ignore[index]
    ep = cloud.openstack_json("endpoint", "create", "--region", "RegionOne", "orchestration",
                              "public", "http://controller:8004/v1/%(tenant_id)s")
    assert ep["url"] == "http://controller:8004/v1/%(tenant_id)s"  # type: ignore[index]
    assert ep["interface"] == "public"  # type: ignore[index]
    catalog = cloud.openstack_json("catalog", "list")
    assert {"identity", "image", "placement", "network", "object-store",
            "orchestration"} <= {c["Type"] for c in catalog}  # type: ignore[union-attr,index]

    users = {u["Name"] for u in cloud.openstack_json("user", "list")}  # type: ignore[union-attr,index]
    assert {"admin", "demo", "other"} <= users
    projects = {p["Name"] for p in cloud.openstack_json("project", "list")}  # type: ignore[union-attr,index]
    assert {"admin", "service", "demo"} <= projects
    rows = cloud.openstack_json("role", "assignment", "list", "--names")
    assert any(r["Role"] == "user" and r["User"] == "demo@Default"
               and r["Project"] == "demo@Default" for r in rows)  # type: ignore[union-attr,index]

    # Names are unique per domain only: the session's LDAP domain has a `devs` group too.
    in_default = ("--group-domain", "Default", "--user-domain", "Default")
    cloud.openstack("group", "create", "--domain", "Default", "devs")
    cloud.openstack("group", "add", "user", *in_default, "devs", "demo")
    assert "demo" in cloud.openstack("group", "contains", "user", *in_default, "devs",
                                     "demo").stdout
    dom = cloud.openstack_json("domain", "create", "--description", "Second", "second")
    assert dom["name"] == "second" and dom["enabled"] is True  # type: ignore[index]

    # a plain user cannot list services
    r = cloud.openstack("service", "list", cloud="overcast-demo", env=demo_env, check=False)
    assert r.returncode != 0 and "403" in r.stderr


def test_application_credential_and_password_change(cloud: Cloud) -> None:
    cloud.openstack("project", "create", "appcred-proj")
    cloud.openstack("user", "create", "--password", "ac-pass", "ac-user")
    cloud.openstack("role", "add", "--project", "appcred-proj", "--user", "ac-user", "member")
    env = {"OS_USERNAME": "ac-user", "OS_PASSWORD": "ac-pass", "OS_PROJECT_NAME": "appcred-proj",
           "OS_AUTH_URL": cloud.auth_url, "OS_USER_DOMAIN_NAME": "Default",
           "OS_PROJECT_DOMAIN_NAME": "Default", "OS_IDENTITY_API_VERSION": "3"}
    cred = cloud.openstack_json("application", "credential", "create", "ci-cred",
                                cloud="", env=env)
    secret, cred_id = cred["Secret"], cred["ID"]  # type: ignore[index]
    ac_env = {"OS_AUTH_TYPE": "v3applicationcredential", "OS_AUTH_URL": cloud.auth_url,
              "OS_APPLICATION_CREDENTIAL_ID": cred_id, "OS_APPLICATION_CREDENTIAL_SECRET": secret,
              "OS_IDENTITY_API_VERSION": "3"}
    token = cloud.openstack_json("token", "issue", cloud="", env=ac_env)
    assert token["project_id"]  # type: ignore[index]

    # `openstack user set --password` by the admin: the old password stops working
    cloud.openstack("user", "set", "--password", "ac-pass-2", "ac-user")
    r = cloud.openstack("token", "issue", cloud="", env=env, check=False)
    assert r.returncode != 0 and "401" in r.stderr
    env["OS_PASSWORD"] = "ac-pass-2"
    cloud.openstack("token", "issue", cloud="", env=env)


def test_token_revoke(cloud: Cloud) -> None:
    tok = cloud.openstack_json("token", "issue")["id"]  # type: ignore[index]
    cloud.openstack("token", "revoke", tok)
    env = {"OS_AUTH_TYPE": "token", "OS_TOKEN": tok, "OS_AUTH_URL": cloud.auth_url,
           "OS_PROJECT_NAME": "admin", "OS_PROJECT_DOMAIN_NAME": "Default",
           "OS_IDENTITY_API_VERSION": "3"}
    r = cloud.openstack("project", "list", cloud="", env=env, check=False)
    assert r.returncode != 0


def test_openstacksdk_identity(cloud: Cloud) -> None:
    import openstack

    conn = openstack.connect(auth_url=cloud.auth_url, username="admin",
                             password=cloud.admin_password, project_name="admin",
                             user_domain_name="Default", project_domain_name="Default",
                             region_name="RegionOne")
    project = conn.identity.create_project(name="sdk-proj", description="via sdk")
    assert conn.identity.get_project(project.id).description == "via sdk"
    assert conn.identity.find_project("sdk-proj").id == project.id
    assert conn.identity.find_project("no-such-project") is None
    user = conn.identity.create_user(name="sdk-user", password="sdk-pass",
                                     default_project_id=project.id)
    role = conn.identity.find_role("member")
    conn.identity.assign_project_role_to_user(project, user, role)
    assert conn.identity.validate_user_has_project_role(project, user, role)
    user_conn = openstack.connect(auth_url=cloud.auth_url, username="sdk-user",
                                  password="sdk-pass", project_name="sdk-proj",
                                  user_domain_name="Default", project_domain_name="Default")
    assert user_conn.current_project_id == project.id
    conn.identity.delete_user(user)
    conn.identity.delete_project(project)
    assert conn.identity.find_user("sdk-user") is None
