"""The proxy's view of the cluster: the ring, the storage nodes, and the rules of quorum.

Writes go to every primary replica at once and succeed when a quorum (2 of 3) succeeds;
reads take the first good answer, trying the primaries and then handoffs. Account and
container facts (metadata, ACLs, counts) are asked of the nodes and cached briefly, as
Swift's proxy caches them; this proxy's own writes drop its cached entry at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from overcast.object import timestamp
from overcast.object.nodes import NodeError, NodeResponse, Nodes, node_path
from overcast.object.ring import Device, Ring

__all__ = ["Cluster", "Info", "quorum"]

#: Seconds an account's or container's facts are cached (Swift's recheck_*_existence).
INFO_TTL = 3.0


def quorum(n: int) -> int:
    return n // 2 + 1


@dataclass
class Info:
    """An account's or container's answer to HEAD: status and headers (lower-case)."""

    status: int
    headers: dict[str, str]

    @property
    def exists(self) -> bool:
        return 200 <= self.status < 300

    def meta(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def int(self, name: str, default: int = 0) -> int:
        try:
            return int(self.headers.get(name.lower(), default))
        except ValueError:
            return default


class Cluster:
    def __init__(self, ring: Callable[[], Ring], nodes: Nodes):
        self._ring = ring
        self.nodes = nodes
        self._info: dict[tuple[str, ...], tuple[float, Info]] = {}

    @property
    def ring(self) -> Ring:
        return self._ring()

    @staticmethod
    def timestamp() -> str:
        return timestamp.now()

    # -- reads --
    async def read(self, kind: str, names: Sequence[str], method: str = "GET",
                   headers: Mapping[str, str] | None = None, query: str = "",
                   accept: Callable[[NodeResponse], bool] | None = None) -> NodeResponse | None:
        """The first good answer from the replicas of `names` (primaries, then handoffs);
        a 404 if that is all there is; None when no node answered."""
        part, devs = self.ring.get_nodes(*names)
        candidates = list(devs) + list(self.ring.get_more_nodes(part))[: len(devs)]
        not_found: NodeResponse | None = None
        good = accept or (lambda r: r.status < 500 and r.status not in (404, 507))
        for dev in candidates:
            try:
                resp = await self.nodes.request(dev, method, node_path(kind, dev.device, part,
                                                                       *names),
                                                headers, query=query)
            except NodeError:
                continue
            if good(resp):
                if not_found is not None:
                    await not_found.aclose()
                return resp
            if resp.status == 404 and not_found is None:
                not_found = resp
            else:
                await resp.aclose()
        return not_found

    async def info(self, account: str, container: str | None = None, *,
                   fresh: bool = False) -> Info:
        key = (account,) if container is None else (account, container)
        hit = self._info.get(key)
        if hit is not None and not fresh and hit[0] > time.monotonic():
            return hit[1]
        kind = "account" if container is None else "container"
        resp = await self.read(kind, key, "HEAD")
        if resp is None:
            info = Info(503, {})
        else:
            info = Info(resp.status, dict(resp.headers))
            await resp.aclose()
        if info.status != 503:
            self._info[key] = (time.monotonic() + INFO_TTL, info)
        return info

    def forget(self, account: str, container: str | None = None) -> None:
        self._info.pop((account,) if container is None else (account, container), None)

    # -- writes --
    async def write_all(self, kind: str, names: Sequence[str], method: str,
                        headers: Mapping[str, str],
                        per_node: Callable[[int, Device], Mapping[str, str]] | None = None,
                        body: bytes | None = None) -> list[int]:
        """The same small request to every primary; their statuses (503: unreachable)."""
        part, devs = self.ring.get_nodes(*names)

        async def one(i: int, dev: Device) -> int:
            hdrs = dict(headers)
            if per_node is not None:
                hdrs.update(per_node(i, dev))
            try:
                resp = await self.nodes.request(dev, method, node_path(kind, dev.device, part,
                                                                       *names), hdrs, body)
            except NodeError:
                return 503
            await resp.aclose()
            return resp.status

        return list(await asyncio.gather(*(one(i, d) for i, d in enumerate(devs))))

    def container_targets(self, account: str, container: str) -> list[dict[str, str]]:
        """X-Container-* headers for each object replica: replica i updates container
        replica i (Swift spreads the listing updates so)."""
        part, devs = self.ring.get_nodes(account, container)
        return [{"x-container-host": d.address, "x-container-device": d.device,
                 "x-container-partition": str(part)} for d in devs]

    async def stream_to_all(self, names: Sequence[str], headers: Mapping[str, str],
                            body: AsyncIterator[bytes], extra: Callable[[int], Mapping[str, str]]
                            ) -> list[NodeResponse | None]:
        """One object PUT streamed to every primary at once (each gets every chunk; a slow
        node holds the others back only as far as a few chunks). A node that fails drops out;
        the caller decides by quorum."""
        part, devs = self.ring.get_nodes(*names)
        queues: list[asyncio.Queue[bytes | None]] = [asyncio.Queue(maxsize=4) for _ in devs]
        alive = [True] * len(devs)

        def feed(i: int) -> AsyncIterator[bytes]:
            async def gen() -> AsyncIterator[bytes]:
                while True:
                    chunk = await queues[i].get()
                    if chunk is None:
                        return
                    yield chunk
            return gen()

        async def one(i: int, dev: Device) -> NodeResponse | None:
            hdrs = {**headers, **extra(i)}
            try:
                return await self.nodes.request(dev, "PUT", node_path(
                    "object", dev.device, part, *names), hdrs, feed(i))
            except NodeError:
                return None
            finally:
                alive[i] = False

        tasks = [asyncio.create_task(one(i, d)) for i, d in enumerate(devs)]
        try:
            async for chunk in body:
                if not chunk:
                    continue
                for i, q in enumerate(queues):
                    if alive[i]:
                        await _put_while(q, chunk, lambda i=i: alive[i])  # type: ignore[misc]
                if not any(alive):
                    break
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        for i, q in enumerate(queues):
            if alive[i]:
                await _put_while(q, None, lambda i=i: alive[i])  # type: ignore[misc]
        return list(await asyncio.gather(*tasks))


async def _put_while(q: asyncio.Queue[Any], item: Any, alive: Callable[[], bool]) -> None:
    """Put into a node's queue unless the node has stopped reading (then drop it)."""
    try:
        q.put_nowait(item)  # the usual case: no timer and no task per chunk
        return
    except asyncio.QueueFull:
        pass
    while alive():
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel
            async with asyncio.timeout(0.1):
                await q.put(item)
            return
        except TimeoutError:
            continue
