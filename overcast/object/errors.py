"""The statuses Swift answers that the common fault tree does not name."""

from __future__ import annotations

from overcast.common.faults import Fault

__all__ = ["ClientDisconnect", "InsufficientStorage", "LengthRequired", "PreconditionFailed",
           "Unprocessable", "status_fault"]


class LengthRequired(Fault):
    code = 411


class PreconditionFailed(Fault):
    code = 412


class Unprocessable(Fault):
    code = 422


class ClientDisconnect(Fault):
    code = 499


class InsufficientStorage(Fault):
    code = 507


def status_fault(code: int, message: str | None = None,
                 headers: dict[str, str] | None = None) -> Fault:
    """A fault for any status a storage node answered, to pass it on to the client."""
    fault = Fault(message, headers=headers)
    fault.code = code
    if message is None:
        fault.message = fault.title
    return fault
