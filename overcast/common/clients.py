"""Typed clients of the other services' public REST APIs (ARCHITECTURE.md "Between
services"): a service reaches another only through these.

ImageClient: the Image service (Glance v2) as Compute uses it: the image a server boots
(checked at create), a snapshot's record and data (createImage), the data an agent caches.
It acts on the caller's token, as Nova acts on the user's context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

__all__ = ["ImageClient", "ServiceError"]


class ServiceError(Exception):
    """Another service answered with an error (status and its message) or not at all."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(f"{status}: {message}")


def _message(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:200]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("title") or body)[:200]
    return str(body)[:200]


class ImageClient:
    """Glance v2 on `base_url` (no version path); `transport` for in-process ASGI apps."""

    def __init__(self, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, transport=transport,
                                       timeout=timeout)

    async def close(self) -> None:
        await self._http.aclose()

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        return {"X-Auth-Token": token}

    async def get_image(self, token: str, image_id: str) -> dict[str, Any] | None:
        """The image record, or None when it does not exist or the caller cannot see it."""
        try:
            r = await self._http.get(f"/v2/images/{image_id}", headers=self._auth(token))
        except httpx.HTTPError as exc:
            raise ServiceError(503, f"the Image service is unreachable: {exc}") from exc
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise ServiceError(r.status_code, _message(r))
        body: dict[str, Any] = r.json()
        return body

    async def create_image(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await self._http.post("/v2/images", json=body, headers=self._auth(token))
        if r.status_code != 201:
            raise ServiceError(r.status_code, _message(r))
        out: dict[str, Any] = r.json()
        return out

    async def delete_image(self, token: str, image_id: str) -> None:
        r = await self._http.delete(f"/v2/images/{image_id}", headers=self._auth(token))
        if r.status_code not in (204, 404):
            raise ServiceError(r.status_code, _message(r))

    async def upload(self, token: str, image_id: str, path: Path) -> None:
        async def chunks() -> Any:
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    yield chunk

        r = await self._http.put(f"/v2/images/{image_id}/file", content=chunks(),
                                 headers={**self._auth(token),
                                          "Content-Type": "application/octet-stream"})
        if r.status_code != 204:
            raise ServiceError(r.status_code, _message(r))

    async def download(self, token: str, image_id: str, dest: Path) -> None:
        async with self._http.stream("GET", f"/v2/images/{image_id}/file",
                                     headers=self._auth(token)) as r:
            if r.status_code != 200:
                await r.aread()
                raise ServiceError(r.status_code, _message(r))
            with dest.open("wb") as f:
                async for chunk in r.aiter_bytes(1 << 20):
                    f.write(chunk)
