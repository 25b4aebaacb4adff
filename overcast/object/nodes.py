"""How the proxy and the storage servers reach a storage server: Swift's HTTP, always.

A device whose port is 0 is served by the storage app in this process (the all-in-one):
the request goes to that ASGI app directly, streamed both ways, with no socket. Any other
device is reached over HTTP. Either way the caller sees one `NodeResponse`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote, unquote

import httpx
from starlette.types import ASGIApp, Message

from overcast.object.ring import Device

__all__ = ["NodeError", "NodeResponse", "Nodes", "node_path"]

log = logging.getLogger("overcast.object.nodes")

Body = bytes | AsyncIterator[bytes] | None


class NodeError(Exception):
    """The node could not be reached or did not answer in time."""


def node_path(kind: str, device: str, part: int | str, *names: str) -> str:
    """/KIND/DEVICE/PART/ACCOUNT[/CONTAINER[/OBJECT]], quoted for the wire."""
    tail = "/".join(quote(n, safe="") if i < 2 else quote(n, safe="/")
                    for i, n in enumerate(names))
    return f"/{kind}/{device}/{part}" + (f"/{tail}" if tail else "")


class NodeResponse:
    def __init__(self, status: int, headers: dict[str, str], body: AsyncIterator[bytes],
                 close: Any = None):
        self.status = status
        self.headers = headers  # lower-case names
        self._body = body
        self._close = close

    def iter_bytes(self) -> AsyncIterator[bytes]:
        return self._body

    async def read(self) -> bytes:
        try:
            return b"".join([c async for c in self._body])
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            await close()

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Nodes:
    """Requests to storage devices; `local` is this process's storage app, if any."""

    def __init__(self, local: ASGIApp | None = None, timeout: float = 10.0):
        self.local = local
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def request(self, dev: Device, method: str, path: str,
                      headers: Mapping[str, str] | None = None, body: Body = None,
                      query: str = "") -> NodeResponse:
        hdrs = {k.lower(): str(v) for k, v in (headers or {}).items()}
        if dev.port == 0:
            if self.local is None:
                raise NodeError("no storage server in this process")
            return await _asgi_request(self.local, method, path, query, hdrs, body,
                                       self.timeout)
        return await self._http(dev, method, path, query, hdrs, body)

    async def _http(self, dev: Device, method: str, path: str, query: str,
                    headers: dict[str, str], body: Body) -> NodeResponse:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout),
                                             limits=httpx.Limits(max_connections=256))
        url = f"http://{dev.ip}:{dev.port}{path}" + (f"?{query}" if query else "")
        content: Any = body if body is not None else b""
        try:
            req = self._client.build_request(method, url, headers=headers, content=content)
            resp = await self._client.send(req, stream=True)
        except httpx.HTTPError as e:
            raise NodeError(str(e)) from e

        async def body_iter() -> AsyncIterator[bytes]:
            try:
                async for chunk in resp.aiter_raw():
                    yield chunk
            except httpx.HTTPError as e:
                raise NodeError(str(e)) from e

        return NodeResponse(resp.status_code, {k.lower(): v for k, v in resp.headers.items()},
                            body_iter(), resp.aclose)


async def _asgi_request(app: ASGIApp, method: str, path: str, query: str,
                        headers: dict[str, str], body: Body, wait: float) -> NodeResponse:
    """One request to an in-process ASGI app, both bodies streamed (httpx's ASGITransport
    reads the whole answer first, which a 5 GiB object cannot afford)."""
    chunks: AsyncIterator[bytes] | None
    if isinstance(body, bytes) or body is None:
        raw = body or b""
        chunks = None
        headers.setdefault("content-length", str(len(raw)))
    else:
        raw = b""
        chunks = body
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": unquote(path),
             "raw_path": path.encode("latin-1", "replace"), "root_path": "",
             "query_string": query.encode("latin-1"),
             "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
             "client": ("127.0.0.1", 0), "server": ("local", 0)}
    start: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=8)
    request_done = False
    response_done = asyncio.Event()

    last_progress = time.monotonic()

    async def receive() -> Message:
        nonlocal request_done, last_progress
        last_progress = time.monotonic()
        if request_done:
            await response_done.wait()
            return {"type": "http.disconnect"}
        if chunks is None:
            request_done = True
            return {"type": "http.request", "body": raw, "more_body": False}
        try:
            chunk = await chunks.__anext__()
        except StopAsyncIteration:
            request_done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            if not start.done():
                start.set_result(message)
        elif message["type"] == "http.response.body":
            data = message.get("body", b"")
            if data:
                await queue.put(data)
            if not message.get("more_body", False):
                response_done.set()
                await queue.put(None)

    async def run() -> None:
        try:
            await app(scope, receive, send)
        except Exception as e:
            if not start.done():
                start.set_exception(NodeError(f"storage server failed: {e}"))
            else:
                log.exception("storage server failed while answering")
        finally:
            response_done.set()
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    task = asyncio.create_task(run())
    try:
        # The node timeout bounds a silence, as Swift's node_timeout does: a large body that
        # keeps flowing may take as long as it needs before the answer starts.
        while not start.done():
            await asyncio.wait({start}, timeout=min(wait, 1.0))
            if not start.done() and time.monotonic() - last_progress > wait:
                raise NodeError("storage server timed out")
    except BaseException:
        task.cancel()
        raise

    async def body_iter() -> AsyncIterator[bytes]:
        while True:
            item = await queue.get()
            if item is None:
                return
            yield item

    async def close() -> None:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    message = start.result()
    resp_headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                    for k, v in message.get("headers", [])}
    return NodeResponse(int(message["status"]), resp_headers, body_iter(), close)
