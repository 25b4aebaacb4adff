"""Image service wiring shared by the app's lifespan and the `overcast image ...` commands."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from sqlalchemy import inspect, make_url
from sqlalchemy.exc import DBAPIError

from overcast.common import service_users
from overcast.common.clients import ObjectClient
from overcast.common.db import Database
from overcast.config import Config, ImageStoreSpec
from overcast.image.agent import AgentLoop, Importer
from overcast.image.api.bodies import validate
from overcast.image.api.metadef_bodies import NamespaceBody
from overcast.image.data import ImageData
from overcast.image.drivers import FileStore, ImageStore, SwiftStore
from overcast.image.metadef_data import standard_namespaces
from overcast.image.metadef_models import MetadefStandardLoad
from overcast.image.metadefs import Metadefs, NamespaceSpec
from overcast.image.service import Images
from overcast.image.tasks import Tasks

__all__ = ["bootstrap_metadefs", "image_data", "importer_loop", "load_metadefs", "open_store",
           "run_importer"]

log = logging.getLogger("overcast.image")

MB = 1 << 20


def open_store(config: Config, spec: ImageStoreSpec) -> ImageStore:
    """A configured store (a swift one acts as the image service's user, in its account, on
    the running event loop)."""
    if spec.kind == "swift":
        assert spec.container is not None
        image = config.image
        user = service_users.SERVICE_USERS["image"]
        try:
            client = ObjectClient.from_config(config, user,
                                              interface=image.swift_store_endpoint_type,
                                              region=image.swift_store_region or None)
        except FileNotFoundError:
            raise RuntimeError(
                f"a swift image store acts as the service user {user}, whose password "
                f"{service_users.password_path(config.state_dir, user)} is missing: run "
                "`overcast bootstrap` (or copy it from the node that did)") from None
        return SwiftStore(client, spec.container,
                          large_object_size=image.swift_store_large_object_size * MB,
                          chunk_size=image.swift_store_large_object_chunk_size * MB,
                          create_container=image.swift_store_create_container_on_put)
    assert spec.path is not None
    return FileStore(spec.path)


def image_data(config: Config, db: Database) -> ImageData:
    """The image records and the stores configured for them."""
    stores = {sid: open_store(config, spec) for sid, spec in config.image_stores.items()}
    return ImageData(Images(db, config.image), Tasks(db), stores,
                     FileStore(config.image_staging_dir), config.image)


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
    data = image_data(config, db)
    try:
        loop = importer_loop(config, data)
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
        await data.close()
        await db.dispose()


async def load_metadefs(config: Config, *, force: bool = False,
                        initial: bool = False) -> dict[str, list[str]]:
    """Load Glance's standard namespaces; namespace names by outcome ("loaded", "kept",
    "replaced", "skipped": see Metadefs.load_standard). Loading twice changes nothing."""
    db = Database(config.database_url("image"))
    outcomes: dict[str, list[str]] = {"loaded": [], "kept": [], "replaced": [], "skipped": []}
    try:
        metadefs = Metadefs(db)
        for body in standard_namespaces():
            spec: NamespaceSpec = validate(NamespaceBody, body, "namespace").spec()
            outcome = await metadefs.load_standard(spec, force=force, initial=initial)
            outcomes[outcome].append(spec.namespace)
    finally:
        await db.dispose()
    return outcomes


async def bootstrap_metadefs(config: Config) -> None:
    """At bootstrap: load the standard namespaces never loaded before (an operator's edits and
    deletions stay), once the image database is migrated."""
    url = config.database_url("image")
    migrated = False
    sqlite_file = make_url(url).database if url.startswith("sqlite") else None
    if sqlite_file is None or await asyncio.to_thread(Path(sqlite_file).exists):  # no empty file
        db = Database(url)
        try:
            async with db.read() as s:
                migrated = await s.run_sync(lambda sync: inspect(sync.connection()).has_table(
                    MetadefStandardLoad.__tablename__))
        except (DBAPIError, OSError):
            pass  # no such database yet
        finally:
            await db.dispose()
    if not migrated:
        log.info("image database not migrated yet: metadata definitions not loaded "
                 "(overcast db upgrade image, then overcast image load-metadefs)")
        return
    outcomes = await load_metadefs(config, initial=True)
    if outcomes["loaded"]:
        log.info("loaded %d standard metadata definition namespaces", len(outcomes["loaded"]))
