"""Typed clients of the other services' public REST APIs (ARCHITECTURE.md "Between
services"): a service reaches another only through these.

ImageClient: the Image service (Glance v2) as Compute uses it: the image a server boots
(checked at create), a snapshot's record and data (createImage), the data an agent caches.
It acts on the caller's token, as Nova acts on the user's context.

ObjectClient: Object Storage (Swift v1) in a service user's own account, as glance_store's
swift driver uses it in single-tenant mode: the account's URL is the object-store endpoint of
the service user's catalog, the token its own (`ServiceAuth`); data streams both ways.

PlacementClient: the Placement API as Nova's scheduler and compute agents use it (providers,
inventory, allocation candidates, claims), acting as a service user (`ServiceAuth`: the
`nova` or `placement` user bootstrap made, common/service_users.py), as Nova's report client
does with its [placement] credentials.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from overcast.common import service_users
from overcast.common.clock import epoch, parse_iso

if TYPE_CHECKING:
    from overcast.config import Config

__all__ = ["AllocationCandidates", "ImageClient", "ObjectClient", "PlacementClient",
           "ServiceAuth", "ServiceError"]


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

    async def list_images(self, token: str, **filters: str) -> list[dict[str, Any]]:
        """Images the caller sees matching `filters` (Glance filters on any property), every
        page: Glance caps a page at its api_limit_max, so the `next` links are followed."""
        images: list[dict[str, Any]] = []
        url: str | None = "/v2/images"
        params: dict[str, str] | None = {**filters, "limit": "1000"}
        while url is not None:
            r = await self._http.get(url, params=params, headers=self._auth(token))
            if r.status_code != 200:
                raise ServiceError(r.status_code, _message(r))
            body = r.json()
            images.extend(body["images"])
            # `next` carries the filters, the limit and the marker already
            url, params = body.get("next"), None
        return images

    async def update_image(self, token: str, image_id: str,
                           ops: list[dict[str, Any]]) -> dict[str, Any]:
        """Apply json-patch (v2.1) `ops` to the image; the updated record."""
        r = await self._http.patch(
            f"/v2/images/{image_id}", json=ops,
            headers={**self._auth(token),
                     "Content-Type": "application/openstack-images-v2.1-json-patch"})
        if r.status_code != 200:
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


class ServiceAuth:
    """A service user's token from Identity (password, project-scoped), renewed a minute before
    it expires or when a service answers 401."""

    def __init__(self, auth_url: str, user: str, password: str, *, project: str = "service",
                 domain: str = "Default", transport: httpx.AsyncBaseTransport | None = None,
                 catalog: bool = False):
        self.auth_url = auth_url.rstrip("/")
        self._with_catalog = catalog  # keep the token's catalog (`endpoint()`)
        self._catalog: list[dict[str, Any]] = []
        self._body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "password": password, "domain": {"name": domain}}}},
            "scope": {"project": {"name": project, "domain": {"name": domain}}}}}
        self._http = httpx.AsyncClient(transport=transport, timeout=30)
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or time.time() > self._expires - 60:
                try:
                    r = await self._http.post(
                        f"{self.auth_url}/auth/tokens", json=self._body,
                        params=None if self._with_catalog else {"nocatalog": "1"})
                except httpx.HTTPError as exc:
                    raise ServiceError(503, f"the Identity service is unreachable: {exc}") from exc
                if r.status_code != 201:
                    raise ServiceError(r.status_code, _message(r))
                self._token = r.headers["X-Subject-Token"]
                self._catalog = r.json()["token"].get("catalog") or []
                expires = r.json()["token"].get("expires_at")
                self._expires = epoch(parse_iso(expires)) if expires else time.time() + 3600
            return self._token

    async def endpoint(self, service_type: str, interface: str = "public",
                       region: str | None = None) -> str:
        """The URL of `service_type`'s `interface` endpoint in the token's catalog (the first
        one, or the one in `region`), as keystoneauth's endpoint filter picks it; the
        project's URL for services whose URLs name it (object-store: /v1/AUTH_<project>).
        Needs `catalog=True`; ServiceError 503 when the catalog has none."""
        await self.token()
        interface = interface.removesuffix("URL")  # Glance's "publicURL" names too
        for service in self._catalog:
            if service.get("type") != service_type:
                continue
            for ep in service.get("endpoints", []):
                if ep.get("interface") == interface and (
                        not region or region in (ep.get("region_id"), ep.get("region"))):
                    return str(ep["url"]).rstrip("/")
        raise ServiceError(503, f"the catalog has no {interface} {service_type} endpoint")

    def forget(self) -> None:
        self._token = None

    async def close(self) -> None:
        await self._http.aclose()


class ObjectClient:
    """Swift v1 in the account of `auth`'s project, found in its token's catalog."""

    LISTING_PAGE = 10000  # Swift's container_listing_limit

    def __init__(self, auth: ServiceAuth, *, interface: str = "public", region: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 60.0):
        self.auth = auth
        self.interface = interface
        self.region = region
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)

    @classmethod
    def from_config(cls, config: Config, user: str, *, interface: str = "public",
                    region: str | None = None, transport: httpx.AsyncBaseTransport | None = None,
                    identity_transport: httpx.AsyncBaseTransport | None = None
                    ) -> ObjectClient:
        """Acting as the service user `user` (common/service_users.py) in project `service`,
        with the password bootstrap kept in the state directory."""
        auth = ServiceAuth(f"{config.public_url('identity')}/v3", user,
                           service_users.password(config.state_dir, user),
                           project=service_users.SERVICE_PROJECT, transport=identity_transport,
                           catalog=True)
        return cls(auth, interface=interface, region=region, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()
        await self.auth.close()

    async def _url(self, container: str, name: str | None = None) -> str:
        base = await self.auth.endpoint("object-store", self.interface, self.region)
        path = quote(container, safe="")
        if name is not None:
            path += "/" + quote(name, safe="/")
        return f"{base}/{path}"

    async def _call(self, method: str, container: str, name: str | None = None,
                    **kw: Any) -> httpx.Response:
        """A request without a streamed body: once more with a new token after a 401."""
        r = await self._once(method, container, name, **kw)
        if r.status_code == 401:
            self.auth.forget()
            r = await self._once(method, container, name, **kw)
        return r

    async def _once(self, method: str, container: str, name: str | None, *,
                    headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        url = await self._url(container, name)
        try:
            return await self._http.request(
                method, url, headers={**(headers or {}), "X-Auth-Token": await self.auth.token()},
                **kw)
        except httpx.HTTPError as exc:
            raise ServiceError(503, f"the Object Storage service is unreachable: {exc}") from exc

    async def ensure_container(self, container: str) -> None:
        r = await self._call("PUT", container)
        if r.status_code not in (201, 202):
            raise ServiceError(r.status_code, f"cannot create container {container}")

    async def put_object(self, container: str, name: str,
                         content: AsyncIterable[bytes] | bytes = b"",
                         headers: dict[str, str] | None = None) -> str:
        """PUT an object, streamed (chunked) when `content` is an async iterable; its ETag."""
        url = await self._url(container, name)
        try:
            r = await self._http.put(url, content=content, headers={
                "Content-Type": "application/octet-stream", **(headers or {}),
                "X-Auth-Token": await self.auth.token()})
        except httpx.HTTPError as exc:
            raise ServiceError(503, f"the Object Storage service is unreachable: {exc}") from exc
        if r.status_code != 201:
            if r.status_code == 401:
                self.auth.forget()  # a streamed body cannot be sent again: the next PUT logs in
            raise ServiceError(r.status_code, f"PUT {container}/{name} failed")
        return str(r.headers.get("ETag", "")).strip('"')

    async def head_object(self, container: str, name: str) -> dict[str, str] | None:
        """The object's headers (lower-case names), or None when there is none."""
        r = await self._call("HEAD", container, name)
        if r.status_code == 404:
            return None
        if r.status_code not in (200, 204):
            raise ServiceError(r.status_code, f"HEAD {container}/{name} failed")
        return {k.lower(): v for k, v in r.headers.items()}

    async def get_object(self, container: str, name: str, *, start: int = 0, length: int = -1,
                         chunk: int = 1 << 20) -> AsyncGenerator[bytes, None]:
        """The object's bytes (`length` from `start`; all the rest when length < 0), streamed."""
        if length == 0:
            return
        headers = {"X-Auth-Token": await self.auth.token()}
        ranged = start > 0 or length > 0
        if ranged:
            headers["Range"] = f"bytes={start}-{start + length - 1 if length > 0 else ''}"
        try:
            async with self._http.stream("GET", await self._url(container, name),
                                         headers=headers) as r:
                if r.status_code != (206 if ranged else 200):
                    if r.status_code == 401:
                        self.auth.forget()
                    await r.aread()
                    raise ServiceError(r.status_code, f"GET {container}/{name} failed")
                async for data in r.aiter_bytes(chunk):
                    yield data
        except httpx.HTTPError as exc:
            raise ServiceError(503, f"the Object Storage service is unreachable: {exc}") from exc

    async def delete_object(self, container: str, name: str) -> bool:
        """False when there was no such object."""
        r = await self._call("DELETE", container, name)
        if r.status_code not in (204, 404):
            raise ServiceError(r.status_code, f"DELETE {container}/{name} failed")
        return r.status_code == 204

    async def list_objects(self, container: str, prefix: str = "") -> list[dict[str, Any]]:
        """Every object of the container (page after page) whose name starts with `prefix`;
        [] when the container does not exist."""
        rows: list[dict[str, Any]] = []
        marker = ""
        while True:
            params = {"format": "json", "prefix": prefix, "limit": str(self.LISTING_PAGE)}
            if marker:
                params["marker"] = marker
            r = await self._call("GET", container, params=params)
            if r.status_code == 404:
                return rows
            if r.status_code == 204:
                return rows
            if r.status_code != 200:
                raise ServiceError(r.status_code, f"listing {container} failed")
            page: list[dict[str, Any]] = r.json()
            rows += page
            if len(page) < self.LISTING_PAGE:
                return rows
            marker = page[-1]["name"]


@dataclass
class AllocationCandidates:
    """GET /allocation_candidates: each request is ready to claim (provider -> class ->
    amount); summaries say what each provider has (capacity, used, traits, tree)."""

    allocation_requests: list[dict[str, dict[str, int]]] = field(default_factory=list)
    provider_summaries: dict[str, dict[str, Any]] = field(default_factory=dict)


class PlacementClient:
    """The Placement API at `base_url` (no version path) at microversion 1.39."""

    MICROVERSION = "placement 1.39"

    def __init__(self, base_url: str, auth: ServiceAuth, *,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 30.0):
        self.auth = auth
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), transport=transport,
                                       timeout=timeout,
                                       headers={"OpenStack-API-Version": self.MICROVERSION})

    @classmethod
    def from_config(cls, config: Config, *, user: str | None = None,
                    transport: httpx.AsyncBaseTransport | None = None,
                    identity_transport: httpx.AsyncBaseTransport | None = None
                    ) -> PlacementClient:
        """Acting as `user` (default: Nova's user when bootstrap made it, else Placement's),
        with the password bootstrap kept in the state directory. The transports let
        `overcast up` call in-process apps; the contract stays HTTP."""
        if user is None:
            nova = service_users.SERVICE_USERS["compute"]
            user = nova if service_users.password_path(config.state_dir, nova).exists() \
                else service_users.SERVICE_USERS["placement"]
        auth = ServiceAuth(f"{config.public_url('identity')}/v3", user,
                           service_users.password(config.state_dir, user),
                           project=service_users.SERVICE_PROJECT, transport=identity_transport)
        return cls(config.public_url("placement"), auth, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()
        await self.auth.close()

    async def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        r = await self._once(method, path, **kw)
        if r.status_code == 401:
            self.auth.forget()  # the token expired or was revoked: log in again
            r = await self._once(method, path, **kw)
        return r

    async def _once(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"X-Auth-Token": await self.auth.token()}
        try:
            return await self._http.request(method, path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            raise ServiceError(503, f"the Placement service is unreachable: {exc}") from exc

    @staticmethod
    def _code(r: httpx.Response) -> str:
        try:
            return str(r.json()["errors"][0].get("code", ""))
        except (ValueError, KeyError, IndexError, TypeError):
            return ""

    @staticmethod
    def _fail(r: httpx.Response) -> ServiceError:
        try:
            detail = str(r.json()["errors"][0].get("detail", ""))[:300]
        except (ValueError, KeyError, IndexError, TypeError):
            detail = r.text[:300]
        return ServiceError(r.status_code, detail)

    # -- providers --
    async def get_provider(self, uuid: str) -> dict[str, Any] | None:
        r = await self._call("GET", f"/resource_providers/{uuid}")
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise self._fail(r)
        body: dict[str, Any] = r.json()
        return body

    async def ensure_provider(self, uuid: str, name: str, parent_uuid: str | None = None) -> int:
        """The provider's generation, creating it when it does not exist."""
        found = await self.get_provider(uuid)
        if found is not None:
            return int(found["generation"])
        body: dict[str, Any] = {"uuid": uuid, "name": name}
        if parent_uuid is not None:
            body["parent_provider_uuid"] = parent_uuid
        r = await self._call("POST", "/resource_providers", json=body)
        if r.status_code == 409:  # created at the same moment by another caller?
            found = await self.get_provider(uuid)
            if found is not None:
                return int(found["generation"])
        if r.status_code != 200:
            raise self._fail(r)
        return int(r.json()["generation"])

    async def delete_provider(self, uuid: str) -> bool:
        r = await self._call("DELETE", f"/resource_providers/{uuid}")
        if r.status_code not in (204, 404):
            raise self._fail(r)
        return r.status_code == 204

    async def set_inventory(self, uuid: str, inventories: dict[str, dict[str, Any]],
                            attempts: int = 5) -> int:
        """Replace the provider's inventory (re-reading its generation when another writer
        moved it); the new generation. A class in use that would go away: ServiceError 409."""
        for _ in range(attempts):
            r = await self._call("GET", f"/resource_providers/{uuid}/inventories")
            if r.status_code != 200:
                raise self._fail(r)
            generation = r.json()["resource_provider_generation"]
            r = await self._call("PUT", f"/resource_providers/{uuid}/inventories", json={
                "resource_provider_generation": generation, "inventories": inventories})
            if r.status_code == 200:
                return int(r.json()["resource_provider_generation"])
            if r.status_code != 409 or self._code(r) != "placement.concurrent_update":
                raise self._fail(r)
        raise ServiceError(409, f"resource provider {uuid} kept changing; gave up")

    async def set_traits(self, uuid: str, traits: list[str], attempts: int = 5) -> int:
        """Replace the provider's traits, creating custom ones (CUSTOM_*) first."""
        for trait in traits:
            if trait.startswith("CUSTOM_"):
                r = await self._call("PUT", f"/traits/{trait}")
                if r.status_code not in (201, 204):
                    raise self._fail(r)
        for _ in range(attempts):
            r = await self._call("GET", f"/resource_providers/{uuid}/traits")
            if r.status_code != 200:
                raise self._fail(r)
            r = await self._call("PUT", f"/resource_providers/{uuid}/traits", json={
                "traits": traits,
                "resource_provider_generation": r.json()["resource_provider_generation"]})
            if r.status_code == 200:
                return int(r.json()["resource_provider_generation"])
            if r.status_code != 409 or self._code(r) != "placement.concurrent_update":
                raise self._fail(r)
        raise ServiceError(409, f"resource provider {uuid} kept changing; gave up")

    async def usages(self, uuid: str) -> dict[str, int]:
        r = await self._call("GET", f"/resource_providers/{uuid}/usages")
        if r.status_code != 200:
            raise self._fail(r)
        return {k: int(v) for k, v in r.json()["usages"].items()}

    # -- scheduling --
    async def allocation_candidates(self, resources: dict[str, int], *,
                                    required_traits: tuple[str, ...] | list[str] = (),
                                    forbidden_traits: tuple[str, ...] | list[str] = (),
                                    member_of: tuple[str, ...] | list[str] = (),
                                    in_tree: str | None = None,
                                    limit: int | None = 50) -> AllocationCandidates:
        params: dict[str, str] = {
            "resources": ",".join(f"{rc}:{n}" for rc, n in sorted(resources.items()))}
        traits = [*required_traits, *(f"!{t}" for t in forbidden_traits)]
        if traits:
            params["required"] = ",".join(traits)
        if member_of:
            params["member_of"] = "in:" + ",".join(member_of)
        if in_tree:
            params["in_tree"] = in_tree
        if limit is not None:
            params["limit"] = str(limit)
        r = await self._call("GET", "/allocation_candidates", params=params)
        if r.status_code != 200:
            raise self._fail(r)
        body = r.json()
        return AllocationCandidates(
            [{rp: dict(a["resources"]) for rp, a in ar["allocations"].items()}
             for ar in body["allocation_requests"]], body["provider_summaries"])

    # -- allocations --
    async def allocations(self, consumer: str) -> dict[str, Any]:
        """GET /allocations/{consumer}: provider -> {"resources", "generation"}, and the
        consumer's project_id, user_id, consumer_generation and consumer_type when it has any."""
        r = await self._call("GET", f"/allocations/{consumer}")
        if r.status_code != 200:
            raise self._fail(r)
        body: dict[str, Any] = r.json()
        return body

    async def claim(self, consumer: str, allocations: dict[str, dict[str, int]],
                    project_id: str, user_id: str, *, consumer_generation: int | None = None,
                    consumer_type: str = "INSTANCE") -> bool:
        """Write the consumer's allocations; False when Placement refuses (the resources were
        taken meanwhile, or the consumer changed since `consumer_generation`)."""
        r = await self._call("PUT", f"/allocations/{consumer}", json={
            "allocations": {rp: {"resources": res} for rp, res in allocations.items()},
            "project_id": project_id, "user_id": user_id,
            "consumer_generation": consumer_generation, "consumer_type": consumer_type})
        if r.status_code == 204:
            return True
        if r.status_code == 409:
            return False
        raise self._fail(r)

    async def delete_allocations(self, consumer: str) -> bool:
        r = await self._call("DELETE", f"/allocations/{consumer}")
        if r.status_code not in (204, 404):
            raise self._fail(r)
        return r.status_code == 204

    async def move_allocations(self, source: str, target: str, *,
                               target_type: str = "MIGRATION") -> bool:
        """Give `target` (a migration record) what `source` (the instance) holds, as Nova's
        resize does, in one POST /allocations; False when `source` holds nothing or either
        consumer changed meanwhile."""
        src = await self.allocations(source)
        if not src.get("allocations"):
            return False
        dst = await self.allocations(target)
        r = await self._call("POST", "/allocations", json={
            source: {"allocations": {}, "project_id": src["project_id"],
                     "user_id": src["user_id"],
                     "consumer_generation": src.get("consumer_generation"),
                     "consumer_type": src.get("consumer_type") or "INSTANCE"},
            target: {"allocations": {rp: {"resources": a["resources"]}
                                     for rp, a in src["allocations"].items()},
                     "project_id": src["project_id"], "user_id": src["user_id"],
                     "consumer_generation": dst.get("consumer_generation"),
                     "consumer_type": target_type}})
        if r.status_code == 204:
            return True
        if r.status_code == 409:
            return False
        raise self._fail(r)
