"""Routes of the Keystone v3 API, one module per resource; what every route shares is here.

A route is four steps (STYLE.md §3): its body model in, one call of a domain method (which
loads, enforces the route's declared rule and changes, in one transaction), a view out. No
SQL, no policy decision, no `identity.state` in a route module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from overcast.common import faults
from overcast.common.api import query_bool, state, truncate
from overcast.common.app import parse_json
from overcast.identity.service import Identity

__all__ = ["Ident", "base", "bool_param", "listing", "refuse_nul", "self_link"]

T = TypeVar("T")

#: The identity service of the app, as its lifespan made it.
Ident = Annotated[Identity, Depends(state("identity", Identity))]

_NUL = "Invalid input: text may not contain the NUL character (\\u0000)."


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


async def refuse_nul(request: Request) -> None:
    """400 for a NUL character in a path, query or body value, before anything stores or
    looks it up: PostgreSQL refuses NUL in text (a 500 otherwise) and no name needs one."""
    if _has_nul(dict(request.path_params)) or _has_nul(list(request.query_params.multi_items())):
        raise faults.BadRequest(_NUL)
    if request.method in ("POST", "PUT", "PATCH"):
        raw = await request.body()
        # JSON can only carry NUL escaped; parse (depth-guarded) only when an escape is there.
        if b"\\u0000" in raw and _has_nul(parse_json(raw)):
            raise faults.BadRequest(_NUL)


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
