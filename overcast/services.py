"""The services Overcast runs: a literal table, no plugin discovery."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI

from overcast.common.policy import Rule
from overcast.config import Config

__all__ = ["SERVICES", "ServiceSpec"]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    create_app: Callable[[Config], FastAPI]
    catalog_type: str | None
    catalog_name: str
    description: str
    version_path: str  # appended to the service's base URL in the catalog
    policy_rules: Callable[[], list[Rule]]


def _identity_app(config: Config) -> FastAPI:
    from overcast.identity.app import create_app

    return create_app(config)


def _identity_rules() -> list[Rule]:
    from overcast.identity.policy import RULES

    return RULES


SERVICES: dict[str, ServiceSpec] = {
    "identity": ServiceSpec("identity", _identity_app, "identity", "keystone",
                            "OpenStack Identity", "/v3", _identity_rules),
}
