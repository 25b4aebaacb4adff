"""HTTP rules objects follow wherever they are served (object server, large objects in the
proxy): byte ranges (one or several, multipart/byteranges), and conditional requests, as
Swift's swob applies them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from email.utils import parsedate_to_datetime

__all__ = ["RangeError", "check_conditions", "multipart_ranges", "parse_range"]

#: Swift refuses a Range header with more ranges than this (swob.Range.ranges_for_length).
MAX_RANGES = 50


class RangeError(Exception):
    """The ranges cannot be satisfied: 416."""


def parse_range(header: str | None, length: int) -> list[tuple[int, int]] | None:
    """[(start, end_exclusive), ...] for a Range header; None to serve the whole object (no
    header, or one Swift ignores as malformed); RangeError when nothing can be satisfied."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    parsed: list[tuple[int | None, int | None]] = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        first, dash, last = item.partition("-")
        if not dash:
            return None
        try:
            a = int(first) if first.strip() else None
            b = int(last) if last.strip() else None
        except ValueError:
            return None
        if a is None and b is None:
            return None
        if (a is not None and a < 0) or (b is not None and b < 0):
            return None
        if a is not None and b is not None and b < a:
            return None
        parsed.append((a, b))
    if not parsed:
        return None
    if len(parsed) > MAX_RANGES:
        return None
    out: list[tuple[int, int]] = []
    for a, b in parsed:
        if a is None:
            assert b is not None
            if b == 0:
                continue
            out.append((max(0, length - b), length))
        elif a >= length:
            continue
        else:
            out.append((a, length if b is None else min(b + 1, length)))
    if not out:
        raise RangeError()
    return out


def _etag_matches(header: str, etag: str) -> bool:
    tags = [t.strip().strip('"') for t in header.split(",")]
    return "*" in tags or etag.strip('"') in tags


def _date(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def check_conditions(headers: Mapping[str, str], etag: str, last_modified: float,
                     method: str) -> int | None:
    """The status a conditional request gets instead of the object (304 or 412), or None.
    `last_modified` is the whole second clients saw in Last-Modified."""
    if_match = headers.get("if-match")
    if if_match is not None and not _etag_matches(if_match, etag):
        return 412
    if_none = headers.get("if-none-match")
    if if_none is not None and _etag_matches(if_none, etag):
        return 304 if method in ("GET", "HEAD") else 412
    since = _date(headers.get("if-modified-since"))
    if if_none is None and since is not None and last_modified <= since:
        return 304 if method in ("GET", "HEAD") else None
    unmod = _date(headers.get("if-unmodified-since"))
    if if_match is None and unmod is not None and last_modified > unmod:
        return 412
    return None


def boundary() -> str:
    return uuid.uuid4().hex


async def multipart_ranges(ranges: list[tuple[int, int]], length: int, content_type: str,
                           bound: str,
                           read: Callable[[int, int], Awaitable[AsyncIterator[bytes]]]
                           ) -> AsyncIterator[bytes]:
    """A multipart/byteranges body: each range with its own Content-Type and Content-Range."""
    for start, end in ranges:
        yield (f"--{bound}\r\nContent-Type: {content_type}\r\n"
               f"Content-Range: bytes {start}-{end - 1}/{length}\r\n\r\n").encode()
        async for chunk in await read(start, end):
            yield chunk
        yield b"\r\n"
    yield f"--{bound}--".encode()


def multipart_length(ranges: list[tuple[int, int]], length: int, content_type: str,
                     bound: str) -> int:
    total = 0
    for start, end in ranges:
        total += len((f"--{bound}\r\nContent-Type: {content_type}\r\n"
                      f"Content-Range: bytes {start}-{end - 1}/{length}\r\n\r\n").encode())
        total += end - start + 2
    return total + len(f"--{bound}--")
