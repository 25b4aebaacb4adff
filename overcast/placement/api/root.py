"""GET /: Placement's version document (public, as Placement's root is unauthenticated)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from overcast.placement.versions import VERSIONING

router = APIRouter(tags=["root"])


@router.get("/")
async def root() -> JSONResponse:
    v = VERSIONING
    return JSONResponse({"versions": [{
        "id": "v1.0", "min_version": f"{v.minimum[0]}.{v.minimum[1]}",
        "max_version": f"{v.maximum[0]}.{v.maximum[1]}", "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}]}]})
