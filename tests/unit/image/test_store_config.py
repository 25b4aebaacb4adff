"""`[image] extra_stores`: file stores by directory, swift stores by container."""

from __future__ import annotations

from pathlib import Path

import pytest

from overcast.config import Config, ImageStoreSpec


def _stores(extra: str, **image: object) -> dict[str, ImageStoreSpec]:
    config = Config(state_dir=Path("/srv/oc"))
    config.image.extra_stores = extra
    for key, value in image.items():
        setattr(config.image, key, value)
    return config.image_stores


def test_file_and_swift_stores() -> None:
    stores = _stores("fast=/ssd/images, old=file:/hdd/images,swift-store=swift,"
                     "other=swift:images_b")
    assert stores == {
        "file": ImageStoreSpec("file", path=Path("/srv/oc/images")),
        "fast": ImageStoreSpec("file", path=Path("/ssd/images")),
        "old": ImageStoreSpec("file", path=Path("/hdd/images")),
        "swift-store": ImageStoreSpec("swift", container="glance"),
        "other": ImageStoreSpec("swift", container="images_b"),
    }
    assert _stores("s=swift", swift_store_container="imgs")["s"].container == "imgs"


@pytest.mark.parametrize("extra", ["nodir", "=x", "a=", "file=/x", "a=/x,a=/y", "s=swift:",
                                   "s=swift:a/b"])
def test_bad_entries_are_refused(extra: str) -> None:
    with pytest.raises(ValueError, match="extra_stores"):
        _stores(extra)
