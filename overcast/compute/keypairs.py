"""Keypairs: per-user ssh (and x509) public keys; generation returns the private key once.

Names are unique per user. Fingerprints are Nova's: the colon-separated MD5 of the key blob for
ssh keys, the colon-separated SHA-1 of the certificate for x509. `Keypairs.find` is the servers
side's way in (a boot names a keypair of its user).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.compute.models import KeyPair
from overcast.compute.quotas import Quotas

__all__ = ["Created", "Keypairs", "fingerprint", "generate"]


@dataclass(frozen=True)
class Created:
    """A new keypair, with the private key when this cloud generated it (shown once)."""

    keypair: KeyPair
    private_key: str | None


def _invalid(reason: str) -> faults.BadRequest:
    return faults.BadRequest(f"Keypair data is invalid: {reason}")


def fingerprint(public_key: str, key_type: str = "ssh") -> str:
    """Nova's fingerprint of a public key (BadRequest when it is not a valid key)."""
    if key_type == "x509":
        try:
            cert = x509.load_pem_x509_certificate(public_key.encode())
        except ValueError:
            raise _invalid("failed to generate fingerprint") from None
        return ":".join(f"{b:02x}" for b in cert.fingerprint(hashes.SHA1()))
    parts = public_key.strip().split()
    if len(parts) < 2:
        raise _invalid("failed to generate fingerprint")
    try:
        serialization.load_ssh_public_key(" ".join(parts[:2]).encode())
        blob = base64.b64decode(parts[1], validate=True)
    except (ValueError, UnsupportedAlgorithm, binascii.Error):
        raise _invalid("failed to generate fingerprint") from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _generate_ssh() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} Generated-by-Nova"


def _generate_x509(user_id: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id or "overcast")])
    now = utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    return private, cert.public_bytes(serialization.Encoding.PEM).decode()


async def generate(key_type: str, user_id: str) -> tuple[str, str]:
    """A new (private key, public key) pair; RSA key generation runs in a thread."""
    if key_type == "x509":
        return await asyncio.to_thread(_generate_x509, user_id)
    return await asyncio.to_thread(_generate_ssh)


class Keypairs:
    def __init__(self, db: Database, quotas: Quotas):
        self.db = db
        self.quotas = quotas

    async def list(self, ctx: RequestContext, user_id: str, *, limit: int,
                   marker: str | None) -> list[KeyPair]:
        ctx.enforce("os_compute_api:os-keypairs:index", {"user_id": user_id})
        query = select(KeyPair).where(KeyPair.user_id == user_id).order_by(KeyPair.id)
        async with self.db.read() as s:
            if marker is not None:
                after = (await s.execute(select(KeyPair.id).where(
                    KeyPair.user_id == user_id, KeyPair.name == marker))).scalar_one_or_none()
                if after is None:
                    raise faults.BadRequest(f"marker [{marker}] not found")
                query = query.where(KeyPair.id > after)
            return list((await s.execute(query.limit(limit))).scalars())

    async def get(self, ctx: RequestContext, user_id: str, name: str) -> KeyPair:
        ctx.enforce("os_compute_api:os-keypairs:show", {"user_id": user_id})
        return await self.find(user_id, name)

    async def find(self, user_id: str, name: str) -> KeyPair:
        """A user's keypair by name, no policy (the servers side: a boot's `key_name`)."""
        async with self.db.read() as s:
            kp = (await s.execute(select(KeyPair).where(
                KeyPair.user_id == user_id, KeyPair.name == name))).scalar_one_or_none()
        if kp is None:
            raise faults.NotFound(f"Keypair {name} not found for user {user_id}")
        return kp

    async def create(self, ctx: RequestContext, user_id: str, name: str, key_type: str,
                     public_key: str | None) -> Created:
        ctx.enforce("os_compute_api:os-keypairs:create", {"user_id": user_id})
        private = None
        if public_key is None:
            private, public_key = await generate(key_type, user_id)
        elif not public_key.strip():
            raise _invalid("failed to generate fingerprint")
        print_ = fingerprint(public_key, key_type)
        await self.quotas.check_keypair(user_id, ctx.project_id)
        try:
            async with self.db.transaction() as s:
                taken = (await s.execute(select(KeyPair.id).where(
                    KeyPair.user_id == user_id, KeyPair.name == name))).first()
                if taken is not None:
                    raise faults.Conflict(f"Key pair '{name}' already exists.")
                kp = KeyPair(user_id=user_id, name=name, fingerprint=print_,
                             public_key=public_key, type=key_type, created_at=utcnow())
                s.add(kp)
                await s.flush()
        except IntegrityError:
            raise faults.Conflict(f"Key pair '{name}' already exists.") from None
        return Created(kp, private)

    async def delete(self, ctx: RequestContext, user_id: str, name: str) -> None:
        ctx.enforce("os_compute_api:os-keypairs:delete", {"user_id": user_id})
        async with self.db.transaction() as s:
            gone = await s.execute(delete(KeyPair).where(KeyPair.user_id == user_id,
                                                         KeyPair.name == name))
            if not gone.rowcount:  # type: ignore[attr-defined]
                raise faults.NotFound(f"Keypair {name} not found for user {user_id}")
