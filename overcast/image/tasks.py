"""Tasks: the record of each asynchronous job on an image (an interoperable import, or an
import asked for through the legacy /v2/tasks API), as `GET /v2/images/{id}/tasks` shows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, select, update

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.common.pagination import SortKey, after_marker, order_by
from overcast.image.models import Task
from overcast.image.service import SortDir

__all__ = ["SORT_KEYS", "TASK_TTL", "TaskQuery", "Tasks"]

#: How long a finished task stays listed (Glance's task_time_to_live is 48 hours).
TASK_TTL = timedelta(hours=48)


SORT_KEYS = ("created_at", "updated_at", "id", "type", "status")


@dataclass(frozen=True)
class TaskQuery:
    """A list of tasks, parsed (by the API)."""

    limit: int = 25
    marker: str | None = None
    sort_key: str = "created_at"
    sort_dir: SortDir = "desc"
    status: str | None = None
    type: str | None = None


class Tasks:
    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    def new(*, type: str, owner: str | None, user_id: str | None, request_id: str | None,
            image_id: str | None, input: dict[str, Any], status: str = "processing") -> Task:
        """A task row, for the caller to add in its own transaction."""
        now = utcnow()
        return Task(id=str(uuid.uuid4()), type=type, status=status, owner=owner,
                    user_id=user_id, request_id=request_id, image_id=image_id, input=input,
                    result=None, message="", created_at=now, updated_at=now)

    async def create(self, **values: Any) -> Task:
        task = self.new(**values)
        async with self.db.transaction() as s:
            s.add(task)
        return task

    async def finish(self, task_id: str, status: str, *, message: str = "",
                     result: dict[str, Any] | None = None, image_id: str | None = None) -> None:
        now = utcnow()
        values: dict[str, Any] = {"status": status, "message": message, "result": result,
                                  "updated_at": now, "expires_at": now + TASK_TTL}
        if image_id is not None:
            values["image_id"] = image_id
        async with self.db.transaction() as s:
            await s.execute(update(Task).where(Task.id == task_id).values(**values))

    async def set_image(self, task_id: str, image_id: str) -> None:
        async with self.db.transaction() as s:
            await s.execute(update(Task).where(Task.id == task_id).values(image_id=image_id))

    async def for_image(self, image_id: str) -> list[Task]:
        async with self.db.read() as s:
            return list(await s.scalars(select(Task).where(Task.image_id == image_id).order_by(
                Task.created_at)))

    def _visible(self, ctx: RequestContext) -> Select[Task]:
        """The tasks the caller may see: its project's, or all for context_is_admin."""
        q = select(Task)
        return q if ctx.can("context_is_admin") else q.where(Task.owner == ctx.project_id)

    async def list(self, ctx: RequestContext, query: TaskQuery) -> list[Task]:
        """A page of tasks (the caller's right to list is the route's get_tasks)."""
        q = self._visible(ctx)
        if query.status:
            q = q.where(Task.status == query.status)
        if query.type:
            q = q.where(Task.type == query.type)
        keys = [SortKey(getattr(Task, query.sort_key), query.sort_dir)]
        if query.sort_key != "id":
            keys.append(SortKey(Task.id.expression, query.sort_dir))
        async with self.db.read() as s:
            if query.marker:
                marker = (await s.scalars(self._visible(ctx).where(
                    Task.id == query.marker))).first()
                if marker is None:
                    raise faults.BadRequest(f"Invalid marker. Task {query.marker} could not be "
                                            "found.")
                q = q.where(after_marker(keys, [getattr(marker, query.sort_key), marker.id]
                                         [:len(keys)]))
            return list(await s.scalars(order_by(q, keys).limit(query.limit)))

    async def show(self, ctx: RequestContext, task_id: str) -> Task:
        async with self.db.read() as s:
            task = (await s.scalars(self._visible(ctx).where(Task.id == task_id))).first()
            if task is None:
                raise faults.NotFound(f"Task with the given ID {task_id} not found")
            ctx.enforce("get_task", {"project_id": task.owner})
            return task
