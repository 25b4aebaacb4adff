"""Probes of a running guest from the host."""

from __future__ import annotations

import asyncio

__all__ = ["ssh_banner"]


async def ssh_banner(port: int, host: str = "127.0.0.1", wait: float = 0.5) -> bool:
    """True once the guest's ssh server greets: slirp's hostfwd accepts before the guest
    listens (GUEST_NOTES pitfall 8), so an open port proves nothing and a plain ssh would
    hang for its whole ConnectTimeout; this probe gives up after `wait` seconds."""
    try:
        async with asyncio.timeout(wait):
            reader, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    try:
        async with asyncio.timeout(wait):
            return (await reader.readline()).startswith(b"SSH-")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
