"""/v2/images/{id}/file (streamed upload and download, with Range) and /v2/images/{id}/stage.

The HTTP parts are read here (media type, Content-Length, the Range header) and passed on as
typed values; the data itself streams through (FastAPI does not read these bodies).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import StreamingResponse

from overcast.common import faults
from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.image.api import Data
from overcast.image.api.images import with_body
from overcast.image.data import ByteRange

router = APIRouter(prefix="/v2/images", tags=["image data"])

#: The image's bytes, streamed.
DATA_BODY = {"required": True, "content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary"}}}}
_SEES_ALL = "context_is_admin"
_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*")


async def content_length(request: Request) -> int | None:
    """The announced size of image data (application/octet-stream only)."""
    declared = request.headers.get("content-type", "application/octet-stream")
    media = declared.split(";")[0].strip()
    if media != "application/octet-stream":
        raise faults.UnsupportedMediaType(
            f"The request media type {declared[:255]} is not supported by this server.",
            detail=f"Invalid content type {media[:255]}")
    raw = request.headers.get("content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        raise faults.BadRequest("Invalid Content-Length") from None


async def byte_range(range_: Annotated[str | None, Header(alias="range")] = None) -> ByteRange | None:
    """A single `bytes=first-last` range (or `bytes=-n`, the last n bytes); anything else the
    image cannot satisfy (416, with the size the answer needs: checked by the download)."""
    if range_ is None:
        return None
    match = _RANGE.fullmatch(range_)
    if match is None:
        return ByteRange(None, None, range_[:80])  # never satisfiable
    first, last = (int(g) if g else None for g in match.groups())
    return ByteRange(first, last, range_[:80])


Length = Annotated[int | None, Depends(content_length)]
Ranged = Annotated[ByteRange | None, Depends(byte_range)]


@router.put("/{image_id}/file", status_code=204,
            **with_body(policy("upload_image", _SEES_ALL), DATA_BODY))
async def upload(image_id: str, request: Request, length: Length, ctx: Ctx, data: Data,
                 store: Annotated[str | None, Header(alias="x-image-meta-store")] = None
                 ) -> Response:
    await data.upload(ctx, image_id, request.stream(), length, store)
    return Response(status_code=204)


_BYTES = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
#: What a download answers, for the OpenAPI document (the route returns a Response itself).
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The image's data", "content": _BYTES},
    206: {"description": "The range of the image's data asked for with Range",
          "content": _BYTES},
    204: {"description": "The image has no data yet (queued, or being uploaded), as in Glance"},
}


@router.get("/{image_id}/file", response_class=Response, responses=DOWNLOAD_RESPONSES,
            **policy("download_image", _SEES_ALL))
async def download(image_id: str, wanted: Ranged, ctx: Ctx, data: Data) -> Response:
    d = await data.download(ctx, image_id, wanted)
    if d is None:
        return Response(status_code=204)
    headers = {"Content-Length": str(d.length)}
    if d.partial:
        headers["Content-Range"] = f"bytes {d.start}-{d.start + d.length - 1}/{d.size}"
    if d.checksum:  # the whole image's, on a range too (as Glance's)
        headers["Content-MD5"] = d.checksum
    return StreamingResponse(d.chunks, status_code=206 if d.partial else 200, headers=headers,
                             media_type="application/octet-stream")


@router.put("/{image_id}/stage", status_code=204,
            **with_body(policy("upload_image", _SEES_ALL), DATA_BODY))
async def stage(image_id: str, request: Request, length: Length, ctx: Ctx, data: Data
                ) -> Response:
    await data.stage(ctx, image_id, request.stream(), length)
    return Response(status_code=204)
