"""Routes of the Placement API, one module per resource; what they share is here: the domain
objects the lifespan made, body validation in Placement's words, the query-string check, and
the Last-Modified/Cache-Control headers of 1.15+."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from email.utils import format_datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from overcast.common import faults
from overcast.common.api import state
from overcast.common.app import RequestContext
from overcast.common.clock import utcnow
from overcast.common.microversion import SCOPE_KEY
from overcast.common.request_id import MICROVERSION
from overcast.placement.allocations import Allocations
from overcast.placement.candidates import Candidates
from overcast.placement.catalog import ResourceClasses, Traits
from overcast.placement.inventories import Inventories
from overcast.placement.providers import Providers
from overcast.placement.reshaper import Reshaper
from overcast.placement.usages import Usages

__all__ = ["VERSIONED", "Allocs", "Cands", "Classes", "Invs", "Provs", "Reshape", "TraitNames",
           "Uses", "check_query", "empty", "params", "reply", "validate"]

Provs = Annotated[Providers, Depends(state("providers", Providers))]
Invs = Annotated[Inventories, Depends(state("inventories", Inventories))]
Allocs = Annotated[Allocations, Depends(state("allocations", Allocations))]
Cands = Annotated[Candidates, Depends(state("candidates", Candidates))]
Classes = Annotated[ResourceClasses, Depends(state("resource_classes", ResourceClasses))]
TraitNames = Annotated[Traits, Depends(state("traits", Traits))]
Uses = Annotated[Usages, Depends(state("usages", Usages))]
Reshape = Annotated[Reshaper, Depends(state("reshaper", Reshaper))]

M = TypeVar("M", bound=BaseModel)


async def _remember_version(request: Request) -> None:
    """Tell the fault renderer the negotiated version (Placement's error `code` is 1.23+)."""
    MICROVERSION.set(request.scope.get(SCOPE_KEY, (0, 0)))


#: First dependency of every versioned router.
VERSIONED = Depends(_remember_version)


def validate(model: type[M], data: Any) -> M:
    """A body checked against `model`, or 400 in Placement's words ("JSON does not validate")."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise faults.BadRequest(f"JSON does not validate: {where}: {first.get('msg')}") from None


def check_query(request: Request, allowed: Iterable[str]) -> None:
    """Placement's query strings are schemas: a parameter it does not know is a 400."""
    unknown = sorted(set(request.query_params.keys()) - set(allowed))
    if unknown:
        raise faults.BadRequest(f"Invalid query string parameters: Additional properties are not "
                                f"allowed ({', '.join(repr(u) for u in unknown)} were "
                                f"unexpected)")


def params(request: Request) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for k, v in request.query_params.multi_items():
        found.setdefault(k, []).append(v)
    return found


def reply(ctx: RequestContext, body: Any, status: int = 200,
          last_modified: datetime | None = None, headers: dict[str, str] | None = None
          ) -> Response:
    """A JSON answer; from 1.15 with Last-Modified (the newest change it shows, or now) and
    Cache-Control: no-cache."""
    out = dict(headers or {})
    if ctx.microversion >= (1, 15):
        out["Last-Modified"] = format_datetime(last_modified or utcnow(), usegmt=True)
        out["Cache-Control"] = "no-cache"
    return JSONResponse(body, status_code=status, headers=out)


def empty(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, headers=headers)
