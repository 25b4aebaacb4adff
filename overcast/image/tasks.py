"""Tasks: the record of each asynchronous job on an image (an interoperable import, or an
import asked for through the legacy /v2/tasks API), as `GET /v2/images/{id}/tasks` shows."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.db import Database
from overcast.image.models import Task
from overcast.image.service import Caller

__all__ = ["TASK_TTL", "Tasks"]

#: How long a finished task stays listed (Glance's task_time_to_live is 48 hours).
TASK_TTL = timedelta(hours=48)


class Tasks:
    def __init__(self, db: Database):
        self.db = db

    async def create(self, *, type: str, owner: str | None, user_id: str | None,
                     request_id: str | None, image_id: str | None, input: dict[str, Any],
                     status: str = "processing") -> Task:
        now = utcnow()
        task = Task(id=str(uuid.uuid4()), type=type, status=status, owner=owner, user_id=user_id,
                    request_id=request_id, image_id=image_id, input=input, result=None,
                    message="", created_at=now, updated_at=now)
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

    def _visible(self, caller: Caller) -> Any:
        q = select(Task)
        return q if caller.is_admin else q.where(Task.owner == caller.project_id)

    async def list(self, caller: Caller, status: str | None, type: str | None,
                   limit: int) -> list[Task]:
        q = self._visible(caller).order_by(Task.created_at.desc(), Task.id.desc()).limit(limit)
        if status:
            q = q.where(Task.status == status)
        if type:
            q = q.where(Task.type == type)
        async with self.db.read() as s:
            return list(await s.scalars(q))

    async def show(self, caller: Caller, task_id: str) -> Task:
        async with self.db.read() as s:
            task = (await s.scalars(self._visible(caller).where(Task.id == task_id))).first()
        if task is None:
            raise faults.NotFound(f"Task with the given ID {task_id} not found")
        return task
