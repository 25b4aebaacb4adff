"""A storage node's HTTP server: Swift's account, container and object servers, one app.

Swift runs three servers on three ports; here one app serves all three kinds and the first
path segment says which (the ring names one address per device):

    /object/DEV/PART/ACCOUNT/CONTAINER/OBJECT      PUT GET HEAD POST DELETE
    /container/DEV/PART/ACCOUNT/CONTAINER[/OBJECT] PUT GET HEAD POST DELETE (OBJECT: a row)
    /account/DEV/PART/ACCOUNT[/CONTAINER]          PUT GET HEAD POST DELETE (CONTAINER: a row)
    /replicate/...                                  what the replicators exchange

Every write carries X-Timestamp (the proxy's); the newest wins. The object server updates
the container listing after each change, and keeps an async pending file when the
container server cannot be reached (the updater sends it later). Nothing here authorizes:
storage nodes sit on the cluster's own network, as in Swift.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from overcast.object import httpsemantics as hs
from overcast.object.nodes import NodeError, Nodes, node_path
from overcast.object.ring import Device, Ring
from overcast.object.storage.broker import AccountBroker, ContainerBroker, db_path
from overcast.object.storage.diskfile import DiskFiles, ObjectState, WriteError, fsync_dir
from overcast.object.timestamp import http_date, normalize

__all__ = ["StorageServer"]

log = logging.getLogger("overcast.object.storage")

#: Object metadata the object server keeps from a PUT's headers (besides X-Object-Meta-*).
KEPT = ("content-type", "content-disposition", "content-encoding", "x-delete-at",
        "x-object-manifest", "x-static-large-object", "content-language", "cache-control",
        "expires")
#: ... and what a POST may change.
POSTABLE = ("content-type", "content-disposition", "content-encoding", "x-delete-at",
            "x-object-manifest", "content-language", "cache-control", "expires")


def _text(status: int, body: str = "", headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, headers=headers, media_type="text/plain")


def _ts(request: Request) -> str | None:
    raw = request.headers.get("x-timestamp")
    if raw is None:
        return None
    try:
        return normalize(raw)
    except ValueError:
        return None


class StorageServer:
    """The ASGI app of one storage node (all of its devices under `root`)."""

    def __init__(self, root: Path, ring: Callable[[], Ring], nodes: Nodes | None = None,
                 max_file_size: int = 5368709122):
        self.root = root
        self.files = DiskFiles(root)
        self._ring = ring
        self.nodes = nodes or Nodes(self)
        self.max_file_size = max_file_size
        self._dirty: dict[tuple[str, int, str, str], None] = {}
        self._flusher: asyncio.Task[None] | None = None

    @property
    def ring(self) -> Ring:
        return self._ring()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self.dispatch(request)
        except (ValueError, KeyError) as e:
            log.info("bad storage request %s %s: %s", scope["method"], scope["path"], e)
            response = _text(400, "Bad Request")
        await response(scope, receive, send)

    async def dispatch(self, request: Request) -> Response:
        parts = request.scope["path"].lstrip("/").split("/", 5)
        kind = parts[0]
        if kind == "replicate":
            return await self.replicate(request, parts[1:])
        if len(parts) < 4:
            return _text(400, "Bad Request")
        device, part = parts[1], int(parts[2])
        self.files.device(device)  # refuses a bad device name
        names = parts[3:]
        method = request.method
        handler: Callable[..., Awaitable[Response]] | None = None
        if kind == "object" and len(names) == 3 and names[2]:
            handler = getattr(self, f"object_{method.lower()}", None)
        elif kind == "container" and len(names) in (2, 3):
            handler = getattr(self, f"container_{'row_' if len(names) == 3 else ''}"
                              f"{method.lower()}", None)
        elif kind == "account" and len(names) in (1, 2):
            handler = getattr(self, f"account_{'row_' if len(names) == 2 else ''}"
                              f"{method.lower()}", None)
        if handler is None:
            return _text(405, "Method Not Allowed")
        return await handler(request, device, part, *names)

    # ----------------------------------------------------------------- objects
    def _obj_hash(self, a: str, c: str, o: str) -> str:
        return self.ring.hash(a, c, o)

    async def object_put(self, request: Request, device: str, part: int, a: str, c: str,
                         o: str) -> Response:
        ts = _ts(request)
        if ts is None:
            return _text(400, "Missing timestamp")
        h = self._obj_hash(a, c, o)
        current = await asyncio.to_thread(self.files.state, device, part, h)
        if current is not None and current.timestamp >= ts:
            # An older write than what is here: refused, and the caller learns why.
            return _text(409, "Conflict", {"x-backend-timestamp": current.timestamp})
        meta: dict[str, Any] = {"name": f"/{a}/{c}/{o}"}
        for key, value in request.headers.items():
            low = key.lower()
            if (low.startswith(("x-object-meta-", "x-object-sysmeta-", "x-object-transient-"))
                    or low in KEPT):
                meta[_title(low)] = value
        meta.setdefault("Content-Type", "application/octet-stream")
        length_raw = request.headers.get("content-length")
        expected = int(length_raw) if length_raw and "chunked" not in (
            request.headers.get("transfer-encoding") or "") else None
        try:
            etag = await self.files.write(device, part, h, ts, meta, request.stream(),
                                          expected, request.headers.get("etag"),
                                          self.max_file_size)
        except WriteError as e:
            return _text(e.status, str(e))
        await self._expiring(device, meta.get("X-Delete-At"), a, c, o, ts)
        await self._container_update(request, "PUT", a, c, o, ts, {
            "x-size": request.headers.get("x-backend-container-update-override-size")
            or str(await self._size(device, part, h)),
            "x-content-type": request.headers.get(
                "x-backend-container-update-override-content-type") or meta["Content-Type"],
            "x-etag": request.headers.get("x-backend-container-update-override-etag") or etag})
        return _text(201, "", {"etag": etag, "last-modified": http_date(ts)})

    async def _size(self, device: str, part: int, h: str) -> int:
        state = await asyncio.to_thread(self.files.state, device, part, h)
        return state.length if state else 0

    async def object_get(self, request: Request, device: str, part: int, a: str, c: str,
                         o: str) -> Response:
        return await self._object_read(request, device, part, a, c, o, head=False)

    async def object_head(self, request: Request, device: str, part: int, a: str, c: str,
                          o: str) -> Response:
        return await self._object_read(request, device, part, a, c, o, head=True)

    async def _live(self, device: str, part: int, h: str) -> tuple[ObjectState | None, str]:
        """The object if it exists and has not expired; the timestamp seen either way."""
        state = await asyncio.to_thread(self.files.state, device, part, h)
        if state is None:
            return None, ""
        if state.deleted:
            return None, state.timestamp
        delete_at = state.metadata.get("X-Delete-At")
        if delete_at and _int(delete_at) is not None and int(delete_at) <= time.time():
            return None, state.timestamp
        return state, state.timestamp

    async def _object_read(self, request: Request, device: str, part: int, a: str, c: str,
                           o: str, head: bool) -> Response:
        h = self._obj_hash(a, c, o)
        state, seen = await self._live(device, part, h)
        if state is None:
            return _text(404, "", {"x-backend-timestamp": seen} if seen else None)
        meta = state.metadata
        headers = {k.lower(): str(v) for k, v in meta.items()
                   if k.lower().startswith(("x-object-meta-", "x-object-sysmeta-",
                                            "x-object-transient-")) or k.lower() in KEPT}
        etag = str(meta.get("ETag", ""))
        headers.update({"etag": etag, "x-timestamp": state.timestamp,
                        "x-backend-timestamp": state.timestamp,
                        "x-backend-data-timestamp": state.timestamp,
                        "last-modified": http_date(state.timestamp),
                        "accept-ranges": "bytes"})
        ctype = headers.pop("content-type", "application/octet-stream")
        length = state.length
        check_etag = etag
        at = request.headers.get("x-backend-etag-is-at")
        if at:
            for name in at.split(","):
                if name.strip().title() in meta or name.strip() in meta:
                    check_etag = str(meta.get(name.strip().title(), meta.get(name.strip())))
                    break
        last_mod = float(int(float(state.timestamp)) + (1 if float(state.timestamp) % 1 else 0))
        status = hs.check_conditions(request.headers, check_etag, last_mod, request.method)
        if status is not None:
            return Response(b"", status_code=status, headers={
                k: v for k, v in headers.items() if k in ("last-modified", "x-timestamp")}
                | {"content-type": ctype, "etag": check_etag})
        ignore = request.headers.get("x-backend-ignore-range-if-metadata-present", "")
        ranges_header = request.headers.get("range")
        if ignore and any(n.strip().title() in meta or n.strip() in meta
                          for n in ignore.split(",")):
            ranges_header = None
        try:
            ranges = hs.parse_range(ranges_header, length)
        except hs.RangeError:
            return Response(b"<html><h1>Requested Range Not Satisfiable</h1><p>The Range "
                            b"requested is not available.</p></html>", status_code=416,
                            headers={"content-range": f"bytes */{length}"}
                            | {k: v for k, v in headers.items() if k != "content-length"},
                            media_type="text/html; charset=UTF-8")

        async def read(start: int, end: int) -> AsyncIterator[bytes]:
            return self.files.open_reader(state, start, end)

        if ranges is None:
            headers["content-length"] = str(length)
            headers["content-type"] = ctype
            if head:
                return Response(b"", status_code=200, headers=headers)
            return StreamingResponse(self.files.open_reader(state, 0, length), status_code=200,
                                     headers=headers)
        if len(ranges) == 1:
            start, end = ranges[0]
            headers["content-range"] = f"bytes {start}-{end - 1}/{length}"
            headers["content-length"] = str(end - start)
            headers["content-type"] = ctype
            if head:
                return Response(b"", status_code=206, headers=headers)
            return StreamingResponse(self.files.open_reader(state, start, end), status_code=206,
                                     headers=headers)
        bound = hs.boundary()
        headers["content-type"] = f"multipart/byteranges;boundary={bound}"
        headers["content-length"] = str(hs.multipart_length(ranges, length, ctype, bound))
        if head:
            return Response(b"", status_code=206, headers=headers)
        return StreamingResponse(hs.multipart_ranges(ranges, length, ctype, bound, read),
                                 status_code=206, headers=headers)

    async def object_post(self, request: Request, device: str, part: int, a: str, c: str,
                          o: str) -> Response:
        ts = _ts(request)
        if ts is None:
            return _text(400, "Missing timestamp")
        h = self._obj_hash(a, c, o)
        state, _seen = await self._live(device, part, h)
        if state is None:
            return _text(404)
        if state.timestamp >= ts:
            return _text(409, "Conflict", {"x-backend-timestamp": state.timestamp})
        meta: dict[str, Any] = {"name": f"/{a}/{c}/{o}", "X-Timestamp": ts}
        for key in ("Content-Type", "X-Static-Large-Object"):
            if key in state.metadata:
                meta[key] = state.metadata[key]
        for key, value in request.headers.items():
            low = key.lower()
            if low.startswith(("x-object-meta-", "x-object-transient-")) or low in POSTABLE:
                meta[_title(low)] = value
        await self.files.write_marker(device, part, h, ts, "meta", meta)
        await self._expiring(device, meta.get("X-Delete-At"), a, c, o, ts)
        if "content-type" in request.headers:
            override = request.headers.get
            await self._container_update(request, "PUT", a, c, o, state.timestamp, {
                "x-size": override("x-backend-container-update-override-size")
                or str(state.length),
                "x-content-type": override("x-backend-container-update-override-content-type")
                or meta["Content-Type"],
                "x-etag": override("x-backend-container-update-override-etag")
                or str(state.metadata.get("ETag", ""))}, meta_ts=ts)
        return _text(202)

    async def object_delete(self, request: Request, device: str, part: int, a: str, c: str,
                            o: str) -> Response:
        ts = _ts(request)
        if ts is None:
            return _text(400, "Missing timestamp")
        h = self._obj_hash(a, c, o)
        state, seen = await self._live(device, part, h)
        if_delete_at = request.headers.get("x-if-delete-at")
        if if_delete_at is not None:
            # The expirer's delete: only if the object still carries that X-Delete-At.
            raw = await asyncio.to_thread(self.files.state, device, part, h)
            if raw is None or raw.deleted or str(raw.metadata.get("X-Delete-At")) != if_delete_at:
                return _text(412)
            state = raw
        if seen and seen >= ts:
            return _text(409, "Conflict", {"x-backend-timestamp": seen})
        await self.files.write_marker(device, part, h, ts, "ts",
                                      {"name": f"/{a}/{c}/{o}", "X-Timestamp": ts})
        await self._container_update(request, "DELETE", a, c, o, ts, {})
        return _text(204 if state is not None else 404)

    async def _expiring(self, device: str, delete_at: Any, a: str, c: str, o: str,
                        ts: str) -> None:
        """Note an object that expires, for this node's expirer (an index per device)."""
        when = _int(delete_at)
        if when is None:
            return
        entry = json.dumps({"a": a, "c": c, "o": o, "delete_at": when, "ts": ts}).encode()
        d = self.files.device(device) / "expiring"
        name = f"{when:012d}-{uuid.uuid4().hex}"

        def run() -> None:
            d.mkdir(parents=True, exist_ok=True)
            tmp = d / f".{name}"
            tmp.write_bytes(entry)
            os.replace(tmp, d / name)

        await asyncio.to_thread(run)

    async def _container_update(self, request: Request, op: str, a: str, c: str, o: str,
                                ts: str, headers: dict[str, str], meta_ts: str | None = None
                                ) -> None:
        """Tell the container replica the proxy named; keep it as an async pending if that
        fails (Swift's object server does the same)."""
        host = request.headers.get("x-container-host")
        dev = request.headers.get("x-container-device")
        cpart = request.headers.get("x-container-partition")
        if not (host and dev and cpart):
            return
        update: dict[str, Any] = {"op": op, "host": host, "device": dev, "partition": cpart,
                  "account": a, "container": c, "obj": o,
                  "headers": {**headers, "x-timestamp": ts}}
        if meta_ts:
            update["headers"]["x-meta-timestamp"] = meta_ts
        if not await self.send_update(update):
            await self._save_pending(request.scope["path"].split("/")[2], update)

    async def send_update(self, update: dict[str, Any]) -> bool:
        ip, _, port = str(update["host"]).rpartition(":")
        target = Device(-1, 0, 0, ip, int(port), str(update["device"]), 0.0)
        path = node_path("container", target.device, update["partition"], update["account"],
                         update["container"], update["obj"])
        try:
            resp = await self.nodes.request(target, update["op"], path, update["headers"])
            await resp.aclose()
        except NodeError:
            return False
        return resp.ok

    async def _save_pending(self, device: str, update: dict[str, Any]) -> None:
        d = self.files.device(device) / "async_pending"
        name = f"{uuid.uuid4().hex}-{update['headers']['x-timestamp']}"

        def run() -> None:
            d.mkdir(parents=True, exist_ok=True)
            tmp = d / f".{name}"
            with open(tmp, "wb") as f:
                f.write(json.dumps(update).encode())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, d / name)
            fsync_dir(d)

        await asyncio.to_thread(run)

    # ------------------------------------------------------------- containers
    def _container(self, device: str, part: int, a: str, c: str) -> ContainerBroker:
        return ContainerBroker(db_path(self.root, device, "containers", part,
                                       self.ring.hash(a, c)))

    async def container_put(self, request: Request, device: str, part: int, a: str,
                            c: str) -> Response:
        ts = _ts(request)
        if ts is None:
            return _text(400, "Missing timestamp")
        broker = self._container(device, part, a, c)
        created = await asyncio.to_thread(broker.initialize, a, c, ts)
        await self._set_meta(request, broker, "container", ts)
        await self._account_update(a, c, broker)
        return _text(201 if created else 202)

    async def container_head(self, request: Request, device: str, part: int, a: str,
                             c: str) -> Response:
        broker = self._container(device, part, a, c)
        info = await asyncio.to_thread(broker.info)
        if info is None:
            return _text(404)
        return Response(b"", status_code=204, headers=self._container_headers(info))

    @staticmethod
    def _container_headers(info: dict[str, Any]) -> dict[str, str]:
        headers = {"x-container-object-count": str(info["object_count"]),
                   "x-container-bytes-used": str(info["bytes_used"]),
                   "x-timestamp": info["created_at"],
                   "x-put-timestamp": info["put_timestamp"],
                   "x-backend-put-timestamp": info["put_timestamp"],
                   "x-backend-delete-timestamp": info["delete_timestamp"]}
        for key, (value, _ts) in info["metadata"].items():
            if value != "":
                headers[key.lower()] = value
        return headers

    async def container_get(self, request: Request, device: str, part: int, a: str,
                            c: str) -> Response:
        broker = self._container(device, part, a, c)
        info = await asyncio.to_thread(broker.info)
        if info is None:
            return _text(404)
        q = _query(request)
        entries = await asyncio.to_thread(
            broker.listing, limit=int(q.get("limit", "10000")), marker=q.get("marker", ""),
            end_marker=q.get("end_marker", ""), prefix=q.get("prefix", ""),
            delimiter=q.get("delimiter", ""), reverse=q.get("reverse", "") == "1")
        rows = [{"subdir": e.name} if e.row is None else {
            "name": e.name, "hash": e.row["etag"], "bytes": e.row["size"],
            "content_type": e.row["content_type"], "last_modified": _iso(e.row["created_at"])}
            for e in entries]
        return Response(json.dumps(rows), status_code=200, headers=self._container_headers(info),
                        media_type="application/json")

    async def container_post(self, request: Request, device: str, part: int, a: str,
                             c: str) -> Response:
        ts = _ts(request)
        if ts is None:
            return _text(400, "Missing timestamp")
        broker = self._container(device, part, a, c)
        if await asyncio.to_thread(broker.info) is None:
            return _text(404)
        await self._set_meta(request, broker, "container", ts)
        return _text(204)

    async def container_delete(self, request: Request, device: str, part: int, a: str,
                               c: str) -> Response:
        ts = _ts(request)
        if ts is None:
            return _text(400, "Missing timestamp")
        broker = self._container(device, part, a, c)
        if await asyncio.to_thread(broker.info) is None:
            return _text(404)
        if not await asyncio.to_thread(broker.is_empty):
            return _text(409, "Conflict")
        await asyncio.to_thread(broker.mark_deleted, ts)
        await self._account_update(a, c, broker)
        return _text(204)

    async def container_row_put(self, request: Request, device: str, part: int, a: str, c: str,
                                o: str) -> Response:
        ts = _ts(request)
        if ts is None:
            return _text(400, "Missing timestamp")
        broker = self._container(device, part, a, c)
        if not broker.exists():
            # The container was created while this replica was away: take the update.
            await asyncio.to_thread(broker.initialize, a, c, ts)
        row = {"name": o, "created_at": ts, "size": int(request.headers.get("x-size", "0")),
               "content_type": request.headers.get("x-content-type", ""),
               "etag": request.headers.get("x-etag", ""), "deleted": 0}
        meta_ts = request.headers.get("x-meta-timestamp")
        if meta_ts:
            row["created_at"] = normalize(meta_ts)
        await asyncio.to_thread(broker.merge, [row])
        self._mark_dirty(device, part, a, c)
        return _text(201)

    async def container_row_delete(self, request: Request, device: str, part: int, a: str,
                                   c: str, o: str) -> Response:
        ts = _ts(request)
        if ts is None:
            return _text(400, "Missing timestamp")
        broker = self._container(device, part, a, c)
        if not broker.exists():
            return _text(404)
        await asyncio.to_thread(broker.merge, [{"name": o, "created_at": ts, "size": 0,
                                                "content_type": "", "etag": "", "deleted": 1}])
        self._mark_dirty(device, part, a, c)
        return _text(204)

    def _mark_dirty(self, device: str, part: int, a: str, c: str) -> None:
        """The account learns the container's new counts soon, in one update however many
        objects changed meanwhile (Swift's container updater, at a shorter interval)."""
        self._dirty[(device, part, a, c)] = None
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_dirty())

    async def _flush_dirty(self) -> None:
        await asyncio.sleep(0.05)
        while self._dirty:
            batch = list(self._dirty)
            self._dirty.clear()
            for device, part, a, c in batch:
                try:
                    await self._account_update(a, c, self._container(device, part, a, c))
                except Exception:
                    log.exception("account update of /%s/%s failed", a, c)

    async def _account_update(self, a: str, c: str, broker: ContainerBroker) -> None:
        info = await asyncio.to_thread(broker.raw_info)
        if info is None:
            return
        apart, devs = self.ring.get_nodes(a)
        headers = {"x-put-timestamp": info["put_timestamp"],
                   "x-delete-timestamp": info["delete_timestamp"],
                   "x-object-count": str(info["object_count"]),
                   "x-bytes-used": str(info["bytes_used"]),
                   "x-timestamp": info["put_timestamp"]}

        async def one(dev: Device) -> None:
            try:
                resp = await self.nodes.request(dev, "PUT", node_path(
                    "account", dev.device, apart, a, c), headers)
                await resp.aclose()
            except NodeError:
                pass  # the replicator and the next update catch it up

        await asyncio.gather(*(one(d) for d in devs))

    async def _set_meta(self, request: Request, broker: ContainerBroker | AccountBroker,
                        kind: str, ts: str) -> None:
        updates: dict[str, tuple[str, str]] = {}
        for key, value in request.headers.items():
            low = key.lower()
            if low.startswith((f"x-{kind}-meta-", f"x-{kind}-sysmeta-")) or low in (
                    "x-container-read", "x-container-write", "x-versions-location",
                    "x-history-location", "x-container-sync-to", "x-container-sync-key",
                    "x-versions-mode") or low.startswith("x-remove-"):
                if low.startswith("x-remove-"):
                    updates[low.replace("x-remove-", "x-", 1)] = ("", ts)
                else:
                    updates[low] = (value, ts)
        if updates:
            await asyncio.to_thread(broker.update_metadata, updates)

    # --------------------------------------------------------------- accounts
    def _account(self, device: str, part: int, a: str) -> AccountBroker:
        return AccountBroker(db_path(self.root, device, "accounts", part, self.ring.hash(a)))

    async def account_put(self, request: Request, device: str, part: int, a: str) -> Response:
        ts = _ts(request)
        if ts is None:
            return _text(400, "Missing timestamp")
        broker = self._account(device, part, a)
        created = await asyncio.to_thread(broker.initialize, a, None, ts)
        await self._set_meta(request, broker, "account", ts)
        return _text(201 if created else 202)

    @staticmethod
    def _account_headers(info: dict[str, Any]) -> dict[str, str]:
        headers = {"x-account-container-count": str(info["container_count"]),
                   "x-account-object-count": str(info["object_count"]),
                   "x-account-bytes-used": str(info["bytes_used"]),
                   "x-timestamp": info["created_at"], "x-put-timestamp": info["put_timestamp"]}
        for key, (value, _ts) in info["metadata"].items():
            if value != "":
                headers[key.lower()] = value
        return headers

    async def account_head(self, request: Request, device: str, part: int, a: str) -> Response:
        info = await asyncio.to_thread(self._account(device, part, a).info)
        if info is None:
            return _text(404)
        return Response(b"", status_code=204, headers=self._account_headers(info))

    async def account_get(self, request: Request, device: str, part: int, a: str) -> Response:
        broker = self._account(device, part, a)
        info = await asyncio.to_thread(broker.info)
        if info is None:
            return _text(404)
        q = _query(request)
        entries = await asyncio.to_thread(
            broker.listing, limit=int(q.get("limit", "10000")), marker=q.get("marker", ""),
            end_marker=q.get("end_marker", ""), prefix=q.get("prefix", ""),
            delimiter=q.get("delimiter", ""), reverse=q.get("reverse", "") == "1")
        rows = [{"subdir": e.name} if e.row is None else {
            "name": e.name, "count": e.row["object_count"], "bytes": e.row["bytes_used"],
            "last_modified": _iso(e.row["put_timestamp"])} for e in entries]
        return Response(json.dumps(rows), status_code=200, headers=self._account_headers(info),
                        media_type="application/json")

    async def account_post(self, request: Request, device: str, part: int, a: str) -> Response:
        ts = _ts(request)
        if ts is None:
            return _text(400, "Missing timestamp")
        broker = self._account(device, part, a)
        if await asyncio.to_thread(broker.info) is None:
            return _text(404)
        await self._set_meta(request, broker, "account", ts)
        return _text(204)

    async def account_delete(self, request: Request, device: str, part: int, a: str
                             ) -> Response:
        ts = _ts(request)
        if ts is None:
            return _text(400, "Missing timestamp")
        broker = self._account(device, part, a)
        if await asyncio.to_thread(broker.info) is None:
            return _text(404)
        await asyncio.to_thread(broker.mark_deleted, ts)
        return _text(204)

    async def account_row_put(self, request: Request, device: str, part: int, a: str,
                              c: str) -> Response:
        broker = self._account(device, part, a)
        put_ts = normalize(request.headers.get("x-put-timestamp", "0"))
        if not broker.exists():
            await asyncio.to_thread(broker.initialize, a, None, put_ts)
        await asyncio.to_thread(
            broker.merge_container, c, put_ts,
            normalize(request.headers.get("x-delete-timestamp", "0")),
            int(request.headers.get("x-object-count", "0")),
            int(request.headers.get("x-bytes-used", "0")))
        return _text(201)

    # ------------------------------------------------------------ replication
    async def replicate(self, request: Request, parts: list[str]) -> Response:
        """What peers exchange: suffix hashes, a suffix's file names, a file, a database."""
        what = parts[0] if parts else ""
        if what == "hashes" and len(parts) == 3:  # GET /replicate/hashes/DEV/PART
            hashes = await asyncio.to_thread(self.files.suffix_hashes, parts[1], int(parts[2]))
            return Response(json.dumps(hashes), media_type="application/json")
        if what == "suffix" and len(parts) >= 4:  # GET /replicate/suffix/DEV/PART/SUFFIX
            dev, part, suffix = parts[1], int(parts[2]), parts[3].split("/")[0]
            files = await asyncio.to_thread(self.files.suffix_files, dev, part, suffix)
            return Response(json.dumps(files), media_type="application/json")
        if what == "file" and len(parts) >= 4:
            # PUT /replicate/file/DEV/PART/HASH/NAME: a replica's file, as it is on its device
            dev, part = parts[1], int(parts[2])
            name_hash, _, fname = "/".join(parts[3:]).partition("/")
            if not fname.endswith((".data", ".ts", ".meta")) or "/" in fname:
                return _text(400)
            tmpdir = self.files.device(dev) / "tmp"
            await asyncio.to_thread(tmpdir.mkdir, parents=True, exist_ok=True)
            tmp = tmpdir / f"{uuid.uuid4().hex}.tmp"
            f = await asyncio.to_thread(open, tmp, "wb")
            try:
                async for chunk in request.stream():
                    await asyncio.to_thread(f.write, chunk)
                await asyncio.to_thread(f.flush)
                await asyncio.to_thread(os.fsync, f.fileno())
            finally:
                await asyncio.to_thread(f.close)
            await self.files.write_copy(tmp, dev, part, name_hash, fname)
            return _text(201)
        if what == "db" and len(parts) >= 4:
            # GET|PUT /replicate/db/KIND/DEV/PART/HASH: a database's stat and rows
            kind, rest = parts[1], parts[2:]
            dev, part, name_hash = rest[0], int(rest[1]), rest[2] if len(rest) > 2 else ""
            if kind not in ("accounts", "containers") or not name_hash:
                return _text(400)
            cls = AccountBroker if kind == "accounts" else ContainerBroker
            broker = cls(db_path(self.root, dev, kind, part, name_hash))
            if request.method == "GET":
                info = await asyncio.to_thread(broker.raw_info)
                if info is None:
                    return _text(404)
                rows = await asyncio.to_thread(broker.rows)
                return Response(json.dumps({"stat": info, "rows": rows}),
                                media_type="application/json")
            body = json.loads(await request.body())
            stat = body["stat"]
            if not broker.exists():
                await asyncio.to_thread(broker.initialize, stat["account"], stat["container"],
                                        stat["put_timestamp"])
            await asyncio.to_thread(broker.merge_stat, stat)
            await asyncio.to_thread(broker.merge, body["rows"])
            return _text(204)
        return _text(400)


def _title(low: str) -> str:
    return "-".join(w.capitalize() for w in low.split("-"))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _query(request: Request) -> dict[str, str]:
    raw = parse_qs(request.url.query, keep_blank_values=True)
    return {k: v[0] for k, v in raw.items()}


def _iso(ts: str) -> str:
    t = float(ts)
    return f"{_iso_seconds(int(t))}.{round((t % 1) * 1e6):06d}"


@functools.lru_cache(maxsize=4096)
def _iso_seconds(t: int) -> str:
    """The whole seconds part (a listing's rows often share their second)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
