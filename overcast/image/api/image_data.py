"""/v2/images/{id}/file (streamed upload and download, with Range) and /v2/images/{id}/stage."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.image.api import Data, Imgs, Who
from overcast.image.api.images import image_target

router = APIRouter(prefix="/v2/images", tags=["image data"])

#: The image's bytes, streamed (FastAPI does not read them: the route passes the stream on).
DATA_BODY = {"required": True, "content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary"}}}}


def _length(request: Request) -> int | None:
    media = request.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
    if media != "application/octet-stream":
        raise faults.UnsupportedMediaType(f"Content type {media} is not supported for image data;"
                                          " use application/octet-stream.")
    raw = request.headers.get("content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        raise faults.BadRequest("Invalid Content-Length") from None


@router.put("/{image_id}/file", status_code=204, openapi_extra={"requestBody": DATA_BODY})
async def upload(image_id: str, request: Request, ctx: Ctx, images: Imgs, data: Data,
                 who: Who) -> Response:
    image = await images.show(who, image_id)
    ctx.enforce("upload_image", image_target(image))
    await data.upload(image, request.stream(), _length(request),
                      request.headers.get("x-image-meta-store"))
    return Response(status_code=204)


@router.get("/{image_id}/file")
async def download(image_id: str, request: Request, ctx: Ctx, images: Imgs, data: Data,
                   who: Who) -> Response:
    image = await images.show(who, image_id)
    ctx.enforce("download_image", image_target(image))
    d = await data.download(who, image, request.headers.get("range"))
    if d is None:
        return Response(status_code=204)
    headers = {"Content-Length": str(d.length)}
    if d.partial:
        headers["Content-Range"] = f"bytes {d.start}-{d.start + d.length - 1}/{d.size}"
    elif d.checksum:
        headers["Content-MD5"] = d.checksum
    return StreamingResponse(d.chunks, status_code=206 if d.partial else 200, headers=headers,
                             media_type="application/octet-stream")


@router.put("/{image_id}/stage", status_code=204, openapi_extra={"requestBody": DATA_BODY})
async def stage(image_id: str, request: Request, ctx: Ctx, images: Imgs, data: Data,
                who: Who) -> Response:
    image = await images.show(who, image_id)
    ctx.enforce("upload_image", image_target(image))
    await data.stage(image, request.stream(), _length(request))
    return Response(status_code=204)
