"""Swift's limits (swift/common/constraints.py defaults), published at GET /info, and the
checks that answer Swift's 4xx when a request breaks one."""

from __future__ import annotations

from collections.abc import Mapping

from overcast.common import faults

__all__ = ["LIMITS", "check_metadata", "check_object_name", "valid_timestamp_header"]

LIMITS: dict[str, int] = {
    "max_file_size": 5368709122,
    "max_meta_name_length": 128,
    "max_meta_value_length": 256,
    "max_meta_count": 90,
    "max_meta_overall_size": 4096,
    "max_header_size": 8192,
    "max_object_name_length": 1024,
    "container_listing_limit": 10000,
    "account_listing_limit": 10000,
    "max_account_name_length": 256,
    "max_container_name_length": 256,
    "extra_header_count": 0,
}


def check_metadata(headers: Mapping[str, str], kind: str) -> None:
    """X-<kind>-Meta-* headers within the limits, else 400 with Swift's words."""
    prefix = f"x-{kind}-meta-"
    count = size = 0
    for key, value in headers.items():
        low = key.lower()
        if not low.startswith(prefix):
            continue
        name = low[len(prefix):]
        if not name:
            raise faults.BadRequest("Metadata name cannot be empty")
        count += 1
        size += len(name) + len(value)
        if len(name) > LIMITS["max_meta_name_length"]:
            raise faults.BadRequest(f"Metadata name too long: {key}")
        if len(value) > LIMITS["max_meta_value_length"]:
            raise faults.BadRequest(f"Metadata value longer than "
                                    f"{LIMITS['max_meta_value_length']}: {key}")
        if count > LIMITS["max_meta_count"]:
            raise faults.BadRequest(f"Too many metadata items; max {LIMITS['max_meta_count']}")
        if size > LIMITS["max_meta_overall_size"]:
            raise faults.BadRequest(f"Total metadata too large; max "
                                    f"{LIMITS['max_meta_overall_size']}")


def check_object_name(name: str) -> None:
    if len(name.encode("utf-8")) > LIMITS["max_object_name_length"]:
        raise faults.BadRequest(f"Object name length of {len(name)} longer than "
                                f"{LIMITS['max_object_name_length']}")


def valid_timestamp_header(raw: str | None) -> bool:
    if raw is None:
        return False
    try:
        float(raw)
    except ValueError:
        return False
    return True
