"""The standard resource classes and traits, and the rule for custom names.

The standard names are the field's shared vocabulary: os-resource-classes and os-traits are
the libraries Placement, Nova, Neutron and Cyborg all import for them, so a provider or flavor
written for OpenStack names the same things here.
"""

from __future__ import annotations

import re

import os_resource_classes  # type: ignore[import-untyped]
import os_traits  # type: ignore[import-untyped]

__all__ = ["CUSTOM_NAME", "STANDARD_CLASSES", "STANDARD_TRAITS", "is_custom"]

#: In os-resource-classes' order (Placement lists standard classes so, customs after).
STANDARD_CLASSES: tuple[str, ...] = tuple(os_resource_classes.STANDARDS)
STANDARD_TRAITS: frozenset[str] = frozenset(os_traits.get_traits())

#: What a custom resource class or trait may be called (Placement's schema pattern).
CUSTOM_NAME = re.compile(r"^CUSTOM_[A-Z0-9_]+$")


def is_custom(name: str) -> bool:
    return CUSTOM_NAME.fullmatch(name) is not None
