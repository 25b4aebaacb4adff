"""create_app(config) -> the Nova v2.1 ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from overcast.common.app import CorsPolicy, PublicRoute, TokenValidator, build_app
from overcast.common.auth import RemoteValidator
from overcast.common.db import Database
from overcast.common.microversion import Versioning
from overcast.common.policy import Enforcer
from overcast.compute.aggregates import Aggregates
from overcast.compute.api import (
    aggregates,
    availability_zones,
    extensions,
    flavors,
    hypervisors,
    images,
    instance_actions,
    interfaces,
    keypairs,
    limits,
    migrations,
    os_hosts,
    quotas,
    remote_consoles,
    server_actions,
    server_diagnostics,
    server_groups,
    server_metadata,
    servers,
    services,
    tenant_usage,
    usage_audit_log,
    versions,
)
from overcast.compute.audit_log import AuditLog
from overcast.compute.consoles import Consoles
from overcast.compute.flavors import Flavors
from overcast.compute.guest_passwords import GuestPasswords
from overcast.compute.hosts import Hosts
from overcast.compute.interfaces import Interfaces
from overcast.compute.keypairs import Keypairs
from overcast.compute.legacy_hosts import LegacyHosts
from overcast.compute.policy import RULES
from overcast.compute.quotas import Quotas
from overcast.compute.server_groups import ServerGroups
from overcast.config import Config

__all__ = ["PUBLIC", "ROUTERS", "create_app"]

#: Every router of the API, in the order their routes are matched.
ROUTERS = (versions.router, flavors.router, keypairs.router, availability_zones.router,
           aggregates.router, services.router, hypervisors.router, quotas.router, limits.router,
           images.router,
           server_groups.router, servers.router, server_actions.router, server_diagnostics.router,
           server_metadata.router, server_metadata.tags_router, instance_actions.router,
           remote_consoles.router, interfaces.router,
           tenant_usage.router, migrations.router, os_hosts.router, usage_audit_log.router,
           extensions.router)

VERSIONING = Versioning(service="compute", minimum=versions.MIN_VERSION,
                        maximum=versions.MAX_VERSION,
                        legacy_header="X-OpenStack-Nova-API-Version")

#: The version documents answer without a token, as Nova's.
PUBLIC = [
    PublicRoute("GET", "/"),
    PublicRoute("GET", "/v2"),
    PublicRoute("GET", "/v2.1"),
]

# Nova's CORS defaults (nova/middleware.py set_defaults).
CORS_ALLOW = ("X-Auth-Token", "X-Openstack-Request-Id", "X-Identity-Status", "X-Roles",
              "X-Service-Catalog", "X-User-Id", "X-Tenant-Id", "X-OpenStack-Nova-API-Version",
              "OpenStack-API-Version")
CORS_EXPOSE = ("X-Auth-Token", "X-Openstack-Request-Id", "X-Subject-Token", "X-Service-Token",
               "X-OpenStack-Nova-API-Version", "OpenStack-API-Version")


def create_app(config: Config, local_validator: Callable[[], TokenValidator | None] | None = None
               ) -> FastAPI:
    """`local_validator`: Identity in the same process (`overcast up`); without it tokens are
    validated by asking the identity service over HTTP."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        db = Database(config.database_url("compute"))
        policy_file = Path(config.compute.policy_file) if config.compute.policy_file else None
        remote = None
        if local_validator is None:
            remote = RemoteValidator(f"{config.public_url('identity')}/v3")
            app.state.remote_validator = remote
        quota = Quotas(db, config.compute)
        state: dict[str, Any] = {
            "compute_db": db, "compute_config": config.compute,
            "enforcer": Enforcer(RULES, policy_file),
            "flavors": Flavors(db), "keypairs": Keypairs(db, quota),
            "aggregates": Aggregates(db, config.compute), "hosts": Hosts(db, config.compute),
            "quotas": quota, "server_groups": ServerGroups(db, quota),
            "audit_log": AuditLog(db)}
        state["legacy_hosts"] = LegacyHosts(db, state["hosts"])
        from overcast.compute.runtime import start_control_plane

        plane = await start_control_plane(
            config, db, image_transport=getattr(app.state, "image_transport", None),
            network_transport=getattr(app.state, "network_transport", None),
            identity_transport=getattr(app.state, "identity_transport", None))
        state.update(servers=plane.servers, control_plane=plane,
                     consoles=Consoles(db, plane.conductor.agents, config),
                     guest_passwords=GuestPasswords(db), interfaces=Interfaces(plane.servers))
        state["hosts"].set_server_source(plane.servers.by_host, plane.servers.host_busy)
        try:
            yield state
        finally:
            await plane.stop()
            if remote is not None:
                await remote.close()
            await db.dispose()

    def validator(app: FastAPI) -> TokenValidator | None:
        if local_validator is not None:
            return local_validator()
        return getattr(app.state, "remote_validator", None)

    return build_app(
        service="compute",
        service_type="compute",
        dialect="compute",
        routers=ROUTERS,
        lifespan=lifespan,
        validator=validator,
        public=PUBLIC,
        versioning=VERSIONING,
        unversioned=[r"/", r"/v2(\.1)?/?"],
        max_body=config.compute.max_request_body_size,
        cors=CorsPolicy.from_config(config.cors, expose=CORS_EXPOSE, allow=CORS_ALLOW),
    )
