"""Helpers that every kind of test shares, written once: a free port, an environment scrubbed of
the developer's Overcast and OpenStack settings, waiting for an HTTP server to answer, and
Keystone's password-authentication body. (The skip-or-fail rule `require` is in tests/conftest.py.)
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

SCRUBBED_PREFIXES = ("OVERCAST_", "OS_")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrubbed_env(**overrides: str) -> dict[str, str]:
    """This process's environment without OVERCAST_* and OS_* variables, then `overrides`: a
    developer's own cloud settings or credentials must not reach the cloud or client under test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
    env.update(overrides)
    return env


def wait_http(url: str, *, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None,
              status: int | None = None, seconds: float = 60.0) -> None:
    """Return once `url` answers (with `status`, when given). RuntimeError, with the server's log,
    when `proc` exits first or `seconds` pass."""

    def tail() -> str:
        return f":\n{log.read_text()}" if log is not None else ""

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}){tail()}")
        try:
            answered = httpx.get(url, timeout=1).status_code
        except httpx.HTTPError:
            answered = None
        if answered is not None and status in (None, answered):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {seconds:.0f} s{tail()}")


def password_auth(user: str, password: str, project: str | None = "admin",
                  domain: str = "Default") -> dict[str, Any]:
    """The body of POST /v3/auth/tokens for a password login; project-scoped unless
    `project` is None (then unscoped)."""
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": {"name": domain}, "password": password}}}}}
    if project:
        body["auth"]["scope"] = {"project": {"name": project, "domain": {"name": domain}}}
    return body
