"""create_app(config) -> the Placement ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from overcast.common.app import CorsPolicy, PublicRoute, TokenValidator, build_app
from overcast.common.auth import RemoteValidator
from overcast.common.db import Database
from overcast.common.policy import Enforcer
from overcast.config import Config
from overcast.placement.allocations import Allocations
from overcast.placement.api import (
    aggregates,
    allocation_candidates,
    allocations,
    inventories,
    reshaper,
    resource_classes,
    resource_providers,
    root,
    traits,
    usages,
)
from overcast.placement.candidates import Candidates
from overcast.placement.catalog import ResourceClasses, Traits
from overcast.placement.inventories import Inventories
from overcast.placement.policy import RULES
from overcast.placement.providers import Providers
from overcast.placement.reshaper import Reshaper
from overcast.placement.state import PlacementState
from overcast.placement.usages import Usages
from overcast.placement.versions import VERSIONING

__all__ = ["PUBLIC", "ROUTERS", "create_app"]

#: Every router of the API, in the order their routes are matched.
ROUTERS = (root.router, resource_providers.router, inventories.router, aggregates.router,
           traits.router, resource_classes.router, allocations.router, usages.router,
           allocation_candidates.router, reshaper.router)

#: Placement's root answers without a token (its auth middleware skips "/").
PUBLIC = [PublicRoute("GET", "/")]

# Placement's CORS headers (placement/deploy.py): the microversion header both ways.
CORS_HEADERS = ("OpenStack-API-Version",)


def create_app(config: Config, local_validator: Callable[[], TokenValidator | None] | None = None
               ) -> FastAPI:
    """`local_validator`: Identity in the same process (`overcast up`); without it tokens are
    validated by asking the identity service over HTTP."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        db = Database(config.database_url("placement"))
        state = PlacementState(db, config.placement)
        policy_file = Path(config.placement.policy_file) if config.placement.policy_file else None
        remote = None
        if local_validator is None:
            remote = RemoteValidator(f"{config.public_url('identity')}/v3")
            app.state.remote_validator = remote
        try:
            yield {"providers": Providers(state), "inventories": Inventories(state),
                   "allocations": Allocations(state), "candidates": Candidates(state),
                   "resource_classes": ResourceClasses(state), "traits": Traits(state),
                   "usages": Usages(state), "reshaper": Reshaper(state),
                   "placement_config": config.placement,
                   "enforcer": Enforcer(RULES, policy_file)}
        finally:
            if remote is not None:
                await remote.close()
            await db.dispose()

    def validator(app: FastAPI) -> TokenValidator | None:
        if local_validator is not None:
            return local_validator()
        return getattr(app.state, "remote_validator", None)

    return build_app(
        service="placement",
        service_type="placement",
        dialect="placement",
        routers=ROUTERS,
        lifespan=lifespan,
        validator=validator,
        public=PUBLIC,
        max_body=config.placement.max_request_body_size,
        cors=CorsPolicy.from_config(config.cors, expose=CORS_HEADERS, allow=CORS_HEADERS),
        versioning=VERSIONING,
        unversioned=[r"/"],
    )
