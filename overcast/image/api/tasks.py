"""/v2/tasks (the legacy tasks API, admin-only by default) and /v2/images/{id}/tasks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import ConfigDict, model_validator

from overcast.common import faults
from overcast.common.api import next_link, policy
from overcast.common.app import Ctx
from overcast.image.api import Data, Paged, Tsks
from overcast.image.api.bodies import Body
from overcast.image.api.images import ImageCreate, wire_time
from overcast.image.models import Task
from overcast.image.tasks import SORT_KEYS, TaskQuery

router = APIRouter(tags=["tasks"])


class TaskInput(Body):
    """An import task's input: a URL and the new image's attributes."""

    glance_schema = "task"
    model_config = ConfigDict(extra="allow")  # import_from_format and others are recorded

    import_from: str
    image_properties: ImageCreate


class TaskCreate(Body):
    """POST /v2/tasks: only "import" tasks exist."""

    glance_schema = "task"
    model_config = ConfigDict(extra="ignore")  # Glance reads "type" and "input"

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


_SEES_ALL = "context_is_admin"


async def task_query(request: Request, page: Paged) -> TaskQuery:
    params = request.query_params
    sort_key = params.get("sort_key", "created_at")
    sort_dir = params.get("sort_dir", "desc")
    if sort_key not in SORT_KEYS:
        raise faults.BadRequest(f"Invalid sort key: {sort_key[:80]}. It is not in the list of "
                                "allowed sort keys.")
    if sort_dir not in ("asc", "desc"):
        raise faults.BadRequest(f"Invalid sort direction: {sort_dir[:80]}")
    return TaskQuery(limit=page.limit, marker=page.marker, sort_key=sort_key,
                     sort_dir=sort_dir,  # type: ignore[arg-type]
                     status=params.get("status"), type=params.get("type"))


@router.get("/v2/images/{image_id}/tasks", **policy("get_image", _SEES_ALL))
async def image_tasks(image_id: str, ctx: Ctx, data: Data) -> dict[str, Any]:
    return {"tasks": [{**task_view(t), "image_id": t.image_id, "request_id": t.request_id,
                       "user_id": t.user_id} for t in await data.tasks_of(ctx, image_id)]}


@router.post("/v2/tasks", status_code=201, **policy(
    "add_task", "add_image", "publicize_image", "communitize_image", _SEES_ALL))
async def create_task(body: TaskCreate, ctx: Ctx, data: Data) -> dict[str, Any]:
    ctx.enforce("add_task", {"project_id": ctx.project_id})
    task = await data.import_task(ctx, body.input.import_from,
                                  body.input.image_properties.new_image(),
                                  body.input.model_dump(mode="json", exclude_unset=True))
    return task_view(task)


@router.get("/v2/tasks", **policy("get_tasks", _SEES_ALL))
async def list_tasks(request: Request, query: Annotated[TaskQuery, Depends(task_query)],
                     page: Paged, ctx: Ctx, tasks: Tsks) -> dict[str, Any]:
    ctx.enforce("get_tasks", {"project_id": ctx.project_id})
    found = await tasks.list(ctx, query)
    views = [task_view(t) for t in found]
    for v in views:  # the list leaves out the bulky parts, as Glance does
        v.pop("input")
        v.pop("result")
        v.pop("message")
    body: dict[str, Any] = {"tasks": views, "first": "/v2/tasks", "schema": "/v2/schemas/tasks"}
    if found and len(found) == query.limit:
        body["next"] = next_link(request, page, found[-1].id)
    return body


@router.get("/v2/tasks/{task_id}", **policy("get_task", _SEES_ALL))
async def show_task(task_id: str, ctx: Ctx, tasks: Tsks) -> dict[str, Any]:
    return task_view(await tasks.show(ctx, task_id))
