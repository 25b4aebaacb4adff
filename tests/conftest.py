"""Shared test fixtures and the one rule for tests that need something outside Python.

`require(what, available, why)`: when a test needs MariaDB, PostgreSQL, RabbitMQ, QEMU or a
similar thing that may be absent on a laptop, it calls this. Locally a missing thing skips the
test; with OVERCAST_REQUIRE_SERVICES=1 (CI) it fails it, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from typing import Any

import pytest

REQUIRE_SERVICES = os.environ.get("OVERCAST_REQUIRE_SERVICES") == "1"

# Every in-process request a test makes proves its route checked the policy rule it declares
# (common/app.py _policy_checked): a success without that check fails the test.
os.environ.setdefault("OVERCAST_STRICT_POLICY", "1")


def require(what: str, available: bool, why: str = "") -> None:
    """Skip (locally) or fail (CI) the calling test when `what` is not available."""
    if available:
        return
    message = f"{what} is not available" + (f": {why}" if why else "")
    if REQUIRE_SERVICES:
        pytest.fail(message + " (OVERCAST_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_binary(name: str) -> str:
    """The path of an executable on PATH, or skip/fail via `require`."""
    path = shutil.which(name)
    require(name, path is not None, "not on PATH")
    assert path is not None
    return path


# -- parallel runs (scripts/test.sh runs pytest-xdist) ----------------------------------------
# Which tests start first, longest first: a tempest run or a client walkthrough takes minutes,
# a unit test milliseconds, so the long ones must not be left for the end.
_FIRST = ("tests/tempest/", "tests/compat/", "tests/integration/", "tests/functional/",
          "tests/parity/")
#: Files whose test functions are long and independent (each seeds its own cloud): one unit
#: per function, or the file would be the run's tail on one worker.
_SPLIT_BY_FUNCTION = frozenset({"tests/functional/test_openapi.py"})
_KINDS = re.compile(r"\[(?:[^\]]*-)?(sqlite|mariadb|postgresql)(?:-[^\]]*)?\]")


def _rank(nodeid: str) -> int:
    return next((i for i, p in enumerate(_FIRST) if nodeid.startswith(p)), len(_FIRST))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: _rank(item.nodeid))  # stable: a file's tests stay in order


def work_unit(nodeid: str) -> str:
    """What one worker runs together: a file (its module fixtures start a cloud once), split by
    database kind for the functional tests (each kind has its own databases) or by function
    for the files in _SPLIT_BY_FUNCTION, and all of tests/parity (one session cloud)."""
    if nodeid.startswith("tests/parity/"):
        return "tests/parity"
    path = nodeid.split("::", 1)[0]
    if path in _SPLIT_BY_FUNCTION:
        return nodeid.split("[", 1)[0]
    kind = _KINDS.search(nodeid) if nodeid.startswith("tests/functional/") else None
    return f"{path}[{kind.group(1)}]" if kind else path


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class ByWorkUnit(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return ByWorkUnit(config, log)
