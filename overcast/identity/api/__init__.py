"""Routes of the Keystone v3 API, one module per resource; what every route shares is here.

A route is four steps (STYLE.md §3): its body model in, one call of a domain method (which
loads, enforces the route's declared rule and changes, in one transaction), a view out. No
SQL, no policy decision, no `identity.state` in a route module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from overcast.common.api import query_bool, state, truncate
from overcast.identity.service import Identity

__all__ = ["Ident", "base", "bool_param", "listing", "self_link"]

T = TypeVar("T")

#: The identity service of the app, as its lifespan made it.
Ident = Annotated[Identity, Depends(state("identity", Identity))]

def bool_param(raw: str | None, name: str) -> bool | None:
    """A boolean query filter as Keystone reads it: `?enabled` alone means true."""
    return query_bool(raw, name, empty=True)


def base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def self_link(request: Request, path: str) -> dict[str, str]:
    return {"self": f"{base(request)}{path}"}


def listing(request: Request, key: str, rows: Sequence[T], view: Callable[[T], dict[str, Any]],
            list_limit: int = 0) -> dict[str, Any]:
    """A Keystone list body: {key: [...], "links": {...}}, cut at `[identity] list_limit` with
    `"truncated": true` as Keystone's wrap_collection (domain lists fetch one row more)."""
    items, cut = truncate(rows, list_limit)
    body: dict[str, Any] = {key: [view(r) for r in items],
                            "links": {"self": str(request.url), "previous": None, "next": None}}
    if cut:
        body["truncated"] = True
    return body
