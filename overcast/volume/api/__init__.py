"""Routes of the Cinder v3 API, one module per resource; what they share is here: the domain
objects the lifespan made (typed, `common.api.state`), Cinder's paging and sorting query
parameters, its number and boolean parsing, and links."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BeforeValidator

from overcast.common import faults
from overcast.common.api import query_bool, state
from overcast.common.clients import ImageClient
from overcast.config import VolumeSection
from overcast.volume.hosts import Hosts
from overcast.volume.quotas import Quotas
from overcast.volume.snapshots import Snapshots
from overcast.volume.volume_types import VolumeTypes
from overcast.volume.volumes import Volumes

__all__ = ["MAX_INT", "Cfg", "Hsts", "Images", "Quots", "Snaps", "Types", "Vols", "cinder_bool",
           "isotime", "links", "page_params", "size_int", "sort_params"]

Vols = Annotated[Volumes, Depends(state("volumes", Volumes))]
Snaps = Annotated[Snapshots, Depends(state("snapshots", Snapshots))]
Types = Annotated[VolumeTypes, Depends(state("volume_types", VolumeTypes))]
Quots = Annotated[Quotas, Depends(state("quotas", Quotas))]
Hsts = Annotated[Hosts, Depends(state("hosts", Hosts))]
Images = Annotated[ImageClient, Depends(state("images", ImageClient))]
Cfg = Annotated[VolumeSection, Depends(state("volume_config", VolumeSection))]

#: Cinder's largest integer in a body (its database's INT).
MAX_INT = 2_147_483_647


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be an integer")
    text = str(value).strip()
    if not text.lstrip("-").isdigit():
        raise ValueError(f"{value!r} is not an integer")
    number = int(text)
    if number < 1 or number > MAX_INT:
        raise ValueError(f"must be between 1 and {MAX_INT}")
    return number


#: A size in GiB as Cinder's schemas take it: a positive JSON integer or a string of digits.
size_int = BeforeValidator(_size)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        parsed = query_bool(value, "value")
        if parsed is not None:
            return parsed
    raise ValueError(f"{value!r} is not a boolean")


cinder_bool = BeforeValidator(_bool)


def isotime(dt: datetime | None) -> str | None:
    """A time as Cinder's views write it: ISO 8601 with microseconds, no zone."""
    return None if dt is None else dt.strftime("%Y-%m-%dT%H:%M:%S.%f")


def links(request: Request, project: str, collection: str, ident: str) -> list[dict[str, str]]:
    base = str(request.base_url).rstrip("/")
    return [{"rel": "self", "href": f"{base}/v3/{project}/{collection}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{project}/{collection}/{ident}"}]


def page_params(request: Request, max_limit: int) -> tuple[int, str | None, int]:
    """`limit` (capped by osapi_max_limit), `marker`, `offset`; 400 in Cinder's words."""
    q = request.query_params
    limit = max_limit
    try:
        if q.get("limit") is not None:
            limit = int(q["limit"])
            if limit < 0:
                raise faults.BadRequest("limit param must be positive")
        offset = int(q.get("offset") or 0)
    except ValueError:
        raise faults.BadRequest("limit param must be an integer") from None
    if offset < 0:
        raise faults.BadRequest("offset param must be positive")
    return min(limit, max_limit), q.get("marker") or None, offset


def sort_params(request: Request) -> list[tuple[str, str]]:
    """`sort=k1:dir,k2` or the legacy `sort_key`/`sort_dir` (not both, as Cinder)."""
    q = request.query_params
    if q.get("sort"):
        if q.get("sort_key") or q.get("sort_dir"):
            raise faults.BadRequest("The 'sort_key' and 'sort_dir' parameters are deprecated "
                                    "and cannot be used with the 'sort' parameter.")
        out = []
        for item in q["sort"].split(","):
            key, _, direction = item.strip().partition(":")
            out.append((key.strip(), (direction or "desc").strip().lower()))
        return out
    if q.get("sort_key") or q.get("sort_dir"):
        return [(q.get("sort_key") or "created_at", (q.get("sort_dir") or "desc").lower())]
    return []
