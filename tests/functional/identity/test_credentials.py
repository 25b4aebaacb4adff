"""/v3/credentials and EC2 credentials: who may change what, and what a blob must be."""

from __future__ import annotations

import json

from tests.functional.identity.conftest import Keystone


def _forbidden(rule_or_action: str) -> dict[str, object]:
    return {"error": {"code": 403, "title": "Forbidden", "message":
                      f"You are not authorized to perform the requested action: "
                      f"{rule_or_action}"}}


async def test_owner_cannot_move_a_credential_to_another_user(keystone: Keystone) -> None:
    """CVE-2020-12691: policy is checked on the credential as it will be after the update."""
    a = await keystone.make_user("cred-a", "a-pass", "cred-a-proj")
    b = await keystone.make_user("cred-b", "b-pass", "cred-b-proj")
    me = keystone.as_(await keystone.token("cred-a", "a-pass", "cred-a-proj"))
    r = await keystone.http.post("/v3/credentials", headers=me, json={"credential": {
        "user_id": a["user_id"], "type": "totp", "blob": "GEZDGNBVGY3TQOJQ"}})
    assert r.status_code == 201, r.text
    cred = r.json()["credential"]

    r = await keystone.http.patch(f"/v3/credentials/{cred['id']}", headers=me,
                                  json={"credential": {"user_id": b["user_id"]}})
    assert r.status_code == 403, r.text
    assert r.json() == _forbidden("identity:update_credential.")
    r = await keystone.http.get(f"/v3/credentials/{cred['id']}", headers=keystone.admin)
    assert r.json()["credential"]["user_id"] == a["user_id"]
    # the owner may still change what is theirs to change
    r = await keystone.http.patch(f"/v3/credentials/{cred['id']}", headers=me,
                                  json={"credential": {"blob": "NEWSEED"}})
    assert r.status_code == 200 and r.json()["credential"]["blob"] == "NEWSEED"
    # an admin may move it: the rule allows the target for them
    r = await keystone.http.patch(f"/v3/credentials/{cred['id']}", headers=keystone.admin,
                                  json={"credential": {"user_id": b["user_id"]}})
    assert r.status_code == 200 and r.json()["credential"]["user_id"] == b["user_id"]


async def test_ec2_blob_delegation_keys_cannot_change(keystone: Keystone) -> None:
    ids = await keystone.make_user("ec2-keys", "k-pass", "ec2-keys-proj")
    me = keystone.as_(await keystone.token("ec2-keys", "k-pass", "ec2-keys-proj"))
    blob = {"access": "AKIA-keys", "secret": "s3cret", "trust_id": None}
    r = await keystone.http.post("/v3/credentials", headers=me, json={"credential": {
        "user_id": ids["user_id"], "project_id": ids["project_id"], "type": "ec2",
        "blob": json.dumps(blob)}})
    assert r.status_code == 201, r.text
    cred_id = r.json()["credential"]["id"]
    for key, value in (("trust_id", "a-trust"), ("app_cred_id", "an-app-cred"),
                       ("access_token_id", "x"), ("access_id", "y")):
        r = await keystone.http.patch(f"/v3/credentials/{cred_id}", headers=me, json={
            "credential": {"blob": json.dumps({**blob, key: value})}})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["message"] == f"{key} can not be updated for credential"
    r = await keystone.http.patch(f"/v3/credentials/{cred_id}", headers=me, json={
        "credential": {"blob": json.dumps({**blob, "secret": "rotated"})}})
    assert r.status_code == 200, r.text
    assert json.loads(r.json()["credential"]["blob"])["secret"] == "rotated"
