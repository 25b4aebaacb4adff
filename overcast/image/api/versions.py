"""Version discovery: GET / and /versions answer 300 with the v2 list; public (the clients
refuse an image service without it, CLIENT_SURFACE.md "image")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["versions"])

CURRENT = "2.16"
SUPPORTED = ("2.15", "2.14", "2.13", "2.12", "2.11", "2.10", "2.9", "2.8", "2.7", "2.6", "2.5",
             "2.4", "2.3", "2.2", "2.1", "2.0")


def _documents(request: Request) -> list[dict[str, Any]]:
    href = f"{str(request.base_url).rstrip('/')}/v2/"
    return [{"id": f"v{v}", "status": "CURRENT" if v == CURRENT else "SUPPORTED",
             "links": [{"rel": "self", "href": href}]} for v in (CURRENT, *SUPPORTED)]


@router.get("/")
@router.get("/versions")
@router.get("/v2")
@router.get("/v2/")
async def versions(request: Request) -> JSONResponse:
    return JSONResponse({"versions": _documents(request)}, status_code=300)
