"""Routes of the Glance v2 API, one module per resource; what they share is here: the service
objects the lifespan made (typed, `common.api.state`), the page parameters (`common.api.paging`
with Glance's limit_param_default and api_limit_max), and the check every route runs first."""

from __future__ import annotations

import json
import math
import re
from typing import Annotated

from fastapi import Depends, Request

from overcast.common import faults
from overcast.common.api import Page, paging, state
from overcast.common.app import Ctx
from overcast.image.data import ImageData
from overcast.image.members import Members
from overcast.image.metadefs import Metadefs
from overcast.image.service import Images
from overcast.image.tasks import Tasks

__all__ = ["Data", "Imgs", "Mbrs", "Mdefs", "Paged", "Tsks", "readable", "refuse_unstorable"]

Imgs = Annotated[Images, Depends(state("images", Images))]
Data = Annotated[ImageData, Depends(state("image_data", ImageData))]
Mbrs = Annotated[Members, Depends(state("members", Members))]
Tsks = Annotated[Tasks, Depends(state("tasks", Tasks))]
Mdefs = Annotated[Metadefs, Depends(state("metadefs", Metadefs))]


def _limits(request: Request) -> tuple[int, int]:
    config = state("images", Images)(request).config
    return config.limit_param_default, config.api_limit_max


#: ?limit= and ?marker= of every image, task and metadefs list.
Paged = Annotated[Page, Depends(paging(_limits))]


def readable(ctx: Ctx) -> None:
    """The rule of what Glance has no rule for (its schemas): "default", where no other
    applies."""
    ctx.enforce("default", {"project_id": ctx.project_id})


#: A JSON string escape for NUL: \u0000 after an even number of backslashes (so not the text
#: "\\u0000", a backslash followed by "u0000").
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _not_a_number(word: str) -> float:
    raise faults.BadRequest(f"{word} is not a JSON number: the request body is not valid JSON.")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise faults.BadRequest(f"The number {text[:40]} is too large.")
    return value


async def refuse_unstorable(request: Request) -> None:
    """Refuse what no database stores faithfully, on every image route (400): a NUL character
    in the path, the query or a JSON body's strings (PostgreSQL cannot store it in text), and
    NaN, Infinity or a number beyond a double in a JSON body (not JSON: MariaDB and
    PostgreSQL refuse them in JSON columns). Any of them would be a 500 on one database and
    silently kept on another."""
    if any("\x00" in v for v in request.path_params.values()) or any(
            "\x00" in k or "\x00" in v for k, v in request.query_params.multi_items()):
        raise faults.BadRequest("NUL characters are not allowed in the request's path or query.")
    if "json" in request.headers.get("content-type", "").lower():
        body = await request.body()  # small: the body limit is outside; cached for the route
        if b"\\u0000" in body and _NUL_ESCAPE.search(body):
            raise faults.BadRequest("NUL characters are not allowed in the request body.")
        try:
            json.loads(body, parse_constant=_not_a_number, parse_float=_finite)
        except ValueError:
            pass  # malformed: the route's parsing says so
