"""/os-keypairs: list, show, create (generate or import), delete, per user.

Per microversion (tempest's schemas v2_1, v2_2): `type` and 201/204 from 2.2, an admin's
`user_id` from 2.10, paging (`limit`, `marker`, `keypairs_links`) from 2.35, strict queries from
2.75, and from 2.92 no generation (`public_key` required) and names that may hold `@` and `.`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.api import Page, policy
from overcast.common.app import Ctx
from overcast.compute.api import Kps, Paged, collection_links, isotime, only_params
from overcast.compute.models import KeyPair

router = APIRouter(prefix="/v2.1/os-keypairs", tags=["keypairs"])

_NAME = r"^[_\- a-zA-Z0-9]+$"
_NAME_292 = r"^[_\-@. a-zA-Z0-9]+$"
#: No page limit before 2.35.
_UNPAGED = Page(limit=1 << 31)


class KeypairCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    public_key: str | None = None
    type: Literal["ssh", "x509"] | None = None
    user_id: str | None = None


class KeypairCreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keypair: KeypairCreate


def _target_user(request: Request, ctx: Ctx, strict: tuple[str, ...]) -> str:
    """The user whose keypairs a request is about: the caller, or `?user_id=` from 2.10."""
    if ctx.microversion >= (2, 75):
        only_params(request, strict)
    if ctx.microversion >= (2, 10):
        asked = request.query_params.get("user_id")
        if asked:
            return asked
    return ctx.user_id


def _item(ctx: Ctx, kp: KeyPair) -> dict[str, Any]:
    view: dict[str, Any] = {"name": kp.name, "public_key": kp.public_key,
                            "fingerprint": kp.fingerprint}
    if ctx.microversion >= (2, 2):
        view["type"] = kp.type
    return view


@router.get("", **policy("os_compute_api:os-keypairs:index"))
async def list_keypairs(request: Request, ctx: Ctx, keypairs: Kps, paged: Paged
                        ) -> dict[str, Any]:
    user_id = _target_user(request, ctx, ("user_id", "limit", "marker"))
    page = paged if ctx.microversion >= (2, 35) else _UNPAGED
    found = await keypairs.list(ctx, user_id, limit=page.limit, marker=page.marker)
    body: dict[str, Any] = {"keypairs": [{"keypair": _item(ctx, kp)} for kp in found]}
    if ctx.microversion >= (2, 35):
        more = collection_links(request, page, len(found), found[-1].name if found else None)
        if more:
            body["keypairs_links"] = more
    return body


@router.get("/{keypair_name}", **policy("os_compute_api:os-keypairs:show"))
async def show_keypair(keypair_name: str, request: Request, ctx: Ctx, keypairs: Kps
                       ) -> dict[str, Any]:
    kp = await keypairs.get(ctx, _target_user(request, ctx, ("user_id",)), keypair_name)
    view = _item(ctx, kp)
    view.update({"user_id": kp.user_id, "created_at": isotime(kp.created_at),
                 "updated_at": None, "deleted_at": None, "deleted": False, "id": kp.id})
    return {"keypair": view}


@router.post("", **policy("os_compute_api:os-keypairs:create"))
async def create_keypair(body: KeypairCreateBody, response: Response, ctx: Ctx, keypairs: Kps
                         ) -> dict[str, Any]:
    k = body.keypair
    mv = ctx.microversion
    for name, since in (("type", (2, 2)), ("user_id", (2, 10))):
        if name in k.model_fields_set and mv < since:
            raise faults.BadRequest(
                "Invalid input for field/attribute keypair. Additional properties are not "
                f"allowed ('{name}' was unexpected)")
    pattern = _NAME_292 if mv >= (2, 92) else _NAME
    if k.name != k.name.strip() or not re.fullmatch(pattern, k.name):
        raise faults.BadRequest(f"Invalid input for field/attribute name. Value: {k.name}. "
                                f"'{k.name}' does not match '{pattern}'")
    if k.public_key is None and mv >= (2, 92):
        raise faults.BadRequest("Invalid input for field/attribute keypair. 'public_key' is a "
                                "required property")
    created = await keypairs.create(ctx, k.user_id or ctx.user_id, k.name, k.type or "ssh",
                                    k.public_key)
    kp = created.keypair
    view = _item(ctx, kp)
    view["user_id"] = kp.user_id
    if created.private_key is not None:
        view["private_key"] = created.private_key
    response.status_code = 201 if mv >= (2, 2) else 200
    return {"keypair": view}


@router.delete("/{keypair_name}", **policy("os_compute_api:os-keypairs:delete"))
async def delete_keypair(keypair_name: str, request: Request, ctx: Ctx, keypairs: Kps
                         ) -> Response:
    await keypairs.delete(ctx, _target_user(request, ctx, ("user_id",)), keypair_name)
    return Response(status_code=204 if ctx.microversion >= (2, 2) else 202)
