"""Routes of the Keystone v3 API, one module per resource; shared helpers here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from overcast.common import faults
from overcast.identity.service import Identity

__all__ = ["Ident", "collection", "flag", "self_link"]


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
