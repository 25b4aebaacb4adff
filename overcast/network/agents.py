"""/v2.0/agents (Neutron's `agent` extension): the network agents as they last reported over
the bus (`dataplane.py` keeps the rows), administrators only.

Each host's agent (`overcast/network/agent/`) wires L2 and serves DHCP in one process and
reports as one row, agent_type "Linux bridge agent" (the design it follows; `configurations`
says `"dhcp": true` when it serves DHCP too) rather than a second "DHCP agent" row Neutron's
separate dnsmasq agent would make. `alive` is whether its last heartbeat is younger than
`[network] agent_down_time`. Agents are not created through the API (POST answers 405); a
deleted agent registers again at its next heartbeat, as in Neutron.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import NetworkSection
from overcast.network import errors
from overcast.network.models import Agent
from overcast.network.resources import Attrs, Collection, Kind, parse_bool, select_fields

__all__ = ["Agents"]

#: What PUT may change; every other attribute is read-only (Neutron's attribute map).
WRITABLE = ("admin_state_up", "description")
READ_ONLY = ("id", "agent_type", "binary", "topic", "host", "alive", "created_at",
             "started_at", "heartbeat_timestamp", "availability_zone", "configurations",
             "resources_synced")


def _stamp(dt: datetime) -> str:
    """Neutron shows agents' times as `YYYY-MM-DD HH:MM:SS` (UTC, no zone), unlike the
    standard attributes' ISO form."""
    return dt.strftime("%Y-%m-%d %H:%M:%S")


class Agents(Collection):
    """The `agents` table through the shared list pipeline (filters, fields, sort, pages)."""

    def __init__(self, db: Database, config: NetworkSection):
        super().__init__(db, config.pagination_max_limit)
        self.down_time = timedelta(seconds=config.agent_down_time)
        self.kind = Kind(
            name="agent", collection="agents", label="Agent", model=Agent,  # type: ignore[arg-type]
            columns={"id": Agent.id, "agent_type": Agent.agent_type, "binary": Agent.binary,
                     "topic": Agent.topic, "host": Agent.host,
                     "admin_state_up": Agent.admin_state_up, "description": Agent.description,
                     "created_at": Agent.created_at, "started_at": Agent.started_at,
                     "heartbeat_timestamp": Agent.heartbeat_timestamp},
            view=self._view, filters={"alive": self._alive_filter})

    def _view(self, r: Agent, extra: Attrs) -> Attrs:
        return {"id": r.id, "agent_type": r.agent_type, "binary": r.binary, "topic": r.topic,
                "host": r.host, "admin_state_up": r.admin_state_up,
                "alive": r.heartbeat_timestamp > utcnow() - self.down_time,
                "created_at": _stamp(r.created_at), "started_at": _stamp(r.started_at),
                "heartbeat_timestamp": _stamp(r.heartbeat_timestamp),
                "description": r.description,
                # an L2 agent has no zone in Neutron either; nothing syncs resources to
                # placement here
                "availability_zone": None, "configurations": dict(r.configurations or {}),
                "resources_synced": None}

    def _alive_filter(self, values: list[str]) -> ColumnElement[bool]:
        """`?alive=true|false`: the heartbeat's age against agent_down_time, in SQL."""
        wanted = {parse_bool(v, "alive") for v in values}
        fresh = Agent.heartbeat_timestamp > utcnow() - self.down_time
        if wanted == {True}:
            return fresh
        if wanted == {False}:
            return ~fresh
        return Agent.id == Agent.id

    # -- scope: agents belong to no project; get_agent (admin) decides row by row --
    def visible(self, ctx: RequestContext) -> ColumnElement[bool] | None:
        return None

    def target(self, attrs: Attrs) -> Attrs:
        return dict(attrs)

    async def views(self, s: AsyncSession, rows: Sequence[Any]) -> list[Attrs]:
        # no tags nor standard attributes: an agent is not a standard-attribute resource
        return [self.kind.view(r, {}) for r in rows]

    def _check(self, ctx: RequestContext, rule: str, attrs: Attrs) -> None:
        """Neutron's answer to a write the caller may not make: 404 when it may not even see
        the agent (not revealing it exists), else 403."""
        if self.readable(ctx, attrs) is None:
            raise errors.not_found("Agent", attrs["id"])
        ctx.enforce(rule, self.target(attrs))

    async def create(self, ctx: RequestContext, attrs: Attrs) -> Attrs:
        raise AssertionError("agents are made by their heartbeats, never by the API")

    async def update(self, ctx: RequestContext, ident: str, attrs: Attrs,
                     if_match: str | None = None) -> Attrs:
        fixed = sorted(a for a in attrs if a not in WRITABLE)
        async with self.db.transaction() as s:
            row = await self.load(s, ctx, ident, for_update=True)
            self._check(ctx, "update_agent", self.kind.view(row, {}))
            if fixed:
                raise errors.BadRequest(f"Cannot update read-only attribute {fixed[0]}")
            if "admin_state_up" in attrs:
                if attrs["admin_state_up"] is None:
                    raise errors.InvalidInput("'None' is not a valid boolean value")
                row.admin_state_up = parse_bool(attrs["admin_state_up"], "admin_state_up")
            if "description" in attrs:
                row.description = attrs["description"]
            await s.flush()
            attrs_now = self.kind.view(row, {})
        return self.shown(ctx, attrs_now)

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            row = await self.load(s, ctx, ident, for_update=True)
            self._check(ctx, "delete_agent", self.kind.view(row, {}))
            await s.delete(row)

    async def show(self, ctx: RequestContext, ident: str, fields: Sequence[str] = ()) -> Attrs:
        async with self.db.read() as s:
            row = (await s.execute(select(Agent).where(Agent.id == ident))).scalars().first()
            attrs = None if row is None else self.kind.view(row, {})
        shown = None if attrs is None else self.readable(ctx, attrs)
        if shown is None:
            raise errors.not_found("Agent", ident)
        return select_fields(shown, fields)
