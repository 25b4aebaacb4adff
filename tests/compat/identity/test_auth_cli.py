"""Trusts, security compliance and multi-factor logins through the real `openstack` CLI and
keystoneauth1, against `overcast up` run with Keystone's `[security_compliance]` options."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.compat.conftest import Cloud, start_cloud, stop_cloud

pytestmark = pytest.mark.compat

LOCKOUT_DURATION = 20  # long enough for three CLI runs on a busy machine


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A cloud run as a regulated operator would: lockout after 2 failures for 20 s, and a
    password set by an administrator must be changed at first use."""
    c = start_cloud(tmp_path_factory.mktemp("strict"), {
        "OVERCAST_SECURITY_COMPLIANCE__LOCKOUT_FAILURE_ATTEMPTS": "2",
        "OVERCAST_SECURITY_COMPLIANCE__LOCKOUT_DURATION": str(LOCKOUT_DURATION),
        "OVERCAST_SECURITY_COMPLIANCE__CHANGE_PASSWORD_UPON_FIRST_USE": "true"})
    yield c
    stop_cloud(c)


def as_user(cloud: Cloud, name: str, password: str, project: str | None = None,
            **more: str) -> dict[str, str]:
    """The environment of `openstack` run as this user, with no clouds.yaml entry."""
    env = {"OS_AUTH_URL": cloud.auth_url, "OS_IDENTITY_API_VERSION": "3",
           "OS_USERNAME": name, "OS_PASSWORD": password, "OS_USER_DOMAIN_NAME": "Default",
           "OS_CLOUD": "", **more}
    if project:
        env.update(OS_PROJECT_NAME=project, OS_PROJECT_DOMAIN_NAME="Default")
    return env


def make_user(cloud: Cloud, name: str, password: str, *, exempt: bool = True) -> str:
    args = ["user", "create", "--domain", "default", "--password", password, name]
    if exempt:
        args.insert(2, "--ignore-change-password-upon-first-use")
    user: Any = cloud.openstack_json(*args)
    return str(user["id"])


def test_trust_created_by_one_user_used_by_another(strict: Cloud) -> None:
    c = strict
    project: Any = c.openstack_json("project", "create", "--domain", "default", "trusted-proj")
    trustor = make_user(c, "trustor", "trustor-pw-1")
    trustee = make_user(c, "trustee", "trustee-pw-1")
    c.openstack("role", "add", "--project", "trusted-proj", "--user", "trustor", "member")
    member: Any = c.openstack_json("role", "show", "member")
    # by id: the trustor may not look other users (or roles) up by name, as in Keystone
    trust: Any = c.openstack_json(
        "trust", "create", "--project", project["id"], "--role", member["id"], "--impersonate",
        trustor, trustee, cloud="", env=as_user(c, "trustor", "trustor-pw-1", "trusted-proj"))
    assert trust["project_id"] == project["id"] and trust["is_impersonation"] is True

    trustee_env = as_user(c, "trustee", "trustee-pw-1")
    token: Any = c.openstack_json("--os-trust-id", trust["id"], "token", "issue", cloud="",
                                  env=trustee_env)
    # impersonation: the token's user is the trustor, in the trust's project
    assert (token["project_id"], token["user_id"]) == (project["id"], trustor)
    assert trustee != trustor

    c.openstack("trust", "delete", trust["id"], cloud="",
                env=as_user(c, "trustor", "trustor-pw-1", "trusted-proj"))
    r = c.openstack("--os-trust-id", trust["id"], "token", "issue", cloud="", env=trustee_env,
                    check=False)
    assert r.returncode != 0 and "HTTP 401" in r.stderr, r.stderr


def test_lockout_after_failures_and_unlock_after_duration(strict: Cloud) -> None:
    c = strict
    uid = make_user(c, "locky", "locky-pw-1")
    good = as_user(c, "locky", "locky-pw-1")
    bad = as_user(c, "locky", "not-the-password")
    c.openstack("token", "issue", cloud="", env=good)
    for _ in range(2):
        r = c.openstack("token", "issue", cloud="", env=bad, check=False)
        assert r.returncode != 0 and "The request you have made requires authentication" in \
            r.stderr, r.stderr
    r = c.openstack("token", "issue", cloud="", env=good, check=False)
    assert r.returncode != 0 and f"The account is locked for user: {uid}." in r.stderr, r.stderr
    time.sleep(LOCKOUT_DURATION + 0.5)
    c.openstack("token", "issue", cloud="", env=good)


def test_password_set_by_an_administrator_is_expired_until_changed(strict: Cloud) -> None:
    c = strict
    uid = make_user(c, "newbie", "newbie-pw-1", exempt=False)
    r = c.openstack("token", "issue", cloud="", env=as_user(c, "newbie", "newbie-pw-1"),
                    check=False)
    assert r.returncode != 0, r.stderr
    assert f"The password is expired and needs to be changed for user: {uid}." in r.stderr
    # the user changes it without a token (the original password is the proof), as Keystone
    resp = httpx.post(f"{c.auth_url}/users/{uid}/password", json={"user": {
        "original_password": "newbie-pw-1", "password": "newbie-pw-2"}})
    assert resp.status_code == 204, resp.text
    c.openstack("token", "issue", cloud="", env=as_user(c, "newbie", "newbie-pw-2"))
    # and from then on through the CLI, as any user does
    c.openstack("user", "password", "set", "--original-password", "newbie-pw-2",
                "--password", "newbie-pw-3", cloud="", env=as_user(c, "newbie", "newbie-pw-2"))
    c.openstack("token", "issue", cloud="", env=as_user(c, "newbie", "newbie-pw-3"))


def _passcode(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return TOTP(key, 6, hashes.SHA1(), 30).generate(time.time()).decode()


def test_totp_enrolment_and_two_factor_login_through_keystoneauth(strict: Cloud,
                                                                 tmp_path: Path) -> None:
    c = strict
    uid = make_user(c, "twofa", "twofa-pw-1")
    c.openstack("role", "add", "--project", "admin", "--user", "twofa", "reader")
    secret = base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")
    c.openstack("credential", "create", "--type", "totp", "twofa", secret)
    c.openstack("user", "set", "--multi-factor-auth-rule", "password,totp",
                "--enable-multi-factor-auth", "twofa")
    shown: Any = c.openstack_json("user", "show", "twofa")
    assert shown["options"]["multi_factor_auth_rules"] == [["password", "totp"]]

    url = c.auth_url
    # one factor: keystoneauth raises MissingAuthMethods with the receipt
    one = v3.Password(url, username="twofa", password="twofa-pw-1", user_domain_name="Default",
                      project_name="admin", project_domain_name="Default")
    with pytest.raises(ks_exc.MissingAuthMethods) as missing:
        ks_session.Session(auth=one).get_token()
    assert missing.value.methods == ["password"]
    assert missing.value.required_auth_methods == [["password", "totp"]]
    # the second factor with the receipt
    receipt = missing.value.receipt
    assert receipt
    second = v3.Auth(url, [v3.TOTPMethod(user_id=uid, passcode=_passcode(secret)),
                           v3.ReceiptMethod(receipt=receipt)],
                     project_name="admin", project_domain_name="Default")
    sess = ks_session.Session(auth=second)
    assert sess.get_token()
    assert sess.get_project_id() is not None
    # both factors at once, with keystoneauth's multi-factor plugin
    both = v3.MultiFactor(url, ["v3password", "v3totp"], username="twofa",
                          password="twofa-pw-1", passcode=_passcode(secret),
                          user_domain_name="Default", project_name="admin",
                          project_domain_name="Default")
    assert ks_session.Session(auth=both).get_token()
