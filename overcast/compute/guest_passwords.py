"""The password a guest posts to the metadata service (encrypted with its keypair's public
key by the guest), read and cleared by its owner through os-server-password. Nova keeps it in
system_metadata password_0..3; here one row per instance (guest_access_models.py)."""

from __future__ import annotations

from sqlalchemy import delete

from overcast.common import clock, faults
from overcast.common.db import Database
from overcast.compute.guest_access_models import InstancePassword

__all__ = ["PASSWORD_MAX", "GuestPasswords"]

#: Nova keeps four chunks of 255 characters: a longer password is a 400.
PASSWORD_MAX = 4 * 255


class GuestPasswords:
    def __init__(self, db: Database):
        self.db = db

    async def get(self, instance_uuid: str) -> str:
        """The stored password; "" when the guest has posted none (or it was cleared)."""
        async with self.db.read() as s:
            row = await s.get(InstancePassword, instance_uuid)
        return row.password if row else ""

    async def set_once(self, instance_uuid: str, value: str) -> None:
        """The guest posts once: a second post is a 409 until the owner clears it (Nova's)."""
        if len(value) > PASSWORD_MAX:
            raise faults.BadRequest("Request is too large.")
        async with self.db.transaction() as s:
            row = await s.get(InstancePassword, instance_uuid)
            if row is not None and row.password:
                raise faults.Conflict("There was a conflict when trying to complete your "
                                      "request.")
            if row is None:
                s.add(InstancePassword(instance_uuid=instance_uuid, password=value,
                                       updated_at=clock.utcnow()))
            else:
                row.password, row.updated_at = value, clock.utcnow()

    async def clear(self, instance_uuid: str) -> None:
        async with self.db.transaction() as s:
            await s.execute(delete(InstancePassword).where(
                InstancePassword.instance_uuid == instance_uuid))
