"""Faults: exceptions that carry an HTTP status and a user-safe message, and their renderers.

    Fault(code, message)
     ├── BadRequest            400
     ├── Unauthorized          401
     ├── Forbidden             403
     ├── NotFound              404
     ├── MethodNotAllowed      405
     ├── NotAcceptable         406
     ├── Conflict              409
     ├── Gone                  410
     ├── RequestTooLarge       413
     ├── RangeNotSatisfiable   416
     ├── UnsupportedMediaType  415
     ├── OverQuota             413 (403 where a dialect says so)
     ├── NotImplementedFault   501
     └── ServiceUnavailable    503

A service raises these; one renderer per dialect gives the body its service's shape. A
message never holds a secret, a file path or SQL: anything that is not a Fault becomes a
500 with a generic message, and the traceback goes to the log only.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Literal

from overcast.common.request_id import current_microversion, current_request_id

__all__ = [
    "UNAUTHORIZED_EXPLANATION",
    "BadRequest",
    "Conflict",
    "Dialect",
    "Fault",
    "Forbidden",
    "Gone",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "NotImplementedFault",
    "OverQuota",
    "RangeNotSatisfiable",
    "RequestTooLarge",
    "ServiceUnavailable",
    "Unauthorized",
    "UnsupportedMediaType",
    "render",
    "render_webob",
]

Dialect = Literal["identity", "compute", "volume", "network", "placement", "image", "object"]


class Fault(Exception):
    """An error the user caused or may see; `code` is the HTTP status."""

    code: int = 500
    #: Neutron's `type` and similar wire names; None means derive from the class.
    wire_type: str | None = None

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None,
                 detail: str | None = None):
        self.message = message or self.title
        self.headers = headers or {}
        #: webob's second paragraph under the message (Glance's `HTTPConflict(detail)` pages
        #: say what webob's explanation of the status does not); only the image dialect shows it.
        self.detail = detail
        super().__init__(self.message)

    @property
    def title(self) -> str:
        try:
            return HTTPStatus(self.code).phrase
        except ValueError:  # a status http does not name (Swift's 499)
            return "Error"


class BadRequest(Fault):
    code = 400


class Unauthorized(Fault):
    code = 401


class Forbidden(Fault):
    code = 403


class NotFound(Fault):
    code = 404


class MethodNotAllowed(Fault):
    code = 405


class NotAcceptable(Fault):
    code = 406


class Conflict(Fault):
    code = 409


class Gone(Fault):
    code = 410


class RequestTooLarge(Fault):
    code = 413


class RangeNotSatisfiable(Fault):
    code = 416


class UnsupportedMediaType(Fault):
    code = 415


class OverQuota(Fault):
    code = 413


class NotImplementedFault(Fault):
    code = 501


class ServiceUnavailable(Fault):
    code = 503


# Nova/Cinder name the body's key after the kind of error.
_COMPUTE_KEYS = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    406: "notAcceptable",
    409: "conflictingRequest",
    413: "overLimit",
    415: "unsupportedMediaType",
    501: "notImplemented",
    503: "serviceUnavailable",
}


def _identity(f: Fault, accept: str | None) -> tuple[bytes, str]:
    body = {"error": {"code": f.code, "title": f.title, "message": f.message}}
    return json.dumps(body).encode(), "application/json"


def _compute(f: Fault, accept: str | None) -> tuple[bytes, str]:
    key = _COMPUTE_KEYS.get(f.code, "computeFault")
    return json.dumps({key: {"code": f.code, "message": f.message}}).encode(), "application/json"


def _network(f: Fault, accept: str | None) -> tuple[bytes, str]:
    kind = f.wire_type or type(f).__name__
    body = {"NeutronError": {"type": kind, "message": f.message, "detail": ""}}
    return json.dumps(body).encode(), "application/json"


#: webob's explanation of a status, which Placement's error `detail` starts with.
_WEBOB_EXPLANATIONS = {
    400: "The server could not comply with the request since it is either malformed or "
         "otherwise incorrect.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    409: "There was a conflict when trying to complete your request.",
    413: "The request is larger than the server is willing or able to process.",
}


def _placement(f: Fault, accept: str | None) -> tuple[bytes, str]:
    # webob's page as JSON, as Placement's error formatter builds it: the explanation, a blank
    # line, the message. The `code` came in 1.23 (then "placement.undefined_code" for an error
    # that has none); errors before a version was negotiated (a bad version) carry none.
    explanation = _WEBOB_EXPLANATIONS.get(f.code)
    detail = f"{explanation}\n\n {f.message}  " if explanation else f.message
    error: dict[str, object] = {"status": f.code, "title": f.title, "detail": detail}
    if current_microversion() >= (1, 23):
        error["code"] = f.wire_type or "placement.undefined_code"
    error["request_id"] = current_request_id()
    return json.dumps({"errors": [error]}).encode(), "application/json"


def _webob_offer(accept: str | None) -> str | None:
    """The media type webob picks for an error page: the first of text/html, application/json
    with the highest quality in `accept`; None (plain text) when neither is acceptable or the
    header is absent or empty (webob reads a missing header as an empty one)."""
    if not accept or not accept.strip():
        return None
    ranges: list[tuple[str, str, float]] = []
    for item in accept.split(","):
        media, *params = [p.strip() for p in item.split(";")]
        if "/" not in media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        kind, _, sub = media.lower().partition("/")
        ranges.append((kind, sub, q))
    best, best_q = None, 0.0
    for offer in ("text/html", "application/json"):
        kind, _, sub = offer.partition("/")
        # The most specific matching range decides the offer's quality (RFC 7231 5.3.2).
        found: tuple[int, float] | None = None
        for rkind, rsub, q in ranges:
            if (rkind, rsub) == (kind, sub):
                score = 2
            elif rkind == kind and rsub == "*":
                score = 1
            elif (rkind, rsub) == ("*", "*"):
                score = 0
            else:
                continue
            if found is None or score > found[0]:
                found = (score, q)
        if found is not None and found[1] > best_q:
            best, best_q = offer, found[1]
    return best


#: webob's explanation of a 401, which keystonemiddleware's refusal carries in front of every
#: service but Keystone itself.
UNAUTHORIZED_EXPLANATION = (
    "This server could not verify that you are authorized to access the document you requested. "
    "Either you supplied the wrong credentials (e.g., bad password), or your browser does not "
    "understand how to supply the credentials required.")


def _webob_body(f: Fault, escape: Callable[[str], str]) -> str:
    """webob's body template: the explanation (our message), then the detail, if any."""
    detail = escape(f.detail or "")
    if f.code == 415:  # webob's 415 template: the media type sentence, then the detail
        return f"{escape(f.message)}\n<br /><br />\n{detail}"
    return f"{escape(f.message)}<br /><br />\n{detail}\n\n"


def _html_escape(text: str) -> str:
    """webob's html_escape: quotes escaped, and anything beyond ASCII as a character reference."""
    return html.escape(text).encode("ascii", "xmlcharrefreplace").decode()


_BR = re.compile(r"<br.*?>", re.I | re.S)
_TAG = re.compile(r"<.*?>", re.S)


def render_webob(f: Fault, accept: str | None) -> tuple[bytes, str]:
    """An error page as webob renders `HTTPxxx(detail, explanation=message)`: the format the
    Accept header prefers (webob/exc.py WSGIHTTPException.generate_response). Glance answers
    its own errors so, and keystonemiddleware its 401s in front of any service."""
    status = f"{f.code} {f.title}"
    offer = _webob_offer(accept)
    if offer == "application/json":
        body = {"message": _webob_body(f, str), "code": status, "title": f.title}
        return json.dumps(body).encode(), "application/json"
    if offer == "text/html":
        page = (f"<html>\n <head>\n  <title>{status}</title>\n </head>\n <body>\n"
                f"  <h1>{status}</h1>\n  {_webob_body(f, _html_escape)}\n </body>\n</html>")
        return page.encode(), "text/html; charset=UTF-8"
    # webob's strip_tags: newlines become spaces, each <br /> a newline, other tags go.
    text = _webob_body(f, str).replace("\n", " ").replace("\r", "")
    text = _TAG.sub("", _BR.sub("\n", text).replace("<!--", "").replace("-->", ""))
    return f"{status}\n\n{text}".encode(), "text/plain; charset=UTF-8"


#: swob's explanation of each status (swift/common/swob.py RESPONSE_REASONS).
_SWOB_EXPLANATIONS = {
    400: "The server could not comply with the request since it is either malformed or "
         "otherwise incorrect.",
    401: "This server could not verify that you are authorized to access the document you "
         "requested.",
    402: "Access was denied to this resource.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method is not allowed for this resource.",
    406: "The server could not comply with the request since it is either malformed or "
         "otherwise incorrect.",
    408: "The server has waited too long for the request to be sent by the client.",
    409: "There was a conflict when trying to complete your request.",
    410: "This resource is no longer available.",
    411: "Content-Length header required.",
    412: "A precondition for this request was not met.",
    413: "The body of your request was too large for this server.",
    414: "The request URI was too long for this server.",
    415: "The request media type is not supported by this server.",
    416: "The Range requested is not available.",
    417: "Expectation failed.",
    422: "Unable to process the contained instructions",
    499: "The client has disconnected.",
    500: "The server has either erred or is incapable of performing the requested operation.",
    501: "The server is unable to fulfill the request.",
    502: "Bad gateway.",
    503: "The server is currently unavailable. Please try again at a later time.",
    504: "A timeout has occurred speaking to a backend server.",
    507: "There was not enough space to save the resource.",
}


def _object(f: Fault, accept: str | None) -> tuple[bytes, str]:
    # swob answers with its canned page for the status, or with the text a Swift server
    # gave as the body (e.g. "Metadata name too long: ..."), under the same content type.
    explanation = _SWOB_EXPLANATIONS.get(f.code, "")
    if f.message in (f.title, explanation) or not f.message:
        page = f"<html><h1>{_swob_title(f)}</h1><p>{explanation}</p></html>"
    else:
        page = f.message
    return page.encode(), "text/html; charset=UTF-8"


def _swob_title(f: Fault) -> str:
    return {413: "Request Entity Too Large", 416: "Requested Range Not Satisfiable",
            422: "Unprocessable Entity", 499: "Client Disconnect",
            507: "Insufficient Storage"}.get(f.code, f.title)


_RENDERERS: dict[str, Callable[[Fault, str | None], tuple[bytes, str]]] = {
    "identity": _identity,
    "compute": _compute,
    "volume": _compute,
    "network": _network,
    "placement": _placement,
    "image": render_webob,
    "object": _object,
}


def render(dialect: Dialect, fault: Fault, accept: str | None = None) -> tuple[bytes, str]:
    """The body and content type of `fault` in the service's own error shape; `accept` is the
    request's Accept header, for the dialects whose error format depends on it (image)."""
    return _RENDERERS[dialect](fault, accept)
