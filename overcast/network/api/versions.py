"""Version discovery: GET / lists v2.0; GET /v2.0 lists its core resources (public, as the
clients ask before they authenticate)."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["versions"])

CORE = (("subnet", "subnets"), ("network", "networks"), ("port", "ports"))


@router.get("/")
async def versions(request: Request) -> JSONResponse:
    href = f"{str(request.base_url).rstrip('/')}/v2.0/"
    return JSONResponse({"versions": [{"id": "v2.0", "status": "CURRENT",
                                       "links": [{"href": href, "rel": "self"}]}]})


@router.get("/v2.0")
@router.get("/v2.0/")
async def version(request: Request) -> JSONResponse:
    base = f"{str(request.base_url).rstrip('/')}/v2.0"
    return JSONResponse({"resources": [
        {"name": name, "collection": plural,
         "links": [{"href": f"{base}/{plural}", "rel": "self"}]} for name, plural in CORE]})
