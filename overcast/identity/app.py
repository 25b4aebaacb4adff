"""create_app(config) -> the Keystone v3 ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError

from overcast.common import faults
from overcast.common.app import CorsPolicy, PublicRoute, TokenValidator, build_app
from overcast.common.db import Database
from overcast.common.policy import Enforcer
from overcast.config import Config
from overcast.identity.api import (
    application_credentials,
    auth,
    catalog,
    credentials,
    domain_configs,
    domains,
    ec2,
    endpoint_groups,
    grants,
    groups,
    limits,
    oauth1,
    policies,
    projects,
    role_assignments,
    roles,
    trusts,
    users,
    versions,
)
from overcast.identity.api.schemas import validation_message
from overcast.identity.policy import RULES
from overcast.identity.service import Identity

__all__ = ["PUBLIC", "ROUTERS", "create_app"]

# Keystone's CORS defaults (keystone/server/flask/core.py).
CORS_EXPOSE = ("X-Auth-Token", "X-Openstack-Request-Id", "X-Subject-Token",
               "Openstack-Auth-Receipt")
CORS_ALLOW = ("X-Auth-Token", "X-Openstack-Request-Id", "X-Subject-Token", "X-Project-Id",
              "X-Project-Name", "X-Project-Domain-Id", "X-Project-Domain-Name", "X-Domain-Id",
              "X-Domain-Name", "Openstack-Auth-Receipt")

#: The routes served without a token, and so without a policy rule: version discovery,
#: authentication itself, and a user's own password change (the original password is the
#: proof, and an expired password must be changeable: Keystone's is unenforced too). Every
#: other route declares its rule (common/api.py policy()).
PUBLIC = [
    PublicRoute("GET", "/"),
    PublicRoute("GET", "/v3"),
    PublicRoute("POST", "/v3/auth/tokens"),
    PublicRoute("POST", "/v3/users/{user_id}/password"),
]


#: Every identity router, included straight into the app (a router of routers costs each
#: request a second round of route matching).
ROUTERS = (versions.router, auth.router, domains.router, projects.router, users.router,
           groups.router, roles.router, grants.router, role_assignments.router,
           catalog.router, application_credentials.router, application_credentials.access_rules,
           credentials.router, ec2.router, trusts.router, oauth1.router, policies.router,
           domain_configs.router, endpoint_groups.router, limits.router)


def create_app(config: Config) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        db = Database(config.database_url("identity"))
        identity = Identity(config, db)
        policy_file = Path(config.identity.policy_file) if config.identity.policy_file else None
        enforcer = Enforcer(RULES, policy_file)
        app.state.identity = identity
        try:
            yield {"identity": identity, "enforcer": enforcer}
        finally:
            await db.dispose()

    def validator(app: FastAPI) -> TokenValidator | None:
        return getattr(app.state, "identity", None)

    app = build_app(
        service="identity",
        service_type="identity",
        dialect="identity",
        routers=ROUTERS,
        lifespan=lifespan,
        validator=validator,
        public=PUBLIC,
        max_body=config.identity.max_request_body_size,
        www_authenticate=f"{config.public_url('identity')}/v3",
        strip_trailing_slash=r"/.+/",  # Keystone's URL normalizing middleware
        cors=CorsPolicy.from_config(config.cors, expose=CORS_EXPOSE, allow=CORS_ALLOW),
    )

    async def invalid_body(request: Request, exc: Exception) -> Response:
        """A body that does not validate: 400 in Keystone's words (api/schemas.py)."""
        assert isinstance(exc, RequestValidationError)
        fault = faults.BadRequest(validation_message(request, exc))
        body, ctype = faults.render("identity", fault)
        return Response(b"" if request.method == "HEAD" else body, status_code=400,
                        media_type=ctype)

    # Replaces the generic 400 of build_app for this service: Keystone names the field.
    app.add_exception_handler(RequestValidationError, invalid_body)
    return app
