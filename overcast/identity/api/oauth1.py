"""/v3/OS-OAUTH1/consumers (the consumers only; the token flow is not served)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.app import Ctx
from overcast.identity.api import Ident, collection, self_link
from overcast.identity.api.schemas import ConsumerBody
from overcast.identity.models import Consumer

router = APIRouter(prefix="/v3/OS-OAUTH1/consumers", tags=["oauth1"])




def consumer_view(request: Request, c: Consumer, secret: str | None = None) -> dict[str, Any]:
    view = {**c.extra, "id": c.id, "description": c.description,
            "links": self_link(request, f"/v3/OS-OAUTH1/consumers/{c.id}")}
    if secret is not None:  # only the create response carries it
        view["secret"] = secret
    return view


@router.post("", status_code=201)
async def create_consumer(request: Request, body: ConsumerBody, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:create_consumer")
    consumer, secret = await identity.consumers.create(body.consumer.fields())
    return {"consumer": consumer_view(request, consumer, secret)}


@router.get("")
async def list_consumers(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:list_consumers")
    consumers = await identity.consumers.list()
    return collection(request, "consumers", [consumer_view(request, c) for c in consumers])


@router.get("/{consumer_id}")
async def show_consumer(request: Request, consumer_id: str, ctx: Ctx,
                        identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_consumer")
    return {"consumer": consumer_view(request, await identity.consumers.show(consumer_id))}


@router.patch("/{consumer_id}")
async def update_consumer(request: Request, consumer_id: str, body: ConsumerBody, ctx: Ctx,
                          identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:update_consumer")
    consumer = await identity.consumers.update(consumer_id, body.consumer.fields())
    return {"consumer": consumer_view(request, consumer)}


@router.delete("/{consumer_id}", status_code=204)
async def delete_consumer(consumer_id: str, ctx: Ctx, identity: Ident) -> Response:
    ctx.enforce("identity:delete_consumer")
    await identity.consumers.delete(consumer_id)
    return Response(status_code=204)
