"""No policy rules: the console token in the URL is the authorization, as in Nova's proxy."""

from __future__ import annotations

from overcast.common.policy import Rule

__all__ = ["RULES"]

RULES: list[Rule] = []
