"""The scheduler: where a new volume goes. Filters as Cinder's defaults (availability zone,
capacity with thin over-subscription and reserved space), then the capacity weigher (most free
space wins). One pure function over the pools the agents report (hosts.py)."""

from __future__ import annotations

from collections.abc import Sequence

from overcast.volume.hosts import Pool

__all__ = ["NoValidBackend", "capacity_ok", "pick", "weigh"]


class NoValidBackend(Exception):
    """No pool passes the filters (the volume goes to `error`, as Cinder's)."""


def capacity_ok(pool: Pool, size: int) -> bool:
    """CapacityFilter: room for `size` GiB once reserved space is set aside; a thin pool may
    provision up to max_over_subscription_ratio times its capacity."""
    if pool.total_capacity_gb <= 0:
        return False
    reserved = pool.total_capacity_gb * pool.reserved_percentage / 100
    free = pool.free_capacity_gb - reserved
    if pool.thin_provisioning_support and pool.max_over_subscription_ratio >= 1:
        provisioned_ratio = (pool.provisioned_capacity_gb + size) / pool.total_capacity_gb
        return provisioned_ratio <= pool.max_over_subscription_ratio and free > 0
    return free >= size


def weigh(pool: Pool) -> float:
    """CapacityWeigher: virtual free space (thin pools count their over-subscription)."""
    reserved = pool.total_capacity_gb * pool.reserved_percentage / 100
    if pool.thin_provisioning_support:
        return (pool.total_capacity_gb * pool.max_over_subscription_ratio
                - pool.provisioned_capacity_gb - reserved)
    return pool.free_capacity_gb - reserved


def pick(pools: Sequence[Pool], size: int, zone: str | None,
         only_host: str | None = None) -> Pool:
    """The best pool for a volume of `size` GiB in `zone` (on `only_host` for a clone or a
    volume from a snapshot, which must stay beside its source)."""
    passing = [p for p in pools
               if (zone is None or p.availability_zone == zone)
               and (only_host is None or p.name.split("#")[0] == only_host.split("#")[0])
               and capacity_ok(p, size)]
    if not passing:
        raise NoValidBackend("No valid backend was found.")
    return max(passing, key=weigh)
