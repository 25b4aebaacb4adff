"""Version discovery: GET / (300) and GET /v3, both public (CLIENT_SURFACE.md §1.1)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from overcast.identity.api import base

router = APIRouter(tags=["versions"])

UPDATED = "2020-04-07T00:00:00Z"


def v3_document(request: Request) -> dict[str, Any]:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": UPDATED,
        "links": [{"rel": "self", "href": f"{base(request)}/v3/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.identity-v3+json"}],
    }


@router.get("/")
async def versions(request: Request) -> JSONResponse:
    # Keystone points Location at its one (preferred) version (keystone/api/discovery.py)
    return JSONResponse({"versions": {"values": [v3_document(request)]}}, status_code=300,
                        headers={"Location": f"{base(request)}/v3/"})


@router.get("/v3")
@router.get("/v3/")
async def version_v3(request: Request) -> dict[str, Any]:
    return {"version": v3_document(request)}
