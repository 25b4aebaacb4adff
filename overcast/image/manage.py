"""Image service wiring shared by the app's lifespan and the `overcast image ...` commands."""

from __future__ import annotations

import asyncio
import signal

from overcast.common.db import Database
from overcast.config import Config
from overcast.image.agent import AgentLoop, Importer
from overcast.image.data import ImageData
from overcast.image.drivers import open_store
from overcast.image.service import Images
from overcast.image.tasks import Tasks

__all__ = ["image_data", "importer_loop", "run_importer"]


def image_data(config: Config, db: Database) -> ImageData:
    """The image records and the stores configured for them."""
    stores = {sid: open_store("file", path) for sid, path in config.image_stores.items()}
    return ImageData(Images(db, config.image), Tasks(db), stores,
                     open_store("file", config.image_staging_dir), config.image)


def importer_loop(config: Config, data: ImageData) -> AgentLoop:
    """This worker's importer agent; the API's import requests poke it."""
    loop = AgentLoop("image-importer", Importer(data, lease=config.image.import_claim_lease),
                     config.image.import_resync_interval)
    data.on_import = loop.poke
    return loop


async def run_importer(config: Config, once: bool) -> None:
    """`overcast image import-agent [--once]`: one pass over every unfinished import and copy,
    or passes until SIGTERM/SIGINT, beside (or instead of) the API workers' own agents."""
    db = Database(config.database_url("image"))
    try:
        loop = importer_loop(config, image_data(config, db))
        if once:
            await loop.run_once()
            return
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        loop.start()
        try:
            await stop.wait()
        finally:
            await loop.stop()
    finally:
        await db.dispose()
