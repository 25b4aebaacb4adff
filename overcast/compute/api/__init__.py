"""Routes of the Nova v2.1 API, one module per resource; what they share is here: the domain
objects the lifespan made (typed, `common.api.state`), Nova's paging (`limit` capped by
`[compute] max_limit`, `marker`, `*_links` with a `next` link when a page is full), resource
links, Nova's number and boolean parsing, and its query checks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BeforeValidator

from overcast.common import faults
from overcast.common.api import Page, lifespan_state, next_link, paging, query_bool, state
from overcast.compute.aggregates import Aggregates
from overcast.compute.flavors import Flavors
from overcast.compute.hosts import Hosts
from overcast.compute.keypairs import Keypairs
from overcast.compute.quotas import Quotas
from overcast.compute.server_groups import ServerGroups
from overcast.config import ComputeSection

__all__ = [
    "MAX_INT",
    "Aggs",
    "Cfg",
    "Flvs",
    "Hsts",
    "Kps",
    "NonNegativeInt",
    "Paged",
    "PositiveInt",
    "Quots",
    "SGroups",
    "collection_links",
    "isotime",
    "links",
    "nova_bool",
    "nova_int",
    "only_params",
    "query_int",
]

Flvs = Annotated[Flavors, Depends(state("flavors", Flavors))]
Kps = Annotated[Keypairs, Depends(state("keypairs", Keypairs))]
Aggs = Annotated[Aggregates, Depends(state("aggregates", Aggregates))]
Hsts = Annotated[Hosts, Depends(state("hosts", Hosts))]
Quots = Annotated[Quotas, Depends(state("quotas", Quotas))]
SGroups = Annotated[ServerGroups, Depends(state("server_groups", ServerGroups))]
Cfg = Annotated[ComputeSection, Depends(state("compute_config", ComputeSection))]

#: Nova's largest integer in a body (its database's INT).
MAX_INT = 2_147_483_647


def _limits(request: Request) -> tuple[int, int]:
    cfg = lifespan_state(request, "compute_config", ComputeSection)
    return cfg.max_limit, cfg.max_limit


#: ?limit= and ?marker= of every compute list.
Paged = Annotated[Page, Depends(paging(_limits))]


def links(request: Request, collection: str, ident: str | int) -> list[dict[str, str]]:
    """Nova's `self` (versioned) and `bookmark` (unversioned) links of a resource."""
    base = str(request.base_url).rstrip("/")
    return [{"rel": "self", "href": f"{base}/v2.1/{collection}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{collection}/{ident}"}]


def collection_links(request: Request, page: Page, count: int, last_id: str | int | None
                     ) -> list[dict[str, str]]:
    """The `next` link of a list whose page is full (Nova adds one whenever it returned as
    many items as the limit), else nothing."""
    if last_id is None or count < page.limit or count == 0:
        return []
    base = str(request.base_url).rstrip("/")
    return [{"rel": "next", "href": base + next_link(request, page, str(last_id))}]


def isotime(dt: datetime | None) -> str | None:
    """A time as Nova's views write it: ISO 8601 with microseconds, no zone."""
    return None if dt is None else dt.strftime("%Y-%m-%dT%H:%M:%S.%f")


def nova_int(minimum: int) -> BeforeValidator:
    """An integer as Nova's schemas take it: a JSON integer or a string of digits."""

    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("must be an integer")
        number: int
        if isinstance(value, str):
            text = value.strip()
            if not text.lstrip("-").isdigit():
                raise ValueError(f"{value!r} is not an integer")
            number = int(text)
        else:
            number = value
        if number < minimum or number > MAX_INT:
            raise ValueError(f"must be between {minimum} and {MAX_INT}")
        return number

    return BeforeValidator(parse)


PositiveInt = Annotated[int, nova_int(1)]
NonNegativeInt = Annotated[int, nova_int(0)]


def _nova_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        parsed = query_bool(value, "value")
        if parsed is not None:
            return parsed
    raise ValueError(f"{value!r} is not a boolean")


#: A boolean as Nova's schemas take it: JSON true/false or one of oslo's words.
nova_bool = BeforeValidator(_nova_bool)


def query_int(request: Request, name: str) -> int | None:
    """An integer query parameter, or None; 400 in Nova's words when it is not one."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise faults.BadRequest(f"Invalid {name} filter [{raw}]") from None


def only_params(request: Request, allowed: Iterable[str]) -> None:
    """Nova's strict query schemas (from the microversion that made each strict): an unknown
    parameter is a 400."""
    known = set(allowed)
    extra = sorted(k for k in request.query_params if k not in known)
    if extra:
        raise faults.BadRequest(
            "Invalid input for query parameters: Additional properties are not allowed "
            f"({', '.join(repr(k) for k in extra)} "
            f"{'was' if len(extra) == 1 else 'were'} unexpected)")
