"""No policy rules: the metadata API takes no token. A request is authorized by the metadata
proxy's signature over the instance id (compute/metadata/guests.py), as Nova's is."""

from __future__ import annotations

from overcast.common.policy import Rule

__all__ = ["RULES"]

RULES: list[Rule] = []
