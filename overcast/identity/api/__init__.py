"""Routes of the Keystone v3 API, one module per resource; shared helpers here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from overcast.common import faults
from overcast.common.app import parse_json
from overcast.identity.service import Identity

__all__ = ["Ident", "collection", "flag", "refuse_nul", "self_link"]

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


def _identity(request: Request) -> Identity:
    return request.state.identity  # type: ignore[no-any-return]


Ident = Annotated[Identity, Depends(_identity)]


def base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def self_link(request: Request, path: str) -> dict[str, str]:
    return {"self": f"{base(request)}{path}"}


def collection(request: Request, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A Keystone list body: {key: [...], "links": {self, previous, next}}."""
    url = str(request.url)
    return {key: items, "links": {"self": url, "previous": None, "next": None}}


def flag(value: str | None, name: str) -> bool | None:
    """A boolean query filter as Keystone reads it (`?enabled=false`, `?enabled=0`)."""
    if value is None:
        return None
    low = value.lower()
    if low in ("true", "1", "yes", "on", ""):
        return True
    if low in ("false", "0", "no", "off"):
        return False
    raise faults.BadRequest(f"Invalid value for {name}: {value!r}.")
