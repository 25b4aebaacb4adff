"""create_app(config) -> the noVNC console proxy's ASGI app (port 6080)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, WebSocket
from fastapi.responses import FileResponse

from overcast.common import faults
from overcast.common.api import state
from overcast.common.app import PublicRoute, TokenValidator, build_app
from overcast.common.db import Database
from overcast.compute.console_proxy.pump import connect, pump
from overcast.compute.consoles import Consoles
from overcast.config import Config

__all__ = ["PUBLIC", "create_app"]

log = logging.getLogger("overcast.compute.console_proxy")

#: The console token is the credential: nothing here takes an X-Auth-Token.
PUBLIC = [PublicRoute("*", "/", prefix=True)]
#: RFC 6455's "policy violation": the token is unknown or expired.
_REFUSED = 1008

router = APIRouter(tags=["console proxy"])
WebDir = Annotated[Path, Depends(state("web_dir", Path))]


def _page(web: Path, name: str) -> FileResponse:
    path = (web / name).resolve()
    if not web.is_dir() or web.resolve() not in path.parents or not path.is_file():
        raise faults.NotFound("The resource could not be found.")
    return FileResponse(path)


@router.get("/vnc_auto.html")
async def vnc_auto(web: WebDir) -> FileResponse:
    return _page(web, "vnc_auto.html" if (web / "vnc_auto.html").exists() else "vnc_lite.html")


@router.get("/vnc_lite.html")
async def vnc_lite(web: WebDir) -> FileResponse:
    return _page(web, "vnc_lite.html")


@router.get("/{name:path}")
async def web_file(name: str, web: WebDir) -> FileResponse:
    return _page(web, name)


async def _console(ws: WebSocket) -> None:
    consoles: Consoles = ws.state.consoles
    token = ws.query_params.get("token") or ws.cookies.get("token") or ""
    conn = await consoles.validate(token) if token else None
    if conn is None or conn.console_type != "novnc":
        log.info("console proxy: refused a websocket with an invalid token")
        await ws.close(code=_REFUSED)
        return
    try:
        reader, writer = await connect(conn)
    except OSError as exc:
        log.warning("console proxy: %s: the VNC server is unreachable: %s",
                    conn.instance_uuid, exc)
        await ws.close(code=1011)
        return
    offered = ws.headers.get("sec-websocket-protocol", "")
    await ws.accept(subprotocol="binary" if "binary" in offered else None)
    await pump(ws, reader, writer)


def create_app(config: Config, local_validator: Callable[[], TokenValidator | None] | None = None
               ) -> FastAPI:

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        db = Database(config.database_url("compute"))
        try:
            # validate() reads the database only: no bus, no agents.
            yield {"consoles": Consoles(db, None, config),  # type: ignore[arg-type]
                   "web_dir": Path(config.novncproxy.web)}
        finally:
            await db.dispose()

    app = build_app(service="novncproxy", service_type="compute", dialect="image",
                    routers=[router], lifespan=lifespan, validator=lambda app: None,
                    public=PUBLIC)
    # Websocket routes first: the page route's catch-all would otherwise shadow nothing (it is
    # GET only), but keeping them apart reads plainly.
    app.add_api_websocket_route("/", _console)
    app.add_api_websocket_route("/websockify", _console)
    return app
