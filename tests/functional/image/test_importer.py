"""The importer agent with two workers over one database and one set of stores (issue 8, #11).

Before the agent, each worker's start resumed every import it found in `importing`: two
workers restarting together both imported the same image, and the one whose transition to
active failed deleted the file the other had committed, leaving an active image with no data.
Each worker here is what `overcast serve image --workers 2` runs per process: its own engine,
ImageData and importer, over the shared database and directories.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from overcast.common.context import RequestContext
from overcast.common.db import Database
from overcast.common.policy import Credentials, Enforcer
from overcast.config import Config
from overcast.image.agent import AgentLoop, Importer
from overcast.image.data import ImageData, ImportAsk
from overcast.image.drivers.file import FileStore, FileWriter
from overcast.image.models import Image
from overcast.image.policy import RULES
from overcast.image.service import Images, NewImage
from overcast.image.tasks import Tasks

MiB = 1 << 20
#: A member of the project owning the test images, as an API request would carry it.
OWNER = RequestContext(request_id="req-test", enforcer=Enforcer(RULES),
                       credentials=Credentials(user_id="u", project_id="p-owner",
                                               roles=frozenset({"member", "reader"})))


class Gate:
    """Holds a worker's transfer at one point until the test lets it go on."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.go = threading.Event()

    def stop_here(self) -> None:
        self.reached.set()
        if not self.go.wait(30):
            raise TimeoutError("the test never opened the gate")

    async def wait_reached(self) -> None:
        assert await asyncio.to_thread(self.reached.wait, 30), "the worker never got there"


class GatedWriter(FileWriter):
    def __init__(self, root: Path, image_id: str, gate: Gate | None):
        super().__init__(root, image_id)
        self.gate = gate

    def commit(self) -> str:
        location = super().commit()
        if self.gate is not None:  # committed, not yet recorded: a worker that stalls here
            self.gate.stop_here()
        return location


class WatchedStore(FileStore):
    """The real file store, counting reads of staged data and able to hold a worker after its
    first MiB read (`read_gate`) or right after its commit (`commit_gate`)."""

    def __init__(self, root: Path, read_gate: Gate | None = None,
                 commit_gate: Gate | None = None):
        super().__init__(root)
        self.read_gate = read_gate
        self.commit_gate = commit_gate
        self.reads = 0

    def open_reader(self, location: str) -> Iterator[bytes]:
        self.reads += 1
        for i, chunk in enumerate(super().open_reader(location)):
            if i == 1 and self.read_gate is not None:
                self.read_gate.stop_here()
            yield chunk

    def open_writer(self, image_id: str, size: int | None = None) -> GatedWriter:
        return GatedWriter(self.root, image_id, self.commit_gate)


@dataclass
class Worker:
    db: Database
    images: Images
    data: ImageData
    importer: Importer
    staging: WatchedStore
    store: WatchedStore

    def loop(self) -> AgentLoop:
        return AgentLoop("test-importer", self.importer, interval=3600)


@pytest.fixture
async def workers(image_config: Config) -> AsyncIterator[list[Worker]]:
    made: list[Worker] = []

    def make(name: str, *, lease: float = 30, heartbeat: float | None = None,
             read_gate: Gate | None = None, commit_gate: Gate | None = None) -> Worker:
        db = Database(image_config.database_url("image"))
        images = Images(db, image_config.image)
        staging = WatchedStore(image_config.state_dir / "image-staging", read_gate)
        store = WatchedStore(image_config.image_store_dir, commit_gate=commit_gate)
        data = ImageData(images, Tasks(db), {"file": store}, staging, image_config.image)
        worker = Worker(db, images, data, Importer(data, worker=name, lease=lease,
                                                   heartbeat=heartbeat), staging, store)
        made.append(worker)
        return worker

    yield make  # type: ignore[misc]
    for w in made:
        await w.db.dispose()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 256 * 1024):
        yield data[i:i + 256 * 1024]


async def staged_import(w: Worker, data: bytes) -> str:
    """An image staged and asked to import by glance-direct, whose worker then died before
    doing anything (nobody was poked)."""
    image = await w.images.create(OWNER, NewImage(name="imp", disk_format="raw",
                                                  container_format="bare"))
    await w.data.stage(OWNER, image.id, _chunks(data), len(data))
    await w.data.start_import(OWNER, image.id, ImportAsk(
        "glance-direct", request={"method": {"name": "glance-direct"}}))
    shown = await w.images.show(OWNER, image.id)
    assert shown.status == "importing"
    return image.id


async def assert_imported(w: Worker, image_id: str, data: bytes, settled: bool = True) -> Image:
    """Active with its data in the store; `settled`: no transfer is left half done either."""
    image = await w.images.show(OWNER, image_id)
    assert image.status == "active" and image.stores == "file"
    assert image.size == len(data) and image.checksum == hashlib.md5(data).hexdigest()
    stored = w.store.root / image_id
    assert stored.read_bytes() == data, "the active image's data must be in the store"
    if settled:
        assert list((w.store.root / ".partial").iterdir()) == []
    assert not (w.staging.root / image_id).exists()
    tasks = await w.data.tasks.for_image(image_id)
    assert [t.status for t in tasks] == ["success"]
    assert image.claimed_by is None  # released
    return image


async def test_two_workers_restarting_import_it_once(workers) -> None:  # type: ignore[no-untyped-def]
    a, b = workers("worker-a"), workers("worker-b")
    data = os.urandom(3 * MiB)
    image_id = await staged_import(a, data)
    # Both start: recovery, then their agents' first pass, at the same time.
    await asyncio.gather(a.data.recover(), b.data.recover())
    await asyncio.gather(a.loop().run_once(), b.loop().run_once())
    await assert_imported(a, image_id, data)
    assert a.staging.reads + b.staging.reads == 1  # one worker imported, the other left it


async def test_a_live_claim_is_left_alone_and_a_lapsed_one_taken_over(workers) -> None:  # type: ignore[no-untyped-def]
    a, b = workers("worker-a"), workers("worker-b", lease=0.3)
    data = os.urandom(MiB + 7)
    image_id = await staged_import(a, data)
    # A worker claimed it and died: its claim holds until the lease runs out.
    assert await b.images.claim(image_id, "dead-worker", 0.5)
    await a.loop().run_once()
    assert (await a.images.show(OWNER, image_id)).status == "importing"
    assert a.staging.reads == 0
    await asyncio.sleep(0.6)
    await a.loop().run_once()
    await assert_imported(a, image_id, data)


async def test_a_stalled_worker_whose_claim_lapsed_commits_nothing(workers) -> None:  # type: ignore[no-untyped-def]
    gate = Gate()
    # A renews too late (it stalls): its claim lapses while it is still reading.
    a = workers("worker-a", lease=0.3, heartbeat=3600, read_gate=gate)
    b = workers("worker-b")
    data = os.urandom(3 * MiB)
    image_id = await staged_import(a, data)
    stalled = asyncio.create_task(a.importer.reconcile(image_id))
    await gate.wait_reached()
    await asyncio.sleep(0.5)
    await b.loop().run_once()  # takes the lapsed claim and imports
    await assert_imported(b, image_id, data, settled=False)  # A still holds a partial file
    gate.go.set()
    await stalled  # A finds its claim gone before committing and stops quietly
    await assert_imported(b, image_id, data)
    assert a.staging.reads == 1 and b.staging.reads == 1


async def test_the_loser_never_deletes_the_winners_file(workers) -> None:  # type: ignore[no-untyped-def]
    gate = Gate()
    # A commits its file, then stalls before recording it: the old failure's interleaving.
    a = workers("worker-a", lease=0.3, heartbeat=3600, commit_gate=gate)
    b = workers("worker-b")
    data = os.urandom(2 * MiB)
    image_id = await staged_import(a, data)
    stalled = asyncio.create_task(a.importer.reconcile(image_id))
    await gate.wait_reached()
    await asyncio.sleep(0.5)
    await b.loop().run_once()  # B imports again and records its own commit
    await assert_imported(b, image_id, data)
    gate.go.set()
    await stalled  # A's transition fails: the image is B's now; A deletes nothing
    await assert_imported(b, image_id, data)
    r = await a.data.download(OWNER, image_id, None)
    assert r is not None
    assert b"".join([c async for c in r.chunks]) == data


async def test_a_copy_to_more_stores_left_by_a_dead_worker_is_resumed(image_config: Config,
                                                                      workers) -> None:  # type: ignore[no-untyped-def]
    a = workers("worker-a")
    data = os.urandom(MiB // 2)
    image_id = await staged_import(a, data)
    await a.loop().run_once()
    # Another worker (with a second store) was asked to copy the image and died: the image
    # says it is importing to "fast", a processing task says so too.
    fast = image_config.state_dir / "store-fast"
    b_store = FileStore(fast)
    b_data = ImageData(a.images, Tasks(a.db), {"file": a.store, "fast": b_store}, a.staging,
                       image_config.image)
    await b_data.start_import(OWNER, image_id, ImportAsk(
        "copy-image", stores=["fast"],
        request={"method": {"name": "copy-image"}, "stores": ["fast"]}))
    await AgentLoop("b", Importer(b_data, worker="worker-b"), 3600).run_once()
    image = await a.images.show(OWNER, image_id)
    assert image.stores == "fast,file"
    assert (fast / image_id).read_bytes() == data
    props = {p.name: p.value for p in image.properties}
    assert props["os_glance_importing_to_stores"] == ""
    assert props["os_glance_failed_import"] == ""
    assert [t.status for t in await a.data.tasks.for_image(image_id)] == ["success", "success"]
