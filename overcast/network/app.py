"""create_app(config) -> the Neutron v2.0 ASGI app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError

from overcast.common.app import CorsPolicy, PublicRoute, TokenValidator, build_app
from overcast.common.auth import RemoteValidator
from overcast.common.bus import Bus, BusError, connect
from overcast.common.db import Database
from overcast.common.policy import Enforcer
from overcast.config import Config
from overcast.network import errors
from overcast.network.agents import Agents
from overcast.network.api import (
    agents,
    availability,
    extensions,
    floatingips,
    metering,
    networks,
    ports,
    quotas,
    rbac,
    routers,
    security_groups,
    service_providers,
    subnetpools,
    subnets,
    versions,
)
from overcast.network.availability import Availability
from overcast.network.dataplane import Dataplane
from overcast.network.floatingips import FloatingIPs
from overcast.network.metering import MeteringLabelRules, MeteringLabels
from overcast.network.networks import Networks
from overcast.network.notifications import Notifier
from overcast.network.policy import RULES
from overcast.network.ports import Ports
from overcast.network.quotas import Quotas
from overcast.network.rbac import RBACPolicies
from overcast.network.routers import Routers
from overcast.network.rpc import AgentNotifier, serve_plugin
from overcast.network.security_groups import SecurityGroupRules, SecurityGroups
from overcast.network.subnetpools import AddressScopes, SubnetPools
from overcast.network.subnets import Subnets

__all__ = ["PUBLIC", "ROUTERS", "create_app"]

log = logging.getLogger(__name__)

ROUTERS = (versions.router, extensions.router, agents.router, networks.router, subnets.router,
           ports.router, security_groups.router, routers.router, floatingips.router, subnetpools.router,
           rbac.router, quotas.router, availability.router, metering.router,
           service_providers.router)

PUBLIC = [PublicRoute("GET", "/"), PublicRoute("GET", "/v2.0")]

# Neutron's CORS defaults (neutron/common/config.py set_cors_middleware_defaults).
CORS_HEADERS = ("X-Auth-Token", "X-Identity-Status", "X-Roles", "X-Service-Catalog",
                "X-User-Id", "X-Tenant-Id", "X-OpenStack-Request-ID")


def create_app(config: Config, local_validator: Callable[[], TokenValidator | None] | None = None
               ) -> FastAPI:
    section = config.network

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        db = Database(config.database_url("network"))
        policy_file = Path(section.policy_file) if section.policy_file else None
        remote = None
        if local_validator is None:
            remote = RemoteValidator(f"{config.public_url('identity')}/v3")
            app.state.remote_validator = remote
        port_service = Ports(db, section)
        groups = SecurityGroups(db, section)
        nets, subs = Networks(db, section), Subnets(db, section)
        bus = await _notification_bus(config)
        # The agents' RPC and the pokes they get, on the same bus (in `overcast up` the
        # in-process one the agent of this host shares).
        plugin = None
        if bus is not None:
            plugin = await serve_plugin(bus, Dataplane(db, port_service))
            pokes = AgentNotifier(bus)
            for collection in (port_service, nets, subs):
                collection.on_change = pokes.network_changed
        try:
            yield {
                "enforcer": Enforcer(RULES, policy_file),
                "networks": nets,
                "subnets": subs,
                "ports": port_service,
                "security_groups": groups,
                "security_group_rules": SecurityGroupRules(db, section, groups),
                "routers": Routers(db, section, port_service),
                "floatingips": FloatingIPs(db, section, port_service),
                "subnetpools": SubnetPools(db, section),
                "address_scopes": AddressScopes(db, section),
                "rbac_policies": RBACPolicies(db, section),
                "quotas": Quotas(db, section),
                "availability": Availability(db, section),
                "agents": Agents(db, section),
                "metering_labels": MeteringLabels(db, section),
                "metering_label_rules": MeteringLabelRules(db, section),
                "notifier": Notifier(bus),
            }
        finally:
            if plugin is not None:
                await plugin.stop()
            if bus is not None:
                await bus.close()
            if remote is not None:
                await remote.close()
            await db.dispose()

    def validator(app: FastAPI) -> TokenValidator | None:
        if local_validator is not None:
            return local_validator()
        return getattr(app.state, "remote_validator", None)

    app = build_app(
        service="network",
        service_type="network",
        dialect="network",
        routers=ROUTERS,
        lifespan=lifespan,
        validator=validator,
        public=PUBLIC,
        max_body=section.max_request_body_size,
        cors=CorsPolicy.from_config(config.cors, expose=CORS_HEADERS, allow=CORS_HEADERS),
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid_body(request: Request, exc: RequestValidationError) -> Response:
        raise body_error(exc)

    return app


async def _notification_bus(config: Config) -> Bus | None:
    """The bus the API's notifications go to; without one (a broker that does not answer at
    start) the API still serves, and says so."""
    bus = connect(config.default.bus_url)
    try:
        await bus.start()
    except BusError as exc:
        log.warning("network notifications off: bus %s unavailable: %s",
                    config.default.bus_url.split("@")[-1], exc)
        return None
    return bus


def body_error(exc: RequestValidationError) -> errors.BadRequest:
    """Neutron's words for a body its attribute map refuses."""
    unknown = [str(e["loc"][-1]) for e in exc.errors() if e.get("type") == "extra_forbidden"]
    if unknown:
        return errors.BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    for e in exc.errors():
        if e.get("type") == "json_invalid":
            return errors.BadRequest("Malformed request body")
        if e.get("type") == "missing":
            return errors.BadRequest("Resource body required")
    first = exc.errors()[0]
    name = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return errors.BadRequest(f"Invalid input for {name}. Reason: {first.get('msg')}.")
