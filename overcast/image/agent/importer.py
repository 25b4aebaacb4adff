"""The importer agent's reconciler: bring an importing image's data into its first store, then
copy it into the other stores its import named.

Desired state is what the import asked for: the image's processing task (method, URI, target
stores) and its `os_glance_importing_to_stores` property (the stores still to fill). Actual
state is the image row (status, the stores holding its data). Before doing anything a worker
claims the image by compare-and-set on its row (`Images.claim`) and renews the claim while it
works; a worker that dies stops renewing, and once its claim lapses the next resync of any
worker takes the image over. Data is committed only under a freshly renewed claim and
recorded only if the claim still holds (`holder=` on the transition), and a worker whose
transition fails deletes the file only when the image is gone: the file may be the new
holder's, committed under the same name.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from types import TracebackType

import httpx
from sqlalchemy import select

from overcast.common import faults
from overcast.common.tasks import cancel_and_wait
from overcast.image.data import BATCH, ImageData, aiter_thread, blocking, offload, pump
from overcast.image.drivers import StoreUnavailable
from overcast.image.models import Image, ImageProperty, Task
from overcast.image.service import FAILED, IMPORTING

__all__ = ["Claim", "Importer", "LostClaim", "Plan", "worker_id"]

log = logging.getLogger("overcast.image.agent.importer")


def worker_id() -> str:
    """This worker's name in claims: host, process and a random part (a restarted process
    with a recycled pid is another worker)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class LostClaim(Exception):
    """This worker no longer holds the image (its claim lapsed and another took it, or the
    image was deleted): stop without touching what is committed."""


class Claim:
    """A held claim on one image, renewed in the background every `heartbeat` seconds.

    `check()` is cheap (between batches of a transfer); `confirm()` renews now and is called
    right before data is committed, so a commit always happens under a live claim."""

    def __init__(self, data: ImageData, image_id: str, worker: str, lease: float,
                 heartbeat: float):
        self.images = data.images
        self.image_id = image_id
        self.worker = worker
        self.lease = lease
        self.heartbeat = heartbeat
        self.lost = False
        self._beat: asyncio.Task[None] | None = None

    def check(self) -> None:
        if self.lost:
            raise LostClaim(self.image_id)

    async def confirm(self) -> None:
        self.check()
        if not await self.images.renew(self.image_id, self.worker, self.lease):
            self.lost = True
            raise LostClaim(self.image_id)

    async def _renew_forever(self) -> None:
        while not self.lost:
            await asyncio.sleep(self.heartbeat)
            try:
                if not await self.images.renew(self.image_id, self.worker, self.lease):
                    self.lost = True
            except Exception:  # the database is away: try again at the next beat
                log.warning("could not renew the claim on image %s", self.image_id, exc_info=True)

    async def __aenter__(self) -> Claim:
        self._beat = asyncio.create_task(self._renew_forever())
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool:
        if self._beat is not None:
            await cancel_and_wait([self._beat])
        if not self.lost:
            # Let another worker go on at once, also when this one is shutting down.
            await asyncio.shield(self.images.release(self.image_id, self.worker))
        if isinstance(exc, LostClaim):
            log.info("image %s: claim lost to another worker; stopped", self.image_id)
            return True
        return False


@dataclass(frozen=True)
class Plan:
    """What an image's import asks for (its desired state)."""

    #: "glance-direct" or "web-download" while the data is still to be brought in; None when
    #: only copies to more stores are left.
    method: str | None
    uri: str | None
    first: str | None
    copies: tuple[str, ...]
    failed: tuple[str, ...]
    task_id: str | None


class Importer:
    """The reconciler the image worker's AgentLoop drives; one per worker."""

    def __init__(self, data: ImageData, *, worker: str | None = None, lease: float = 60,
                 heartbeat: float | None = None):
        self.data = data
        self.images = data.images
        self.worker = worker or worker_id()
        self.lease = lease
        self.heartbeat = heartbeat if heartbeat is not None else lease / 3

    # -- what needs work --
    async def keys(self) -> list[str]:
        """Images being imported, and images with copies to more stores left to make."""
        async with self.images.db.read() as s:
            importing = list(await s.scalars(select(Image.id).where(
                Image.status == "importing")))
            copying = list(await s.scalars(select(ImageProperty.image_id).join(
                Image, Image.id == ImageProperty.image_id).where(
                ImageProperty.name == IMPORTING, ImageProperty.value != "",
                Image.status.in_(("active", "deactivated")))))
        return sorted(set(importing) | set(copying))

    async def observe(self, image_id: str) -> Image | None:
        async with self.images.db.read() as s:
            image = await s.get(Image, image_id)
        return image if image is not None and image.status != "deleted" else None

    async def desired(self, image: Image) -> Plan | None:
        """The import the image's task and progress properties ask for; None: nothing to do."""
        props = {p.name: p.value for p in image.properties}
        left = [sid for sid in props.get(IMPORTING, "").split(",") if sid]
        failed = tuple(sid for sid in props.get(FAILED, "").split(",") if sid)
        tasks = [t for t in await self.data.tasks.for_image(image.id) if t.status == "processing"]
        task = tasks[-1] if tasks else None
        if image.status == "importing":
            method, uri, targets = _asked(task, self.data.default_store)
            first = targets[0] if targets else None
            return Plan(method, uri, first, tuple(s for s in left if s != first), failed,
                        task.id if task else None)
        if image.status in ("active", "deactivated") and left:
            return Plan(None, None, None, tuple(left), failed, task.id if task else None)
        return None

    # -- one pass over one image --
    async def reconcile(self, image_id: str) -> None:
        image = await self.observe(image_id)
        if image is None or await self.desired(image) is None:
            return
        if not await self.images.claim(image_id, self.worker, self.lease):
            return  # another worker has it
        async with Claim(self.data, image_id, self.worker, self.lease, self.heartbeat) as claim:
            # Read again under the claim: the previous holder may have just finished.
            image = await self.observe(image_id)
            plan = await self.desired(image) if image is not None else None
            if image is not None and plan is not None:
                await self.converge(image, plan, claim)

    async def converge(self, image: Image, plan: Plan, claim: Claim) -> None:
        failed = list(plan.failed)
        holding = self.data.holding(image)
        if plan.method is not None:
            error = await self._bring_in(image, plan, claim)
            if error is not None:
                await self._fail(image, plan, error)
                return
            assert plan.first is not None
            holding = [plan.first]
            await self.images.set_import_progress(image.id, importing=list(plan.copies),
                                                  failed=failed)
        left = list(plan.copies)
        for sid in plan.copies:
            claim.check()
            if sid not in holding and not await self._copy(image.id, holding, sid, claim,
                                                           image.size):
                failed.append(sid)
            left.remove(sid)
            await self.images.set_import_progress(image.id, importing=left, failed=failed)
        if plan.task_id:
            copy_failed = [sid for sid in failed if sid in plan.copies]
            if copy_failed:
                await self.data.tasks.finish(plan.task_id, "failure",
                                             message=f"Copying to {', '.join(copy_failed)} failed.")
            else:
                await self.data.tasks.finish(plan.task_id, "success",
                                             result={"image_id": image.id})

    async def _bring_in(self, image: Image, plan: Plan, claim: Claim) -> str | None:
        """The import proper, into its first store; None on success, else why it failed."""
        if plan.method not in ("glance-direct", "web-download"):
            return "The import's request is lost; import the image again."
        if plan.first not in self.data.stores:
            return f"Store {plan.first} is not available on this cloud."
        store = self.data.stores[plan.first]
        # glance-direct: the staged size (a swift store lays a large image out in segments).
        size = image.size if plan.method == "glance-direct" else None
        writer = await offload(store.executor, store.open_writer, image.id, size)
        try:
            if plan.method == "glance-direct":
                staging = self.data.staging
                chunks = aiter_thread(staging.open_reader(image.id), staging.executor)
                stored = await self.data.ingest(writer, image, chunks, None, claim.check)
            else:
                self.data.check_uri(plan.uri)
                assert plan.uri is not None
                async with httpx.AsyncClient(timeout=60, follow_redirects=False) as client, \
                        client.stream("GET", plan.uri) as resp:
                    if resp.status_code != 200:
                        raise faults.BadRequest(f"web-download got HTTP {resp.status_code}")
                    stored = await self.data.ingest(writer, image, resp.aiter_raw(BATCH), None,
                                                    claim.check)
            await claim.confirm()
            await blocking(writer.commit, writer.executor)
        except (LostClaim, asyncio.CancelledError):
            await blocking(writer.abort, writer.executor)
            raise  # another worker has it, or shutting down: whoever claims next resumes
        except Exception as e:
            await blocking(writer.abort, writer.executor)
            if isinstance(e, faults.Fault):
                message = e.message
            elif isinstance(e, FileNotFoundError):
                message = "The staged data is gone; stage the image again."
            else:
                message = "The import failed."
                log.exception("import of image %s failed", image.id)
            log.warning("import of image %s by %s failed: %s", image.id, plan.method, message)
            return message
        if not await self.images.transition(image.id, ("importing",), "active",
                                            holder=self.worker, **stored.columns(plan.first)):
            await self.data.discard(image.id, plan.first)
            raise LostClaim(image.id)
        await offload(self.data.staging.executor, self.data.staging.delete, image.id)
        return None

    async def _fail(self, image: Image, plan: Plan, error: str) -> None:
        """The import cannot succeed: back to queued (the client starts over), as Glance."""
        if not await self.images.transition(image.id, ("importing",), "queued",
                                            holder=self.worker, size=None):
            raise LostClaim(image.id)
        await offload(self.data.staging.executor, self.data.staging.delete, image.id)
        targets = [s for s in (plan.first, *plan.copies) if s]
        await self.images.set_import_progress(image.id, importing=[],
                                              failed=[*plan.failed, *targets])
        if plan.task_id:
            await self.data.tasks.finish(plan.task_id, "failure", message=error)

    async def _copy(self, image_id: str, holding: list[str], store_id: str,
                    claim: Claim, size: int | None) -> bool:
        """Copy the data into one more store; False if it could not."""
        if not holding or store_id not in self.data.stores:
            return False
        source, target = self.data.stores[holding[0]], self.data.stores[store_id]
        writer = await offload(target.executor, target.open_writer, image_id, size)
        try:
            await pump([writer.write], aiter_thread(source.open_reader(image_id), source.executor),
                       1 << 62, faults.RequestTooLarge(), claim.check)
            await claim.confirm()
            await blocking(writer.commit, writer.executor)
        except (LostClaim, asyncio.CancelledError):
            await blocking(writer.abort, writer.executor)
            raise
        except (OSError, StoreUnavailable) as e:
            await blocking(writer.abort, writer.executor)
            log.warning("copying image %s to store %s failed: %s", image_id, store_id, e)
            return False
        if not await self.images.add_store(image_id, store_id, self.worker):
            await self.data.discard(image_id, store_id)
            raise LostClaim(image_id)
        return True


def _asked(task: Task | None, default_store: str) -> tuple[str | None, str | None, list[str]]:
    """(method, uri, target stores) a task's input asked for."""
    if task is None:
        return None, None, []
    data = task.input or {}
    if task.type == "import":  # the legacy /v2/tasks import: a URL into the default store
        uri = data.get("import_from")
        return "web-download", uri if isinstance(uri, str) else None, [default_store]
    request = data.get("import_req")
    method = request.get("method") if isinstance(request, dict) else None
    name = method.get("name") if isinstance(method, dict) else None
    uri = method.get("uri") if isinstance(method, dict) else None
    targets = data.get("backend")
    return (name if isinstance(name, str) else None, uri if isinstance(uri, str) else None,
            [t for t in targets if isinstance(t, str)] if isinstance(targets, list) else [])
