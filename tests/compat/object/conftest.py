"""A cloud with object storage on (a preview service: off in the session's cloud)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from overcast.config import ObjectSection
from tests.compat.conftest import Cloud, start_cloud, stop_cloud
from tests.conftest import require


@pytest.fixture(scope="module")
def object_cloud(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
                 ) -> Iterator[Cloud]:
    require("openstack CLI", shutil.which("openstack", path=str(Path(sys.executable).parent))
            is not None, "pip install python-openstackclient")
    if ObjectSection().enabled:
        yield request.getfixturevalue("cloud")
        return
    c = start_cloud(tmp_path_factory.mktemp("object-cloud"), {"OVERCAST_OBJECT__ENABLED": "true"})
    yield c
    stop_cloud(c)
