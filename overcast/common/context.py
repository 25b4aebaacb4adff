"""The request context: who is calling and what policy lets them do, for routes and domain code.

It knows nothing of HTTP, so domain methods take it and enforce policy where they load the row
they are about to change (one transaction: the check and the change see the same row).

Every route declares the policy rules it enforces (`common/api.py::policy`); `enforce` and
`can` refuse a rule the route did not declare, so the declaration is machine-checked on every
request a test makes, and `overcast policy sample` / the OpenAPI document can say which
operation each rule guards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from overcast.common import faults
from overcast.common.policy import Credentials, Enforcer

__all__ = ["RequestContext", "UndeclaredRule"]


class UndeclaredRule(RuntimeError):
    """A route checked a policy rule it does not declare: a programming error (500)."""


@dataclass
class RequestContext:
    """What a request knows: its id, the caller, the microversion, and the service's policy."""

    request_id: str
    credentials: Credentials | None
    enforcer: Enforcer | None
    microversion: tuple[int, int] = (0, 0)
    #: The rules the route declares (None: no route, e.g. domain code driven by an agent).
    declared: frozenset[str] | None = None
    #: Every rule checked so far, in order (structural tests read it).
    checked: list[str] = field(default_factory=list)

    @classmethod
    def internal(cls, enforcer: Enforcer | None = None,
                 credentials: Credentials | None = None) -> RequestContext:
        """A context for work no user request drives (agents, bootstrap, recovery)."""
        return cls(request_id="-", credentials=credentials, enforcer=enforcer)

    @property
    def creds(self) -> Credentials:
        if self.credentials is None:
            raise faults.Unauthorized("The request you have made requires authentication.")
        return self.credentials

    @property
    def project_id(self) -> str | None:
        return self.creds.project_id

    @property
    def user_id(self) -> str:
        return self.creds.user_id or ""

    def can(self, rule: str, target: Mapping[str, Any] | None = None) -> bool:
        """Whether policy lets the caller do `rule` on `target`."""
        if self.declared is not None and rule not in self.declared:
            raise UndeclaredRule(f"policy rule {rule!r} is checked but not declared by the route "
                                 f"(declared: {sorted(self.declared)})")
        if self.enforcer is None:
            raise RuntimeError("service built without policy")
        self.checked.append(rule)
        return self.enforcer.enforce(rule, target or {}, self.creds)

    def enforce(self, rule: str, target: Mapping[str, Any] | None = None) -> None:
        """Raise Forbidden unless the caller may do `rule` on `target`: the one way to refuse."""
        if not self.can(rule, target):
            raise faults.Forbidden(
                f"You are not authorized to perform the requested action: {rule}."
            )
