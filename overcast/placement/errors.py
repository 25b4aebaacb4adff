"""Placement's error codes (microversion 1.23): each names a fault the API raises, so a client
can tell two 409s apart. Subclasses exist only to carry the wire code (STYLE.md §5)."""

from __future__ import annotations

from overcast.common import faults

__all__ = ["CannotDeleteParent", "ConcurrentUpdate", "DuplicateName", "DuplicateQueryKey",
           "InventoryInUse", "ProviderInUse", "ProviderNotFound", "QueryBadValue",
           "QueryMissingValue"]


class ConcurrentUpdate(faults.Conflict):
    """A generation (provider or consumer) moved under the caller: re-read and retry."""

    wire_type = "placement.concurrent_update"


class DuplicateName(faults.Conflict):
    wire_type = "placement.duplicate_name"


class InventoryInUse(faults.Conflict):
    wire_type = "placement.inventory.inuse"


class ProviderInUse(faults.Conflict):
    wire_type = "placement.resource_provider.inuse"


class CannotDeleteParent(faults.Conflict):
    wire_type = "placement.resource_provider.cannot_delete_parent"


class ProviderNotFound(faults.NotFound):
    wire_type = "placement.resource_provider.not_found"


class DuplicateQueryKey(faults.BadRequest):
    wire_type = "placement.query.duplicate_key"


class QueryBadValue(faults.BadRequest):
    wire_type = "placement.query.bad_value"


class QueryMissingValue(faults.BadRequest):
    wire_type = "placement.query.missing_value"
