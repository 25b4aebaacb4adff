"""The scheduler's view of the hosts: one writer (the conductor, from heartbeats and claims),
a small read API (`hosts()`, `get()`), as STYLE.md §8 asks of a structure that drives placement.

Free resources here are the conductor's own accounting (allocation ratios applied) and guide
filters and weighers; with Placement configured, Placement's allocation candidates and claims
are the authority on capacity and this view only filters and ranks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["HostState", "HostView", "Usage"]


@dataclass(frozen=True)
class Usage:
    vcpus: int
    memory_mb: int
    disk_gb: int


@dataclass
class HostState:
    host: str
    node: str
    provider_uuid: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    hypervisor_type: str = "fake"
    availability_zone: str = "nova"
    enabled: bool = True
    last_seen: float = field(default_factory=time.monotonic)
    disabled_reason: str | None = None
    cpu_allocation_ratio: float = 16.0
    ram_allocation_ratio: float = 1.5
    disk_allocation_ratio: float = 1.0
    #: instance uuid -> what it uses here
    usage: dict[str, Usage] = field(default_factory=dict)

    @property
    def used_vcpus(self) -> int:
        return sum(u.vcpus for u in self.usage.values())

    @property
    def used_memory_mb(self) -> int:
        return sum(u.memory_mb for u in self.usage.values())

    @property
    def used_disk_gb(self) -> int:
        return sum(u.disk_gb for u in self.usage.values())

    @property
    def free_vcpus(self) -> float:
        return self.vcpus * self.cpu_allocation_ratio - self.used_vcpus

    @property
    def free_memory_mb(self) -> float:
        return self.memory_mb * self.ram_allocation_ratio - self.used_memory_mb

    @property
    def free_disk_gb(self) -> float:
        return self.disk_gb * self.disk_allocation_ratio - self.used_disk_gb

    def fits(self, need: Usage) -> bool:
        return (need.vcpus <= self.free_vcpus and need.memory_mb <= self.free_memory_mb
                and need.disk_gb <= self.free_disk_gb)

    def up(self, service_down_time: float) -> bool:
        return time.monotonic() - self.last_seen <= service_down_time


class HostView:
    def __init__(self, service_down_time: float = 60.0):
        self.service_down_time = service_down_time
        self._hosts: dict[str, HostState] = {}

    def hosts(self) -> list[HostState]:
        return list(self._hosts.values())

    def get(self, host: str) -> HostState | None:
        return self._hosts.get(host)

    def update(self, state: HostState) -> HostState:
        """Take a heartbeat: resources and liveness replace, the usage ledger stays."""
        old = self._hosts.get(state.host)
        if old is not None:
            state.usage = old.usage
        self._hosts[state.host] = state
        return state

    def add_usage(self, host: str, instance_uuid: str, usage: Usage) -> None:
        state = self._hosts.get(host)
        if state is not None:
            state.usage[instance_uuid] = usage

    def remove_usage(self, instance_uuid: str, host: str | None = None) -> None:
        for state in ([self._hosts[host]] if host in self._hosts else self._hosts.values()):
            state.usage.pop(instance_uuid, None)
