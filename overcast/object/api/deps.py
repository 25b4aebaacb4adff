"""Typed dependencies for the controllers the lifespan makes, and the policy declaration of
Swift's routes (POST documents its body: bulk delete and form POST send one)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from overcast.common.api import POLICY_KEY, state
from overcast.object.proxy.accounts import Accounts
from overcast.object.proxy.containers import Containers
from overcast.object.proxy.objects import Objects

__all__ = ["AccountsDep", "ContainersDep", "ObjectsDep", "swift_policy"]

AccountsDep = Annotated[Accounts, Depends(state("accounts", Accounts))]
ContainersDep = Annotated[Containers, Depends(state("containers", Containers))]
ObjectsDep = Annotated[Objects, Depends(state("objects", Objects))]


def swift_policy(rule: str, *also: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """`policy(...)` with a request body described for the OpenAPI document: Swift's POSTs
    carry no JSON model, but some carry data (a bulk delete's list, a form POST)."""
    extra: dict[str, Any] = {POLICY_KEY: [rule, *also]}
    if body:
        extra["requestBody"] = {"content": body}
    return {"openapi_extra": extra}
