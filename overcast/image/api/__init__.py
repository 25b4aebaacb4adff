"""Routes of the Glance v2 API, one module per resource; shared dependencies here."""

from __future__ import annotations

import json
import math
import re
from typing import Annotated

from fastapi import Depends, Request

from overcast.common import faults
from overcast.common.app import Ctx, RequestContext
from overcast.image.data import ImageData
from overcast.image.members import Members
from overcast.image.service import Caller, Images

__all__ = ["Data", "Imgs", "Mbrs", "Who", "caller", "page_limit", "refuse_unstorable"]

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


def page_limit(request: Request, images: Images) -> int:
    """The page size a list asked for with ?limit=, capped as Glance's api_limit_max."""
    raw = request.query_params.get("limit")
    if raw is None:
        return images.config.limit_param_default
    try:
        limit = int(raw)
    except ValueError:
        raise faults.BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise faults.BadRequest("limit param must be positive")
    return min(limit, images.config.api_limit_max)


def caller(ctx: RequestContext) -> Caller:
    """The caller as visibility sees it: its project, and whether policy calls it admin."""
    return Caller(project_id=ctx.project_id, is_admin=ctx.can("context_is_admin"))


def _caller(ctx: Ctx) -> Caller:
    return caller(ctx)


def _images(request: Request) -> Images:
    return request.state.images  # type: ignore[no-any-return]


def _data(request: Request) -> ImageData:
    return request.state.image_data  # type: ignore[no-any-return]


def _members(request: Request) -> Members:
    return request.state.members  # type: ignore[no-any-return]


Imgs = Annotated[Images, Depends(_images)]
Data = Annotated[ImageData, Depends(_data)]
Mbrs = Annotated[Members, Depends(_members)]
Who = Annotated[Caller, Depends(_caller)]
