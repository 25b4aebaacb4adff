"""Scheduler weighers (Nova's RAMWeigher, CPUWeigher, DiskWeigher): each scores hosts, scores
are normalised to 0..1 over the candidates and summed with multipliers (positive: spread)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from overcast.compute.scheduler.host_view import HostState

__all__ = ["Weigher", "default_weighers", "weigh"]


@dataclass(frozen=True)
class Weigher:
    name: str
    multiplier: float
    value: Callable[[HostState], float]


def default_weighers(ram: float = 1.0, cpu: float = 1.0, disk: float = 1.0) -> list[Weigher]:
    return [Weigher("RAMWeigher", ram, lambda h: h.free_memory_mb),
            Weigher("CPUWeigher", cpu, lambda h: h.free_vcpus),
            Weigher("DiskWeigher", disk, lambda h: h.free_disk_gb)]


def weigh(hosts: Sequence[HostState], weighers: Sequence[Weigher]) -> list[HostState]:
    """Hosts best first (ties keep the given order)."""
    if len(hosts) < 2:
        return list(hosts)
    total = [0.0] * len(hosts)
    for w in weighers:
        if not w.multiplier:
            continue
        values = [w.value(h) for h in hosts]
        lo, hi = min(values), max(values)
        span = hi - lo
        for i, v in enumerate(values):
            total[i] += w.multiplier * ((v - lo) / span if span else 0.0)
    order = sorted(range(len(hosts)), key=lambda i: -total[i])
    return [hosts[i] for i in order]
