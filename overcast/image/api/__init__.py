"""Routes of the Glance v2 API, one module per resource; what they share is here: the service
objects the lifespan made (typed, `common.api.state`), the page parameters (`common.api.paging`
with Glance's limit_param_default and api_limit_max), and the check every route runs first."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from overcast.common.api import Page, lifespan_state, paging, state
from overcast.common.app import Ctx
from overcast.image.data import ImageData
from overcast.image.members import Members
from overcast.image.metadefs import Metadefs
from overcast.image.service import Images
from overcast.image.tasks import Tasks

__all__ = ["Data", "Imgs", "Mbrs", "Mdefs", "Paged", "Tsks", "readable"]

Imgs = Annotated[Images, Depends(state("images", Images))]
Data = Annotated[ImageData, Depends(state("image_data", ImageData))]
Mbrs = Annotated[Members, Depends(state("members", Members))]
Tsks = Annotated[Tasks, Depends(state("tasks", Tasks))]
Mdefs = Annotated[Metadefs, Depends(state("metadefs", Metadefs))]


def _limits(request: Request) -> tuple[int, int]:
    config = lifespan_state(request, "images", Images).config
    return config.limit_param_default, config.api_limit_max


#: ?limit= and ?marker= of every image, task and metadefs list.
Paged = Annotated[Page, Depends(paging(_limits))]


async def readable(ctx: Ctx) -> None:
    """The rule of what Glance has no rule for (its schemas): "default", where no other
    applies."""
    ctx.enforce("default", {"project_id": ctx.project_id})


