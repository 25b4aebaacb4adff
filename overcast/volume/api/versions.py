"""Version discovery, public as Cinder's: GET / answers 300 with the v3 document, GET /v3/ the
same list; clients read `version` (the highest microversion) to negotiate."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

__all__ = ["MAX_VERSION", "MIN_VERSION", "router"]

router = APIRouter(tags=["versions"])

MIN_VERSION = (3, 0)
MAX_VERSION = (3, 60)


def _v3(request: Request) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {"id": "v3.0", "status": "CURRENT",
            "version": f"{MAX_VERSION[0]}.{MAX_VERSION[1]}",
            "min_version": f"{MIN_VERSION[0]}.{MIN_VERSION[1]}",
            "updated": "2023-08-31T00:00:00Z",
            "links": [{"rel": "describedby", "type": "text/html",
                       "href": "https://docs.openstack.org/"},
                      {"rel": "self", "href": f"{base}/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.volume+json;version=3"}]}


@router.get("/")
async def versions(request: Request) -> JSONResponse:
    """Every API version (Cinder answers 300 Multiple Choices)."""
    return JSONResponse({"versions": [_v3(request)]}, status_code=300)


@router.get("/v3")
@router.get("/v3/")
async def version_v3(request: Request) -> JSONResponse:
    """The v3 API: its status and microversion range."""
    return JSONResponse({"versions": [_v3(request)]})
