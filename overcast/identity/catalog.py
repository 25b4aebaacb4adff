"""The service catalog: regions, services and endpoints, and the catalog a token carries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.identity.models import (
    Endpoint,
    EndpointGroup,
    ProjectEndpoint,
    ProjectEndpointGroup,
    Region,
    Service,
)
from overcast.identity.state import IdentityState

__all__ = ["INTERFACES", "Catalog", "endpoint_matches"]

INTERFACES = ("public", "internal", "admin")


def _substitute(url: str, project_id: str | None) -> str | None:
    """Keystone's URL templates: $(project_id)s / %(project_id)s and the tenant_id aliases.
    An endpoint that needs a project is left out of a catalog that has none."""
    for name in ("project_id", "tenant_id"):
        for pattern in (f"$({name})s", f"%({name})s"):
            if pattern in url:
                if project_id is None:
                    return None
                url = url.replace(pattern, project_id)
    return url


def endpoint_matches(endpoint: Endpoint, filters: dict[str, Any]) -> bool:
    """Whether an endpoint group's filters (service_id, region_id, interface) select it."""
    return all(getattr(endpoint, key, None) == value for key, value in filters.items())


async def project_endpoint_ids(s: AsyncSession, project_id: str,
                               endpoints: list[Endpoint]) -> set[str]:
    """The endpoints OS-EP-FILTER associates with a project: directly, or through its endpoint
    groups' filters (of `endpoints`). Empty: the project has no filter."""
    ids = set(await s.scalars(select(ProjectEndpoint.endpoint_id)
                              .where(ProjectEndpoint.project_id == project_id)))
    for filters in await s.scalars(
            select(EndpointGroup.filters).join(
                ProjectEndpointGroup, ProjectEndpointGroup.endpoint_group_id == EndpointGroup.id)
            .where(ProjectEndpointGroup.project_id == project_id)):
        ids.update(e.id for e in endpoints if endpoint_matches(e, filters))
    return ids


class Catalog:
    def __init__(self, state: IdentityState):
        self.state = state

    # -- regions --
    @staticmethod
    async def get_region(s: AsyncSession, region_id: str) -> Region:
        region = await s.get(Region, region_id)
        if region is None:
            raise faults.NotFound(f"Could not find region: {region_id}.")
        return region

    async def show_region(self, ctx: RequestContext, region_id: str) -> Region:
        async with self.state.db.read() as s:
            region = await self.get_region(s, region_id)
        ctx.enforce("identity:get_region", {"region": {"id": region.id}})
        return region

    async def list_regions(self, ctx: RequestContext,
                           parent_region_id: str | None = None) -> list[Region]:
        ctx.enforce("identity:list_regions")
        q = select(Region).order_by(Region.id)
        if parent_region_id is not None:
            q = q.where(Region.parent_region_id == parent_region_id)
        async with self.state.db.read() as s:
            return list(await s.scalars(self.state.capped(q)))

    async def create_region(self, ctx: RequestContext, body: dict[str, Any],
                            region_id: str | None = None) -> Region:
        """POST /v3/regions, or PUT /v3/regions/{region_id} (an id the caller chose)."""
        ctx.enforce("identity:create_region", {"region": body})
        if region_id is not None and body.get("id") not in (None, region_id):
            raise faults.BadRequest("The region id in the body does not match the URL.")
        rid = region_id or body.get("id")
        async with self.state.write() as s:
            if rid and await s.get(Region, rid):
                raise faults.Conflict(f"Duplicate ID, {rid}.")
            parent = body.get("parent_region_id")
            if parent:
                await self._check_parent(s, parent, rid)
            extra = {k: v for k, v in body.items()
                     if k not in ("id", "description", "parent_region_id", "links")}
            region = Region(description=body.get("description") or "", parent_region_id=parent,
                            extra=extra)
            if rid:
                region.id = rid
            s.add(region)
        return region

    async def _check_parent(self, s: AsyncSession, parent: str, region_id: str | None) -> None:
        if await s.get(Region, parent) is None:
            raise faults.BadRequest(f"Parent region {parent} not found.")
        seen, cur = set(), parent
        while cur:
            if cur == region_id or cur in seen:
                raise faults.BadRequest("The parent region would make a cycle.")
            seen.add(cur)
            cur = await s.scalar(select(Region.parent_region_id).where(Region.id == cur))

    async def update_region(self, ctx: RequestContext, region_id: str,
                            body: dict[str, Any]) -> Region:
        async with self.state.write() as s:
            region = await self.get_region(s, region_id)
            ctx.enforce("identity:update_region", {"region": {"id": region.id}})
            if body.get("id") not in (None, region_id):
                raise faults.BadRequest("A region's id cannot change.")
            if body.get("parent_region_id"):
                await self._check_parent(s, body["parent_region_id"], region_id)
            for k, v in body.items():
                if k in ("description", "parent_region_id"):
                    setattr(region, k, v if v is not None or k != "description" else "")
                elif k not in ("id", "links"):
                    region.extra = {**region.extra, k: v}
        return region

    async def delete_region(self, ctx: RequestContext, region_id: str) -> None:
        async with self.state.write() as s:
            region = await self.get_region(s, region_id)
            ctx.enforce("identity:delete_region", {"region": {"id": region.id}})
            if await s.scalar(select(Region.id).where(Region.parent_region_id == region_id)):
                raise faults.Forbidden("Cannot delete a region that has child regions.")
            if await s.scalar(select(Endpoint.id).where(Endpoint.region_id == region_id)):
                raise faults.Forbidden("Cannot delete a region that has endpoints.")
            await s.delete(region)

    # -- services --
    @staticmethod
    async def get_service(s: AsyncSession, service_id: str) -> Service:
        service = await s.get(Service, service_id)
        if service is None:
            raise faults.NotFound(f"Could not find service: {service_id}.")
        return service

    async def show_service(self, ctx: RequestContext, service_id: str) -> Service:
        async with self.state.db.read() as s:
            service = await self.get_service(s, service_id)
        ctx.enforce("identity:get_service", {"service": {"id": service.id}})
        return service

    async def list_services(self, ctx: RequestContext, type: str | None = None,
                            name: str | None = None) -> list[Service]:
        ctx.enforce("identity:list_services")
        q = select(Service).order_by(Service.type, Service.id)
        if type is not None:
            q = q.where(Service.type == type)
        async with self.state.db.read() as s:
            if name is None:
                return list(await s.scalars(self.state.capped(q)))
            rows = list(await s.scalars(q))
        return self.state.cap([r for r in rows if r.extra.get("name") == name])

    async def create_service(self, ctx: RequestContext, body: dict[str, Any]) -> Service:
        ctx.enforce("identity:create_service", {"service": body})
        extra = {k: v for k, v in body.items() if k not in ("id", "type", "enabled", "links")}
        async with self.state.write() as s:
            service = Service(type=body["type"], enabled=body.get("enabled", True), extra=extra)
            s.add(service)
        return service

    async def update_service(self, ctx: RequestContext, service_id: str,
                             body: dict[str, Any]) -> Service:
        async with self.state.write() as s:
            service = await self.get_service(s, service_id)
            ctx.enforce("identity:update_service", {"service": {"id": service.id}})
            for k, v in body.items():
                if k in ("type", "enabled"):
                    setattr(service, k, v)
                elif k not in ("id", "links"):
                    service.extra = {**service.extra, k: v}
        return service

    async def delete_service(self, ctx: RequestContext, service_id: str) -> None:
        async with self.state.write() as s:
            service = await self.get_service(s, service_id)
            ctx.enforce("identity:delete_service", {"service": {"id": service.id}})
            await s.execute(update(Endpoint).where(Endpoint.service_id == service_id)
                            .values(enabled=False))
            for ep in await s.scalars(select(Endpoint).where(Endpoint.service_id == service_id)):
                await s.delete(ep)
            await s.delete(service)

    # -- endpoints --
    @staticmethod
    async def get_endpoint(s: AsyncSession, endpoint_id: str) -> Endpoint:
        endpoint = await s.get(Endpoint, endpoint_id)
        if endpoint is None:
            raise faults.NotFound(f"Could not find endpoint: {endpoint_id}.")
        return endpoint

    async def show_endpoint(self, ctx: RequestContext, endpoint_id: str) -> Endpoint:
        async with self.state.db.read() as s:
            endpoint = await self.get_endpoint(s, endpoint_id)
        ctx.enforce("identity:get_endpoint", {"endpoint": {"id": endpoint.id}})
        return endpoint

    async def list_endpoints(self, ctx: RequestContext, *, service_id: str | None = None,
                             interface: str | None = None,
                             region_id: str | None = None) -> list[Endpoint]:
        ctx.enforce("identity:list_endpoints")
        q = select(Endpoint).order_by(Endpoint.id)
        if service_id is not None:
            q = q.where(Endpoint.service_id == service_id)
        if interface is not None:
            q = q.where(Endpoint.interface == interface)
        if region_id is not None:
            q = q.where(Endpoint.region_id == region_id)
        async with self.state.db.read() as s:
            return list(await s.scalars(self.state.capped(q)))

    async def create_endpoint(self, ctx: RequestContext, body: dict[str, Any]) -> Endpoint:
        ctx.enforce("identity:create_endpoint", {"endpoint": body})
        region_id = body.get("region_id") or body.get("region")
        async with self.state.write() as s:
            await self._check_endpoint(s, body, region_id)
            if region_id and await s.get(Region, region_id) is None:
                # Keystone creates a region named in an endpoint on the fly.
                s.add(Region(id=region_id, description="", extra={}))
            extra = {k: v for k, v in body.items() if k not in (
                "id", "service_id", "interface", "url", "region_id", "region", "enabled", "links")}
            endpoint = Endpoint(service_id=body["service_id"], interface=body["interface"],
                                url=body["url"], region_id=region_id,
                                enabled=body.get("enabled", True), extra=extra)
            s.add(endpoint)
        return endpoint

    async def _check_endpoint(self, s: AsyncSession, body: dict[str, Any],
                              region_id: str | None) -> None:
        if "interface" in body and body["interface"] not in INTERFACES:
            raise faults.BadRequest(f"Invalid interface: {body['interface']!r}; expected one of "
                                    f"{', '.join(INTERFACES)}.")
        if "service_id" in body:
            if not body["service_id"] or await s.get(Service, body["service_id"]) is None:
                raise faults.BadRequest(f"Could not find service: {body['service_id']}.")
        if "url" in body and (not isinstance(body["url"], str) or not body["url"].strip()):
            raise faults.BadRequest("Invalid input for field 'url'.")

    async def update_endpoint(self, ctx: RequestContext, endpoint_id: str,
                              body: dict[str, Any]) -> Endpoint:
        async with self.state.write() as s:
            endpoint = await self.get_endpoint(s, endpoint_id)
            ctx.enforce("identity:update_endpoint", {"endpoint": {"id": endpoint.id}})
            region_id = body.get("region_id", body.get("region"))
            await self._check_endpoint(s, body, region_id)
            if region_id and await s.get(Region, region_id) is None:
                s.add(Region(id=region_id, description="", extra={}))
            for k, v in body.items():
                if k in ("service_id", "interface", "url", "enabled", "region_id"):
                    setattr(endpoint, k, v)
                elif k == "region":
                    endpoint.region_id = v
                elif k not in ("id", "links"):
                    endpoint.extra = {**endpoint.extra, k: v}
        return endpoint

    async def delete_endpoint(self, ctx: RequestContext, endpoint_id: str) -> None:
        async with self.state.write() as s:
            endpoint = await self.get_endpoint(s, endpoint_id)
            ctx.enforce("identity:delete_endpoint", {"endpoint": {"id": endpoint.id}})
            await s.delete(endpoint)
            await s.execute(delete(ProjectEndpoint).where(ProjectEndpoint.endpoint_id == endpoint_id))

    # -- the catalog in a token --
    async def for_caller(self, ctx: RequestContext) -> list[dict[str, Any]]:
        """GET /v3/auth/catalog: the catalog of the caller's (scoped) token."""
        ctx.enforce("identity:get_auth_catalog")
        project_id = ctx.creds.project_id
        if not project_id:
            # Keystone's Forbidden is a SecurityError: the reason only with insecure_debug.
            if self.state.config.default.insecure_debug:
                raise faults.Forbidden("A project-scoped token is required to produce a service "
                                       "catalog. (Disable insecure_debug mode to suppress these "
                                       "details.)")
            raise faults.Forbidden("You are not authorized to perform the requested action.")
        return await self.for_token(project_id)

    async def for_token(self, project_id: str | None) -> list[dict[str, Any]]:
        """Every enabled endpoint of every enabled service, grouped by service (cached).

        A project with OS-EP-FILTER associations (endpoints, endpoint groups) gets only those
        endpoints, and no service left without one, as Keystone's SQL catalog; a project
        without any gets everything (Keystone's `return_all_endpoints_if_no_filter`)."""
        cached = self.state.catalog_cache.get(project_id)
        if cached is not None:
            return cached
        generation = self.state.generation
        async with self.state.db.read() as s:
            services = list(await s.scalars(select(Service).where(Service.enabled.is_(True))))
            endpoints = list(await s.scalars(select(Endpoint).where(Endpoint.enabled.is_(True))))
            only = await project_endpoint_ids(s, project_id, endpoints) if project_id else set()
        if only:
            endpoints = [e for e in endpoints if e.id in only]
            kept = {e.service_id for e in endpoints}
            services = [svc for svc in services if svc.id in kept]
        catalog = []
        for svc in sorted(services, key=lambda x: (x.type, x.id)):
            eps = []
            for ep in endpoints:
                if ep.service_id != svc.id:
                    continue
                url = _substitute(ep.url, project_id)
                if url is None:
                    continue
                # tempest reads endpoint["region"], keystoneauth region_id (CLIENT_SURFACE.md §1.2)
                eps.append({"id": ep.id, "interface": ep.interface, "region": ep.region_id,
                            "region_id": ep.region_id, "url": url})
            catalog.append({"id": svc.id, "type": svc.type, "name": svc.extra.get("name", ""),
                            "endpoints": eps})
        if generation == self.state.generation:  # else a write raced this read: don't keep it
            self.state.catalog_cache[project_id] = catalog
        return catalog
