"""/v3/OS-EP-FILTER: endpoint groups, and the projects endpoints and endpoint groups are
associated with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, listing, self_link
from overcast.identity.api.catalog import endpoint_view
from overcast.identity.api.projects import project_view
from overcast.identity.api.schemas import EndpointGroupCreateBody, EndpointGroupUpdateBody
from overcast.identity.models import EndpointGroup, ProjectEndpointGroup

router = APIRouter(prefix="/v3/OS-EP-FILTER", tags=["endpoint-filter"])

_GROUP = "/endpoint_groups/{endpoint_group_id}"
_GROUP_PROJECT = _GROUP + "/projects/{project_id}"
_PROJECT_ENDPOINT = "/projects/{project_id}/endpoints/{endpoint_id}"


def endpoint_group_view(request: Request, g: EndpointGroup) -> dict[str, Any]:
    return {"id": g.id, "name": g.name, "description": g.description, "filters": g.filters,
            "links": self_link(request, f"/v3/OS-EP-FILTER/endpoint_groups/{g.id}")}


def association_view(request: Request, a: ProjectEndpointGroup) -> dict[str, Any]:
    return {"endpoint_group_id": a.endpoint_group_id, "project_id": a.project_id,
            "links": self_link(request, f"/v3/OS-EP-FILTER/endpoint_groups/"
                                        f"{a.endpoint_group_id}/projects/{a.project_id}")}


# -- endpoint groups --
@router.get("/endpoint_groups", **policy("identity:list_endpoint_groups"))
async def list_endpoint_groups(request: Request, ctx: Ctx, identity: Ident,
                               name: str | None = None) -> dict[str, Any]:
    groups = await identity.endpoint_groups.list(ctx, name)
    return listing(request, "endpoint_groups", groups,
                   lambda g: endpoint_group_view(request, g), identity.list_limit)


@router.post("/endpoint_groups", status_code=201, **policy("identity:create_endpoint_group"))
async def create_endpoint_group(request: Request, body: EndpointGroupCreateBody, ctx: Ctx,
                                identity: Ident) -> dict[str, Any]:
    group = await identity.endpoint_groups.create(ctx, body.endpoint_group.fields())
    return {"endpoint_group": endpoint_group_view(request, group)}


@router.head(_GROUP, **policy("identity:get_endpoint_group"))
@router.get(_GROUP, **policy("identity:get_endpoint_group"))
async def show_endpoint_group(request: Request, endpoint_group_id: str, ctx: Ctx,
                              identity: Ident) -> dict[str, Any]:
    group = await identity.endpoint_groups.show(ctx, endpoint_group_id)
    return {"endpoint_group": endpoint_group_view(request, group)}


@router.patch(_GROUP, **policy("identity:update_endpoint_group"))
async def update_endpoint_group(request: Request, endpoint_group_id: str,
                                body: EndpointGroupUpdateBody, ctx: Ctx,
                                identity: Ident) -> dict[str, Any]:
    group = await identity.endpoint_groups.update(ctx, endpoint_group_id,
                                                  body.endpoint_group.fields())
    return {"endpoint_group": endpoint_group_view(request, group)}


@router.delete(_GROUP, status_code=204, **policy("identity:delete_endpoint_group"))
async def delete_endpoint_group(endpoint_group_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.endpoint_groups.delete(ctx, endpoint_group_id)
    return Response(status_code=204)


@router.get(_GROUP + "/endpoints",
            **policy("identity:list_endpoints_associated_with_endpoint_group"))
async def list_group_endpoints(request: Request, endpoint_group_id: str, ctx: Ctx,
                               identity: Ident) -> dict[str, Any]:
    endpoints = await identity.endpoint_groups.endpoints(ctx, endpoint_group_id)
    return listing(request, "endpoints", endpoints, lambda e: endpoint_view(request, e),
                   identity.list_limit)


@router.get(_GROUP + "/projects",
            **policy("identity:list_projects_associated_with_endpoint_group"))
async def list_group_projects(request: Request, endpoint_group_id: str, ctx: Ctx,
                              identity: Ident) -> dict[str, Any]:
    projects = await identity.endpoint_groups.projects(ctx, endpoint_group_id)
    return listing(request, "projects", projects, lambda p: project_view(request, p),
                   identity.list_limit)


@router.put(_GROUP_PROJECT, status_code=204, **policy("identity:add_endpoint_group_to_project"))
async def add_group_to_project(endpoint_group_id: str, project_id: str, ctx: Ctx,
                               identity: Ident) -> Response:
    await identity.endpoint_groups.add_project(ctx, endpoint_group_id, project_id)
    return Response(status_code=204)


@router.head(_GROUP_PROJECT, **policy("identity:get_endpoint_group_in_project"))
@router.get(_GROUP_PROJECT, **policy("identity:get_endpoint_group_in_project"))
async def show_group_in_project(request: Request, endpoint_group_id: str, project_id: str,
                                ctx: Ctx, identity: Ident) -> dict[str, Any]:
    link = await identity.endpoint_groups.project_association(ctx, endpoint_group_id,
                                                              project_id)
    return {"project_endpoint_group": association_view(request, link)}


@router.delete(_GROUP_PROJECT, status_code=204,
               **policy("identity:remove_endpoint_group_from_project"))
async def remove_group_from_project(endpoint_group_id: str, project_id: str, ctx: Ctx,
                                    identity: Ident) -> Response:
    await identity.endpoint_groups.remove_project(ctx, endpoint_group_id, project_id)
    return Response(status_code=204)


# -- projects and endpoints --
@router.get("/projects/{project_id}/endpoint_groups",
            **policy("identity:list_endpoint_groups_for_project"))
async def list_project_endpoint_groups(request: Request, project_id: str, ctx: Ctx,
                                       identity: Ident) -> dict[str, Any]:
    groups = await identity.endpoint_groups.groups_of_project(ctx, project_id)
    return listing(request, "endpoint_groups", groups,
                   lambda g: endpoint_group_view(request, g), identity.list_limit)


@router.get("/projects/{project_id}/endpoints", **policy("identity:list_endpoints_for_project"))
async def list_project_endpoints(request: Request, project_id: str, ctx: Ctx,
                                 identity: Ident) -> dict[str, Any]:
    endpoints = await identity.endpoint_groups.endpoints_of_project(ctx, project_id)
    return listing(request, "endpoints", endpoints, lambda e: endpoint_view(request, e),
                   identity.list_limit)


@router.put(_PROJECT_ENDPOINT, status_code=204, **policy("identity:add_endpoint_to_project"))
async def add_endpoint_to_project(project_id: str, endpoint_id: str, ctx: Ctx,
                                  identity: Ident) -> Response:
    await identity.endpoint_groups.add_endpoint(ctx, project_id, endpoint_id)
    return Response(status_code=204)


@router.head(_PROJECT_ENDPOINT, status_code=204, **policy("identity:check_endpoint_in_project"))
@router.get(_PROJECT_ENDPOINT, status_code=204, **policy("identity:check_endpoint_in_project"))
async def check_endpoint_in_project(project_id: str, endpoint_id: str, ctx: Ctx,
                                    identity: Ident) -> Response:
    await identity.endpoint_groups.check_endpoint(ctx, project_id, endpoint_id)
    return Response(status_code=204)


@router.delete(_PROJECT_ENDPOINT, status_code=204,
               **policy("identity:remove_endpoint_from_project"))
async def remove_endpoint_from_project(project_id: str, endpoint_id: str, ctx: Ctx,
                                       identity: Ident) -> Response:
    await identity.endpoint_groups.remove_endpoint(ctx, project_id, endpoint_id)
    return Response(status_code=204)


@router.get("/endpoints/{endpoint_id}/projects", **policy("identity:list_projects_for_endpoint"))
async def list_endpoint_projects(request: Request, endpoint_id: str, ctx: Ctx,
                                 identity: Ident) -> dict[str, Any]:
    projects = await identity.endpoint_groups.projects_of_endpoint(ctx, endpoint_id)
    return listing(request, "projects", projects, lambda p: project_view(request, p),
                   identity.list_limit)
