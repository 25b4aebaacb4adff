"""What every Placement domain module shares: the database, the configuration, and the
compare-and-set on provider generations that keeps concurrent writers honest."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common.db import Database
from overcast.config import PlacementSection
from overcast.placement.errors import ConcurrentUpdate
from overcast.placement.models import ResourceProvider

__all__ = ["PlacementState", "Raced", "bump_generation"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class Raced(Exception):
    """Another writer changed a row this transaction read: roll back and start over."""


@dataclass
class PlacementState:
    db: Database
    config: PlacementSection

    async def retrying(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in a write transaction; when it raced with another writer (a generation
        it read moved, a deadlock, a duplicate insert), run it again on fresh reads, up to
        allocation_conflict_retry_count times, then answer 409 concurrent_update."""
        attempts = self.config.allocation_conflict_retry_count
        for attempt in range(attempts):
            try:
                async with self.db.transaction() as s:
                    return await work(s)
            except Raced:
                log.debug("write raced with another writer (attempt %d)", attempt + 1)
            except IntegrityError:
                if attempt == attempts - 1:
                    raise
            except DBAPIError as e:
                if not _retryable(e):
                    raise
        raise ConcurrentUpdate("Inventory and/or allocations changed while attempting to "
                               "allocate: another process changed the resource providers "
                               "concurrently; try again.")


def _retryable(e: DBAPIError) -> bool:
    """A deadlock or serialization failure: MariaDB 1213/1205, PostgreSQL 40001/40P01."""
    text = str(e.orig)
    return any(k in text for k in ("1213", "1205", "Deadlock", "deadlock", "40001", "40P01",
                                   "could not serialize"))


async def bump_generation(s: AsyncSession, provider_id: int, seen: int) -> int:
    """Move a provider's generation on from `seen`, or raise Raced when another writer moved it
    first (UPDATE ... WHERE generation = seen: the database re-checks under the row lock)."""
    result = await s.execute(
        update(ResourceProvider)
        .where(ResourceProvider.id == provider_id, ResourceProvider.generation == seen)
        .values(generation=seen + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Raced()
    return seen + 1


def check_generation(given: int | None, current: int) -> None:
    """A caller's resource_provider_generation must be the current one."""
    if given != current:
        raise ConcurrentUpdate("resource provider generation conflict: the provider changed "
                               "since it was read (Placement's generation is now "
                               f"{current}); re-read it and try again.")
