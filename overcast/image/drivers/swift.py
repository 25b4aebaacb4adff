"""The swift store: image data in a container of Object Storage, as glance_store's swift driver
in single-tenant mode keeps it.

Each image is the object named by its id in the store's container (default `glance`), in the
account of the image service's own user (`glance`, project `service`: common/service_users.py),
reached through the object-store endpoint of that user's catalog (common/clients.py
ObjectClient). An image of known size under `[image] swift_store_large_object_size` MB is one
object; a larger one, or one of unknown size, is a Dynamic Large Object, as Glance writes it:
segments `<id>-00001`, `<id>-00002`, ... of `swift_store_large_object_chunk_size` MB in the same
container, then the manifest `<id>` with `X-Object-Manifest: <container>/<id>-`.

Nothing is held in memory: each object (or segment) is one chunked PUT fed batch by batch, and
reads stream with a Range. Every object's ETag from Swift is checked against the md5 of what
was sent, and a large object's total size and listing ETag against the segments written, before
the commit returns. An object is visible only once Swift has all of it (a PUT that is cut off
stores nothing), and a large one only once its manifest is written, after its segments.

The store's interface is blocking (the image pipeline calls it from worker threads); the HTTP
client is the service's async one, run on the store's own event loop in a thread of its own.
Not the service's loop: the callers are threads of that loop's default executor, and a name
lookup for a new connection needs a thread of the loop's executor too, so with every thread
waiting on the store nothing would be left to resolve the store's host name. A call from a
thread that runs an event loop would stall that loop: it is refused.

Crashes: segments without a manifest (an upload cut off) belong to no active image; the
service's recovery lists them under the image id and removes them as any orphaned data.
A partial upload in Swift leaves no lock behind, so unlike the file store a restarting worker
cannot tell another worker's live upload from a dead one (see docs/image.md).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import re
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from overcast.common import faults
from overcast.common.clients import ObjectClient, ServiceError
from overcast.common.tasks import cancel_and_wait

__all__ = ["StoreUnavailable", "SwiftStore", "SwiftWriter"]

T = TypeVar("T")

log = logging.getLogger("overcast.image.swift")

MB = 1 << 20
#: An image's object name is its id (Glance's dashed UUID); a segment's is `<id>-NNNNN`.
_IMAGE = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                    r"[0-9a-fA-F]{12}")
_SEGMENT = re.compile(rf"({_IMAGE.pattern})-\d{{5,}}")
#: Batches queued for one PUT beyond the one being sent.
_QUEUE_DEPTH = 2
#: Threads for the store's blocking calls; more calls at once wait for one.
THREADS = 32


class StoreUnavailable(faults.ServiceUnavailable):
    """Object Storage refused or did not answer (503 to an uploading client)."""


class _Put:
    """One object's chunked PUT, fed from a worker thread, running on the store's loop."""

    def __init__(self, store: SwiftStore, name: str, headers: dict[str, str] | None = None):
        self.store = store
        self.name = name
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(_QUEUE_DEPTH)
        self.task: asyncio.Task[str] | None = None
        store.call(self._start(headers))

    async def _start(self, headers: dict[str, str] | None) -> None:
        self.task = asyncio.ensure_future(self.store.client.put_object(
            self.store.container, self.name, self._body(), headers))

    async def _body(self) -> AsyncIterator[bytes]:
        while (data := await self.queue.get()) is not None:
            yield data

    async def _send(self, data: bytes | None) -> None:
        assert self.task is not None
        put = asyncio.ensure_future(self.queue.put(data))
        done, _ = await asyncio.wait([put, self.task], return_when=asyncio.FIRST_COMPLETED)
        if put not in done:  # the PUT ended before taking all the data: its error, or ours
            put.cancel()
            self.task.result()
            raise StoreUnavailable(f"Object Storage ended the upload of {self.name} early.")

    def send(self, data: bytes) -> None:
        self.md5.update(data)
        self.size += len(data)
        self.store.call(self._send(data))

    def finish(self) -> str:
        """End the body and wait for the object to be stored; its ETag, checked."""
        self.store.call(self._send(None))
        etag = self.store.call(self._result())
        if etag != self.md5.hexdigest():
            raise StoreUnavailable(f"Object Storage stored {self.name} with ETag {etag}, not "
                                   "the md5 of the data sent.")
        return etag

    async def _result(self) -> str:
        assert self.task is not None
        return await self.task

    def cancel(self) -> None:
        """Cut the PUT off (Swift then stores nothing under the name)."""
        try:
            self.store.call(self._cancel())
        except StoreUnavailable:
            pass  # it failed by itself: nothing was stored either

    async def _cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            await asyncio.wait([self.task])
        elif self.task is not None and not self.task.cancelled():
            self.task.exception()  # retrieved: no "never retrieved" warning


class SwiftWriter:
    """One image on its way into the container: one object, or segments then a manifest."""

    def __init__(self, store: SwiftStore, image_id: str, size: int | None):
        self.store = store
        self.executor = store.executor
        self.name = image_id
        self.segmented = size is None or size >= store.large_object_size
        self.part: _Put | None = None
        self.segments: list[tuple[str, str, int]] = []  # name, etag, size
        self.total = 0
        self.closed = False

    def _segment_name(self, n: int) -> str:
        return f"{self.name}-{n:05d}"

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.part is None:
                name = self._segment_name(len(self.segments) + 1) if self.segmented \
                    else self.name
                self.part = _Put(self.store, name)
            room = self.store.chunk_size - self.part.size if self.segmented else len(view)
            piece = bytes(view[:room])
            self.part.send(piece)
            self.total += len(piece)
            view = view[room:]
            if self.segmented and self.part.size >= self.store.chunk_size:
                self._end_part()

    def _end_part(self) -> None:
        assert self.part is not None
        part, self.part = self.part, None
        etag = part.finish()
        if self.segmented:
            self.segments.append((part.name, etag, part.size))

    def commit(self) -> str:
        if self.part is None and not self.segmented:
            self.part = _Put(self.store, self.name)  # an empty image: an empty object
        if self.part is not None:
            self._end_part()
        if self.segmented:
            self.store.call(self._manifest())
        self.closed = True
        return self.name

    async def _manifest(self) -> None:
        client, container = self.store.client, self.store.container
        ours = {name for name, _, _ in self.segments}
        # Segments of an earlier attempt beyond ours would join the object: remove them first.
        for row in await client.list_objects(container, prefix=f"{self.name}-"):
            if row["name"] not in ours and _SEGMENT.fullmatch(row["name"]):
                await client.delete_object(container, row["name"])
        await client.put_object(container, self.name, b"", {
            "X-Object-Manifest": f"{container}/{self.name}-",
            "X-Object-Meta-Glance-Image-Id": self.name})
        # The manifest serves what the container lists: check it lists what we wrote.
        expected = hashlib.md5("".join(e for _, e, _ in self.segments).encode(),
                               usedforsecurity=False).hexdigest()
        for delay in (0.1, 0.5, 1.0, 0):
            head = await client.head_object(container, self.name)
            if head is not None and head.get("content-length") == str(self.total) \
                    and head.get("etag", "").strip('"') == expected:
                return
            if delay:
                await asyncio.sleep(delay)
        raise StoreUnavailable(f"Object Storage does not list every segment of {self.name}.")

    def abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.part is not None:
            self.part.cancel()
            self.part = None
        try:
            for name, _, _ in self.segments:
                self.store.call(self.store.client.delete_object(self.store.container, name))
        except StoreUnavailable:
            log.warning("segments of image %s left in Object Storage: they are removed when "
                        "the image service next starts", self.name)


class SwiftStore:
    """Images as objects in one container of the image service user's account."""

    name = "swift"

    def __init__(self, client: ObjectClient, container: str, *, large_object_size: int,
                 chunk_size: int, create_container: bool = True):
        self.client = client
        self.container = container
        self.large_object_size = large_object_size
        self.chunk_size = chunk_size
        self.create_container = create_container
        self._container_ready = False
        self._container_lock = threading.Lock()
        self._closing = False
        #: The image service's threads for this store's blocking calls (data.py `offload`):
        #: in `overcast up` they wait on the object service, which runs on the same event
        #: loop and needs that loop's default executor for its disk work.
        self.executor = ThreadPoolExecutor(THREADS, thread_name_prefix=f"swift-store-{container}")
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name=f"swift-store-{container}")
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the store's loop from a worker thread and wait for it; Object
        Storage's refusals become StoreUnavailable."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise RuntimeError("a blocking swift store call from a thread running an event loop")
        try:
            if self._closing:
                raise RuntimeError("stopping")
            future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro,
                                                                                    self.loop)
        except RuntimeError:  # stopping, or the loop closed just now
            coro.close()
            raise StoreUnavailable("The image service is stopping.") from None
        try:
            while True:
                try:
                    return future.result(timeout=1.0)
                except TimeoutError:
                    if not self._thread.is_alive():
                        future.cancel()  # submitted as the loop stopped: it never runs
                        raise StoreUnavailable("The image service is stopping.") from None
        except ServiceError as e:
            raise StoreUnavailable(f"Object Storage failed: {e}") from e
        except concurrent.futures.CancelledError:
            raise StoreUnavailable("The image service is stopping.") from None

    # -- the ImageStore interface (blocking: called in worker threads) --
    def open_writer(self, image_id: str, size: int | None = None) -> SwiftWriter:
        self._check(image_id)
        if self.create_container and not self._container_ready:
            with self._container_lock:  # one PUT of the container, not one per upload
                if not self._container_ready:
                    self.call(self.client.ensure_container(self.container))
                    self._container_ready = True
        return SwiftWriter(self, image_id, size)

    def open_reader(self, location: str) -> Iterator[bytes]:
        return self.read_range(location, 0, -1, MB)

    def read_range(self, location: str, start: int, length: int, chunk: int) -> Iterator[bytes]:
        """Yield `length` bytes from `start` (all the rest when length < 0)."""
        self._check(location)
        chunks = self.client.get_object(self.container, location, start=start, length=length,
                                        chunk=chunk)
        try:
            while True:
                try:
                    data = self.call(_next(chunks))
                except StopAsyncIteration:
                    return
                yield data
        finally:
            self.call(chunks.aclose())

    def delete(self, location: str) -> None:
        """The object, then any segments (a manifest first: no reader sees a shortened image)."""
        self._check(location)
        self.call(self._delete(location))

    async def _delete(self, name: str) -> None:
        await self.client.delete_object(self.container, name)
        for row in await self.client.list_objects(self.container, prefix=f"{name}-"):
            if _SEGMENT.fullmatch(row["name"]):
                await self.client.delete_object(self.container, row["name"])

    def abandoned_uploads(self) -> list[str]:
        return []  # a cut-off PUT stores nothing; stray segments are listed by locations()

    def partial_uploads(self) -> list[str]:
        return []

    def locations(self) -> Iterator[tuple[str, str]]:
        """Every image id with an object or segments in the container (once each)."""
        seen: set[str] = set()
        for row in self.call(self.client.list_objects(self.container)):
            name = str(row.get("name", ""))
            match = _SEGMENT.fullmatch(name)
            image_id = match.group(1) if match else name if _IMAGE.fullmatch(name) else None
            if image_id is not None and image_id not in seen:
                seen.add(image_id)
                yield image_id, image_id

    async def aclose(self) -> None:
        """Stop: calls still waiting on Object Storage fail (StoreUnavailable), so that no
        thread waits for ever on a loop that no longer runs."""
        if self._closing:
            return
        self._closing = True
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop))
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self._thread.join)
        self.loop.close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def _shutdown(self) -> None:
        await cancel_and_wait(t for t in asyncio.all_tasks() if t is not asyncio.current_task())
        await self.client.close()

    @staticmethod
    def _check(location: str) -> None:
        # Locations are written by this store (an image id); refuse anything else.
        if not _IMAGE.fullmatch(location):
            raise ValueError("not a location of this store")


async def _next(chunks: AsyncGenerator[bytes, None]) -> bytes:
    return await chunks.__anext__()
