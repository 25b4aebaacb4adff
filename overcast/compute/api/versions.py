"""Version discovery, public as Nova's: GET / lists v2.0 and v2.1 (200, tempest's
test_list_api_versions wants v2.0 first), GET /v2.1 and GET /v2 each describe one version. The
clients read `version` (the highest microversion) from GET /v2.1 to negotiate
(CLIENT_SURFACE.md "compute")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

__all__ = ["MAX_VERSION", "MIN_VERSION", "router"]

router = APIRouter(tags=["versions"])

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 96)


def _mv(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


def _v20(base: str) -> dict[str, Any]:
    # v2.0 is listed as Nova lists it; its document answers here, the legacy API does not.
    return {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
            "updated": "2011-01-21T11:33:21Z", "links": [{"rel": "self", "href": f"{base}/v2/"}]}


def _v21(base: str) -> dict[str, Any]:
    return {"id": "v2.1", "status": "CURRENT", "version": _mv(MAX_VERSION),
            "min_version": _mv(MIN_VERSION), "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base}/v2.1/"}]}


def _detailed(doc: dict[str, Any], media: str) -> dict[str, Any]:
    return {**doc,
            "links": [*doc["links"], {"rel": "describedby", "type": "text/html",
                                      "href": "http://docs.openstack.org/"}],
            "media-types": [{"base": "application/json",
                             "type": f"application/vnd.openstack.compute+json;version={media}"}]}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/")
async def versions(request: Request) -> JSONResponse:
    """Every API version, with its microversion range."""
    base = _base(request)
    return JSONResponse({"versions": [_v20(base), _v21(base)]})


@router.get("/v2.1")
@router.get("/v2.1/")
async def version_v21(request: Request) -> JSONResponse:
    """The v2.1 API: its status and microversion range."""
    return JSONResponse({"version": _detailed(_v21(_base(request)), "2.1")})


@router.get("/v2")
@router.get("/v2/")
async def version_v20(request: Request) -> JSONResponse:
    """The v2.0 API's document (the legacy API itself is not served)."""
    return JSONResponse({"version": _detailed(_v20(_base(request)), "2")})
