"""OS-OAUTH1 consumers: the applications that may ask for delegated tokens. The secret is
kept hashed and shown once, on create (the access/request-token flow is not served)."""

from __future__ import annotations

import builtins
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.identity.models import Consumer
from overcast.identity.state import IdentityState

__all__ = ["Consumers"]

_OWN = ("id", "description", "secret", "links")


class Consumers:
    def __init__(self, state: IdentityState):
        self.state = state

    @staticmethod
    async def get(s: AsyncSession, consumer_id: str) -> Consumer:
        consumer = await s.get(Consumer, consumer_id)
        if consumer is None:
            raise faults.NotFound(f"Could not find consumer: {consumer_id}.")
        return consumer

    async def show(self, ctx: RequestContext, consumer_id: str) -> Consumer:
        ctx.enforce("identity:get_consumer")
        async with self.state.db.read() as s:
            return await self.get(s, consumer_id)

    async def list(self, ctx: RequestContext) -> builtins.list[Consumer]:
        ctx.enforce("identity:list_consumers")
        async with self.state.db.read() as s:
            return list(await s.scalars(self.state.capped(
                select(Consumer).order_by(Consumer.id))))

    async def create(self, ctx: RequestContext, body: dict[str, Any]) -> tuple[Consumer, str]:
        """The new consumer and its secret, which is not kept in the clear."""
        ctx.enforce("identity:create_consumer")
        secret = secrets.token_hex(16)
        secret_hash = await self.state.hasher.hash(secret)
        extra = {k: v for k, v in body.items() if k not in _OWN}
        async with self.state.write() as s:
            consumer = Consumer(description=body.get("description"), secret_hash=secret_hash,
                                extra=extra)
            s.add(consumer)
        return consumer, secret

    async def update(self, ctx: RequestContext, consumer_id: str, body: dict[str, Any]) -> Consumer:
        ctx.enforce("identity:update_consumer")
        if not body:
            raise faults.BadRequest("An update needs at least one attribute.")
        if "secret" in body:
            raise faults.BadRequest("A consumer's secret cannot be updated.")
        if body.get("id") not in (None, consumer_id):
            raise faults.BadRequest("A consumer's id cannot change.")
        async with self.state.write() as s:
            consumer = await self.get(s, consumer_id)
            for k, v in body.items():
                if k == "description":
                    consumer.description = v
                elif k not in _OWN:
                    consumer.extra = {**consumer.extra, k: v}
        return consumer

    async def delete(self, ctx: RequestContext, consumer_id: str) -> None:
        ctx.enforce("identity:delete_consumer")
        async with self.state.write() as s:
            await s.delete(await self.get(s, consumer_id))
