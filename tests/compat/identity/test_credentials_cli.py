"""Credentials, EC2 credentials and authentication failures through the real clients,
against `overcast up`: what an operator and a user see."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compat.conftest import Cloud

pytestmark = pytest.mark.compat


def _overcast(cloud: Cloud, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "overcast"
    return subprocess.run([str(exe), *args, "--state-dir", str(cloud.state_dir)],
                          env=cloud.env, capture_output=True, text=True, timeout=60)


def test_credentials_through_the_cli(cloud: Cloud) -> None:
    # an EC2 blob without a secret is refused, with Keystone's reason
    r = cloud.openstack("credential", "create", "--type", "ec2", "--project", "admin", "admin",
                        json.dumps({"access": "AKIA-cli"}), check=False)
    assert r.returncode != 0
    assert "Expecting to find secret in credential" in r.stderr and "400" in r.stderr
    made = cloud.openstack_json("credential", "create", "--type", "totp", "admin",
                                "TOTPSEEDFORCLI")
    assert made["blob"] == "TOTPSEEDFORCLI"  # type: ignore[index]
    shown = cloud.openstack_json("credential", "show", made["id"])  # type: ignore[index]
    assert shown["blob"] == "TOTPSEEDFORCLI"  # type: ignore[index]
    ec2 = cloud.openstack_json("ec2", "credentials", "create")
    listed = cloud.openstack_json("ec2", "credentials", "list")
    assert ec2["access"] in {c["Access"] for c in listed}  # type: ignore[index,union-attr]

    # the blobs are not in the database in clear, and the key commands work on a live cloud
    # (the write-ahead log too: recent writes may not be in the main file yet)
    db = b"".join(f.read_bytes() for f in cloud.state_dir.glob("identity.sqlite*"))
    assert b"TOTPSEEDFORCLI" not in db and ec2["secret"].encode() not in db  # type: ignore[index]
    assert _overcast(cloud, "credential", "rotate").returncode == 0
    refused = _overcast(cloud, "credential", "rotate")
    assert refused.returncode == 1 and "credential migrate" in refused.stderr
    assert _overcast(cloud, "credential", "migrate").returncode == 0
    assert cloud.openstack_json("credential", "show", made["id"])[  # type: ignore[index]
        "blob"] == "TOTPSEEDFORCLI"


def test_owner_cannot_move_a_credential_with_openstacksdk(cloud: Cloud) -> None:
    import openstack
    from openstack import exceptions

    admin = openstack.connect(auth_url=cloud.auth_url, username="admin",
                              password=cloud.admin_password, project_name="admin",
                              user_domain_name="Default", project_domain_name="Default")
    project = admin.identity.create_project(name="cve-proj")
    owner = admin.identity.create_user(name="cve-owner", password="cve-pass")
    other = admin.identity.create_user(name="cve-other", password="cve-pass")
    admin.identity.assign_project_role_to_user(project, owner, admin.identity.find_role("member"))
    me = openstack.connect(auth_url=cloud.auth_url, username="cve-owner", password="cve-pass",
                           project_name="cve-proj", user_domain_name="Default",
                           project_domain_name="Default")
    cred = me.identity.create_credential(type="totp", blob="SEED", user_id=owner.id)
    with pytest.raises(exceptions.ForbiddenException) as refused:
        me.identity.update_credential(cred, user_id=other.id)
    assert refused.value.status_code == 403
    assert "identity:update_credential" in str(refused.value)
    assert admin.identity.get_credential(cred.id).user_id == owner.id


def test_failed_logins_say_nothing_specific(cloud: Cloud) -> None:
    env = {"OS_AUTH_URL": cloud.auth_url, "OS_IDENTITY_API_VERSION": "3",
           "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"}
    outcomes = []
    for user, password, project in (("admin", "wrong", "admin"), ("nobody", "x", "admin"),
                                    ("admin", cloud.admin_password, "no-such-project")):
        r = cloud.openstack("token", "issue", cloud="", check=False, env={
            **env, "OS_USERNAME": user, "OS_PASSWORD": password, "OS_PROJECT_NAME": project})
        assert r.returncode != 0
        assert "The request you have made requires authentication. (HTTP 401)" in r.stderr
        outcomes.append(r.stderr.split("(Request-ID")[0])
    assert len(set(outcomes)) == 1, outcomes
