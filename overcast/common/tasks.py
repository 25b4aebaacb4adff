"""Stopping background tasks for good.

asyncio delivers a cancel once. Code that swallows the CancelledError (Python 3.11's
`asyncio.wait_for` when the awaited result is already in, a library's broad `except`) leaves
the task running, and a stop that cancels once and then gathers waits for ever: a lifespan
that never ends, an event loop that never closes. `cancel_and_wait` cancels again until every
task has ended and names the tasks that needed it, so that the swallower can be found.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

__all__ = ["cancel_and_wait"]

log = logging.getLogger("overcast.tasks")


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], *, again_after: float = 1.0
                          ) -> None:
    """Cancel `tasks` and wait until each has ended; a task still running `again_after`
    seconds after its cancel is cancelled again. Their results and errors are dropped (a
    stopping owner has nobody to give them to; errors are logged)."""
    all_tasks = list(tasks)
    pending = {t for t in all_tasks if not t.done()}
    rounds = 0
    while pending:
        if rounds:
            log.warning("cancelling again %d task(s) that outlived a cancel: %s", len(pending),
                        ", ".join(sorted(t.get_name() for t in pending)))
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=again_after)
        rounds += 1
    for task in all_tasks:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("task %s ended with %r", task.get_name(), exc)
