"""Compute housekeeping outside requests: what `overcast bootstrap` adds (the guides' flavors)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy import inspect, make_url
from sqlalchemy.exc import DBAPIError

from overcast.common.db import Database
from overcast.compute.flavors import Flavors
from overcast.compute.models import Flavor
from overcast.config import Config

__all__ = ["bootstrap_flavors"]

log = logging.getLogger("overcast.compute")


async def _migrated(url: str) -> bool:
    sqlite_file = make_url(url).database if url.startswith("sqlite") else None
    if sqlite_file is not None and not await asyncio.to_thread(Path(sqlite_file).exists):
        return False  # do not leave an empty file behind
    db = Database(url)
    try:
        async with db.read() as s:
            return await s.run_sync(lambda sync: inspect(sync.connection()).has_table(
                Flavor.__tablename__))
    except (DBAPIError, OSError):
        return False  # no such database yet
    finally:
        await db.dispose()


async def bootstrap_flavors(config: Config) -> list[str]:
    """At bootstrap: the install guides' flavors (m1.nano ... m1.xlarge) that are missing, once
    the compute database is migrated; an operator's own flavors and deletions of others stay.
    Returns the names created."""
    url = config.database_url("compute")
    if not await _migrated(url):
        log.info("compute database not migrated yet: default flavors not created "
                 "(overcast db upgrade compute, then overcast bootstrap)")
        return []
    db = Database(url)
    try:
        made = await Flavors(db).ensure_defaults()
    finally:
        await db.dispose()
    if made:
        log.info("created flavors %s", ", ".join(made))
    return made
