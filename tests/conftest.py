"""Shared test fixtures and the one rule for tests that need something outside Python.

`require(what, available, why)`: when a test needs MariaDB, PostgreSQL, RabbitMQ, QEMU or a
similar thing that may be absent on a laptop, it calls this. Locally a missing thing skips the
test; with OVERCAST_REQUIRE_SERVICES=1 (CI) it fails it, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket

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
