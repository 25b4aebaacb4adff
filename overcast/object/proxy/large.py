"""Large objects: dynamic (X-Object-Manifest: every object under a prefix, in name order)
and static (a JSON manifest of segments, checked when it is put).

Both are served by reading their segments in order; a Range maps onto the segments, so
only the bytes asked for are read."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from overcast.common import faults

__all__ = ["MAX_SEGMENTS", "Segment", "parse_slo_put", "slice_segments", "slo_etag"]

#: Swift's max_manifest_segments.
MAX_SEGMENTS = 1000
#: Swift's max_manifest_size.
MAX_MANIFEST_SIZE = 8 * 1024 * 1024


@dataclass
class Segment:
    container: str
    obj: str
    length: int
    etag: str
    #: bytes [first, last] of the segment object that belong to the large object
    first: int = 0
    last: int | None = None

    @property
    def size(self) -> int:
        end = self.length - 1 if self.last is None else self.last
        return end - self.first + 1


def slo_etag(segments: list[dict[str, Any]]) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    for seg in segments:
        md5.update(str(seg["hash"]).strip('"').encode())
        if seg.get("range"):
            md5.update(f":{seg['range']};".encode())
    return md5.hexdigest()


def dlo_etag(etags: list[str]) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    for e in etags:
        md5.update(e.strip('"').encode())
    return md5.hexdigest()


def parse_slo_put(raw: bytes) -> list[dict[str, Any]]:
    """The segments a manifest PUT names; 400 in Swift's words when it is malformed."""
    if len(raw) > MAX_MANIFEST_SIZE:
        raise faults.RequestTooLarge("Manifest File > 8388608 bytes")
    try:
        items = json.loads(raw)
    except ValueError:
        raise faults.BadRequest("Manifest must be valid JSON.\n") from None
    if not isinstance(items, list):
        raise faults.BadRequest("Manifest must be a list.\n")
    if len(items) > MAX_SEGMENTS:
        raise faults.RequestTooLarge(f"Too many segments in manifest; max {MAX_SEGMENTS}")
    if not items:
        raise faults.BadRequest("Manifest must have at least one segment.\n")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "path" not in item:
            raise faults.BadRequest(f"Index {i}: expected keys to include path\n")
        extra = set(item) - {"path", "etag", "size_bytes", "range"}
        if extra:
            raise faults.BadRequest(f"Index {i}: extraneous keys {sorted(extra)}\n")
        path = str(item["path"])
        container, sep, obj = unquote(path).lstrip("/").partition("/")
        if not sep or not container or not obj or "\x00" in container + obj:
            raise faults.BadRequest(f"Index {i}: path does not refer to an object. Path must "
                                    f"be of the form /container/object.\n")
        size = item.get("size_bytes")
        if size is not None:
            try:
                size = int(size)
            except (TypeError, ValueError):
                raise faults.BadRequest(f"Index {i}: invalid size_bytes\n") from None
        etag = item.get("etag")
        if etag is not None and not isinstance(etag, str):
            raise faults.BadRequest(f"Index {i}: invalid etag\n")
        out.append({"container": container, "obj": obj, "size_bytes": size, "etag": etag,
                    "range": item.get("range")})
    return out


def parse_seg_range(raw: str | None, length: int) -> tuple[int, int | None]:
    if not raw:
        return 0, None
    first, _, last = raw.partition("-")
    if not first:
        n = int(last)
        return max(0, length - n), length - 1
    return int(first), (int(last) if last else length - 1)


def slice_segments(segments: list[Segment], start: int, end: int) -> list[Segment]:
    """The parts of `segments` that hold bytes [start, end) of the whole."""
    out = []
    offset = 0
    for seg in segments:
        size = seg.size
        lo, hi = offset, offset + size
        offset = hi
        if hi <= start or lo >= end:
            continue
        first = seg.first + max(0, start - lo)
        last = seg.first + min(size, end - lo) - 1
        out.append(Segment(seg.container, seg.obj, seg.length, seg.etag, first, last))
    return out


async def stream_segments(segments: list[Segment],
                          fetch: Callable[[Segment], Awaitable[AsyncIterator[bytes]]]
                          ) -> AsyncIterator[bytes]:
    for seg in segments:
        async for chunk in await fetch(seg):
            yield chunk
