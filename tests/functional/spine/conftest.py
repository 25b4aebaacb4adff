"""The spine's tests drive Identity and Image together. What they test lives above the
database, so only their SQLite instances run (the services' own functional tests run on every
database kind)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.functional.identity.conftest import keystone  # noqa: F401 - fixtures
from tests.functional.image.conftest import glance, image_config  # noqa: F401 - fixtures

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("cloud_config") if callspec else None
        if HERE in Path(str(item.fspath)).parents and backend not in (None, "sqlite"):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
