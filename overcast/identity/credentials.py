"""Credentials: opaque blobs (EC2 access/secret pairs, TOTP seeds) kept for a user.

Every method takes the request context and enforces its policy rule on the row it loaded, in
the transaction that changes it. An update is checked twice, as Keystone does since
CVE-2020-12691: on the credential as it is, and on the credential as it will be, so an owner
cannot hand a credential to another user by changing its `user_id`.

Delegated tokens narrow, never widen (Keystone's keystone/api/credentials.py and users.py):
- a restricted application credential may not create EC2 credentials (either API);
- a token from an application credential or a trust reaches only the credentials of the
  project it is bound to (a credential of another project, or of none, such as a TOTP seed,
  is out of bounds: 403, and left out of lists);
- an EC2 credential made with such a token records it (`app_cred_id`, `trust_id` in the
  blob), so EC2 authentication with it can never give more than the delegation did.

Blobs are encrypted at rest with their own Fernet key repository (`[identity]
credential_key_repository`), as Keystone's credential provider: each row keeps the SHA-1 of
the key that sealed it, so `overcast credential rotate` can refuse to retire a key some row
still needs, and `overcast credential migrate` re-seals every row under the primary key.
The API shows blobs in clear to whoever policy lets read them.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.identity.fernet import KeyRepository
from overcast.identity.models import Credential, Project, User
from overcast.identity.policy import forbidden_action
from overcast.identity.state import IdentityState

__all__ = ["BlobCipher", "CredentialData", "Credentials", "Ec2Credential"]

log = logging.getLogger(__name__)


#: Keystone's CredentialEncryptionError text.
_UNREADABLE = "An unexpected error prevented the server from accessing encrypted credentials."


class BlobCipher:
    """Seals and opens credential blobs with the credential key repository."""

    def __init__(self, keys: KeyRepository):
        self.keys = keys

    def primary_hash(self) -> str:
        # Keystone's primary_key_hash: SHA-1 names the key, it protects nothing.
        return hashlib.sha1(self.keys.primary_key()).hexdigest()

    def seal(self, cred: Credential, plaintext: str) -> None:
        try:
            fernet, key_hash = self.keys.fernet(), self.primary_hash()
        except (OSError, RuntimeError) as e:
            log.error("no credential keys in %s (%s): run `overcast credential setup`",
                      self.keys.path, e)
            raise faults.Fault(_UNREADABLE) from e
        cred.encrypted_blob = fernet.encrypt(plaintext.encode()).decode()
        cred.key_hash = key_hash
        cred.blob = None

    def open(self, cred: Credential) -> str:
        """The blob in clear; a Fault (500) when no key in the repository opens it."""
        if cred.encrypted_blob is None:
            return cred.blob or ""  # written before encryption, not migrated yet
        try:
            return self.keys.fernet().decrypt(cred.encrypted_blob.encode()).decode()
        except (InvalidToken, OSError, RuntimeError, ValueError) as e:
            log.error("credential %s cannot be decrypted with the keys in %s", cred.id,
                      self.keys.path)
            raise faults.Fault(_UNREADABLE) from e


@dataclass(frozen=True)
class CredentialData:
    """A credential with its blob in clear, as the API shows it."""

    id: str
    user_id: str
    project_id: str | None
    type: str
    blob: str
    extra: dict[str, Any]


@dataclass(frozen=True)
class Ec2Credential:
    """An EC2 access/secret pair as the OS-EC2 API shows it."""

    user_id: str
    project_id: str | None
    access: str
    secret: str
    trust_id: str | None

    @classmethod
    def of(cls, c: CredentialData) -> Ec2Credential | None:
        """The pair a stored row holds, or None when its blob is not one (a row written
        before blobs were checked): such a row is left out, never an error for the list."""
        blob = _stored_blob(c.blob)
        access, secret, trust_id = blob.get("access"), blob.get("secret"), blob.get("trust_id")
        if not isinstance(access, str) or not isinstance(secret, str):
            log.warning("EC2 credential %s has an unusable blob; skipped", c.id)
            return None
        return cls(c.user_id, c.project_id, access, secret,
                   trust_id if isinstance(trust_id, str) else None)

#: Attributes that are columns; anything else a client sends is kept in `extra`.
_OWN = ("user_id", "project_id", "type", "blob")
#: Keys of an EC2 blob that tie it to a delegation; an update may not change them
#: (Keystone's CredentialResource._validate_blob_update_keys).
_EC2_FIXED_KEYS = ("trust_id", "app_cred_id", "access_token_id", "access_id")


def _validation_error(attribute: str, target: str) -> faults.BadRequest:
    """Keystone's ValidationError text."""
    return faults.BadRequest(
        f"Expecting to find {attribute} in {target}. The server could not comply with the "
        "request since it is either malformed or otherwise incorrect. The client is assumed "
        "to be in error.")


def _is_ec2(type_: object) -> bool:
    return isinstance(type_, str) and type_.lower() == "ec2"


def _ec2_blob(raw: object) -> dict[str, Any]:
    """An EC2 credential's blob as an object with a string access and secret; 400 with
    Keystone's messages when it is not (Keystone checks `access` only; a blob without a
    secret can authenticate nothing and broke every later read of the user's EC2 list)."""
    if not isinstance(raw, str):
        raise _validation_error("blob", "credential")
    try:
        blob = json.loads(raw)
    except ValueError:
        raise faults.BadRequest("Invalid blob in credential") from None
    if not blob or not isinstance(blob, dict):
        raise _validation_error("blob", "credential")
    for key in ("access", "secret"):
        if not isinstance(blob.get(key), str) or not blob[key]:
            raise _validation_error(key, "credential")
    return blob


def _stored_blob(raw: str) -> dict[str, Any]:
    """A stored blob as an object, or {} when it is not one (rows written before blobs were
    validated must not make reads fail)."""
    try:
        blob = json.loads(raw)
    except ValueError:
        return {}
    return blob if isinstance(blob, dict) else {}


def _refuse_restricted(ctx: RequestContext, managing: str) -> None:
    if ctx.creds.app_cred_id is not None and ctx.creds.app_cred_restricted:
        raise forbidden_action("Using method 'application_credential' is not allowed for "
                               f"managing additional {managing}.")


def _delegated(ctx: RequestContext) -> bool:
    return ctx.creds.app_cred_id is not None or ctx.creds.trust_id is not None


def _in_delegation(ctx: RequestContext, project_id: str | None) -> bool:
    """Whether a credential of `project_id` is within reach of the caller's token."""
    return not _delegated(ctx) or project_id == ctx.creds.project_id


def _check_delegation(ctx: RequestContext, project_id: str | None, what: str = "Credential") -> None:
    if not _in_delegation(ctx, project_id):
        raise forbidden_action(
            f"{what} project does not match the project scope of the delegated token")


def policy_ref(c: Credential | CredentialData) -> dict[str, Any]:
    """What policy sees of a credential (never its secret blob)."""
    return {"id": c.id, "user_id": c.user_id, "project_id": c.project_id, "type": c.type}


class Credentials:
    def __init__(self, state: IdentityState):
        self.state = state
        self.cipher = BlobCipher(state.credential_keys)

    @staticmethod
    async def _get(s: AsyncSession, cred_id: str) -> Credential:
        cred = await s.get(Credential, cred_id)
        if cred is None:
            raise faults.NotFound(f"Could not find credential: {cred_id}.")
        return cred

    def _data(self, c: Credential) -> CredentialData:
        return CredentialData(c.id, c.user_id, c.project_id, c.type, self.cipher.open(c),
                              dict(c.extra))

    def _readable(self, rows: list[Credential]) -> list[CredentialData]:
        """The rows that open; one that does not (its key is gone) is left out of a list
        rather than failing it, and logged."""
        out = []
        for c in rows:
            try:
                out.append(self._data(c))
            except faults.Fault:
                continue
        return out

    async def create(self, ctx: RequestContext, body: dict[str, Any]) -> CredentialData:
        ctx.enforce("identity:create_credential", {"credential": {
            k: body.get(k) for k in ("user_id", "project_id", "type")}})
        for key in ("user_id", "type", "blob"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise faults.BadRequest(f"Invalid input for field '{key}'.")
        if _is_ec2(body["type"]):
            _refuse_restricted(ctx, "credentials")
        _check_delegation(ctx, body.get("project_id"))
        # An id in the body is ignored: Keystone draws one (ResourceBase._assign_unique_id).
        cred_id = uuid.uuid4().hex
        blob = body["blob"]
        if _is_ec2(body["type"]):
            # Keystone derives an EC2 credential's id from its access key.
            parsed = _ec2_blob(blob)
            if not body.get("project_id"):
                raise faults.BadRequest("An ec2 credential needs a project_id.")
            cred_id = hashlib.sha256(str(parsed["access"]).encode()).hexdigest()
            # EC2 authentication with it must give no more than this token's delegation
            # (Keystone's _assign_unique_id).
            if _delegated(ctx):
                if ctx.creds.trust_id is not None:
                    parsed["trust_id"] = ctx.creds.trust_id
                if ctx.creds.app_cred_id is not None:
                    parsed["app_cred_id"] = ctx.creds.app_cred_id
                blob = json.dumps(parsed)
        extra = {k: v for k, v in body.items() if k not in (*_OWN, "id", "links")}
        async with self.state.write() as s:
            if await s.get(User, body["user_id"]) is None:
                raise faults.BadRequest(f"Could not find user: {body['user_id']}.")
            if await s.get(Credential, cred_id):
                raise faults.Conflict("Conflict occurred attempting to store credential - "
                                      f"Duplicate entry found with ID {cred_id}.")
            cred = Credential(id=cred_id, user_id=body["user_id"],
                              project_id=body.get("project_id"), type=body["type"], extra=extra)
            self.cipher.seal(cred, blob)
            s.add(cred)
        return CredentialData(cred.id, cred.user_id, cred.project_id, cred.type, blob, extra)

    async def show(self, ctx: RequestContext, cred_id: str) -> CredentialData:
        async with self.state.db.read() as s:
            cred = await self._get(s, cred_id)
        ctx.enforce("identity:get_credential", {"credential": policy_ref(cred)})
        _check_delegation(ctx, cred.project_id)
        return self._data(cred)

    async def list(self, ctx: RequestContext, user_id: str | None = None,
                   type: str | None = None) -> builtins.list[CredentialData]:
        """The credentials the caller may see, as Keystone lists them: list_credentials on
        the caller's own credentials (any, with system scope), then get_credential on each."""
        target = None if ctx.creds.system_scope else {"credential": {"user_id": ctx.user_id}}
        ctx.enforce("identity:list_credentials", target)
        q = select(Credential).order_by(Credential.id)
        if user_id is not None:
            q = q.where(Credential.user_id == user_id)
        if type is not None:
            q = q.where(Credential.type == type)
        async with self.state.db.read() as s:
            rows = list(await s.scalars(q))
        return self._readable([
            c for c in rows if ctx.can("identity:get_credential", {"credential": policy_ref(c)})
            and _in_delegation(ctx, c.project_id)])

    async def update(self, ctx: RequestContext, cred_id: str,
                     changes: dict[str, Any]) -> CredentialData:
        async with self.state.write() as s:
            cred = await self._get(s, cred_id)
            current = policy_ref(cred)
            ctx.enforce("identity:update_credential", {"credential": current})
            _check_delegation(ctx, cred.project_id)
            if changes.get("id") is not None and changes["id"] != cred_id:
                raise faults.BadRequest("Cannot change ID")
            plain = self.cipher.open(cred)
            if _is_ec2(cred.type) and "blob" in changes:
                old, new = _stored_blob(plain), _ec2_blob(changes["blob"])
                for key in _EC2_FIXED_KEYS:
                    if old.get(key) != new.get(key):
                        raise faults.BadRequest(f"{key} can not be updated for credential")
            elif _is_ec2(changes.get("type", cred.type)):
                # Becoming an EC2 credential (or changing one without its blob): what it will
                # hold must be an EC2 blob too.
                _ec2_blob(changes.get("blob", plain))
            # The credential as it will be must pass the same rule: its owner may not give
            # it to someone else (CVE-2020-12691).
            after = {**current, **{k: changes[k] for k in _OWN if k in changes and k != "blob"}}
            ctx.enforce("identity:update_credential", {"credential": after})
            _check_delegation(ctx, after["project_id"])
            if "user_id" in changes and changes["user_id"] != cred.user_id and \
                    await s.get(User, changes["user_id"]) is None:
                raise faults.BadRequest(f"Could not find user: {changes['user_id']}.")
            for k, v in changes.items():
                if k in _OWN and k != "blob":
                    setattr(cred, k, v)
                elif k not in ("id", "links", "blob"):
                    cred.extra = {**cred.extra, k: v}
            plain = changes.get("blob", plain)
            self.cipher.seal(cred, plain)  # a row still in plain text is sealed on any write
            return CredentialData(cred.id, cred.user_id, cred.project_id, cred.type, plain,
                                  dict(cred.extra))

    async def delete(self, ctx: RequestContext, cred_id: str) -> None:
        async with self.state.write() as s:
            cred = await self._get(s, cred_id)
            ctx.enforce("identity:delete_credential", {"credential": policy_ref(cred)})
            _check_delegation(ctx, cred.project_id)
            await s.delete(cred)

    # -- EC2 access/secret pairs (/v3/users/{user_id}/credentials/OS-EC2) --
    @staticmethod
    def _ec2_target(user_id: str, cred: Credential | None = None) -> dict[str, Any]:
        ref = policy_ref(cred) if cred is not None else {"user_id": user_id}
        return {"user_id": user_id, "credential": ref}

    async def create_ec2(self, ctx: RequestContext, user_id: str,
                         project_id: str) -> Ec2Credential:
        ctx.enforce("identity:ec2_create_credential", self._ec2_target(user_id))
        _refuse_restricted(ctx, "application credentials")
        access, secret = uuid.uuid4().hex, uuid.uuid4().hex
        async with self.state.write() as s:
            if await s.get(User, user_id) is None:
                raise faults.NotFound(f"Could not find user: {user_id}.")
            if await s.get(Project, project_id) is None:
                raise faults.NotFound(f"Could not find project: {project_id}.")
            _check_delegation(ctx, project_id, "EC2 credential")
            cred = Credential(id=hashlib.sha256(access.encode()).hexdigest(), user_id=user_id,
                              project_id=project_id, type="ec2", extra={})
            self.cipher.seal(cred, json.dumps({"access": access, "secret": secret,
                                               "trust_id": ctx.creds.trust_id}))
            s.add(cred)
        return Ec2Credential(user_id, project_id, access, secret, ctx.creds.trust_id)

    async def list_ec2(self, ctx: RequestContext, user_id: str) -> builtins.list[Ec2Credential]:
        ctx.enforce("identity:ec2_list_credentials", self._ec2_target(user_id))
        async with self.state.db.read() as s:
            if await s.get(User, user_id) is None:
                raise faults.NotFound(f"Could not find user: {user_id}.")
            rows = list(await s.scalars(select(Credential).where(
                Credential.user_id == user_id, Credential.type == "ec2")
                .order_by(Credential.id)))
        pairs = [Ec2Credential.of(c) for c in self._readable(rows)
                 if _in_delegation(ctx, c.project_id)]
        return [p for p in pairs if p is not None]

    @staticmethod
    async def _ec2(s: AsyncSession, user_id: str, access: str) -> Credential:
        cred = await s.get(Credential, hashlib.sha256(access.encode()).hexdigest())
        if cred is None or cred.type != "ec2" or cred.user_id != user_id:
            raise faults.NotFound(f"Could not find credential: {access}.")
        return cred

    async def get_ec2(self, ctx: RequestContext, user_id: str, access: str) -> Ec2Credential:
        async with self.state.db.read() as s:
            cred = await self._ec2(s, user_id, access)
        ctx.enforce("identity:ec2_get_credential", self._ec2_target(user_id, cred))
        _check_delegation(ctx, cred.project_id, "EC2 credential")
        pair = Ec2Credential.of(self._data(cred))
        if pair is None:
            raise faults.NotFound(f"Could not find credential: {access}.")
        return pair

    async def delete_ec2(self, ctx: RequestContext, user_id: str, access: str) -> None:
        async with self.state.write() as s:
            cred = await self._ec2(s, user_id, access)
            ctx.enforce("identity:ec2_delete_credential", self._ec2_target(user_id, cred))
            _check_delegation(ctx, cred.project_id, "EC2 credential")
            await s.delete(cred)

    # -- the key repository (bootstrap, `overcast credential ...`; no user drives these) --
    async def migrate(self, *, plaintext_only: bool = False) -> int:
        """Seal every row under the primary key (or only the rows still in plain text);
        returns how many changed. Keystone's credential_migrate."""
        primary = self.cipher.primary_hash()
        async with self.state.write() as s:
            q = select(Credential)
            if plaintext_only:
                q = q.where(Credential.encrypted_blob.is_(None))
            changed = 0
            for cred in await s.scalars(q):
                if cred.encrypted_blob is not None and cred.key_hash == primary:
                    continue
                self.cipher.seal(cred, self.cipher.open(cred))
                changed += 1
        return changed

    async def outside_primary(self) -> int:
        """How many rows are not sealed under the primary key (rotation must wait for 0)."""
        primary = self.cipher.primary_hash()
        async with self.state.db.read() as s:
            return len(list(await s.scalars(select(Credential.id).where(
                (Credential.key_hash != primary) | Credential.key_hash.is_(None)))))
