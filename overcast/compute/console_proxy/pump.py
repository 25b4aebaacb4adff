"""Bytes between a websocket and a VNC server, both ways, until either side closes."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from overcast.compute.consoles import ConsoleConnection

__all__ = ["connect", "pump"]

log = logging.getLogger("overcast.compute.console_proxy")
_CHUNK = 65536


async def connect(conn: ConsoleConnection
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """The console's VNC server: its socket path on this host, else its host and port."""
    if conn.internal_access_path:
        return await asyncio.open_unix_connection(conn.internal_access_path)
    if conn.host and conn.port:
        return await asyncio.open_connection(conn.host, conn.port)
    raise OSError("the console has no address")


async def pump(ws: WebSocket, reader: asyncio.StreamReader,
               writer: asyncio.StreamWriter) -> None:
    async def to_server() -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes") or (message.get("text") or "").encode()
            writer.write(data)
            await writer.drain()

    async def to_client() -> None:
        while data := await reader.read(_CHUNK):
            await ws.send_bytes(data)

    tasks = [asyncio.create_task(to_server()), asyncio.create_task(to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, OSError,
                                     RuntimeError):
                await task
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
