"""Notifications on the bus in Neutron's shape, for the data plane and telemetry.

Neutron's API layer sends, on topic `notifications` from publisher `network.<host>`, for each
resource (`network`, `subnet`, `port`, `router`, `floatingip`, `security_group`, ...):

    <resource>.create.start  the request body               <resource>.create.end  {<resource>: obj}
                             (a bulk create: one of each, {<collection>: [...]})
    <resource>.update.start  the request body plus "id"     <resource>.update.end  {<resource>: obj}
    <resource>.delete.start  {<resource>_id: id}            <resource>.delete.end  {<resource>_id: id,
                                                                                   <resource>: obj}
    router.interface.create / router.interface.delete  {"router_interface": info}

`obj` is the resource as the caller's answer shows it; the context is the caller's. A bus that
fails loses the notification (logged), never the API request."""

from __future__ import annotations

import logging
import socket
from typing import Any

from overcast.common.bus import Bus, BusError
from overcast.common.context import RequestContext

__all__ = ["Notifier"]

log = logging.getLogger(__name__)


def bus_context(ctx: RequestContext) -> dict[str, Any]:
    """The caller, as oslo.context's to_dict names it in a notification's `ctx`."""
    creds = ctx.credentials
    return {
        "request_id": ctx.request_id,
        "user_id": creds.user_id if creds else None,
        "project_id": creds.project_id if creds else None,
        "tenant_id": creds.project_id if creds else None,
        "roles": sorted(creds.roles) if creds else [],
        "is_admin": bool(creds and "admin" in creds.roles),
    }


class Notifier:
    """Neutron's API notifications; no bus: nothing sent."""

    def __init__(self, bus: Bus | None, host: str | None = None):
        self.bus = bus
        self.publisher_id = f"network.{host or socket.gethostname()}"

    async def info(self, ctx: RequestContext, event_type: str, payload: dict[str, Any]) -> None:
        if self.bus is None:
            return
        try:
            await self.bus.notify(self.publisher_id, event_type, payload, ctx=bus_context(ctx))
        except (BusError, OSError) as exc:
            log.warning("notification %s not sent: %s", event_type, exc)

    async def created(self, ctx: RequestContext, resource: str, key: str, body: Any,
                      obj: Any) -> None:
        """`key` is the resource (one) or its collection (a bulk create: the lists)."""
        await self.info(ctx, f"{resource}.create.start", {key: body})
        await self.info(ctx, f"{resource}.create.end", {key: obj})

    async def updated(self, ctx: RequestContext, resource: str, ident: str,
                      body: dict[str, Any], obj: dict[str, Any]) -> None:
        await self.info(ctx, f"{resource}.update.start", {resource: body, "id": ident})
        await self.info(ctx, f"{resource}.update.end", {resource: obj})

    async def deleted(self, ctx: RequestContext, resource: str, ident: str,
                      obj: dict[str, Any] | None) -> None:
        await self.info(ctx, f"{resource}.delete.start", {f"{resource}_id": ident})
        await self.info(ctx, f"{resource}.delete.end", {f"{resource}_id": ident,
                                                        resource: obj or {}})
