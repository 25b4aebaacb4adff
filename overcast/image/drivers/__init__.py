"""Image stores: where image bytes live. One backend today, the local filesystem."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from overcast.image.drivers.file import FileStore

__all__ = ["DRIVERS", "ImageStore", "StoreWriter"]


class StoreWriter(Protocol):
    """One image's bytes on their way in; used from one worker thread at a time."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> str:
        """Make the bytes durable and visible; returns the location to record."""
        ...

    def abort(self) -> None: ...


class ImageStore(Protocol):
    """A store's whole interface (blocking calls: the caller runs them in threads)."""

    name: str

    def open_writer(self, image_id: str) -> StoreWriter: ...

    def open_reader(self, location: str) -> Iterator[bytes]: ...

    def read_range(self, location: str, start: int, length: int, chunk: int) -> Iterator[bytes]: ...

    def delete(self, location: str) -> None: ...

    def abandoned_uploads(self) -> list[str]:
        """Remove partial uploads whose writer died; returns their image ids."""
        ...

    def partial_uploads(self) -> list[str]: ...

    def locations(self) -> Iterator[tuple[str, str]]:
        """(image_id, location) of every complete image file in the store."""
        ...


DRIVERS: dict[str, type[FileStore]] = {"file": FileStore}


def open_store(kind: str, root: Path) -> ImageStore:
    return DRIVERS[kind](root)
