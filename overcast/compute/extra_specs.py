"""Flavor extra spec validation (microversion 2.86): keys in a namespace Nova knows must be keys
Nova knows, with values of the right kind; keys in other namespaces (`foo:bar`) and keys
without one pass, as Nova's validators do. The table covers the namespaces a libvirt/QEMU cloud
uses (hw, hw_rng, hw_video, quota, os, resources, trait, accel, pci_passthrough, vmware and the
unnamespaced keys); `aggregate_instance_extra_specs` and `capabilities` take anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from overcast.common import faults

__all__ = ["validate_extra_specs"]

Check = Callable[[str], bool]

_TRUE_FALSE = {"1", "t", "true", "on", "y", "yes", "0", "f", "false", "off", "n", "no"}
_MASK = r"\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"


def _bool(v: str) -> bool:
    return v.strip().lower() in _TRUE_FALSE


def _int(minimum: int | None = None, maximum: int | None = None) -> Check:
    def check(v: str) -> bool:
        try:
            n = int(v)
        except ValueError:
            return False
        return (minimum is None or n >= minimum) and (maximum is None or n <= maximum)
    return check


def _enum(*words: str) -> Check:
    return lambda v: v in words


def _pattern(regex: str) -> Check:
    return lambda v: re.fullmatch(regex, v) is not None


def _any(v: str) -> bool:
    return True


# Key pattern -> value check. Patterns are full matches on the key.
_KEYS: list[tuple[str, Check]] = [
    (r"hw:cpu_realtime", _bool),
    (r"hw:cpu_realtime_mask", _pattern(r"(\^)?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*")),
    (r"hw:hide_hypervisor_id", _bool),
    (r"hw:cpu_policy", _enum("dedicated", "shared", "mixed")),
    (r"hw:cpu_thread_policy", _enum("prefer", "isolate", "require")),
    (r"hw:emulator_threads_policy", _enum("isolate", "share")),
    (r"hw:cpu_dedicated_mask", _pattern(_MASK)),
    (r"hw:mem_page_size", _pattern(r"(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)")),
    (r"hw:locked_memory", _bool),
    (r"hw:numa_nodes", _int(1)),
    (r"hw:numa_cpus\.\d+", _pattern(_MASK)),
    (r"hw:numa_mem\.\d+", _int(1)),
    (r"hw:pci_numa_affinity_policy",
     _enum("required", "legacy", "preferred", "socket")),
    (r"hw:cpu_(sockets|cores|threads|max_sockets|max_cores|max_threads)", _int(1)),
    (r"hw:(boot_menu|vif_multiqueue_enabled|mem_encryption|pmu|virtio_packed_ring|"
     r"ephemeral_encryption)", _bool),
    (r"hw:mem_encryption_model", _enum("amd-sev", "amd-sev-es")),
    (r"hw:pmem", _pattern(r"([a-zA-Z0-9_]+(,)?)+")),
    (r"hw:serial_port_count", _int(0)),
    (r"hw:tpm_model", _enum("tpm-tis", "tpm-crb")),
    (r"hw:tpm_version", _enum("1.2", "2.0")),
    (r"hw:tpm_secret_security", _enum("user", "host", "deployment")),
    (r"hw:watchdog_action", _enum("none", "pause", "poweroff", "reset", "disabled")),
    (r"hw:viommu_model", _enum("intel", "smmuv3", "virtio", "auto")),
    (r"hw:sound_model", _enum("sb16", "es1370", "pcspk", "ac97", "ich6", "ich9", "usb",
                              "virtio")),
    (r"hw:usb_model", _enum("none", "auto", "piix3-uhci", "piix4-uhci", "ehci", "nec-xhci",
                            "qemu-xhci")),
    (r"hw:redirected_usb_ports", _int(0, 15)),
    (r"hw:ephemeral_encryption_format", _enum("luks", "plain")),
    (r"hw_rng:allowed", _bool),
    (r"hw_rng:rate_(bytes|period)", _int(0)),
    (r"hw_video:ram_max_mb", _int(0)),
    (r"quota:(cpu|memory|disk|vif)_limit", _int(0)),
    (r"quota:(cpu|memory|disk|vif)_reservation", _int()),
    (r"quota:(cpu|memory|disk|vif)_shares_level", _enum("custom", "high", "normal", "low")),
    (r"quota:(cpu|memory|disk|vif)_shares_share", _int(0)),
    (r"quota:cpu_(shares|period)", _int(0)),
    (r"quota:cpu_quota", _int()),
    (r"quota:disk_(read|write|total)_(bytes|iops)_sec", _int(0)),
    (r"quota:vif_(inbound|outbound)_(average|peak|burst)", _int(0)),
    (r"os:secure_boot", _enum("required", "disabled", "optional")),
    (r"accel:device_profile", _any),
    (r"pci_passthrough:alias", _pattern(r"[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*")),
    (r"resources([a-zA-Z0-9_-]{1,64})?:[A-Z0-9_]+", _int(0)),
    (r"trait([a-zA-Z0-9_-]{1,64})?:[A-Z0-9_]+", _enum("required", "forbidden")),
    (r"vmware:(hw_version|storage_policy)", _any),
    (r"hide_hypervisor_id", _bool),
    (r"group_policy", _enum("isolate", "none")),
    (r"aggregate_instance_extra_specs:.+", _any),
    (r"capabilities:.+", _any),
]

#: Namespaces Nova validates: a key in one of them must be a known key.
_NAMESPACES = re.compile(r"hw|hw_rng|hw_video|quota|os|accel|pci_passthrough|vmware|"
                         r"resources([a-zA-Z0-9_-]{1,64})?|trait([a-zA-Z0-9_-]{1,64})?")


def validate_extra_specs(specs: Mapping[str, str]) -> None:
    """BadRequest for the first key a known namespace does not have or a value it refuses."""
    for name, value in specs.items():
        for pattern, check in _KEYS:
            if re.fullmatch(pattern, name):
                if not check(value):
                    raise faults.BadRequest(
                        f"Validation failed; '{value}' is not a valid value for {name}.")
                break
        else:
            namespace, sep, _ = name.partition(":")
            if sep and _NAMESPACES.fullmatch(namespace):
                raise faults.BadRequest(f"Validation failed; extra spec '{name}' does not "
                                        "appear to be a valid extra spec.")
