"""/v3/credentials and EC2 credentials: who may change what, and what a blob must be."""

from __future__ import annotations

import asyncio
import hashlib
import json
import stat

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from overcast.cli import bootstrap, credential_keys, main
from overcast.common.db import Database
from overcast.config import Config
from overcast.identity.fernet import KeyRepository
from overcast.identity.models import Credential
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


MANAGING_CREDENTIALS = ("Using method 'application_credential' is not allowed for managing "
                        "additional credentials..")
MANAGING_APP_CREDS = ("Using method 'application_credential' is not allowed for managing "
                      "additional application credentials..")


async def test_restricted_application_credential_cannot_make_ec2_credentials(
        keystone: Keystone) -> None:
    ids = await keystone.make_user("ac-ec2", "p-ac-ec2", "ac-ec2-proj")
    password_token = await keystone.token("ac-ec2", "p-ac-ec2", "ac-ec2-proj")
    _, token = await keystone.app_credential(password_token, ids["user_id"], "restricted")
    me = keystone.as_(token)
    blob = json.dumps({"access": "AKIA-restricted", "secret": "s"})
    r = await keystone.http.post("/v3/credentials", headers=me, json={"credential": {
        "user_id": ids["user_id"], "project_id": ids["project_id"], "type": "ec2",
        "blob": blob}})
    assert r.status_code == 403, r.text
    assert r.json() == _forbidden(MANAGING_CREDENTIALS)
    r = await keystone.http.post(f"/v3/users/{ids['user_id']}/credentials/OS-EC2", headers=me,
                                 json={"tenant_id": ids["project_id"]})
    assert r.status_code == 403, r.text
    assert r.json() == _forbidden(MANAGING_APP_CREDS)
    r = await keystone.http.get("/v3/credentials?type=ec2", headers=keystone.admin)
    assert [c for c in r.json()["credentials"] if c["user_id"] == ids["user_id"]] == []
    # other kinds of credential, in the credential's own project, stay allowed (as Keystone)
    r = await keystone.http.post("/v3/credentials", headers=me, json={"credential": {
        "user_id": ids["user_id"], "project_id": ids["project_id"], "type": "cert",
        "blob": "-----BEGIN CERTIFICATE-----"}})
    assert r.status_code == 201, r.text


async def test_ec2_credential_made_by_application_credential_records_it(
        keystone: Keystone) -> None:
    ids = await keystone.make_user("ac-rec", "p-ac-rec", "ac-rec-proj")
    password_token = await keystone.token("ac-rec", "p-ac-rec", "ac-rec-proj")
    app_cred, token = await keystone.app_credential(password_token, ids["user_id"], "open",
                                                    unrestricted=True)
    r = await keystone.http.post("/v3/credentials", headers=keystone.as_(token), json={
        "credential": {"user_id": ids["user_id"], "project_id": ids["project_id"],
                       "type": "ec2", "blob": json.dumps({"access": "AKIA-rec", "secret": "s"})}})
    assert r.status_code == 201, r.text
    blob = json.loads(r.json()["credential"]["blob"])
    assert blob["app_cred_id"] == app_cred["id"] and blob["access"] == "AKIA-rec"
    # and the owner cannot strip it off later
    r = await keystone.http.patch(f"/v3/credentials/{r.json()['credential']['id']}",
                                  headers=keystone.as_(password_token), json={"credential": {
                                      "blob": json.dumps({"access": "AKIA-rec", "secret": "s"})}})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "app_cred_id can not be updated for credential"


async def test_delegated_token_reaches_only_its_projects_credentials(keystone: Keystone) -> None:
    ids = await keystone.make_user("ac-scope", "p-ac-scope", "ac-scope-proj")
    password_token = await keystone.token("ac-scope", "p-ac-scope", "ac-scope-proj")
    owner = keystone.as_(password_token)
    r = await keystone.http.post("/v3/credentials", headers=owner, json={"credential": {
        "user_id": ids["user_id"], "type": "totp", "blob": "SEED"}})  # no project: out of reach
    assert r.status_code == 201, r.text
    totp = r.json()["credential"]["id"]
    _, token = await keystone.app_credential(password_token, ids["user_id"], "scoped")
    me = keystone.as_(token)
    out_of_scope = _forbidden("Credential project does not match the project scope of the "
                              "delegated token.")
    r = await keystone.http.get(f"/v3/credentials/{totp}", headers=me)
    assert r.status_code == 403 and r.json() == out_of_scope
    r = await keystone.http.patch(f"/v3/credentials/{totp}", headers=me,
                                  json={"credential": {"blob": "STOLEN"}})
    assert r.status_code == 403 and r.json() == out_of_scope
    assert (await keystone.http.delete(f"/v3/credentials/{totp}", headers=me)).status_code == 403
    r = await keystone.http.get("/v3/credentials", headers=me)
    assert r.status_code == 200 and r.json()["credentials"] == []
    r = await keystone.http.get("/v3/credentials", headers=owner)
    assert [c["id"] for c in r.json()["credentials"]] == [totp]


def _expecting(attribute: str) -> str:
    return (f"Expecting to find {attribute} in credential. The server could not comply with the "
            "request since it is either malformed or otherwise incorrect. The client is assumed "
            "to be in error.")


async def test_ec2_blobs_are_checked_on_write(keystone: Keystone) -> None:
    ids = await keystone.make_user("ec2-blob", "p-ec2-blob", "ec2-blob-proj")
    me = keystone.as_(await keystone.token("ec2-blob", "p-ec2-blob", "ec2-blob-proj"))
    cases = [
        (json.dumps({"access": "AKIA-nosecret"}), _expecting("secret")),
        (json.dumps({"access": "AKIA-x", "secret": 7}), _expecting("secret")),
        (json.dumps({"secret": "s"}), _expecting("access")),
        (json.dumps({"access": ["AKIA"], "secret": "s"}), _expecting("access")),
        (json.dumps([]), _expecting("blob")),
        (json.dumps("a string"), _expecting("blob")),
        ("{not json", "Invalid blob in credential"),
    ]
    for blob, message in cases:
        r = await keystone.http.post("/v3/credentials", headers=me, json={"credential": {
            "user_id": ids["user_id"], "project_id": ids["project_id"], "type": "ec2",
            "blob": blob}})
        assert r.status_code == 400, (blob, r.text)
        assert r.json() == {"error": {"code": 400, "title": "Bad Request", "message": message}}
    # a credential cannot become an EC2 one without an EC2 blob either
    r = await keystone.http.post("/v3/credentials", headers=me, json={"credential": {
        "user_id": ids["user_id"], "project_id": ids["project_id"], "type": "cert",
        "blob": "PEM"}})
    assert r.status_code == 201, r.text
    r = await keystone.http.patch(f"/v3/credentials/{r.json()['credential']['id']}", headers=me,
                                  json={"credential": {"type": "ec2"}})
    assert r.status_code == 400 and r.json()["error"]["message"] == "Invalid blob in credential"
    r = await keystone.http.get(f"/v3/users/{ids['user_id']}/credentials/OS-EC2", headers=me)
    assert r.status_code == 200 and r.json()["credentials"] == []


async def test_one_bad_stored_ec2_row_does_not_break_the_list(keystone: Keystone,
                                                              cloud_config: Config) -> None:
    """A row stored before blobs were checked is left out of the OS-EC2 list, not a 500."""
    ids = await keystone.make_user("ec2-legacy", "p-ec2-legacy", "ec2-legacy-proj")
    me = keystone.as_(await keystone.token("ec2-legacy", "p-ec2-legacy", "ec2-legacy-proj"))
    url = f"/v3/users/{ids['user_id']}/credentials/OS-EC2"
    r = await keystone.http.post(url, headers=me, json={"tenant_id": ids["project_id"]})
    assert r.status_code == 201, r.text
    good = r.json()["credential"]
    db = Database(cloud_config.database_url("identity"))
    try:
        async with db.transaction() as s:
            for n, blob in enumerate(('{"access": "AKIA-old"}', "not json", "[1]")):
                s.add(Credential(id=f"legacy{n}", user_id=ids["user_id"],
                                 project_id=ids["project_id"], type="ec2", blob=blob, extra={}))
    finally:
        await db.dispose()
    r = await keystone.http.get(url, headers=me)
    assert r.status_code == 200, r.text
    assert [(c["access"], c["secret"]) for c in r.json()["credentials"]] == [
        (good["access"], good["secret"])]
    r = await keystone.http.get("/v3/credentials?type=ec2", headers=me)
    assert r.status_code == 200 and len(r.json()["credentials"]) == 4


async def _rows(config: Config) -> dict[str, Credential]:
    db = Database(config.database_url("identity"))
    try:
        async with db.read() as s:
            return {c.id: c for c in await s.scalars(select(Credential))}
    finally:
        await db.dispose()


async def test_credential_blobs_are_encrypted_at_rest(keystone: Keystone,
                                                      cloud_config: Config) -> None:
    ids = await keystone.make_user("sealed", "p-sealed", "sealed-proj")
    me = keystone.as_(await keystone.token("sealed", "p-sealed", "sealed-proj"))
    r = await keystone.http.post(f"/v3/users/{ids['user_id']}/credentials/OS-EC2", headers=me,
                                 json={"tenant_id": ids["project_id"]})
    ec2 = r.json()["credential"]
    r = await keystone.http.post("/v3/credentials", headers=me, json={"credential": {
        "user_id": ids["user_id"], "type": "totp", "blob": "TOTPSEEDTOTPSEED"}})
    totp = r.json()["credential"]
    repo = KeyRepository(cloud_config.credential_key_repository)
    primary = repo.primary_key()
    rows = await _rows(cloud_config)
    for row, secret in ((rows[totp["id"]], "TOTPSEEDTOTPSEED"),
                        (next(c for c in rows.values() if c.type == "ec2"), ec2["secret"])):
        assert row.blob is None
        assert row.encrypted_blob is not None and secret not in row.encrypted_blob
        assert row.key_hash == hashlib.sha1(primary).hexdigest()
        assert secret in Fernet(primary).decrypt(row.encrypted_blob.encode()).decode()
    # the owner still reads them in clear
    r = await keystone.http.get(f"/v3/credentials/{totp['id']}", headers=me)
    assert r.json()["credential"]["blob"] == "TOTPSEEDTOTPSEED"
    r = await keystone.http.get(f"/v3/users/{ids['user_id']}/credentials/OS-EC2/"
                                f"{ec2['access']}", headers=me)
    assert r.json()["credential"]["secret"] == ec2["secret"]
    # the key repository is the owner's only
    assert stat.S_IMODE(repo.path.stat().st_mode) == 0o700
    assert {stat.S_IMODE(f.stat().st_mode) for f in repo.path.iterdir()} == {0o600}


async def test_plaintext_rows_are_sealed_and_keys_rotate(keystone: Keystone, cloud_config: Config,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A row from before encryption is sealed by bootstrap; rotation waits for migrate; a row
    whose key is gone leaves the list intact and answers Keystone's 500 on its own."""
    ids = await keystone.make_user("rotor", "p-rotor", "rotor-proj")
    me = keystone.as_(await keystone.token("rotor", "p-rotor", "rotor-proj"))
    db = Database(cloud_config.database_url("identity"))
    try:
        async with db.transaction() as s:
            s.add(Credential(id="legacyplain", user_id=ids["user_id"], project_id=None,
                             type="totp", blob="OLDSEED", extra={}))
    finally:
        await db.dispose()
    await bootstrap(cloud_config, None)  # what every `overcast up` runs
    row = (await _rows(cloud_config))["legacyplain"]
    assert row.blob is None and row.encrypted_blob and "OLDSEED" not in row.encrypted_blob

    async def show() -> str:
        r = await keystone.http.get("/v3/credentials/legacyplain", headers=me)
        assert r.status_code == 200, r.text
        return str(r.json()["credential"]["blob"])

    assert await show() == "OLDSEED"
    # the command line, as an operator runs it (main() runs its own event loop: a thread)
    monkeypatch.setenv("OVERCAST_IDENTITY__DATABASE_URL", cloud_config.database_url("identity"))
    state = ["--state-dir", str(cloud_config.state_dir)]
    assert await asyncio.to_thread(main, ["credential", "rotate", *state]) == 0
    assert await show() == "OLDSEED"  # sealed under what is now a secondary key
    assert await credential_keys(cloud_config, "rotate") == 1  # would prune that key: refused
    assert await asyncio.to_thread(main, ["credential", "migrate", *state]) == 0
    primary = KeyRepository(cloud_config.credential_key_repository).primary_key()
    assert (await _rows(cloud_config))["legacyplain"].key_hash == \
        hashlib.sha1(primary).hexdigest()
    assert await credential_keys(cloud_config, "rotate") == 0
    assert await show() == "OLDSEED"

    # keys lost: that row cannot be read, the others still list
    r = await keystone.http.post("/v3/credentials", headers=me, json={"credential": {
        "user_id": ids["user_id"], "type": "cert", "blob": "PEM"}})
    assert r.status_code == 201
    db = Database(cloud_config.database_url("identity"))
    try:
        async with db.transaction() as s:
            await s.execute(update(Credential).where(Credential.id == "legacyplain").values(
                encrypted_blob=Fernet(Fernet.generate_key()).encrypt(b"x").decode()))
    finally:
        await db.dispose()
    r = await keystone.http.get("/v3/credentials/legacyplain", headers=me)
    assert r.status_code == 500
    assert r.json()["error"]["message"] == ("An unexpected error prevented the server from "
                                            "accessing encrypted credentials.")
    r = await keystone.http.get("/v3/credentials", headers=me)
    assert r.status_code == 200 and [c["blob"] for c in r.json()["credentials"]] == ["PEM"]
