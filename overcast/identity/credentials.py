"""Credentials: opaque blobs (EC2 access/secret pairs, TOTP seeds) kept for a user."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import select

from overcast.common import faults
from overcast.identity.models import Credential, Project, User
from overcast.identity.state import IdentityState

__all__ = ["Credentials"]


class Credentials:
    def __init__(self, state: IdentityState):
        self.state = state

    async def create(self, body: dict[str, Any]) -> Credential:
        for key in ("user_id", "type", "blob"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise faults.BadRequest(f"Invalid input for field '{key}'.")
        cred_id = body.get("id") or uuid.uuid4().hex
        if body["type"] == "ec2":
            # Keystone derives an EC2 credential's id from its access key.
            try:
                access = json.loads(body["blob"])["access"]
            except (ValueError, KeyError, TypeError) as e:
                raise faults.BadRequest("An ec2 credential blob needs an access key.") from e
            if not body.get("project_id"):
                raise faults.BadRequest("An ec2 credential needs a project_id.")
            cred_id = hashlib.sha256(str(access).encode()).hexdigest()
        extra = {k: v for k, v in body.items()
                 if k not in ("id", "user_id", "project_id", "type", "blob", "links")}
        async with self.state.write() as s:
            if await s.get(User, body["user_id"]) is None:
                raise faults.BadRequest(f"Could not find user: {body['user_id']}.")
            if await s.get(Credential, cred_id):
                raise faults.Conflict("A credential with that id already exists.")
            cred = Credential(id=cred_id, user_id=body["user_id"],
                              project_id=body.get("project_id"), type=body["type"],
                              blob=body["blob"], extra=extra)
            s.add(cred)
        return cred

    async def show(self, cred_id: str) -> Credential:
        async with self.state.db.read() as s:
            cred = await s.get(Credential, cred_id)
        if cred is None:
            raise faults.NotFound(f"Could not find credential: {cred_id}.")
        return cred

    async def list(self, user_id: str | None = None, type: str | None = None) -> list[Credential]:
        q = select(Credential)
        if user_id is not None:
            q = q.where(Credential.user_id == user_id)
        if type is not None:
            q = q.where(Credential.type == type)
        async with self.state.db.read() as s:
            return list(await s.scalars(q))

    async def update(self, cred_id: str, body: dict[str, Any]) -> Credential:
        async with self.state.write() as s:
            cred = await s.get(Credential, cred_id)
            if cred is None:
                raise faults.NotFound(f"Could not find credential: {cred_id}.")
            for k, v in body.items():
                if k in ("user_id", "project_id", "type", "blob"):
                    setattr(cred, k, v)
                elif k not in ("id", "links"):
                    cred.extra = {**cred.extra, k: v}
        return cred

    async def delete(self, cred_id: str) -> None:
        async with self.state.write() as s:
            cred = await s.get(Credential, cred_id)
            if cred is None:
                raise faults.NotFound(f"Could not find credential: {cred_id}.")
            await s.delete(cred)

    # -- EC2 access/secret pairs (/v3/users/{user_id}/credentials/OS-EC2) --
    async def create_ec2(self, user_id: str, project_id: str) -> Credential:
        access, secret = uuid.uuid4().hex, uuid.uuid4().hex
        async with self.state.write() as s:
            if await s.get(User, user_id) is None:
                raise faults.NotFound(f"Could not find user: {user_id}.")
            if await s.get(Project, project_id) is None:
                raise faults.NotFound(f"Could not find project: {project_id}.")
            cred = Credential(id=hashlib.sha256(access.encode()).hexdigest(), user_id=user_id,
                              project_id=project_id, type="ec2", extra={},
                              blob=json.dumps({"access": access, "secret": secret,
                                               "trust_id": None}))
            s.add(cred)
        return cred

    async def list_ec2(self, user_id: str) -> list[Credential]:
        async with self.state.db.read() as s:
            if await s.get(User, user_id) is None:
                raise faults.NotFound(f"Could not find user: {user_id}.")
        return await self.list(user_id=user_id, type="ec2")

    async def get_ec2(self, user_id: str, access: str) -> Credential:
        async with self.state.db.read() as s:
            cred = await s.get(Credential, hashlib.sha256(access.encode()).hexdigest())
        if cred is None or cred.type != "ec2" or cred.user_id != user_id:
            raise faults.NotFound(f"Could not find credential: {access}.")
        return cred

    async def delete_ec2(self, user_id: str, access: str) -> None:
        cred = await self.get_ec2(user_id, access)
        await self.delete(cred.id)
