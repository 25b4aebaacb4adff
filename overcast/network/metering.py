"""L3 metering labels and their rules (Neutron's `metering` extension), administrators only.

The API stores what to count: a label, and rules that pick traffic by direction and prefixes
(`remote_ip_prefix`, deprecated, or `source_ip_prefix`/`destination_ip_prefix`), `excluded`
to leave matching traffic out. Counting the traffic is the data plane's metering agent's job;
until one runs, the labels count nothing."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.config import NetworkSection
from overcast.network import errors
from overcast.network.models import MeteringLabel, MeteringLabelRule
from overcast.network.resources import Attrs, Collection, Kind, new_id

__all__ = ["METERING_LABEL", "METERING_LABEL_RULE", "MeteringLabelRules", "MeteringLabels"]

DIRECTIONS = ("ingress", "egress")
PREFIXES = ("remote_ip_prefix", "source_ip_prefix", "destination_ip_prefix")


def _label_view(r: MeteringLabel, extra: Attrs) -> Attrs:
    return {"id": r.id, "name": r.name, "shared": r.shared}


def _rule_view(r: MeteringLabelRule, extra: Attrs) -> Attrs:
    return {"id": r.id, "metering_label_id": r.metering_label_id, "direction": r.direction,
            "remote_ip_prefix": r.remote_ip_prefix, "source_ip_prefix": r.source_ip_prefix,
            "destination_ip_prefix": r.destination_ip_prefix, "excluded": r.excluded}


METERING_LABEL = Kind(
    name="metering_label", collection="metering_labels", label="MeteringLabel",
    model=MeteringLabel,
    columns={"id": MeteringLabel.id, "name": MeteringLabel.name,
             "shared": MeteringLabel.shared, "description": MeteringLabel.description,
             "project_id": MeteringLabel.project_id, "tenant_id": MeteringLabel.project_id},
    view=_label_view)

METERING_LABEL_RULE = Kind(
    name="metering_label_rule", collection="metering_label_rules", label="MeteringLabelRule",
    model=MeteringLabelRule,
    columns={"id": MeteringLabelRule.id, "project_id": MeteringLabelRule.project_id,
             "tenant_id": MeteringLabelRule.project_id,
             "metering_label_id": MeteringLabelRule.metering_label_id,
             "direction": MeteringLabelRule.direction,
             "remote_ip_prefix": MeteringLabelRule.remote_ip_prefix,
             "source_ip_prefix": MeteringLabelRule.source_ip_prefix,
             "destination_ip_prefix": MeteringLabelRule.destination_ip_prefix,
             "excluded": MeteringLabelRule.excluded},
    view=_rule_view)

#: The attributes Neutron shows (metering resources have no tags, timestamps or revisions).
LABEL_FIELDS = frozenset({"id", "name", "description", "shared", "project_id", "tenant_id"})
RULE_FIELDS = frozenset({"id", "metering_label_id", "direction", "excluded", "project_id",
                         "tenant_id", *PREFIXES})


def _read_only(attrs: Attrs) -> errors.BadRequest:
    """Neutron's answer to a PUT on a resource whose attributes are all create-only."""
    return errors.BadRequest(f"Cannot update read-only attribute {sorted(attrs)[0]}"
                             if attrs else "Resource body required")


def _cidr(name: str, value: object) -> str | None:
    if value is None:
        return None
    try:
        net = ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise errors.InvalidInput(f"'{value}' is not a valid IP subnet") from None
    if str(net) != str(value):
        raise errors.InvalidInput(f"'{value}' isn't a recommended CIDR; did you mean "
                                  f"{net}")
    return str(net)


class MeteringLabels(Collection):
    kind = METERING_LABEL

    def __init__(self, db: Database, config: NetworkSection):
        super().__init__(db, config.pagination_max_limit)

    async def views(self, s: AsyncSession, rows: Sequence[Any]) -> list[Attrs]:
        return [{k: v for k, v in a.items() if k in LABEL_FIELDS}
                for a in await super().views(s, rows)]

    async def create(self, ctx: RequestContext, attrs: Attrs) -> Attrs:
        project = attrs.get("project_id") or attrs.get("tenant_id") or ctx.project_id or ""
        ctx.enforce("create_metering_label", {**attrs, "project_id": project,
                                              "tenant_id": project})
        async with self.db.transaction() as s:
            now = utcnow()
            row = MeteringLabel(id=new_id(), project_id=project, name=attrs.get("name") or "",
                                description=attrs.get("description") or "",
                                shared=bool(attrs.get("shared") or False),
                                created_at=now, updated_at=now, revision_number=0)
            s.add(row)
            await s.flush()
            view = await self.view_of(s, row)
        return self.shown(ctx, view)

    async def update(self, ctx: RequestContext, ident: str, attrs: Attrs,
                     if_match: str | None = None) -> Attrs:
        async with self.db.read() as s:
            row = await self.load(s, ctx, ident)
            ctx.enforce("update_metering_label", self.target(await self.view_of(s, row)))
        raise _read_only(attrs)

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            row = await self.load(s, ctx, ident)
            ctx.enforce("delete_metering_label", self.target(await self.view_of(s, row)))
            for rule in (await s.execute(select(MeteringLabelRule).where(
                    MeteringLabelRule.metering_label_id == row.id))).scalars():
                await self.delete_row(s, rule)
            await self.delete_row(s, row)


class MeteringLabelRules(Collection):
    kind = METERING_LABEL_RULE

    def __init__(self, db: Database, config: NetworkSection):
        super().__init__(db, config.pagination_max_limit)

    async def views(self, s: AsyncSession, rows: Sequence[Any]) -> list[Attrs]:
        return [{k: v for k, v in a.items() if k in RULE_FIELDS}
                for a in await super().views(s, rows)]

    async def create(self, ctx: RequestContext, attrs: Attrs) -> Attrs:
        project = attrs.get("project_id") or attrs.get("tenant_id") or ctx.project_id or ""
        ctx.enforce("create_metering_label_rule", {**attrs, "project_id": project,
                                                   "tenant_id": project})
        direction = attrs.get("direction")
        if direction not in DIRECTIONS:
            raise errors.InvalidInput(f"{direction} is not in {list(DIRECTIONS)}")
        prefixes = {p: _cidr(p, attrs.get(p)) for p in PREFIXES}
        if prefixes["remote_ip_prefix"] and (prefixes["source_ip_prefix"]
                                             or prefixes["destination_ip_prefix"]):
            raise errors.BadRequest("Cannot use 'remote-ip-prefix' in conjunction with "
                                    "'source-ip-prefix' or 'destination-ip-prefix'.")
        if not any(prefixes.values()):
            raise errors.BadRequest("You must define at least one of the following "
                                    "parameters 'remote_ip_prefix', or 'source_ip_prefix' or "
                                    "'destination_ip_prefix'.")
        async with self.db.transaction() as s:
            label = await s.get(MeteringLabel, str(attrs.get("metering_label_id") or ""),
                                with_for_update=True)
            if label is None:
                raise errors.not_found("MeteringLabel", str(attrs.get("metering_label_id")))
            remote = prefixes["remote_ip_prefix"]
            if remote:
                # Neutron refuses a remote prefix that overlaps another rule's of the label
                # in the same direction and with the same `excluded`
                for other in (await s.execute(select(MeteringLabelRule.remote_ip_prefix).where(
                        MeteringLabelRule.metering_label_id == label.id,
                        MeteringLabelRule.direction == direction,
                        MeteringLabelRule.excluded == bool(attrs.get("excluded"))))).scalars():
                    if other and ipaddress.ip_network(other).overlaps(
                            ipaddress.ip_network(remote)):
                        raise errors.fault(409, "MeteringLabelRuleOverlaps",
                                           f"Metering label rule with remote_ip_prefix "
                                           f"{remote} overlaps another.")
            now = utcnow()
            row = MeteringLabelRule(id=new_id(), project_id=project,
                                    metering_label_id=label.id, direction=direction,
                                    excluded=bool(attrs.get("excluded") or False),
                                    created_at=now, updated_at=now, revision_number=0,
                                    **prefixes)
            s.add(row)
            await s.flush()
            view = await self.view_of(s, row)
        return self.shown(ctx, view)

    async def update(self, ctx: RequestContext, ident: str, attrs: Attrs,
                     if_match: str | None = None) -> Attrs:
        async with self.db.read() as s:
            row = await self.load(s, ctx, ident)
            ctx.enforce("update_metering_label_rule", self.target(await self.view_of(s, row)))
        raise _read_only(attrs)

    async def delete(self, ctx: RequestContext, ident: str) -> None:
        async with self.db.transaction() as s:
            row = await self.load(s, ctx, ident)
            ctx.enforce("delete_metering_label_rule", self.target(await self.view_of(s, row)))
            await self.delete_row(s, row)
