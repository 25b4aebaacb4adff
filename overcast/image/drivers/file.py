"""The filesystem store: ROOT/<image id> once complete, ROOT/.partial/ while uploading.

An upload writes ROOT/.partial/<image id>.<random>, holding an exclusive flock on it for as
long as its writer lives; commit fsyncs the file, renames it to ROOT/<image id> and fsyncs the
directory, so a crash leaves either no file or a complete one. A partial file whose lock can be
taken has lost its writer (the process died): `abandoned_uploads` removes it. flock works
across processes on one host and on NFSv4, so several workers may share the store.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

__all__ = ["FileStore", "FileWriter"]

PARTIAL = ".partial"
READ_CHUNK = 1 << 20


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileWriter:
    """A partial file under an exclusive lock; `commit` makes it the image's file."""

    executor = None  # the loop's default

    def __init__(self, root: Path, image_id: str):
        self.final = root / image_id
        self.path = root / PARTIAL / f"{image_id}.{secrets.token_hex(4)}"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.closed = False

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def commit(self) -> str:
        os.fsync(self.fd)
        os.replace(self.path, self.final)
        _fsync_dir(self.final.parent)
        self._close()
        return self.final.name

    def abort(self) -> None:
        if self.closed:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self._close()

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.fd)  # drops the lock


class FileStore:
    """Image files under one directory."""

    name = "file"
    executor = None  # the loop's default

    def __init__(self, root: Path):
        self.root = root
        (root / PARTIAL).mkdir(parents=True, exist_ok=True)

    def open_writer(self, image_id: str, size: int | None = None) -> FileWriter:
        return FileWriter(self.root, image_id)

    def _path(self, location: str) -> Path:
        # Locations are written by this store (an image id); refuse anything else.
        if "/" in location or location.startswith("."):
            raise ValueError("not a location of this store")
        return self.root / location

    def open_reader(self, location: str) -> Iterator[bytes]:
        return self.read_range(location, 0, -1, READ_CHUNK)

    def read_range(self, location: str, start: int, length: int, chunk: int) -> Iterator[bytes]:
        """Yield `length` bytes from `start` (all the rest when length < 0)."""
        with open(self._path(location), "rb", buffering=0) as f:
            f.seek(start)
            left = length
            while left != 0:
                data = f.read(chunk if left < 0 else min(chunk, left))
                if not data:
                    return
                if left > 0:
                    left -= len(data)
                yield data

    def size(self, location: str) -> int:
        return self._path(location).stat().st_size

    def delete(self, location: str) -> None:
        try:
            os.unlink(self._path(location))
        except FileNotFoundError:
            pass

    def abandoned_uploads(self) -> list[str]:
        dead: list[str] = []
        for path in (self.root / PARTIAL).iterdir():
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                path.unlink(missing_ok=True)
                dead.append(path.name.split(".", 1)[0])
            except BlockingIOError:
                pass  # its writer is alive
            finally:
                os.close(fd)
        return dead

    def partial_uploads(self) -> list[str]:
        """Image ids with a partial file (live or not yet cleaned up)."""
        return [p.name.split(".", 1)[0] for p in (self.root / PARTIAL).iterdir()]

    def locations(self) -> Iterator[tuple[str, str]]:
        for path in self.root.iterdir():
            if path.is_file() and not path.name.startswith("."):
                yield path.name, path.name

    async def aclose(self) -> None:
        pass
