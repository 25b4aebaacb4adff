"""The metadata API's routes: the OpenStack tree under /openstack, the EC2 tree under
/<version>. Every route but `/` names its instance by the proxy's signed headers.

Answers are text, as Nova's handler prints them: a listing one entry a line, a JSON document
as application/json; an unknown path is a 404."""

from __future__ import annotations

import posixpath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from overcast.common import faults
from overcast.common.api import state
from overcast.compute import instance_metadata as render
from overcast.compute.guest_passwords import PASSWORD_MAX
from overcast.compute.metadata.guests import Guest, Guests

router = APIRouter(tags=["metadata"])

GuestsDep = Annotated[Guests, Depends(state("guests", Guests))]
_TEXT = "text/plain; charset=UTF-8"
_NOT_FOUND = "The resource could not be found."


async def _guest(request: Request, guests: GuestsDep) -> Guest:
    return await guests.identify(request.headers)

GuestDep = Annotated[Guest, Depends(_guest)]


def _text(lines: list[str] | bytes) -> Response:
    body = lines if isinstance(lines, bytes) else "\n".join(lines).encode()
    return Response(body, media_type=_TEXT)


def _openstack_version(version: str) -> str:
    if version != "latest" and version not in render.OPENSTACK_VERSIONS:
        raise faults.NotFound(_NOT_FOUND)
    return version


@router.get("/")
async def ec2_versions() -> Response:
    return _text([*render.EC2_VERSIONS, "latest"])


@router.get("/openstack")
@router.get("/openstack/")
async def openstack_versions(guest: GuestDep) -> Response:
    return _text([*render.OPENSTACK_VERSIONS, "latest"])


@router.get("/openstack/{version}")
@router.get("/openstack/{version}/")
async def openstack_listing(version: str, guest: GuestDep) -> Response:
    return _text(render.openstack_listing(_openstack_version(version),
                                          guest.user_data is not None))


@router.get("/openstack/{version}/{name}")
async def openstack_file(version: str, name: str, guest: GuestDep) -> Response:
    try:
        body, media_type = await guest.openstack_item(_openstack_version(version), name)
    except KeyError:
        raise faults.NotFound(_NOT_FOUND) from None
    return Response(body, media_type=_TEXT if media_type == "text/plain" else media_type)


@router.post("/openstack/{version}/password", openapi_extra={"requestBody": {
    "required": True, "content": {"text/plain": {"schema": {"type": "string",
                                                             "maxLength": 1020}}}}})
async def post_password(version: str, request: Request, guest: GuestDep,
                        guests: GuestsDep) -> Response:
    """The guest posts its encrypted admin password once (os-server-password reads it)."""
    if "password" not in render.openstack_listing(_openstack_version(version), False):
        raise faults.NotFound(_NOT_FOUND)
    raw = await request.body()
    if len(raw) > PASSWORD_MAX:
        raise faults.BadRequest("Request is too large.")
    await guests.set_password(guest, raw.decode(errors="replace"))
    return Response(b"", media_type=_TEXT)


def _ec2_version(version: str) -> str:
    if version != "latest" and version not in render.EC2_VERSIONS:
        raise faults.NotFound(_NOT_FOUND)
    return version


@router.get("/{version}")
@router.get("/{version}/")
async def ec2_listing(version: str, guest: GuestDep) -> Response:
    return _text(render.ec2_print(await guest.ec2_tree(_ec2_version(version))))


@router.get("/{version}/{path:path}")
async def ec2_item(version: str, path: str, guest: GuestDep) -> Response:
    tree: Any = await guest.ec2_tree(_ec2_version(version))
    for token in [t for t in posixpath.normpath("/" + path).split("/") if t]:
        if not isinstance(tree, dict) or token not in tree or token == "_name":
            raise faults.NotFound(_NOT_FOUND)
        tree = tree[token]
    return _text(render.ec2_print(tree))
