"""Objects on a device directory, as Swift lays them out and with its rules.

    DEVICE/objects/PART/SUFFIX/HASH/TIMESTAMP.data   the bytes, then the metadata (trailer)
    DEVICE/objects/PART/SUFFIX/HASH/TIMESTAMP.meta   metadata of a later POST (JSON)
    DEVICE/objects/PART/SUFFIX/HASH/TIMESTAMP.ts     a tombstone (JSON: name, timestamp)
    DEVICE/tmp/                                      writes in progress
    DEVICE/quarantined/objects/HASH/                 what the auditor found corrupt

HASH is the path's ring hash, SUFFIX its last three hex digits. The newest .data or .ts of a
hash directory is the object's state (last write wins by X-Timestamp on every replica); older
files are removed when a newer one lands.

Metadata lives in a trailer at the end of the .data file, not in extended attributes: ext4
keeps every attribute of a file in one 4 KiB block, less than Swift's metadata may need, and a
trailer lands with the bytes in the same rename, so data and metadata can never disagree.
A write goes to DEVICE/tmp, is fsynced, renamed into place and the directory fsynced before
the server answers 201: an acknowledged write survives a crash, a partial one is never seen.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import struct
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["MAGIC", "DiskFiles", "ObjectState", "WriteError"]

MAGIC = b"OCMETA01"
_TRAILER = struct.Struct(">Q8s")
BATCH = 1 << 20
SYNC_EVERY = 8 << 20
#: Tombstones older than this are removed (Swift's reclaim_age, a week).
RECLAIM_AGE = 7 * 24 * 3600


class WriteError(Exception):
    """A write that cannot be completed: its bytes did not match what the client declared."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class ObjectState:
    """What a hash directory says: the newest data or tombstone, with later metadata."""

    timestamp: str
    deleted: bool
    metadata: dict[str, Any] = field(default_factory=dict)
    data_path: Path | None = None
    length: int = 0


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_trailer(path: Path) -> tuple[dict[str, Any], int]:
    """The metadata of a .data file and the length of its data; ValueError if unreadable."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        if end < _TRAILER.size:
            raise ValueError("no trailer")
        f.seek(end - _TRAILER.size)
        size, magic = _TRAILER.unpack(f.read(_TRAILER.size))
        if magic != MAGIC or size > end - _TRAILER.size:
            raise ValueError("bad trailer")
        f.seek(end - _TRAILER.size - size)
        meta = json.loads(f.read(size))
    if not isinstance(meta, dict):
        raise ValueError("bad trailer")
    return meta, end - _TRAILER.size - size


class DiskFiles:
    """The object files of every device under one devices root."""

    def __init__(self, root: Path):
        self.root = root

    def device(self, device: str) -> Path:
        if not device or "/" in device or device.startswith("."):
            raise ValueError("bad device")
        return self.root / device

    def hash_dir(self, device: str, part: int, name_hash: str) -> Path:
        return self.device(device) / "objects" / str(part) / name_hash[-3:] / name_hash

    # -- state --
    def state(self, device: str, part: int, name_hash: str) -> ObjectState | None:
        return self.state_of(self.hash_dir(device, part, name_hash))

    @staticmethod
    def state_of(hdir: Path) -> ObjectState | None:
        try:
            names = sorted(os.listdir(hdir), reverse=True)
        except FileNotFoundError:
            return None
        metas: list[str] = []
        for name in names:
            if name.endswith(".meta"):
                metas.append(name)
                continue
            ts = name.rsplit(".", 1)[0]
            if name.endswith(".ts"):
                return ObjectState(ts, True, _read_json(hdir / name))
            if name.endswith(".data"):
                try:
                    meta, length = read_trailer(hdir / name)
                except (OSError, ValueError):
                    return None  # unreadable: the auditor quarantines it
                newer = [m for m in metas if m.rsplit(".", 1)[0] > ts]
                if newer:
                    update = _read_json(hdir / newer[0])
                    # A POST replaces the user metadata and may change the content type.
                    meta = {k: v for k, v in meta.items() if not _is_user_meta(k)}
                    meta.update(update)
                return ObjectState(ts, False, meta, hdir / name, length)
        return None

    # -- writes --
    async def write(self, device: str, part: int, name_hash: str, timestamp: str,
                    metadata: dict[str, Any], chunks: AsyncIterator[bytes],
                    expected_length: int | None, expected_etag: str | None,
                    max_size: int) -> str:
        """Stream `chunks` into a new .data file; returns the ETag (md5 hex)."""
        dev = self.device(device)
        tmpdir = dev / "tmp"
        await asyncio.to_thread(tmpdir.mkdir, parents=True, exist_ok=True)
        tmp = tmpdir / f"{uuid.uuid4().hex}.tmp"
        fd = await asyncio.to_thread(os.open, tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        md5 = hashlib.md5(usedforsecurity=False)
        size = synced = 0
        done = False
        try:
            buf: list[bytes] = []
            held = 0
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > max_size:
                    raise WriteError(413, "Request Entity Too Large")
                buf.append(chunk)
                held += len(chunk)
                if held >= BATCH:
                    await asyncio.to_thread(_write_batch, fd, md5, buf)
                    buf, held = [], 0
                    if size - synced >= SYNC_EVERY:
                        # Swift's mb_per_sync: dirty pages go out while the body flows, so
                        # the final fsync is short and the 201 does not wait for all of them.
                        await asyncio.to_thread(os.fdatasync, fd)
                        synced = size
            if buf:
                await asyncio.to_thread(_write_batch, fd, md5, buf)
            if expected_length is not None and size < expected_length:
                raise WriteError(499, "Client Disconnect")
            etag = md5.hexdigest()
            if expected_etag and expected_etag.strip('"').lower() != etag:
                raise WriteError(422, "Unprocessable Entity")
            meta = {**metadata, "ETag": etag, "Content-Length": str(size),
                    "X-Timestamp": timestamp}
            hdir = self.hash_dir(device, part, name_hash)
            await asyncio.to_thread(_finish, fd, tmp, meta, hdir, f"{timestamp}.data")
            done = True
            return etag
        finally:
            if not done:
                await asyncio.to_thread(_discard, fd, tmp)

    async def write_copy(self, src: Path, device: str, part: int, name_hash: str,
                         name: str) -> None:
        """Put a replica's file (a .data, .meta or .ts another device sent) into place."""
        hdir = self.hash_dir(device, part, name_hash)
        await asyncio.to_thread(_place, src, hdir, name)

    async def write_marker(self, device: str, part: int, name_hash: str, timestamp: str,
                           ext: str, metadata: dict[str, Any]) -> None:
        """A tombstone (.ts) or a metadata update (.meta)."""
        dev = self.device(device)
        tmpdir = dev / "tmp"

        def run() -> None:
            tmpdir.mkdir(parents=True, exist_ok=True)
            tmp = tmpdir / f"{uuid.uuid4().hex}.tmp"
            with open(tmp, "wb") as f:
                f.write(json.dumps(metadata).encode())
                f.flush()
                os.fsync(f.fileno())
            _place(tmp, self.hash_dir(device, part, name_hash), f"{timestamp}.{ext}")

        await asyncio.to_thread(run)

    async def open_reader(self, state: ObjectState, start: int, end: int
                          ) -> AsyncIterator[bytes]:
        """Bytes [start, end) of an object's data, in batches."""
        assert state.data_path is not None
        f = await asyncio.to_thread(open, state.data_path, "rb")
        try:
            await asyncio.to_thread(f.seek, start)
            left = end - start
            while left > 0:
                chunk = await asyncio.to_thread(f.read, min(BATCH, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(f.close)

    # -- what the replicator and auditor walk --
    def partitions(self, device: str) -> list[int]:
        base = self.device(device) / "objects"
        try:
            return sorted(int(p) for p in os.listdir(base) if p.isdigit())
        except FileNotFoundError:
            return []

    def suffix_hashes(self, device: str, part: int) -> dict[str, str]:
        """md5 of the file names in each suffix directory: two replicas of a suffix with the
        same hash hold the same files (Swift's REPLICATE answer)."""
        base = self.device(device) / "objects" / str(part)
        out: dict[str, str] = {}
        try:
            suffixes = os.listdir(base)
        except FileNotFoundError:
            return out
        for suffix in suffixes:
            sdir = base / suffix
            if not sdir.is_dir():
                continue
            md5 = hashlib.md5(usedforsecurity=False)
            empty = True
            for hname in sorted(os.listdir(sdir)):
                try:
                    files = sorted(os.listdir(sdir / hname))
                except (FileNotFoundError, NotADirectoryError):
                    continue
                for fname in files:
                    md5.update(f"{hname}/{fname}\n".encode())
                    empty = False
            if not empty:
                out[suffix] = md5.hexdigest()
        return out

    def suffix_files(self, device: str, part: int, suffix: str) -> dict[str, list[str]]:
        base = self.device(device) / "objects" / str(part) / suffix
        out: dict[str, list[str]] = {}
        try:
            for hname in os.listdir(base):
                try:
                    out[hname] = sorted(os.listdir(base / hname))
                except (FileNotFoundError, NotADirectoryError):
                    pass
        except FileNotFoundError:
            pass
        return out

    def data_files(self, device: str) -> Iterator[Path]:
        base = self.device(device) / "objects"
        for root, _dirs, files in os.walk(base):
            for name in files:
                if name.endswith(".data"):
                    yield Path(root) / name

    def quarantine(self, data_file: Path) -> Path:
        """Move a corrupt file aside so it is never served; the replicator restores a copy."""
        hdir = data_file.parent
        dev = hdir.parents[3]
        dest = dev / "quarantined" / "objects" / hdir.name
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / data_file.name
        os.replace(data_file, target)
        try:
            hdir.rmdir()
        except OSError:
            pass
        return target


def _is_user_meta(key: str) -> bool:
    low = key.lower()
    return low.startswith("x-object-meta-") or low in (
        "content-type", "content-disposition", "content-encoding", "x-delete-at",
        "x-object-manifest", "x-static-large-object")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_batch(fd: int, md5: Any, buf: list[bytes]) -> None:
    for chunk in buf:
        md5.update(chunk)
        view = memoryview(chunk)
        while view:
            n = os.write(fd, view)
            view = view[n:]


def _finish(fd: int, tmp: Path, meta: dict[str, Any], hdir: Path, name: str) -> None:
    raw = json.dumps(meta).encode()
    os.write(fd, raw + _TRAILER.pack(len(raw), MAGIC))
    os.fsync(fd)
    os.close(fd)
    _place(tmp, hdir, name)


def _place(tmp: Path, hdir: Path, name: str) -> None:
    """Rename a finished file into its hash directory, fsync the directory, and remove what
    the new file makes obsolete."""
    created = not hdir.exists()
    hdir.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, hdir / name)
    fsync_dir(hdir)
    if created:
        fsync_dir(hdir.parent)
    cleanup(hdir)


def _discard(fd: int, tmp: Path) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass


def cleanup(hdir: Path) -> None:
    """Keep the newest .data or .ts and the newest .meta after it; remove the rest (Swift's
    hash_cleanup_listdir)."""
    try:
        names = sorted(os.listdir(hdir), reverse=True)
    except FileNotFoundError:
        return
    keep: set[str] = set()
    newest_meta: str | None = None
    anchor: str | None = None
    for name in names:
        if name.endswith(".meta"):
            if anchor is None and newest_meta is None:
                newest_meta = name
            continue
        if name.endswith((".data", ".ts")):
            if anchor is None:
                anchor = name
                keep.add(name)
    if newest_meta and anchor and anchor.endswith(".data"):
        keep.add(newest_meta)
    if anchor is None and newest_meta:
        keep.add(newest_meta)  # a POST that raced ahead of its PUT's replica
    for name in names:
        if name not in keep and name.endswith((".data", ".ts", ".meta")):
            try:
                os.unlink(hdir / name)
            except FileNotFoundError:
                pass


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
