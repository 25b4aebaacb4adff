"""Form POST: a browser uploads files straight into a container with an HTML form signed
with the account's or container's temp URL key (Swift's formpost middleware).

    signature = HMAC(key, "PATH\\nREDIRECT\\nMAX_FILE_SIZE\\nMAX_FILE_COUNT\\nEXPIRES")

The files land under the path's prefix, each named prefix + its file name; the answer
redirects to `redirect` (303) with ?status=&message=, or is a short text without one."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from email.message import Message
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.object.proxy.objects import Objects
from overcast.object.proxy.tempurl import _signature

__all__ = ["form_post"]

#: A form POST's body is read whole; this caps it (files are small by design).
MAX_FORM = 64 << 20


def _parse(ctype: str, body: bytes) -> list[Message]:
    head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        raise faults.BadRequest("FormPost: invalid multipart body")
    parts = msg.get_payload()
    assert isinstance(parts, list)
    return [p for p in parts if isinstance(p, Message)]


async def form_post(objects: Objects, ctx: RequestContext, request: Request, account: str,
                    container: str, prefix: str) -> Response:
    # The owner may form-post too; anyone else needs the signature.
    objects.p.access.is_owner(ctx, "swift:put_object", account)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise faults.RequestTooLarge()
    fields: dict[str, str] = {}
    files: list[tuple[str, bytes, str]] = []
    for part in _parse(request.headers.get("content-type", ""), body):
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload: Any = part.get_payload(decode=True) or b""
        if filename is not None:
            files.append((str(filename), bytes(payload),
                          part.get_content_type() or "application/octet-stream"))
        elif name:
            fields[str(name)] = bytes(payload).decode("utf-8", "replace")
    try:
        expires = int(fields.get("expires", "0"))
        max_size = int(fields.get("max_file_size", "0"))
        max_count = int(fields.get("max_file_count", "0"))
    except ValueError:
        raise faults.Unauthorized("FormPost: invalid expires, max_file_size or "
                                  "max_file_count") from None
    if expires < time.time():
        raise faults.Unauthorized("FormPost: Form Expired")
    path = request.url.path
    redirect = fields.get("redirect", "")
    message = f"{path}\n{redirect}\n{max_size}\n{max_count}\n{expires}".encode()
    digest, raw = _signature(fields.get("signature", ""))
    cinfo = await objects.p.cluster.info(account, container)
    keys = await objects._keys(account, cinfo)
    if digest is None or raw is None or not any(
            hmac.compare_digest(hmac.new(k.encode(), message, getattr(hashlib, digest)).digest(),
                                raw) for k in keys):
        raise faults.Unauthorized("FormPost: Invalid Signature")
    if len(files) > max_count:
        status, text = 400, "max_file_count exceeded"
    else:
        status, text = 201, ""
        for filename, data, ctype in files:
            if len(data) > max_size:
                status, text = 400, "max_file_size exceeded"
                break
            obj = f"{prefix}{filename}"
            await objects.write(account, container, obj, cinfo, {"content-type": ctype},
                                _once(data), len(data))
    if redirect:
        sep = "&" if "?" in redirect else "?"
        return Response(b"", status_code=303, headers={
            "location": f"{redirect}{sep}{urlencode({'status': status, 'message': text})}"})
    return Response(f"{status} {'Created' if status == 201 else 'Bad Request'}\n\n{text}",
                    status_code=status, media_type="text/plain")


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
