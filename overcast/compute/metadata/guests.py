"""Who is asking, and what they may read: the instance a metadata request is about (named
by the proxy's signed headers), its documents and the password it posts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from overcast.common import faults, metadata_signing
from overcast.common.db import Database
from overcast.compute import instance_metadata as render
from overcast.compute.guest_passwords import GuestPasswords
from overcast.compute.instance_models import Instance
from overcast.compute.metadata.ports import PortReader

__all__ = ["Guest", "Guests"]


class Guest:
    """One instance as its metadata documents see it (Nova's InstanceMetadata)."""

    def __init__(self, inst: Instance, password: str, reader: PortReader):
        self.inst = inst
        self.password = password
        self._reader = reader
        self._ports: Any = None

    async def _port_info(self) -> Any:
        if self._ports is None:
            self._ports = await self._reader.of(self.inst.uuid)
        return self._ports

    @property
    def user_data(self) -> bytes | None:
        return render.user_data_bytes(self.inst.user_data)

    async def openstack_item(self, version: str, name: str) -> tuple[bytes, str]:
        """One file of openstack/<version>/: its bytes and content type; KeyError if none."""
        if name == "meta_data.json":
            return render.document(render.meta_data(self.inst)), "application/json"
        if name == "user_data" and self.user_data is not None:
            return self.user_data, "text/plain"
        if name not in render.openstack_listing(version, self.user_data is not None):
            raise KeyError(name)
        if name == "password":
            return self.password.encode(), "text/plain"
        if name == "network_data.json":
            info = await self._port_info()
            net = render.network_data(info.ports, info.subnets, info.networks)
            return render.document(net), "application/json"
        return render.document(render.vendor_data()), "application/json"  # vendor_data*.json

    async def ec2_tree(self, version: str) -> dict[str, Any]:
        info = await self._port_info()
        fixed = next((str(f["ip_address"]) for p in info.ports
                      for f in p.get("fixed_ips") or [] if ":" not in str(f["ip_address"])), "")
        return render.ec2_meta_data(self.inst, version, fixed_ip=fixed,
                                    floating_ip=next(iter(info.floating_ips), ""),
                                    security_groups=info.security_groups)


class Guests:
    def __init__(self, db: Database, secret: str, reader: PortReader):
        self.db = db
        self._secret = secret
        self.reader = reader
        self.passwords = GuestPasswords(db)

    async def identify(self, headers: Mapping[str, str]) -> Guest:
        """The instance the proxy names, as Nova's _handle_instance_id_request checks it."""
        instance_id = headers.get("x-instance-id")
        tenant_id = headers.get("x-tenant-id")
        signature = headers.get("x-instance-id-signature")
        if instance_id is None:
            raise faults.BadRequest("X-Instance-ID header is missing from request.")
        if signature is None:
            raise faults.BadRequest("X-Instance-ID-Signature header is missing from request.")
        if tenant_id is None:
            raise faults.BadRequest("X-Tenant-ID header is missing from request.")
        if not metadata_signing.verify(self._secret, instance_id, signature):
            raise faults.Forbidden("Invalid proxy request signature.")
        async with self.db.read() as s:
            inst = (await s.execute(select(Instance).where(
                Instance.uuid == instance_id, Instance.deleted.is_(False)))).scalar_one_or_none()
        # Another project's instance is as unknown as a missing one (Nova logs, then 404s).
        if inst is None or inst.project_id != tenant_id:
            raise faults.NotFound("The resource could not be found.")
        return Guest(inst, await self.passwords.get(inst.uuid), self.reader)

    async def set_password(self, guest: Guest, value: str) -> None:
        await self.passwords.set_once(guest.inst.uuid, value)
