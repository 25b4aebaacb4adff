"""CORS as Swift does it: per container, from X-Container-Meta-Access-Control-Allow-Origin,
-Max-Age and -Expose-Headers. A preflight (OPTIONS) is answered without a token; the other
answers to a request with Origin carry the grant when the container allows the origin."""

from __future__ import annotations

from collections.abc import MutableMapping

from starlette.requests import Request
from starlette.responses import Response

from overcast.object.proxy.cluster import Info

__all__ = ["ALLOWED_METHODS", "allowed_origin", "mark", "preflight"]

ALLOWED_METHODS = "HEAD, GET, PUT, POST, COPY, OPTIONS, DELETE"
#: Headers a page may always read (Swift's cors_expose_headers defaults).
EXPOSED = ("cache-control", "content-language", "content-type", "expires", "last-modified",
           "pragma", "etag", "x-timestamp", "x-trans-id", "x-openstack-request-id")


def allowed_origin(info: Info | None, origin: str) -> bool:
    if info is None or not info.exists:
        return False
    allowed = (info.meta("x-container-meta-access-control-allow-origin") or "").split()
    return "*" in allowed or origin in allowed


def preflight(request: Request, info: Info | None) -> Response:
    origin = request.headers.get("origin")
    if origin is None:
        return Response(b"", status_code=200, headers={"allow": ALLOWED_METHODS})
    method = request.headers.get("access-control-request-method", "")
    if not allowed_origin(info, origin) or method.upper() not in ALLOWED_METHODS:
        return Response(b"<html><h1>Unauthorized</h1><p>This server could not verify that you "
                        b"are authorized to access the document you requested.</p></html>",
                        status_code=401, media_type="text/html; charset=UTF-8")
    assert info is not None
    headers = {"access-control-allow-origin": origin,
               "access-control-allow-methods": ALLOWED_METHODS,
               "allow": ALLOWED_METHODS}
    max_age = info.meta("x-container-meta-access-control-max-age")
    if max_age:
        headers["access-control-max-age"] = max_age
    wanted = request.headers.get("access-control-request-headers")
    if wanted:
        headers["access-control-allow-headers"] = wanted
    return Response(b"", status_code=200, headers=headers)


def mark(headers: MutableMapping[str, str], info: Info | None, origin: str | None) -> None:
    """The grant on an actual request's answer."""
    if origin is None or not allowed_origin(info, origin):
        return
    assert info is not None
    allowed = (info.meta("x-container-meta-access-control-allow-origin") or "").split()
    headers["access-control-allow-origin"] = "*" if "*" in allowed else origin
    extra = (info.meta("x-container-meta-access-control-expose-headers") or "").split()
    shown = [*EXPOSED, *[h for h in headers if h.startswith("x-object-meta-")], *extra]
    headers["access-control-expose-headers"] = ", ".join(dict.fromkeys(shown))
