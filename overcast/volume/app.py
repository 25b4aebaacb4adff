"""create_app(config) -> the Cinder v3 ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from overcast.common.app import CorsPolicy, PublicRoute, TokenValidator, build_app
from overcast.common.auth import RemoteValidator
from overcast.common.clients import ImageClient
from overcast.common.db import Database
from overcast.common.microversion import Versioning
from overcast.common.policy import Enforcer
from overcast.config import Config
from overcast.volume.api import (
    availability_zones,
    limits,
    quotas,
    services,
    snapshots,
    types,
    versions,
    volume_actions,
    volumes,
)
from overcast.volume.hosts import Hosts
from overcast.volume.policy import RULES
from overcast.volume.quotas import Quotas
from overcast.volume.runtime import start_control_plane
from overcast.volume.snapshots import Snapshots
from overcast.volume.volume_types import VolumeTypes
from overcast.volume.volumes import Volumes

__all__ = ["PUBLIC", "ROUTERS", "VERSIONING", "create_app"]

ROUTERS = (versions.router, volumes.router, volume_actions.router, snapshots.router,
           types.router, quotas.router, limits.router, availability_zones.router,
           services.router)

VERSIONING = Versioning(service="volume", minimum=versions.MIN_VERSION,
                        maximum=versions.MAX_VERSION)

#: The version documents answer without a token, as Cinder's.
PUBLIC = [PublicRoute("GET", "/"), PublicRoute("GET", "/v3")]

# Cinder's CORS defaults (cinder/common/config.py set_middleware_defaults).
CORS_HEADERS = ("X-Auth-Token", "X-Identity-Status", "X-Roles", "X-Service-Catalog",
                "X-User-Id", "X-Tenant-Id", "X-OpenStack-Request-ID", "X-Trace-Info",
                "X-Trace-HMAC", "OpenStack-API-Version")


def create_app(config: Config, local_validator: Callable[[], TokenValidator | None] | None = None
               ) -> FastAPI:
    section = config.volume

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        db = Database(config.database_url("volume"))
        policy_file = Path(section.policy_file) if section.policy_file else None
        remote = None
        if local_validator is None:
            remote = RemoteValidator(f"{config.public_url('identity')}/v3")
            app.state.remote_validator = remote
        hosts = Hosts(db, section)
        quota = Quotas(db, section)
        vtypes = VolumeTypes(db, section)
        await vtypes.ensure_default()
        # Tests hand the image service in-process; otherwise it is reached over HTTP.
        transport = getattr(app.state, "image_transport", None)
        plane = await start_control_plane(config, db, hosts, image_transport=transport)
        images = ImageClient(config.public_url("image"), transport=transport)
        try:
            yield {"enforcer": Enforcer(RULES, policy_file), "volume_config": section,
                   "hosts": hosts, "quotas": quota, "volume_types": vtypes, "images": images,
                   "volumes": Volumes(db, section, vtypes, quota, hosts, plane.bus),
                   "snapshots": Snapshots(db, quota, plane.bus), "control_plane": plane}
        finally:
            await images.close()
            await plane.stop()
            if remote is not None:
                await remote.close()
            await db.dispose()

    def validator(app: FastAPI) -> TokenValidator | None:
        if local_validator is not None:
            return local_validator()
        return getattr(app.state, "remote_validator", None)

    return build_app(
        service="volume",
        service_type="block-storage",
        dialect="volume",
        routers=ROUTERS,
        lifespan=lifespan,
        validator=validator,
        public=PUBLIC,
        versioning=VERSIONING,
        unversioned=[r"/", r"/v3/?"],
        max_body=section.max_request_body_size,
        cors=CorsPolicy.from_config(config.cors, expose=CORS_HEADERS, allow=CORS_HEADERS),
    )
