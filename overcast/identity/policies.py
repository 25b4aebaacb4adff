"""/v3/policies: opaque policy blobs Keystone stores for other services (it never reads them)."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.identity.models import Policy
from overcast.identity.state import IdentityState

__all__ = ["Policies"]

_OWN = ("id", "type", "blob", "links")


class Policies:
    def __init__(self, state: IdentityState):
        self.state = state

    @staticmethod
    async def get(s: AsyncSession, policy_id: str) -> Policy:
        policy = await s.get(Policy, policy_id)
        if policy is None:
            raise faults.NotFound(f"Could not find policy: {policy_id}.")
        return policy

    async def show(self, ctx: RequestContext, policy_id: str) -> Policy:
        ctx.enforce("identity:get_policy")
        async with self.state.db.read() as s:
            return await self.get(s, policy_id)

    async def list(self, ctx: RequestContext, type: str | None = None) -> builtins.list[Policy]:
        ctx.enforce("identity:list_policies")
        q = select(Policy).order_by(Policy.id)
        if type is not None:
            q = q.where(Policy.type == type)
        async with self.state.db.read() as s:
            return list(await s.scalars(self.state.capped(q)))

    async def create(self, ctx: RequestContext, body: dict[str, Any]) -> Policy:
        ctx.enforce("identity:create_policy")
        for key in ("type", "blob"):
            if not isinstance(body.get(key), str):
                raise faults.BadRequest(f"Invalid input for field '{key}': it is required.")
        extra = {k: v for k, v in body.items() if k not in _OWN}
        async with self.state.write() as s:
            policy = Policy(type=body["type"], blob=body["blob"], extra=extra)
            s.add(policy)
        return policy

    async def update(self, ctx: RequestContext, policy_id: str, body: dict[str, Any]) -> Policy:
        ctx.enforce("identity:update_policy")
        if not body:
            raise faults.BadRequest("An update needs at least one attribute.")
        for key in ("type", "blob"):
            if key in body and not isinstance(body[key], str):
                raise faults.BadRequest(f"Invalid input for field '{key}'.")
        async with self.state.write() as s:
            policy = await self.get(s, policy_id)
            for k, v in body.items():
                if k in ("type", "blob"):
                    setattr(policy, k, v)
                elif k not in _OWN:
                    policy.extra = {**policy.extra, k: v}
        return policy

    async def delete(self, ctx: RequestContext, policy_id: str) -> None:
        ctx.enforce("identity:delete_policy")
        async with self.state.write() as s:
            await s.delete(await self.get(s, policy_id))
