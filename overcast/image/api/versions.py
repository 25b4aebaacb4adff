"""Version discovery: GET / answers 300 and GET /versions 200 with the v2 list; public (the
clients refuse an image service without it, CLIENT_SURFACE.md "image")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["versions"])

# Glance 33's list with several stores and no image cache (glance/api/versions.py), in its
# order: the cache API's versions (2.14, 2.16, 2.18) appear only with a cache, which this cloud
# has not. Like Glance's, the list is discovery, not a feature list: Glance names 2.13 (quota
# usage), 2.15 (store details) and 2.17 (the service-only location API) whether or not they
# can be used, and so does this cloud, which has none of the three (docs/image.md).
CURRENT = "2.17"
VERSIONS = ("2.15", "2.13", "2.12", "2.11", "2.10", "2.9", "2.8", CURRENT, "2.7", "2.6", "2.5",
            "2.4", "2.3", "2.2", "2.1", "2.0")


def _documents(request: Request) -> list[dict[str, Any]]:
    href = f"{str(request.base_url).rstrip('/')}/v2/"
    return [{"id": f"v{v}", "status": "CURRENT" if v == CURRENT else "SUPPORTED",
             "links": [{"rel": "self", "href": href}]} for v in VERSIONS]


@router.get("/")
async def versions(request: Request) -> JSONResponse:
    """The root: 300 Multiple Choices, as Glance's version negotiation answers where no
    version is named (what tempest's versions client expects)."""
    return JSONResponse({"versions": _documents(request)}, status_code=300)


@router.get("/versions")
async def versions_asked(request: Request) -> JSONResponse:
    """Asked for by name: 200, as Glance's `explicit` index."""
    return JSONResponse({"versions": _documents(request)})
