"""/v3/OS-OAUTH1/consumers (the consumers only; the token flow is not served)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, listing, self_link
from overcast.identity.api.schemas import ConsumerBody
from overcast.identity.models import Consumer

router = APIRouter(prefix="/v3/OS-OAUTH1/consumers", tags=["oauth1"])


def consumer_view(request: Request, c: Consumer, secret: str | None = None) -> dict[str, Any]:
    view = {**c.extra, "id": c.id, "description": c.description,
            "links": self_link(request, f"/v3/OS-OAUTH1/consumers/{c.id}")}
    if secret is not None:  # only the create response carries it
        view["secret"] = secret
    return view


@router.post("", status_code=201, **policy("identity:create_consumer"))
async def create_consumer(request: Request, body: ConsumerBody, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    consumer, secret = await identity.consumers.create(ctx, body.consumer.fields())
    return {"consumer": consumer_view(request, consumer, secret)}


@router.get("", **policy("identity:list_consumers"))
async def list_consumers(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    consumers = await identity.consumers.list(ctx)
    return listing(request, "consumers", consumers, lambda c: consumer_view(request, c),
                   identity.list_limit)


@router.get("/{consumer_id}", **policy("identity:get_consumer"))
async def show_consumer(request: Request, consumer_id: str, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    return {"consumer": consumer_view(request, await identity.consumers.show(ctx, consumer_id))}


@router.patch("/{consumer_id}", **policy("identity:update_consumer"))
async def update_consumer(request: Request, consumer_id: str, body: ConsumerBody, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    consumer = await identity.consumers.update(ctx, consumer_id, body.consumer.fields())
    return {"consumer": consumer_view(request, consumer)}


@router.delete("/{consumer_id}", status_code=204, **policy("identity:delete_consumer"))
async def delete_consumer(consumer_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.consumers.delete(ctx, consumer_id)
    return Response(status_code=204)
