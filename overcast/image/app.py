"""create_app(config) -> the Glance v2 ASGI app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError

from overcast.common.app import CorsPolicy, PublicRoute, StreamedRoute, TokenValidator, build_app
from overcast.common.auth import RemoteValidator
from overcast.common.db import Database
from overcast.common.policy import Enforcer
from overcast.common.tasks import cancel_and_wait
from overcast.config import Config
from overcast.image import manage
from overcast.image.api import (
    image_data,
    images,
    imports,
    members,
    metadef_schemas,
    metadefs,
    schemas,
    tasks,
    versions,
)
from overcast.image.api.bodies import body_error
from overcast.image.members import Members
from overcast.image.metadefs import Metadefs
from overcast.image.policy import RULES

__all__ = ["PUBLIC", "ROUTERS", "create_app"]

#: Image data streams in and out; the JSON body limit does not apply to it.
STREAMED = [StreamedRoute("PUT", r"/v2/images/[^/]+/file"),
            StreamedRoute("PUT", r"/v2/images/[^/]+/stage")]

# Glance's CORS defaults (glance/common/config.py set_config_defaults).
CORS_HEADERS = ("Content-MD5", "X-Image-Meta-Checksum", "X-Storage-Token", "Accept-Encoding",
                "X-Auth-Token", "X-Identity-Status", "X-Roles", "X-Service-Catalog", "X-User-Id",
                "X-Tenant-Id", "X-OpenStack-Request-ID")

#: Every router of the API, in the order their routes are matched.
ROUTERS = (versions.router, schemas.router, imports.router, images.router, image_data.router,
           images.stores_router, members.router, tasks.router, metadef_schemas.router,
           metadefs.router)

PUBLIC = [
    PublicRoute("GET", "/"),
    PublicRoute("GET", "/versions"),
]


def create_app(config: Config, local_validator: Callable[[], TokenValidator | None] | None = None
               ) -> FastAPI:
    """`local_validator`: Identity in the same process (`overcast up`); without it tokens are
    validated by asking the identity service over HTTP."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        db = Database(config.database_url("image"))
        data = manage.image_data(config, db)
        imgs, task_log = data.images, data.tasks
        policy_file = Path(config.image.policy_file) if config.image.policy_file else None
        remote = None
        if local_validator is None:
            remote = RemoteValidator(f"{config.public_url('identity')}/v3")
            app.state.remote_validator = remote
        await data.recover()
        sweeper = asyncio.create_task(data.sweep_later()) if data.unswept else None
        importer = manage.importer_loop(config, data)
        importer.start()
        try:
            yield {"images": imgs, "image_data": data, "members": Members(imgs), "tasks": task_log,
                   "metadefs": Metadefs(db), "enforcer": Enforcer(RULES, policy_file)}
        finally:
            await importer.stop()
            if sweeper is not None:
                await cancel_and_wait([sweeper])
            if remote is not None:
                await remote.close()
            await data.close()
            await db.dispose()

    def validator(app: FastAPI) -> TokenValidator | None:
        if local_validator is not None:
            return local_validator()
        return getattr(app.state, "remote_validator", None)

    app = build_app(
        service="image",
        service_type="image",
        dialect="image",
        routers=ROUTERS,
        lifespan=lifespan,
        validator=validator,
        public=PUBLIC,
        streamed=STREAMED,
        max_body=config.image.max_request_body_size,
        cors=CorsPolicy.from_config(config.cors, expose=CORS_HEADERS, allow=CORS_HEADERS),
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid_body(request: Request, exc: RequestValidationError) -> Response:
        # Glance's words for a body that does not match its schema (the fault renderer outside
        # the app answers it, in the Accept-dependent format).
        field = getattr(request.scope.get("route"), "body_field", None)
        model = getattr(getattr(field, "field_info", None), "annotation", None)
        raise body_error(exc.errors(), getattr(model, "glance_schema", "body"))

    return app
