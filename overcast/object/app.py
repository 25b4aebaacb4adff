"""create_app(config) -> the Swift v1 proxy's ASGI app (and, in the all-in-one, its storage
node and background daemons in the same process)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from overcast.common.app import PublicRoute, StreamedRoute, TokenValidator, build_app
from overcast.common.auth import RemoteValidator
from overcast.common.policy import Enforcer
from overcast.config import Config
from overcast.object import manage
from overcast.object.api import accounts, containers, info, objects
from overcast.object.nodes import Nodes
from overcast.object.policy import RULES
from overcast.object.proxy.access import Access
from overcast.object.proxy.accounts import Accounts
from overcast.object.proxy.authv1 import AuthV1
from overcast.object.proxy.cluster import Cluster
from overcast.object.proxy.common import Proxy
from overcast.object.proxy.containers import Containers
from overcast.object.proxy.objects import Objects
from overcast.object.storage.server import StorageServer

__all__ = ["ANONYMOUS", "PUBLIC", "ROUTERS", "create_app", "trans_id"]

ROUTERS = (info.router, accounts.router, containers.router, objects.router)

PUBLIC = [
    PublicRoute("GET", "/info"),
    PublicRoute("HEAD", "/info"),
    PublicRoute("GET", "/healthcheck"),
    PublicRoute("GET", "/auth/v1.0"),
    PublicRoute("GET", "/crossdomain.xml"),
    PublicRoute("OPTIONS", "/v1/", prefix=True),
]
#: Storage paths serve callers without a token too: ACLs, temp URLs and form POSTs decide.
ANONYMOUS = [PublicRoute("*", "/v1/", prefix=True)]
#: Object data and archives stream; the JSON body limit does not apply to them.
STREAMED = [StreamedRoute(m, r"/v1/.*") for m in ("PUT", "POST", "COPY", "DELETE")]


def trans_id() -> str:
    """Swift's transaction id: tx, 21 hex digits, a dash, the time in hex."""
    return f"tx{uuid.uuid4().hex[:21]}-{int(time.time()):010x}"


def create_app(config: Config, local_validator: Callable[[], TokenValidator | None] | None = None
               ) -> FastAPI:
    """`local_validator`: Identity in the same process (`overcast up`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        manage.ensure_aio_ring(config)
        ring = manage.load_ring(config)
        storage = StorageServer(config.object_devices, ring,
                                max_file_size=config.object.max_file_size)
        nodes = Nodes(storage, timeout=config.object.node_timeout)
        storage.nodes = nodes
        proxy = Proxy(Cluster(ring, nodes), Access(config.object.reseller_prefix),
                      config.object.max_file_size)
        policy_file = Path(config.object.policy_file) if config.object.policy_file else None
        remote = None
        if local_validator is None:
            remote = RemoteValidator(f"{config.public_url('identity')}/v3")
            app.state.remote_validator = remote
        daemons = None
        if config.object.daemons:
            from overcast.object.agent import Daemons

            daemons = Daemons(config, storage, ring)
            daemons.start()
        try:
            yield {"accounts": Accounts(proxy), "containers": Containers(proxy),
                   "objects": Objects(proxy), "storage": storage,
                   "auth_v1": AuthV1(config.public_url("identity"),
                                     config.object.reseller_prefix),
                   "enforcer": Enforcer(RULES, policy_file)}
        finally:
            if daemons is not None:
                await daemons.stop()
            await nodes.close()
            if remote is not None:
                await remote.close()

    def validator(app: FastAPI) -> TokenValidator | None:
        if local_validator is not None:
            return local_validator()
        return getattr(app.state, "remote_validator", None)

    return build_app(
        service="object",
        service_type="object-store",
        dialect="object",
        routers=ROUTERS,
        lifespan=lifespan,
        validator=validator,
        public=PUBLIC,
        anonymous=ANONYMOUS,
        streamed=STREAMED,
        request_id_header="x-trans-id",
        request_id_format=trans_id,
        # Swift reads `/v1/AUTH_x/` as the account (an empty container name is no container)
        strip_trailing_slash=r"/v1/[^/]+/",
    )
