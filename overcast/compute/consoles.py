"""Remote consoles (Nova's os-remote-consoles and console auth tokens): a console URL carries a
fresh token; the token names the instance, the compute host and where its console listens
there, for a console proxy to connect to. Only the token's SHA-256 is stored, and it expires
after `[compute] console_token_ttl` seconds (Nova's [consoleauth] token_ttl).

What this cloud serves, and what Nova answers for the rest:
- vnc/novnc: asked of the instance's compute agent (QEMU: its VNC socket); the URL is the noVNC
  page, `novncproxy_base_url?path=%3Ftoken%3D<token>` as Nova builds it.
- serial/serial: asked of the driver; the fake driver gives a port, the QEMU driver (whose
  serial port is a log file) has none: 501, as Nova for a driver without the console.
- spice-html5, webmks, rdp-html5: 400 "Unavailable console type", as Nova with those consoles
  disabled (its default); xvpvnc (its proxy left Nova): 400 "Invalid console type".

The noVNC proxy (compute/console_proxy/) checks a token with `validate`. LIMITATION: no serial
console proxy serves the serial URLs yet.
"""

from __future__ import annotations

import hashlib
import time
import uuid as uuidlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from sqlalchemy import delete, select

from overcast.common import faults
from overcast.common.bus import RemoteError
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.compute.guest_access_models import ConsoleAuthToken
from overcast.compute.instance_models import Instance
from overcast.compute.instance_states import VmState as V
from overcast.compute.rpcapi import ComputeAgentAPI
from overcast.config import Config

__all__ = ["PROTOCOL_TYPES", "ConsoleConnection", "Consoles"]

#: protocol -> the console types Nova accepts with it (the API's enum; checked in the route).
PROTOCOL_TYPES = {"vnc": ("novnc", "xvpvnc"), "spice": ("spice-html5",),
                  "serial": ("serial",), "rdp": ("rdp-html5",), "mks": ("webmks",)}
#: console type -> the driver's console kind, for the types this cloud serves.
_KINDS = {"novnc": "vnc", "serial": "serial"}
_ACTION = {"vnc": "get_vnc_console", "spice": "get_spice_console",
           "serial": "get_serial_console", "mks": "get_mks_console"}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ConsoleConnection:
    """What a console proxy needs to reach a console (os-console-auth-tokens' answer)."""

    instance_uuid: str
    console_type: str
    compute_host: str | None
    host: str | None
    port: int | None
    internal_access_path: str | None


class Consoles:
    def __init__(self, db: Database, agents: ComputeAgentAPI, config: Config):
        self.db = db
        self.agents = agents
        host = config.default.public_host
        self.ttl = config.compute.console_token_ttl
        self.base_urls = {
            "novnc": config.compute.novncproxy_base_url
            or f"http://{host}:{config.novncproxy.port}/vnc_auto.html",
            "serial": config.compute.serialproxy_base_url or f"ws://{host}:6083/",
        }

    def _access_url(self, console_type: str, token: str) -> str:
        base = self.base_urls[console_type]
        if console_type != "novnc":
            return f"{base}?token={token}"
        # noVNC reads the websocket path from ?path=, so the token rides inside it (Nova's).
        parsed = urlparse(base)
        query = parse_qs(parsed.query)
        query["path"] = [f"{query.get('path', [''])[0]}?token={token}"]
        return parsed._replace(query=urlencode(query, doseq=True)).geturl()

    async def create(self, ctx: RequestContext, inst: Instance, protocol: str,
                     console_type: str) -> str:
        """A console URL for `inst` (already loaded and authorized), or Nova's error."""
        if protocol == "rdp":  # the Hyper-V driver's, gone from Nova
            raise faults.BadRequest(f"Unavailable console type {protocol}.")
        # Nova asks the host first (check_instance_host), then the host checks the type.
        if inst.host is None or inst.vm_state == V.BUILDING:
            raise faults.Conflict(f"Instance {inst.uuid} is not ready")
        if console_type not in PROTOCOL_TYPES.get(protocol, ()) or console_type == "xvpvnc":
            raise faults.BadRequest(f"Invalid console type {console_type}")
        if console_type not in _KINDS:
            raise faults.BadRequest(f"Unavailable console type {console_type}.")
        try:
            where: dict[str, Any] = await self.agents.get_console(inst.host, inst.uuid,
                                                                  _KINDS[console_type])
        except RemoteError as exc:
            if exc.exc_type in ("NotImplementedError", "AttributeError"):
                raise faults.NotImplementedFault(
                    "Action not supported by this compute host.") from None
            raise faults.Conflict(f"Cannot '{_ACTION[protocol]}' instance {inst.uuid} while it "
                                  f"is in vm_state {inst.vm_state}") from None
        except Exception:
            raise faults.Conflict(f"Instance {inst.uuid} is not ready") from None
        token = str(uuidlib.uuid4())
        now = int(time.time())
        async with self.db.transaction() as s:
            await s.execute(delete(ConsoleAuthToken).where(ConsoleAuthToken.expires < now))
            s.add(ConsoleAuthToken(
                token_hash=_hash(token), console_type=console_type, host=where.get("host"),
                port=where.get("port"), internal_access_path=where.get("path"),
                compute_host=inst.host, instance_uuid=inst.uuid,
                access_url_base=self.base_urls[console_type], expires=now + self.ttl))
        return self._access_url(console_type, token)

    async def validate(self, token: str) -> ConsoleConnection | None:
        """The connection a live token grants: None when it is unknown, expired, or its
        instance is gone (Nova deletes an instance's tokens with it)."""
        async with self.db.read() as s:
            row = (await s.execute(
                select(ConsoleAuthToken).join(
                    Instance, Instance.uuid == ConsoleAuthToken.instance_uuid).where(
                    ConsoleAuthToken.token_hash == _hash(token),
                    ConsoleAuthToken.expires >= int(time.time()),
                    Instance.deleted.is_(False)))).scalar_one_or_none()
        if row is None:
            return None
        return ConsoleConnection(row.instance_uuid, row.console_type, row.compute_host,
                                 row.host, row.port, row.internal_access_path)
