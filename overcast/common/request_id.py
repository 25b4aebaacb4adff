"""Facts about the request being served, readable anywhere below where they are set: its id
(common/app.py sets it for every request) and, for a service whose error bodies change with the
microversion (Placement's `code`, from 1.23), the version its routes negotiated."""

from __future__ import annotations

import contextvars

__all__ = ["MICROVERSION", "REQUEST_ID", "current_microversion", "current_request_id"]

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
#: (0, 0) until a service's route dependency records the negotiated version.
MICROVERSION: contextvars.ContextVar[tuple[int, int]] = contextvars.ContextVar(
    "microversion", default=(0, 0))


def current_request_id() -> str:
    """The id of the request being served ("-" outside one)."""
    return REQUEST_ID.get()


def current_microversion() -> tuple[int, int]:
    return MICROVERSION.get()
