"""Placement's microversions: 1.0 (Newton) to 1.39 (Yoga), the latest Placement has; the
history is Placement's own (placement/rest_api_version_history.rst), and docs/placement.md
says which of its features this service has."""

from __future__ import annotations

from overcast.common.microversion import Versioning

__all__ = ["VERSIONING"]

VERSIONING = Versioning(
    service="placement", minimum=(1, 0), maximum=(1, 39),
    # Placement's words (microversion_parse): a malformed header and an unsupported version.
    invalid_message="invalid version string: {version}",
    unsupported_message="Unacceptable version header: {version}",
)
