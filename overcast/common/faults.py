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

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Literal

__all__ = [
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
]

Dialect = Literal["identity", "compute", "volume", "network", "placement", "image", "object"]


class Fault(Exception):
    """An error the user caused or may see; `code` is the HTTP status."""

    code: int = 500
    #: Neutron's `type` and similar wire names; None means derive from the class.
    wire_type: str | None = None

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        self.message = message or HTTPStatus(self.code).phrase
        self.headers = headers or {}
        super().__init__(self.message)

    @property
    def title(self) -> str:
        return HTTPStatus(self.code).phrase


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


def _identity(f: Fault) -> tuple[bytes, str]:
    body = {"error": {"code": f.code, "title": f.title, "message": f.message}}
    return json.dumps(body).encode(), "application/json"


def _compute(f: Fault) -> tuple[bytes, str]:
    key = _COMPUTE_KEYS.get(f.code, "computeFault")
    return json.dumps({key: {"code": f.code, "message": f.message}}).encode(), "application/json"


def _network(f: Fault) -> tuple[bytes, str]:
    kind = f.wire_type or type(f).__name__
    body = {"NeutronError": {"type": kind, "message": f.message, "detail": ""}}
    return json.dumps(body).encode(), "application/json"


def _placement(f: Fault) -> tuple[bytes, str]:
    error = {"status": f.code, "title": f.title, "detail": f.message}
    if f.wire_type:
        error["code"] = f.wire_type
    return json.dumps({"errors": [error]}).encode(), "application/json"


def _image(f: Fault) -> tuple[bytes, str]:
    # Glance answers with webob's error page rendered as JSON.
    body = {"code": f"{f.code} {f.title}", "title": f.title, "message": f.message}
    return json.dumps(body).encode(), "application/json"


def _object(f: Fault) -> tuple[bytes, str]:
    # Swift's swob answers with a short canned HTML page per status.
    page = f"<html><h1>{f.title}</h1><p>{f.message}</p></html>"
    return page.encode(), "text/html; charset=UTF-8"


_RENDERERS: dict[str, Callable[[Fault], tuple[bytes, str]]] = {
    "identity": _identity,
    "compute": _compute,
    "volume": _compute,
    "network": _network,
    "placement": _placement,
    "image": _image,
    "object": _object,
}


def render(dialect: Dialect, fault: Fault) -> tuple[bytes, str]:
    """The body and content type of `fault` in the service's own error shape."""
    return _RENDERERS[dialect](fault)
