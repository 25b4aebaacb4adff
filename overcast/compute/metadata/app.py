"""create_app(config) -> the metadata API's ASGI app (port 8775)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from overcast.common import metadata_signing
from overcast.common.app import PublicRoute, TokenValidator, build_app
from overcast.common.db import Database
from overcast.compute.metadata import api
from overcast.compute.metadata.guests import Guests
from overcast.compute.metadata.ports import PortReader
from overcast.config import Config

__all__ = ["PUBLIC", "create_app"]

#: No route takes a token: the proxy's signature names and authorizes the instance.
PUBLIC = [PublicRoute("*", "/", prefix=True)]


def create_app(config: Config, local_validator: Callable[[], TokenValidator | None] | None = None
               ) -> FastAPI:

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        db = Database(config.database_url("compute"))
        secret = metadata_signing.shared_secret(config.state_dir,
                                                config.compute.metadata_proxy_shared_secret)
        reader = PortReader.from_config(config)
        try:
            yield {"guests": Guests(db, secret, reader)}
        finally:
            await reader.close()
            await db.dispose()

    # Nova's metadata handler answers its errors as webob pages, as the image dialect does.
    return build_app(service="metadata", service_type="compute", dialect="image",
                     routers=[api.router], lifespan=lifespan, validator=lambda app: None,
                     public=PUBLIC, max_body=config.compute.max_request_body_size)
