"""Scheduler filters (Nova's names): each says whether a host can take one instance of a
request. Pure functions of (host, request); the scheduler runs them in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from overcast.compute.scheduler.host_view import HostState

if TYPE_CHECKING:
    from overcast.compute.scheduler import RequestSpec

__all__ = ["DEFAULT_FILTERS", "Filter"]

Filter = Callable[[HostState, "RequestSpec", float], bool]


def compute_filter(host: HostState, spec: RequestSpec, down_time: float) -> bool:
    """ComputeFilter: the compute service is enabled and up."""
    return host.enabled and host.disabled_reason is None and host.up(down_time)


def availability_zone_filter(host: HostState, spec: RequestSpec, down_time: float) -> bool:
    """AvailabilityZoneFilter: the requested zone (if any) is the host's."""
    return spec.availability_zone is None or spec.availability_zone == host.availability_zone


def image_properties_filter(host: HostState, spec: RequestSpec, down_time: float) -> bool:
    """ImagePropertiesFilter: the image's hypervisor_type / hw_architecture fit the host."""
    props = spec.image.properties if spec.image is not None else {}
    want = props.get("hypervisor_type") or props.get("img_hv_type")
    if want and str(want).lower() not in (host.hypervisor_type.lower(), "qemu" if
                                          host.hypervisor_type.lower() == "fake" else ""):
        return False
    arch = props.get("hw_architecture") or props.get("architecture")
    return not arch or str(arch).lower() in ("x86_64", "amd64", "i686")


def affinity_filter(host: HostState, spec: RequestSpec, down_time: float) -> bool:
    """ServerGroupAffinityFilter: with an affinity group, only the group's host (if any)."""
    if spec.group_policy != "affinity" or not spec.group_hosts:
        return True
    return host.host in spec.group_hosts


def anti_affinity_filter(host: HostState, spec: RequestSpec, down_time: float) -> bool:
    """ServerGroupAntiAffinityFilter: never a host of the group's members (max_server_per_host
    rule: 1)."""
    if spec.group_policy != "anti-affinity":
        return True
    return host.host not in spec.group_hosts


def host_hints_filter(host: HostState, spec: RequestSpec, down_time: float) -> bool:
    """SameHostFilter / DifferentHostFilter and `zone:host` forcing."""
    if spec.force_host and host.host != spec.force_host:
        return False
    if spec.force_node and host.node != spec.force_node:
        return False
    if spec.same_host and not spec.same_host & set(host.usage):
        return False
    return not (spec.different_host and spec.different_host & set(host.usage))


def ignore_hosts_filter(host: HostState, spec: RequestSpec, down_time: float) -> bool:
    """Hosts a build already failed on (reschedules) are not tried again."""
    return host.host not in spec.ignore_hosts


DEFAULT_FILTERS: tuple[Filter, ...] = (ignore_hosts_filter, compute_filter,
                                       availability_zone_filter, image_properties_filter,
                                       affinity_filter, anti_affinity_filter, host_hints_filter)
