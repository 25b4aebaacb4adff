"""Keypairs as Nova answers them: generated (private key once) and imported keys with the
fingerprints ssh-keygen computes, per user, per microversion (2.2 type and status codes, 2.10
an admin's user_id, 2.35 paging, 2.92 no generation)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.functional.compute.conftest import Nova


async def _ssh_keygen_md5(tmp_path: Path, public_key: str) -> str:
    """The MD5 fingerprint OpenSSH's own tool gives a public key (aa:bb:...)."""
    path = tmp_path / "key.pub"
    path.write_text(public_key + "\n")
    proc = await asyncio.create_subprocess_exec(
        "ssh-keygen", "-l", "-E", "md5", "-f", str(path), stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return out.decode().split()[1].removeprefix("MD5:")


def _ed25519() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode() + " me@laptop"


async def test_generated_key_is_returned_once_and_matches(nova: Nova, tmp_path: Path) -> None:
    created = (await nova.ok("POST", "/v2.1/os-keypairs", nova.alice,
                             json={"keypair": {"name": "kp1"}}))["keypair"]
    assert set(created) == {"name", "public_key", "fingerprint", "user_id", "private_key"}
    assert created["user_id"] == nova.alice_id
    private = serialization.load_pem_private_key(created["private_key"].encode(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    derived = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                serialization.PublicFormat.OpenSSH).decode()
    assert created["public_key"].startswith(derived)
    assert created["fingerprint"] == await _ssh_keygen_md5(tmp_path, created["public_key"])
    shown = (await nova.ok("GET", "/v2.1/os-keypairs/kp1", nova.alice))["keypair"]
    assert "private_key" not in shown
    assert shown["deleted"] is False and shown["user_id"] == nova.alice_id
    assert isinstance(shown["id"], int) and shown["created_at"]


async def test_import_rsa_and_ed25519_with_their_fingerprints(nova: Nova, tmp_path: Path
                                                              ) -> None:
    rsa_pub = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(
    ).public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    for name, pub in (("rsa", rsa_pub), ("ed", _ed25519())):
        kp = (await nova.ok("POST", "/v2.1/os-keypairs", nova.alice, version="2.2", status=201,
                            json={"keypair": {"name": name, "public_key": pub}}))["keypair"]
        assert "private_key" not in kp
        assert kp["type"] == "ssh" and kp["public_key"] == pub
        assert kp["fingerprint"] == await _ssh_keygen_md5(tmp_path, pub)
    listed = await nova.ok("GET", "/v2.1/os-keypairs", nova.alice, version="2.2")
    assert [k["keypair"]["name"] for k in listed["keypairs"]] == ["rsa", "ed"]
    assert set(listed["keypairs"][0]["keypair"]) == {"name", "public_key", "fingerprint", "type"}
    old = await nova.ok("GET", "/v2.1/os-keypairs", nova.alice)
    assert "type" not in old["keypairs"][0]["keypair"]


async def test_bad_keys_names_and_duplicates(nova: Nova) -> None:
    for pub in ("ssh-rsa JUNK nova@ubuntu", " ", "ssh-rsa " + "A" * 2048 + " x@y"):
        await nova.fault("POST", "/v2.1/os-keypairs", nova.alice, 400,
                         json={"keypair": {"name": "bad", "public_key": pub}})
    for name in ("", "a" * 256, "kp/1", " lead", "a.b"):
        await nova.fault("POST", "/v2.1/os-keypairs", nova.alice, 400,
                         json={"keypair": {"name": name}})
    await nova.ok("POST", "/v2.1/os-keypairs", nova.alice, json={"keypair": {"name": "dup"}})
    await nova.fault("POST", "/v2.1/os-keypairs", nova.alice, 409,
                     json={"keypair": {"name": "dup"}})
    # names are per user: Bob may have his own "dup"
    await nova.ok("POST", "/v2.1/os-keypairs", nova.bob, json={"keypair": {"name": "dup"}})
    # type and user_id exist from 2.2 and 2.10
    await nova.fault("POST", "/v2.1/os-keypairs", nova.alice, 400,
                     json={"keypair": {"name": "t", "type": "ssh"}})
    await nova.fault("POST", "/v2.1/os-keypairs", nova.alice, 400, version="2.9",
                     json={"keypair": {"name": "t", "user_id": nova.alice_id}})


async def test_keypairs_are_per_user_and_admins_name_the_user(nova: Nova) -> None:
    await nova.ok("POST", "/v2.1/os-keypairs", nova.alice, json={"keypair": {"name": "a1"}})
    await nova.fault("GET", "/v2.1/os-keypairs/a1", nova.bob, 404)
    assert (await nova.ok("GET", "/v2.1/os-keypairs", nova.bob))["keypairs"] == []
    # ?user_id= from 2.10: an admin reads and manages anyone's, a user only their own
    path = f"/v2.1/os-keypairs/a1?user_id={nova.alice_id}"
    shown = await nova.ok("GET", path, nova.admin, version="2.10")
    assert shown["keypair"]["user_id"] == nova.alice_id
    await nova.fault("GET", path, nova.bob, 403, version="2.10")
    made = await nova.ok("POST", "/v2.1/os-keypairs", nova.admin, version="2.10", status=201,
                         json={"keypair": {"name": "for-bob", "user_id": nova.bob_id,
                                           "type": "x509"}})
    assert made["keypair"]["user_id"] == nova.bob_id
    assert made["keypair"]["public_key"].startswith("-----BEGIN CERTIFICATE-----")
    assert (await nova.ok("GET", "/v2.1/os-keypairs/for-bob", nova.bob, version="2.2")
            )["keypair"]["type"] == "x509"
    await nova.fault("POST", "/v2.1/os-keypairs", nova.alice, 403, version="2.10",
                     json={"keypair": {"name": "sneaky", "user_id": nova.bob_id}})
    r = await nova.http.delete(f"/v2.1/os-keypairs/for-bob?user_id={nova.bob_id}",
                               headers={**nova.admin, "OpenStack-API-Version": "compute 2.10"})
    assert r.status_code == 204
    r = await nova.http.delete("/v2.1/os-keypairs/a1", headers=nova.alice)
    assert r.status_code == 202
    await nova.fault("DELETE", "/v2.1/os-keypairs/a1", nova.alice, 404)


async def test_paging_from_235(nova: Nova) -> None:
    for name in ("k1", "k2", "k3"):
        await nova.ok("POST", "/v2.1/os-keypairs", nova.alice,
                      json={"keypair": {"name": name, "public_key": _ed25519()}})
    page = await nova.ok("GET", "/v2.1/os-keypairs?limit=2", nova.alice, version="2.35")
    assert [k["keypair"]["name"] for k in page["keypairs"]] == ["k1", "k2"]
    href = page["keypairs_links"][0]["href"]
    assert href == "http://testserver/v2.1/os-keypairs?limit=2&marker=k2"
    rest = await nova.ok("GET", href.removeprefix("http://testserver"), nova.alice,
                         version="2.35")
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == ["k3"]
    everything = await nova.ok("GET", "/v2.1/os-keypairs?limit=2", nova.alice, version="2.34")
    assert len(everything["keypairs"]) == 3


async def test_292_needs_a_public_key_and_takes_more_names(nova: Nova) -> None:
    await nova.fault("POST", "/v2.1/os-keypairs", nova.alice, 400, version="2.92",
                     json={"keypair": {"name": "gen"}})
    kp = await nova.ok("POST", "/v2.1/os-keypairs", nova.alice, version="2.92", status=201,
                       json={"keypair": {"name": "me@host.example", "public_key": _ed25519()}})
    assert kp["keypair"]["name"] == "me@host.example"


async def test_keypair_quota(nova: Nova) -> None:
    await nova.ok("PUT", f"/v2.1/os-quota-sets/{nova.alpha}?user_id={nova.alice_id}",
                  nova.admin, json={"quota_set": {"key_pairs": 1}})
    await nova.ok("POST", "/v2.1/os-keypairs", nova.alice, json={"keypair": {"name": "one"}})
    message = await nova.fault("POST", "/v2.1/os-keypairs", nova.alice, 403,
                               json={"keypair": {"name": "two"}})
    assert "Quota exceeded" in message
