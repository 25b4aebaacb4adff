"""What the account, container and object controllers share: the proxy's state and small
helpers for headers and answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from overcast.common import faults
from overcast.object.errors import status_fault
from overcast.object.proxy.access import Access
from overcast.object.proxy.cluster import Cluster

__all__ = ["POLICY_NAME", "Proxy", "fault_for", "passthrough", "query_of"]

#: The one storage policy (Swift's default name); listed at /info and on every container.
POLICY_NAME = "Policy-0"


@dataclass
class Proxy:
    """The proxy's state: the cluster and the access rules (lifespan state `proxy`)."""

    cluster: Cluster
    access: Access
    max_file_size: int


def query_of(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items()}


def passthrough(headers: Mapping[str, str], *prefixes: str, names: tuple[str, ...] = ()
                ) -> dict[str, str]:
    """The headers whose names start with one of `prefixes` or are among `names`."""
    return {k: v for k, v in headers.items()
            if k.lower().startswith(prefixes) or k.lower() in names}


def fault_for(status: int, body: str | None = None) -> faults.Fault:
    """The fault a node's refusal becomes on the client's side."""
    mapping: dict[int, type[faults.Fault]] = {
        400: faults.BadRequest, 401: faults.Unauthorized, 403: faults.Forbidden,
        404: faults.NotFound, 405: faults.MethodNotAllowed, 409: faults.Conflict,
        413: faults.RequestTooLarge, 416: faults.RangeNotSatisfiable,
        503: faults.ServiceUnavailable}
    cls = mapping.get(status)
    return cls(body) if cls else status_fault(status, body)


def empty(status: int, headers: Mapping[str, str] | None = None,
          content_type: str = "text/html; charset=UTF-8") -> Response:
    hdrs: dict[str, Any] = dict(headers or {})
    hdrs.setdefault("content-type", content_type)
    resp = Response(b"", status_code=status, headers=hdrs)
    if status != 204 and "content-length" not in {k.lower() for k in hdrs}:
        resp.headers["content-length"] = "0"
    return resp
