"""Neutron's fault types: each class only names the `type` of the NeutronError body."""

from __future__ import annotations

from overcast.common import faults

__all__ = [
    "BadRequest",
    "Conflict",
    "InUse",
    "InvalidInput",
    "IpAddressGenerationFailure",
    "NotFound",
    "OverQuota",
    "PreconditionFailed",
    "fault",
    "not_found",
]


class BadRequest(faults.BadRequest):
    wire_type = "HTTPBadRequest"


class InvalidInput(faults.BadRequest):
    wire_type = "InvalidInput"

    def __init__(self, message: str):
        super().__init__(f"Invalid input for operation: {message}")


class NotFound(faults.NotFound):
    """A resource that does not exist or that the caller may not see: `XNotFound`."""


def not_found(kind: str, ident: str) -> NotFound:
    """Neutron's `NetworkNotFound`, `PortNotFound`, ... for the resource type `kind` (the
    class name's prefix, e.g. "Network", "SecurityGroupRule")."""
    label = {"FloatingIP": "Floating IP", "RbacPolicy": "RBAC policy"}.get(kind)
    words = label or "".join(f" {c.lower()}" if c.isupper() and i else c.lower()
                             for i, c in enumerate(kind))
    f = NotFound(f"{words[0].upper()}{words[1:]} {ident} could not be found.")
    f.wire_type = f"{kind}NotFound"
    return f


class Conflict(faults.Conflict):
    wire_type = "Conflict"


class InUse(faults.Conflict):
    """`NetworkInUse`, `SubnetInUse`, ...: set the type per case."""


class IpAddressGenerationFailure(faults.Conflict):
    wire_type = "IpAddressGenerationFailure"

    def __init__(self, network_id: str):
        super().__init__(f"No more IP addresses available on network {network_id}.")


class OverQuota(faults.Conflict):
    """Neutron answers an exceeded quota with 409, not 413."""

    wire_type = "OverQuota"

    def __init__(self, resource: str):
        super().__init__(f"Quota exceeded for resources: ['{resource}'].")


class PreconditionFailed(faults.Fault):
    code = 412
    wire_type = "RevisionNumberConstraintFailed"


_BY_CODE: dict[int, type[faults.Fault]] = {
    400: faults.BadRequest, 404: faults.NotFound, 409: faults.Conflict}


def fault(code: int, wire_type: str, message: str) -> faults.Fault:
    """A fault of status `code` whose NeutronError type is `wire_type`."""
    f = _BY_CODE[code](message)
    f.wire_type = wire_type
    return f
