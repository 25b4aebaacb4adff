"""/v2/tasks (the legacy tasks API, admin-only by default) and /v2/images/{id}/tasks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import ConfigDict, model_validator

from overcast.common.app import Ctx
from overcast.image.api import Data, Imgs, Who, page_limit
from overcast.image.api.bodies import Body
from overcast.image.api.images import ImageCreate, image_target, wire_time
from overcast.image.models import Task
from overcast.image.tasks import Tasks

router = APIRouter(tags=["tasks"])


def _tasks(request: Request) -> Tasks:
    return request.state.tasks  # type: ignore[no-any-return]


Tsks = Annotated[Tasks, Depends(_tasks)]


class TaskInput(Body):
    """An import task's input: a URL and the new image's attributes."""

    glance_schema = "task"
    model_config = ConfigDict(extra="allow")  # import_from_format and others are recorded

    import_from: str
    image_properties: ImageCreate


class TaskCreate(Body):
    """POST /v2/tasks: only "import" tasks exist."""

    glance_schema = "task"

    type: str
    input: TaskInput

    @model_validator(mode="before")
    @classmethod
    def _glance_words(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if data.get("type") != "import":
                raise ValueError(f"Invalid type value: {str(data.get('type'))[:80]}. Only "
                                 "'import' tasks are supported.")
            task_input = data.get("input")
            if not isinstance(task_input, dict) or not isinstance(
                    task_input.get("import_from"), str) or not isinstance(
                    task_input.get("image_properties"), dict):
                raise ValueError("Task input needs 'import_from' (a URL) and "
                                 "'image_properties' (an object).")
        return data


def task_view(t: Task) -> dict[str, Any]:
    return {"id": t.id, "type": t.type, "status": t.status, "owner": t.owner, "input": t.input,
            "result": t.result, "message": t.message, "expires_at": wire_time(t.expires_at),
            "created_at": wire_time(t.created_at), "updated_at": wire_time(t.updated_at),
            "self": f"/v2/tasks/{t.id}", "schema": "/v2/schemas/task"}


@router.get("/v2/images/{image_id}/tasks")
async def image_tasks(image_id: str, ctx: Ctx, images: Imgs, tasks: Tsks, who: Who
                      ) -> dict[str, Any]:
    image = await images.show(who, image_id)
    ctx.enforce("get_image", image_target(image))
    return {"tasks": [{**task_view(t), "image_id": t.image_id, "request_id": t.request_id,
                       "user_id": t.user_id} for t in await tasks.for_image(image_id)]}


@router.post("/v2/tasks", status_code=201)
async def create_task(body: TaskCreate, ctx: Ctx, data: Data, tasks: Tsks, who: Who
                      ) -> dict[str, Any]:
    ctx.enforce("add_task", {"project_id": ctx.project_id})
    task_id = await data.import_task(who, ctx.user_id, ctx.request_id, body.input.import_from,
                                     body.input.image_properties.new_image(),
                                     body.input.model_dump(mode="json", exclude_unset=True))
    return task_view(await tasks.show(who, task_id))


@router.get("/v2/tasks")
async def list_tasks(request: Request, ctx: Ctx, images: Imgs, tasks: Tsks, who: Who
                     ) -> dict[str, Any]:
    ctx.enforce("get_tasks", {"project_id": ctx.project_id})
    params = request.query_params
    found = await tasks.list(who, params.get("status"), params.get("type"),
                             page_limit(request, images))
    views = [task_view(t) for t in found]
    for v in views:  # the list leaves out the bulky parts, as Glance does
        v.pop("input")
        v.pop("result")
        v.pop("message")
    return {"tasks": views, "first": "/v2/tasks", "schema": "/v2/schemas/tasks"}


@router.get("/v2/tasks/{task_id}")
async def show_task(task_id: str, ctx: Ctx, tasks: Tsks, who: Who) -> dict[str, Any]:
    ctx.enforce("get_task", {"project_id": ctx.project_id})
    return task_view(await tasks.show(who, task_id))
