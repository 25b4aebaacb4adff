"""The id of the request being served, readable anywhere below the outermost layer
(common/app.py sets it; Placement's error bodies and log lines read it)."""

from __future__ import annotations

import contextvars

__all__ = ["REQUEST_ID", "current_request_id"]

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def current_request_id() -> str:
    """The id of the request being served ("-" outside one)."""
    return REQUEST_ID.get()
