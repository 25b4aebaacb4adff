"""Image stores: where image bytes live: a directory (file.py) or a Swift container
(swift.py, through the object-store API)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from typing import Protocol

from overcast.image.drivers.file import FileStore
from overcast.image.drivers.swift import StoreUnavailable, SwiftStore

__all__ = ["DRIVERS", "FileStore", "ImageStore", "StoreUnavailable", "StoreWriter",
           "SwiftStore"]


class StoreWriter(Protocol):
    """One image's bytes on their way in; used from one worker thread at a time."""

    @property
    def executor(self) -> Executor | None:
        """Where its blocking calls run (None: the event loop's default executor)."""
        ...

    def write(self, data: bytes) -> None: ...

    def commit(self) -> str:
        """Make the bytes durable and visible; returns the location to record."""
        ...

    def abort(self) -> None: ...


class ImageStore(Protocol):
    """A store's whole interface (blocking calls: the caller runs them in threads)."""

    name: str

    @property
    def executor(self) -> Executor | None:
        """Where its blocking calls run: None for the loop's default executor; a store whose
        calls wait on services of the same process (swift, in `overcast up`) has its own, so
        that they never hold every thread those services need."""
        ...

    def open_writer(self, image_id: str, size: int | None = None) -> StoreWriter:
        """`size`: the bytes to come, when known (a store may lay out a large image
        differently)."""
        ...

    def open_reader(self, location: str) -> Iterator[bytes]: ...

    def read_range(self, location: str, start: int, length: int, chunk: int) -> Iterator[bytes]: ...

    def delete(self, location: str) -> None: ...

    def abandoned_uploads(self) -> list[str]:
        """Remove partial uploads whose writer died; returns their image ids."""
        ...

    def partial_uploads(self) -> list[str]: ...

    def locations(self) -> Iterator[tuple[str, str]]:
        """(image_id, location) of every image's data in the store (complete or not, when
        the store cannot tell: recovery removes what no image owns)."""
        ...

    async def aclose(self) -> None:
        """Release connections (the service is stopping)."""
        ...


DRIVERS: dict[str, type[FileStore] | type[SwiftStore]] = {"file": FileStore,
                                                          "swift": SwiftStore}
