"""OS-EP-FILTER: endpoint groups (endpoints picked by service, region and interface) and the
projects they, or single endpoints, are associated with. A project-scoped token's catalog
holds only its project's associated endpoints when there are any (catalog.py)."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.identity.catalog import INTERFACES, endpoint_matches
from overcast.identity.models import (
    Endpoint,
    EndpointGroup,
    Project,
    ProjectEndpoint,
    ProjectEndpointGroup,
)
from overcast.identity.state import IdentityState

__all__ = ["FILTER_KEYS", "EndpointGroups"]

FILTER_KEYS = ("service_id", "region_id", "interface")


def _check_filters(filters: Any) -> None:
    if not isinstance(filters, dict) or not filters:
        raise faults.BadRequest("filters field is required and cannot be empty.")
    for key, value in filters.items():
        if key not in FILTER_KEYS:
            raise faults.BadRequest(f"Invalid input for field 'filters': {key!r} is not one of "
                                    f"{', '.join(FILTER_KEYS)}.")
        if key == "interface" and value not in INTERFACES:
            raise faults.BadRequest(f"Invalid interface: {value!r}; expected one of "
                                    f"{', '.join(INTERFACES)}.")
        if key != "region_id" and not isinstance(value, str):
            raise faults.BadRequest(f"Invalid input for field 'filters.{key}'.")


class EndpointGroups:
    def __init__(self, state: IdentityState):
        self.state = state

    # -- endpoint groups --
    @staticmethod
    async def get(s: AsyncSession, group_id: str) -> EndpointGroup:
        group = await s.get(EndpointGroup, group_id)
        if group is None:
            raise faults.NotFound(f"Could not find Endpoint Group: {group_id}.")
        return group

    @staticmethod
    async def _project(s: AsyncSession, project_id: str) -> Project:
        project = await s.get(Project, project_id)
        if project is None:
            raise faults.NotFound(f"Could not find project: {project_id}.")
        return project

    @staticmethod
    async def _endpoint(s: AsyncSession, endpoint_id: str) -> Endpoint:
        endpoint = await s.get(Endpoint, endpoint_id)
        if endpoint is None:
            raise faults.NotFound(f"Could not find endpoint: {endpoint_id}.")
        return endpoint

    async def show(self, ctx: RequestContext, group_id: str) -> EndpointGroup:
        ctx.enforce("identity:get_endpoint_group")
        async with self.state.db.read() as s:
            return await self.get(s, group_id)

    async def list(self, ctx: RequestContext, name: str | None = None) -> builtins.list[EndpointGroup]:
        ctx.enforce("identity:list_endpoint_groups")
        q = select(EndpointGroup).order_by(EndpointGroup.id)
        if name is not None:
            q = q.where(EndpointGroup.name == name)
        async with self.state.db.read() as s:
            return list(await s.scalars(self.state.capped(q)))

    async def create(self, ctx: RequestContext, body: dict[str, Any]) -> EndpointGroup:
        ctx.enforce("identity:create_endpoint_group")
        if not body.get("name"):
            raise faults.BadRequest("Invalid input for field 'name': it is required.")
        _check_filters(body.get("filters"))
        async with self.state.write() as s:
            group = EndpointGroup(name=body["name"], description=body.get("description"),
                                  filters=dict(body["filters"]))
            s.add(group)
        return group

    async def update(self, ctx: RequestContext, group_id: str, body: dict[str, Any]) -> EndpointGroup:
        ctx.enforce("identity:update_endpoint_group")
        if not body:
            raise faults.BadRequest("An update needs at least one attribute.")
        if "filters" in body:
            _check_filters(body["filters"])
        if "name" in body and not body["name"]:
            raise faults.BadRequest("Invalid input for field 'name'.")
        async with self.state.write() as s:
            group = await self.get(s, group_id)
            for key in ("name", "description", "filters"):
                if key in body:
                    setattr(group, key, body[key])
        return group

    async def delete(self, ctx: RequestContext, group_id: str) -> None:
        ctx.enforce("identity:delete_endpoint_group")
        async with self.state.write() as s:
            group = await self.get(s, group_id)
            await s.execute(delete(ProjectEndpointGroup)
                            .where(ProjectEndpointGroup.endpoint_group_id == group_id))
            await s.delete(group)

    async def endpoints(self, ctx: RequestContext, group_id: str) -> builtins.list[Endpoint]:
        """The endpoints the group's filters select."""
        ctx.enforce("identity:list_endpoints_associated_with_endpoint_group")
        async with self.state.db.read() as s:
            group = await self.get(s, group_id)
            return [e for e in await s.scalars(select(Endpoint).order_by(Endpoint.id))
                    if endpoint_matches(e, group.filters)]

    # -- endpoint groups of projects --
    async def add_project(self, ctx: RequestContext, group_id: str, project_id: str) -> None:
        ctx.enforce("identity:add_endpoint_group_to_project")
        async with self.state.write() as s:
            await self._project(s, project_id)
            await self.get(s, group_id)
            if await s.get(ProjectEndpointGroup, (group_id, project_id)):
                raise faults.Conflict("Conflict occurred attempting to store "
                                      "project_endpoint_group - Duplicate entry.")
            s.add(ProjectEndpointGroup(endpoint_group_id=group_id, project_id=project_id))

    async def project_association(self, ctx: RequestContext, group_id: str,
                                  project_id: str) -> ProjectEndpointGroup:
        ctx.enforce("identity:get_endpoint_group_in_project")
        async with self.state.db.read() as s:
            await self._project(s, project_id)
            await self.get(s, group_id)
            link = await s.get(ProjectEndpointGroup, (group_id, project_id))
        if link is None:
            raise faults.NotFound("Endpoint Group Project Association not found.")
        return link

    async def remove_project(self, ctx: RequestContext, group_id: str, project_id: str) -> None:
        ctx.enforce("identity:remove_endpoint_group_from_project")
        async with self.state.write() as s:
            await self._project(s, project_id)
            await self.get(s, group_id)
            link = await s.get(ProjectEndpointGroup, (group_id, project_id))
            if link is None:
                raise faults.NotFound("Endpoint Group Project Association not found.")
            await s.delete(link)

    async def projects(self, ctx: RequestContext, group_id: str) -> builtins.list[Project]:
        """Projects the group is associated with (associations of deleted projects skipped)."""
        ctx.enforce("identity:list_projects_associated_with_endpoint_group")
        async with self.state.db.read() as s:
            await self.get(s, group_id)
            q = (select(Project).join(ProjectEndpointGroup,
                                      ProjectEndpointGroup.project_id == Project.id)
                 .where(ProjectEndpointGroup.endpoint_group_id == group_id).order_by(Project.id))
            return list(await s.scalars(q))

    async def groups_of_project(self, ctx: RequestContext, project_id: str) -> builtins.list[EndpointGroup]:
        ctx.enforce("identity:list_endpoint_groups_for_project")
        async with self.state.db.read() as s:
            await self._project(s, project_id)
            q = (select(EndpointGroup).join(
                ProjectEndpointGroup, ProjectEndpointGroup.endpoint_group_id == EndpointGroup.id)
                 .where(ProjectEndpointGroup.project_id == project_id)
                 .order_by(EndpointGroup.id))
            return list(await s.scalars(q))

    # -- single endpoints of projects --
    async def add_endpoint(self, ctx: RequestContext, project_id: str, endpoint_id: str) -> None:
        ctx.enforce("identity:add_endpoint_to_project")
        async with self.state.write() as s:
            await self._endpoint(s, endpoint_id)
            await self._project(s, project_id)
            if await s.get(ProjectEndpoint, (endpoint_id, project_id)):
                raise faults.Conflict("Conflict occurred attempting to store project_endpoint - "
                                      "Duplicate entry.")
            s.add(ProjectEndpoint(endpoint_id=endpoint_id, project_id=project_id))

    async def check_endpoint(self, ctx: RequestContext, project_id: str, endpoint_id: str) -> None:
        ctx.enforce("identity:check_endpoint_in_project")
        async with self.state.db.read() as s:
            await self._endpoint(s, endpoint_id)
            await self._project(s, project_id)
            if await s.get(ProjectEndpoint, (endpoint_id, project_id)) is None:
                raise faults.NotFound(f"Endpoint {endpoint_id} not found in project "
                                      f"{project_id}.")

    async def remove_endpoint(self, ctx: RequestContext, project_id: str, endpoint_id: str) -> None:
        ctx.enforce("identity:remove_endpoint_from_project")
        async with self.state.write() as s:
            link = await s.get(ProjectEndpoint, (endpoint_id, project_id))
            if link is None:
                raise faults.NotFound(f"Endpoint {endpoint_id} not found in project "
                                      f"{project_id}.")
            await s.delete(link)

    async def endpoints_of_project(self, ctx: RequestContext, project_id: str) -> builtins.list[Endpoint]:
        """Endpoints associated directly, then those of the project's endpoint groups."""
        ctx.enforce("identity:list_endpoints_for_project")
        async with self.state.db.read() as s:
            await self._project(s, project_id)
            direct = list(await s.scalars(
                select(Endpoint).join(ProjectEndpoint, ProjectEndpoint.endpoint_id == Endpoint.id)
                .where(ProjectEndpoint.project_id == project_id).order_by(Endpoint.id)))
            groups = list(await s.scalars(
                select(EndpointGroup).join(
                    ProjectEndpointGroup,
                    ProjectEndpointGroup.endpoint_group_id == EndpointGroup.id)
                .where(ProjectEndpointGroup.project_id == project_id)))
            every = list(await s.scalars(select(Endpoint).order_by(Endpoint.id))) if groups else []
        found = {e.id: e for e in direct}
        for group in groups:
            for e in every:
                if e.id not in found and endpoint_matches(e, group.filters):
                    found[e.id] = e
        return list(found.values())

    async def projects_of_endpoint(self, ctx: RequestContext, endpoint_id: str) -> builtins.list[Project]:
        ctx.enforce("identity:list_projects_for_endpoint")
        async with self.state.db.read() as s:
            await self._endpoint(s, endpoint_id)
            q = (select(Project).join(ProjectEndpoint, ProjectEndpoint.project_id == Project.id)
                 .where(ProjectEndpoint.endpoint_id == endpoint_id).order_by(Project.id))
            return list(await s.scalars(q))
