"""Image data: streamed upload, download, staging and import, and recovery after a crash.

An upload never holds the image in memory: the request body arrives in chunks, gathered into
1 MiB batches; three worker threads (md5; sha512 and the format inspection; the write to the
store file) each take every batch from their own queue, with at most 8 batches in flight
(hashlib and os.write release the GIL, so the three use every core). The database says
`active` only after the store has fsynced and renamed the file.

States: queued ─upload→ saving ─→ active ⇄ deactivated;  queued ─stage→ uploading ─import→
importing ─→ active. A failed or interrupted transfer goes back to queued (uploading for a
failed glance-direct import keeps nothing: the client stages again), as Glance does.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import select

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.config import ImageSection
from overcast.image.drivers import ImageStore, StoreUnavailable, StoreWriter
from overcast.image.inspection import InspectionError, StreamInspector
from overcast.image.models import Image, Task
from overcast.image.service import IMPORTING, Images, NewImage, image_target, set_progress
from overcast.image.tasks import Tasks

__all__ = ["BATCH", "ByteRange", "Download", "ImageData", "ImportAsk", "Stored", "aiter_thread",
           "blocking", "offload", "pump"]

T = TypeVar("T")

log = logging.getLogger("overcast.image.data")

BATCH = 1 << 20
PIPELINE_DEPTH = 8  # batches in flight: 8 MiB of memory per upload at most
DOWNLOAD_CHUNK = 1 << 20


@dataclass(frozen=True)
class Stored:
    """What a completed transfer wrote (into one store, under the image's id)."""

    size: int
    checksum: str
    os_hash_value: str
    virtual_size: int | None

    def columns(self, store_id: str) -> dict[str, Any]:
        """The image columns that say the data is in `store_id`."""
        return {"stores": store_id, "size": self.size, "checksum": self.checksum,
                "os_hash_algo": "sha512", "os_hash_value": self.os_hash_value,
                "virtual_size": self.virtual_size}


@dataclass(frozen=True)
class ImportAsk:
    """What POST /import asks for (the API checks the body's shape)."""

    method: str
    uri: str | None = None
    stores: list[str] | None = None
    all_stores: bool = False
    #: the request body as given, kept in the task's input
    request: dict[str, Any] = field(default_factory=dict)


@dataclass
class Download:
    """An image's bytes, or the part a Range asked for, ready to stream."""

    size: int  # of the whole image
    start: int
    length: int
    checksum: str | None
    chunks: AsyncIterator[bytes]
    partial: bool


class _Sink:
    """One transfer's destination and digests: three steps of about the same cost (md5,
    sha512 with the inspection, the write's kernel time), each run by its own thread."""

    def __init__(self, writer: StoreWriter, disk_format: str | None, *, bare: bool,
                 match_format: bool):
        self.writer = writer
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()
        self.bare = bare
        self.inspector = StreamInspector(disk_format, match_format=match_format)

    def steps(self) -> list[Callable[[bytes], None]]:
        return [self.md5.update, self._sha512_and_inspect, self.writer.write]

    def _sha512_and_inspect(self, data: bytes) -> None:
        self.sha512.update(data)
        self.inspector.feed(data)

    def virtual_size(self) -> int | None:
        """The inspection's verdict (InspectionError if the content is refused); the virtual
        size only for a bare container (in any other the disk is wrapped)."""
        inspection = self.inspector.finish()
        return inspection.virtual_size if self.bare else None


class _Pipeline:
    """Worker threads, one per step, each taking every batch in order from its own queue.

    The steps do not wait for each other batch by batch (a lockstep would leave a core idle
    whenever one step is quicker); at most `depth` batches are in flight, so memory stays
    bounded whatever the image size. hashlib and os.write release the GIL, so the steps use
    every core there is.
    """

    def __init__(self, steps: list[Callable[[bytes], None]], depth: int = PIPELINE_DEPTH):
        self.loop = asyncio.get_running_loop()
        self.room = asyncio.Semaphore(depth)
        self.queues: list[queue.SimpleQueue[bytes | None]] = [queue.SimpleQueue() for _ in steps]
        self.left: dict[int, int] = {}  # batch number -> steps still to run on it
        self.lock = threading.Lock()
        self.error: BaseException | None = None
        self.done = self.loop.create_future()
        self.running = len(steps)
        self.threads = [threading.Thread(target=self._work, args=(q, step), daemon=True,
                                         name="image-pipeline") for q, step in zip(
                                             self.queues, steps, strict=True)]
        self.count = 0
        for t in self.threads:
            t.start()

    def _work(self, q: queue.SimpleQueue[bytes | None], step: Callable[[bytes], None]) -> None:
        n = 0
        while (data := q.get()) is not None:
            if self.error is None:
                try:
                    step(data)
                except BaseException as e:  # reported to the event loop by put()/finish()
                    self.error = e
            with self.lock:
                self.left[n] -= 1
                finished = self.left[n] == 0
                if finished:
                    del self.left[n]
            if finished:
                self.loop.call_soon_threadsafe(self.room.release)
            n += 1
        with self.lock:
            self.running -= 1
            last = self.running == 0
        if last:
            self.loop.call_soon_threadsafe(self._set_done)

    def _set_done(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    async def put(self, data: bytes) -> None:
        await self.room.acquire()
        if self.error is not None:
            raise self.error
        with self.lock:
            self.left[self.count] = len(self.queues)
        self.count += 1
        for q in self.queues:
            q.put(data)

    async def finish(self) -> None:
        """Wait until every step has run on every batch (also after a failure, so that no
        thread still uses the writer when the caller aborts it)."""
        for q in self.queues:
            q.put(None)
        await asyncio.shield(self.done)
        if self.error is not None:
            raise self.error


async def pump(steps: list[Callable[[bytes], None]], chunks: AsyncIterator[bytes], limit: int,
               too_big: faults.Fault, check: Callable[[], None] | None = None) -> int:
    """Run every chunk through the steps, in batches, through the pipeline; the byte count.
    `check()` runs before each batch and may raise to stop (the threads are waited for)."""
    size = 0
    batch: list[bytes] = []
    batched = 0
    pipeline = _Pipeline(steps)
    try:
        async for chunk in chunks:
            if check is not None:
                check()
            if not chunk:
                continue
            size += len(chunk)
            if size > limit:
                raise too_big
            batch.append(chunk)
            batched += len(chunk)
            if batched >= BATCH:
                data = b"".join(batch)
                batch, batched = [], 0
                await pipeline.put(data)
        if batch:
            await pipeline.put(b"".join(batch))
    finally:
        await pipeline.finish()
    return size


class ImageData:
    """Moves image bytes between clients, the staging area and the stores.

    Imports and copies to more stores are asked for here (`start_import`, `import_task`: the
    image goes to `importing`, a task records what was asked) and done by the importer agent
    (image/agent/), which claims each image so that one worker does the work.
    """

    def __init__(self, images: Images, tasks: Tasks, stores: dict[str, ImageStore],
                 staging: ImageStore, config: ImageSection):
        self.images = images
        self.tasks = tasks
        self.stores = stores  # id -> store; the first is the default
        self.default_store = next(iter(stores))
        self.staging = staging
        self.config = config
        #: Stores whose orphaned data `recover` could not look for (see `sweep_later`).
        self.unswept: list[str] = []
        #: Called with an image id once an import or copy is recorded: the agent's trigger.
        self.on_import: Callable[[str], None] = lambda _image_id: None

    def store_ids(self, wanted: list[str] | None, all_stores: bool = False) -> list[str]:
        """The stores a transfer goes to (sorted), checked: the default one if none is named."""
        if all_stores:
            return sorted(self.stores)
        ids = wanted or [self.default_store]
        for sid in ids:
            if sid not in self.stores:
                raise faults.Conflict(f"Store {sid} is not available on this cloud.")
        return sorted(set(ids))

    def holding(self, image: Image) -> list[str]:
        """The configured stores holding this image's data."""
        return [sid for sid in (image.stores or "").split(",") if sid in self.stores]

    # -- upload --
    async def _limit(self, image: Image) -> tuple[int, faults.Fault]:
        """The most bytes this upload may bring, and the fault for going over."""
        cap = self.config.image_size_cap
        too_big: faults.Fault = faults.RequestTooLarge(
            f"Image exceeds the storage quota: the largest image is {cap} bytes.")
        quota = self.config.image_size_quota
        if quota >= 0 and image.owner:
            left = quota - await self.images.bytes_used(image.owner, excluding=image.id)
            if left < cap:
                return max(left, 0), faults.OverQuota(
                    f"Denying attempt to upload image because it exceeds the quota: the project "
                    f"may store {quota} bytes of images.")
        return cap, too_big

    async def ingest(self, writer: StoreWriter, image: Image, chunks: AsyncIterator[bytes],
                     content_length: int | None, check: Callable[[], None] | None = None
                     ) -> Stored:
        """Write the bytes through the digests and the inspection (not committed: the caller
        commits once it knows the data may stay). `check` runs between batches and may raise
        to stop the transfer (the importer's lost claim)."""
        limit, too_big = await self._limit(image)
        if content_length is not None and content_length > limit:
            raise too_big
        # The safety checks (backing files, data files, extents, encryption, polyglots) apply
        # whatever the container format says: the container format is the owner's word, not a
        # fact, and a qcow2 with a backing file is as dangerous under "ovf" as under "bare".
        # Only the format-match check (and the virtual size) is for bare containers, which hold
        # the disk itself, as Glance does (glance/location.py ImageProxy.set_data).
        bare = image.container_format == "bare"
        sink = _Sink(writer, image.disk_format, bare=bare,
                     match_format=bare and self.config.require_image_format_match)
        size = await pump(sink.steps(), chunks, limit, too_big, check)
        if content_length is not None and size != content_length:
            raise faults.BadRequest(f"The request body ended after {size} of {content_length} "
                                    "bytes.")
        try:
            virtual_size = await asyncio.to_thread(sink.virtual_size)
        except InspectionError as e:
            raise faults.BadRequest(str(e)) from None
        return Stored(size, sink.md5.hexdigest(), sink.sha512.hexdigest(), virtual_size)

    async def _begin(self, ctx: RequestContext, image_id: str, store: ImageStore,
                     to_status: str, *, formats: bool, size: int | None
                     ) -> tuple[Image, StoreWriter]:
        """Lock a partial file first, then, in one transaction, load the image, enforce
        upload_image and move it from queued to `to_status`: an image in transfer always has a
        live partial file, which is how recovery tells a dead transfer from a running one."""
        writer = await offload(store.executor, store.open_writer, image_id, size)
        try:
            async with self.images.db.transaction() as s:
                image = await self.images.load(s, ctx, image_id, for_update=True)
                ctx.enforce("upload_image", image_target(image))
                if image.status != "queued":
                    raise faults.Conflict(f"Image status transition from {image.status} to "
                                          f"{to_status} is not allowed")
                if formats and (image.disk_format is None or image.container_format is None):
                    raise faults.BadRequest("Properties disk_format, container_format must be "
                                            "set prior to saving data.")
                image.status, image.updated_at = to_status, utcnow()
        except BaseException:
            await blocking(writer.abort, writer.executor)
            raise
        return image, writer

    async def upload(self, ctx: RequestContext, image_id: str, chunks: AsyncIterator[bytes],
                     content_length: int | None, store_id: str | None = None) -> None:
        """PUT /file: queued → saving → active, or back to queued on any failure."""
        [sid] = self.store_ids([store_id] if store_id else None)
        image, writer = await self._begin(ctx, image_id, self.stores[sid], "saving",
                                          formats=True, size=content_length)
        try:
            stored = await self.ingest(writer, image, chunks, content_length)
            await blocking(writer.commit, writer.executor)
        except BaseException:
            await asyncio.shield(self._undo(writer, image.id, "saving", "queued"))
            raise
        done = await self.images.transition(
            image.id, ("saving",), "active", **stored.columns(sid))
        if not done:
            await self.discard(image.id, sid)
            raise faults.Gone(f"Image {image.id} could not be found after upload. The image may "
                              "have been deleted during the upload.")

    async def _undo(self, writer: StoreWriter, image_id: str, status: str, back: str) -> None:
        await offload(writer.executor, writer.abort)
        await self.images.transition(image_id, (status,), back)

    async def discard(self, image_id: str, store_id: str) -> None:
        """Remove data just committed for an image whose transition failed, but only when the
        image is gone: otherwise the file may be another worker's, committed under the same
        name (recovery removes what no image owns at the next start)."""
        async with self.images.db.read() as s:
            status = await s.scalar(select(Image.status).where(Image.id == image_id))
        if status in (None, "deleted"):
            store = self.stores[store_id]
            await offload(store.executor, store.delete, image_id)

    # -- download --
    async def download(self, ctx: RequestContext, image_id: str,
                       byte_range: ByteRange | None) -> Download | None:
        """The image's bytes, or the range asked for (None: it has none yet, 204)."""
        image = await self.images.show(ctx, image_id, "download_image")
        if image.status == "deactivated" and not ctx.can("context_is_admin"):
            raise faults.Forbidden("The requested image has been deactivated. Image data download "
                                   "is forbidden.")
        holding = self.holding(image)
        if not holding or image.status not in ("active", "deactivated"):
            return None
        size = image.size or 0
        start, length, partial = 0, size, False
        if byte_range is not None:
            start, length = byte_range.within(size)
            partial = True
        store = self.stores[holding[0]]
        it = store.read_range(image.id, start, length, DOWNLOAD_CHUNK)
        return Download(size, start, length, image.checksum, aiter_thread(it, store.executor),
                        partial)

    # -- staging and import --
    async def stage(self, ctx: RequestContext, image_id: str, chunks: AsyncIterator[bytes],
                    content_length: int | None) -> None:
        """PUT /stage: queued → uploading with the bytes in the staging area."""
        image, writer = await self._begin(ctx, image_id, self.staging, "uploading", formats=False,
                                          size=content_length)
        try:
            limit, too_big = await self._limit(image)
            if content_length is not None and content_length > limit:
                raise too_big
            # No digests and no inspection yet: the import does those on the staged bytes.
            size = await pump([writer.write], chunks, limit, too_big)
            await blocking(writer.commit, writer.executor)
        except BaseException:
            await asyncio.shield(self._undo(writer, image.id, "uploading", "queued"))
            raise
        await self.images.transition(image.id, ("uploading",), "uploading", size=size)

    def import_methods(self) -> list[str]:
        methods = ["glance-direct"]
        if self.allowed_hosts():
            methods.append("web-download")
        if len(self.stores) > 1:
            methods.append("copy-image")
        return methods

    def allowed_hosts(self) -> set[str]:
        raw = self.config.web_download_allowed_hosts
        return {h.strip().lower() for h in raw.split(",") if h.strip()}

    async def start_import(self, ctx: RequestContext, image_id: str, ask: ImportAsk) -> None:
        """POST /import: in one transaction load the image, enforce import_image, check, move
        it to importing and record the task; the importer agent does the rest."""
        method = ask.method
        if method not in self.import_methods():  # not offered here (GET /v2/info/import)
            raise faults.BadRequest(f"Unknown import method name '{method}'.")
        targets = self.store_ids(ask.stores, ask.all_stores)
        if method == "web-download":
            self.check_uri(ask.uri)
        async with self.images.db.transaction() as s:
            image = await self.images.load(s, ctx, image_id, for_update=True)
            ctx.enforce("import_image", image_target(image))
            props = {p.name: p for p in image.properties}
            if IMPORTING in props and props[IMPORTING].value:
                raise faults.Conflict("Image has active task")
            if method == "copy-image":
                if image.status != "active":
                    raise faults.Conflict(f"Image {image.id} must be active to be copied; it is "
                                          f"{image.status}.")
                targets = [t for t in targets if t not in self.holding(image)]
                if not targets:
                    raise faults.Conflict(f"Image {image.id} is already in the requested "
                                          "stores.")
            else:
                needed = "uploading" if method == "glance-direct" else "queued"
                if image.status != needed:
                    raise faults.Conflict(
                        "Image needs to be staged before 'glance-direct' method can be used"
                        if method == "glance-direct" else
                        f"Image {image.id} is not in queued status; web-download needs a new "
                        "image")
                if image.disk_format is None or image.container_format is None:
                    raise faults.BadRequest("Properties disk_format, container_format must be "
                                            "set prior to importing data.")
                image.status = "importing"
            image.updated_at = utcnow()
            set_progress(image, importing=targets, failed=[])
            # The task is what the agent reads to know what the import asks for.
            s.add(self.tasks.new(type="api_image_import", owner=image.owner,
                                 user_id=ctx.user_id, request_id=ctx.request_id,
                                 image_id=image.id, input={"image_id": image.id,
                                                           "import_req": ask.request,
                                                           "backend": targets}))
        self.on_import(image_id)

    async def import_task(self, ctx: RequestContext, uri: str, new: NewImage,
                          task_input: dict[str, object]) -> Task:
        """POST /v2/tasks type "import": a new image filled from a URL (legacy tasks API)."""
        self.check_uri(uri)
        image = await self.images.create(ctx, new)
        task = await self.tasks.create(type="import", owner=ctx.project_id, user_id=ctx.user_id,
                                       request_id=ctx.request_id, image_id=image.id,
                                       input=dict(task_input))
        if await self.images.transition(image.id, ("queued",), "importing"):
            self.on_import(image.id)
        return task

    async def tasks_of(self, ctx: RequestContext, image_id: str) -> list[Task]:
        """GET /v2/images/{id}/tasks: an image's tasks, for whoever may see the image."""
        image = await self.images.show(ctx, image_id)
        return await self.tasks.for_image(image.id)

    def check_uri(self, uri: str | None) -> None:
        """Refuse a web-download URI that is not on a host this cloud allows."""
        if not uri:
            raise faults.BadRequest("URI for web-download import method needs to be specified.")
        parts = urlsplit(uri)
        host = (parts.hostname or "").lower()
        allowed = self.allowed_hosts()
        if parts.scheme not in ("http", "https") or not (
                host in allowed or parts.netloc.lower() in allowed):
            raise faults.BadRequest(f"URI {uri} is not allowed: web-download may fetch only from "
                                    "the hosts in [image] web_download_allowed_hosts.")

    async def delete_image(self, ctx: RequestContext, image_id: str) -> None:
        """DELETE /v2/images/{id}: the row is marked deleted first, then the data goes."""
        await self.delete_data(image_id, await self.images.delete(ctx, image_id))

    async def delete_from_store(self, ctx: RequestContext, store_id: str, image_id: str) -> None:
        """DELETE /v2/stores/{store}/{image}: drop one copy, never the last."""
        if store_id not in self.stores:
            raise faults.NotFound(f"Store {store_id} not found.")
        await self.images.remove_store(ctx, image_id, store_id)
        store = self.stores[store_id]
        await offload(store.executor, store.delete, image_id)

    # -- recovery --
    async def recover(self) -> None:
        """After a crash: drop partial files whose writer died, put their images back to
        queued, and remove store files no image owns. Imports and copies are not resumed
        here: the importer agent claims and resumes them (one worker each)."""
        dead: set[str] = set()
        live: set[str] = set()
        for store in (*self.stores.values(), self.staging):
            dead |= set(await offload(store.executor, store.abandoned_uploads))
            live |= set(await offload(store.executor, store.partial_uploads))
        # Files first, rows second: a file listed here was committed before the rows are read,
        # so its image's row already says what the file is (data is committed before the row).
        staged = dict(await offload(self.staging.executor, _listing, self.staging))
        files: dict[str, list[tuple[str, str]]] = {}
        self.unswept = []
        for sid, store in self.stores.items():
            try:
                files[sid] = await offload(store.executor, _listing, store)
            except StoreUnavailable:
                # Object Storage is not up yet (in `overcast up` it starts beside us):
                # `sweep_later` removes that store's orphans once it answers.
                self.unswept.append(sid)
        rows = await self._rows()
        for image_id, row in list(rows.items()):
            if row.status == "saving" and image_id not in live:
                if await self.images.transition(image_id, ("saving",), "queued"):
                    # What its dead upload left (a swift store's segments) is an orphan now.
                    rows[image_id] = SimpleNamespace(**{**row._asdict(), "status": "queued"})
            elif row.status == "uploading" and image_id not in live and image_id in dead:
                await self.images.transition(image_id, ("uploading",), "queued", size=None)
        for sid, listed in files.items():
            await self._remove_orphans(sid, listed, rows, live)
        for image_id, location in staged.items():
            staged_for = rows.get(image_id)
            if staged_for is None or staged_for.status not in ("uploading", "importing"):
                await offload(self.staging.executor, self.staging.delete, location)

    async def _rows(self) -> dict[str, Any]:
        """What recovery needs of every image row, by id."""
        async with self.images.db.read() as s:
            return {row.id: row for row in (await s.execute(select(
                Image.id, Image.status, Image.stores, Image.claimed_by,
                Image.claim_expires))).all()}

    async def _remove_orphans(self, sid: str, listed: list[tuple[str, str]],
                              rows: dict[str, Any], live: set[str]) -> None:
        """Delete the data in store `sid` that no image owns (`rows` read after `listed`)."""
        now = utcnow()
        for image_id, location in listed:
            owner = rows.get(image_id)
            if image_id not in live and (owner is None or _orphan(owner, sid, now)):
                log.info("removing orphaned data of image %s in store %s", image_id, sid)
                store = self.stores[sid]
                await offload(store.executor, store.delete, location)

    async def sweep_later(self, interval: float = 1.0, longest: float = 60.0) -> None:
        """The orphan removal `recover` could not do in stores that did not answer, once they
        do (tried after `interval` seconds, then twice as long each time up to `longest`,
        until done or cancelled)."""
        while self.unswept:
            await asyncio.sleep(interval)
            interval = min(interval * 2, longest)
            for sid in list(self.unswept):
                try:
                    store = self.stores[sid]
                    listed = await offload(store.executor, _listing, store)
                except StoreUnavailable:
                    continue
                rows = await self._rows()
                try:
                    await self._remove_orphans(sid, listed, rows, set())
                except StoreUnavailable:
                    continue
                self.unswept.remove(sid)

    async def close(self) -> None:
        for store in self.stores.values():
            await store.aclose()

    async def delete_data(self, image_id: str, stores: str | None) -> None:
        for sid in (stores or "").split(","):
            if sid in self.stores:
                store = self.stores[sid]
                try:
                    await offload(store.executor, store.delete, image_id)
                except StoreUnavailable as e:
                    # The image is deleted all the same (as Glance); what is left is an orphan
                    # that the service's next start removes.
                    log.warning("data of deleted image %s left in store %s: %s", image_id, sid,
                                e.message)


def _listing(store: ImageStore) -> list[tuple[str, str]]:
    """Every (image id, location) a store holds (blocking: run in a thread)."""
    return list(store.locations())


def _orphan(row: Any, store_id: str, now: datetime) -> bool:
    """Whether a file in `store_id` belongs to nothing: its image is deleted, or holds no data
    in that store and nobody is bringing it there (no transfer, no live claim)."""
    if row.status == "deleted":
        return True
    if row.claimed_by is not None and row.claim_expires is not None and row.claim_expires > now:
        return False  # an agent is importing or copying into this store right now
    if row.status in ("saving", "importing"):
        return False
    if row.status in ("active", "deactivated"):
        return store_id not in (row.stores or "").split(",")
    return True


async def offload(executor: Executor | None, fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking call in a thread of `executor` (a store's own, for a store whose calls
    wait on this loop's services: see drivers/swift.py; None: the loop's default), with the
    caller's context as asyncio.to_thread."""
    ctx = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        executor, functools.partial(ctx.run, fn, *args))


async def blocking(fn: Callable[[], T], executor: Executor | None = None) -> T:
    """Run a blocking call in a thread and let it finish even if the caller is cancelled (a
    commit or abort cut in two would leave its file half renamed or its descriptor reused)."""
    task = asyncio.ensure_future(offload(executor, fn))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


async def aiter_thread(it: Iterator[bytes], executor: Executor | None = None
                       ) -> AsyncIterator[bytes]:
    """Read a blocking iterator in a thread, chunk by chunk. A cancelled read is waited for,
    so that closing the iterator never races the thread still inside it."""
    sentinel = b""
    try:
        while True:
            chunk = await blocking(lambda: next(it, sentinel), executor)
            if chunk is sentinel or not chunk:
                return
            yield chunk
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            await blocking(close, executor)


@dataclass(frozen=True)
class ByteRange:
    """A single byte range asked for (the API parses the Range header): `first`-`last`
    inclusive, `last` None for "to the end"; `first` None for the last `last` bytes."""

    first: int | None
    last: int | None
    text: str = ""  # as asked, for the refusal

    def within(self, size: int) -> tuple[int, int]:
        """(start, length) inside an image of `size` bytes, or 416 Range Not Satisfiable."""
        unsatisfiable = faults.RangeNotSatisfiable(
            f"Requested range {self.text} cannot be satisfied.",
            headers={"Content-Range": f"bytes */{size}"})
        if self.first is None:
            if not self.last:
                raise unsatisfiable
            start, end = max(size - self.last, 0), size - 1
        else:
            start = self.first
            end = self.last if self.last is not None else size - 1
        end = min(end, size - 1)
        if start > end or start >= size:
            raise unsatisfiable
        return start, end - start + 1
