"""/v3/OS-EP-FILTER: endpoint groups, and the projects endpoints and endpoint groups are
associated with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common.app import Ctx
from overcast.identity.api import Ident, collection, self_link
from overcast.identity.api.catalog import endpoint_view
from overcast.identity.api.projects import project_view
from overcast.identity.api.schemas import EndpointGroupCreateBody, EndpointGroupUpdateBody
from overcast.identity.models import EndpointGroup, ProjectEndpointGroup

router = APIRouter(prefix="/v3/OS-EP-FILTER", tags=["endpoint-filter"])




def endpoint_group_view(request: Request, g: EndpointGroup) -> dict[str, Any]:
    return {"id": g.id, "name": g.name, "description": g.description, "filters": g.filters,
            "links": self_link(request, f"/v3/OS-EP-FILTER/endpoint_groups/{g.id}")}


def association_view(request: Request, a: ProjectEndpointGroup) -> dict[str, Any]:
    return {"endpoint_group_id": a.endpoint_group_id, "project_id": a.project_id,
            "links": self_link(request, f"/v3/OS-EP-FILTER/endpoint_groups/"
                                        f"{a.endpoint_group_id}/projects/{a.project_id}")}


# -- endpoint groups --
@router.get("/endpoint_groups")
async def list_endpoint_groups(request: Request, ctx: Ctx, identity: Ident,
                               name: str | None = None) -> dict[str, Any]:
    ctx.enforce("identity:list_endpoint_groups")
    groups = await identity.endpoint_groups.list(name)
    return collection(request, "endpoint_groups",
                      [endpoint_group_view(request, g) for g in groups])


@router.post("/endpoint_groups", status_code=201)
async def create_endpoint_group(request: Request, body: EndpointGroupCreateBody, ctx: Ctx,
                                identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:create_endpoint_group")
    group = await identity.endpoint_groups.create(body.endpoint_group.fields())
    return {"endpoint_group": endpoint_group_view(request, group)}


@router.api_route("/endpoint_groups/{endpoint_group_id}", methods=["GET", "HEAD"])
async def show_endpoint_group(request: Request, endpoint_group_id: str, ctx: Ctx,
                              identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_endpoint_group")
    group = await identity.endpoint_groups.show(endpoint_group_id)
    return {"endpoint_group": endpoint_group_view(request, group)}


@router.patch("/endpoint_groups/{endpoint_group_id}")
async def update_endpoint_group(request: Request, endpoint_group_id: str,
                                body: EndpointGroupUpdateBody, ctx: Ctx,
                                identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:update_endpoint_group")
    group = await identity.endpoint_groups.update(endpoint_group_id,
                                                  body.endpoint_group.fields())
    return {"endpoint_group": endpoint_group_view(request, group)}


@router.delete("/endpoint_groups/{endpoint_group_id}", status_code=204)
async def delete_endpoint_group(endpoint_group_id: str, ctx: Ctx, identity: Ident) -> Response:
    ctx.enforce("identity:delete_endpoint_group")
    await identity.endpoint_groups.delete(endpoint_group_id)
    return Response(status_code=204)


@router.get("/endpoint_groups/{endpoint_group_id}/endpoints")
async def list_group_endpoints(request: Request, endpoint_group_id: str, ctx: Ctx,
                               identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:list_endpoints_associated_with_endpoint_group")
    endpoints = await identity.endpoint_groups.endpoints(endpoint_group_id)
    return collection(request, "endpoints", [endpoint_view(request, e) for e in endpoints])


@router.get("/endpoint_groups/{endpoint_group_id}/projects")
async def list_group_projects(request: Request, endpoint_group_id: str, ctx: Ctx,
                              identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:list_projects_associated_with_endpoint_group")
    projects = await identity.endpoint_groups.projects(endpoint_group_id)
    return collection(request, "projects", [project_view(request, p) for p in projects])


@router.put("/endpoint_groups/{endpoint_group_id}/projects/{project_id}", status_code=204)
async def add_group_to_project(endpoint_group_id: str, project_id: str, ctx: Ctx,
                               identity: Ident) -> Response:
    ctx.enforce("identity:add_endpoint_group_to_project")
    await identity.endpoint_groups.add_project(endpoint_group_id, project_id)
    return Response(status_code=204)


@router.api_route("/endpoint_groups/{endpoint_group_id}/projects/{project_id}",
                  methods=["GET", "HEAD"])
async def show_group_in_project(request: Request, endpoint_group_id: str, project_id: str,
                                ctx: Ctx, identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_endpoint_group_in_project")
    link = await identity.endpoint_groups.project_association(endpoint_group_id, project_id)
    return {"project_endpoint_group": association_view(request, link)}


@router.delete("/endpoint_groups/{endpoint_group_id}/projects/{project_id}", status_code=204)
async def remove_group_from_project(endpoint_group_id: str, project_id: str, ctx: Ctx,
                                    identity: Ident) -> Response:
    ctx.enforce("identity:remove_endpoint_group_from_project")
    await identity.endpoint_groups.remove_project(endpoint_group_id, project_id)
    return Response(status_code=204)


# -- projects and endpoints --
@router.get("/projects/{project_id}/endpoint_groups")
async def list_project_endpoint_groups(request: Request, project_id: str, ctx: Ctx,
                                       identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:list_endpoint_groups_for_project")
    groups = await identity.endpoint_groups.groups_of_project(project_id)
    return collection(request, "endpoint_groups",
                      [endpoint_group_view(request, g) for g in groups])


@router.get("/projects/{project_id}/endpoints")
async def list_project_endpoints(request: Request, project_id: str, ctx: Ctx,
                                 identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:list_endpoints_for_project")
    endpoints = await identity.endpoint_groups.endpoints_of_project(project_id)
    return collection(request, "endpoints", [endpoint_view(request, e) for e in endpoints])


@router.put("/projects/{project_id}/endpoints/{endpoint_id}", status_code=204)
async def add_endpoint_to_project(project_id: str, endpoint_id: str, ctx: Ctx,
                                  identity: Ident) -> Response:
    ctx.enforce("identity:add_endpoint_to_project")
    await identity.endpoint_groups.add_endpoint(project_id, endpoint_id)
    return Response(status_code=204)


@router.api_route("/projects/{project_id}/endpoints/{endpoint_id}", methods=["GET", "HEAD"],
                  status_code=204)
async def check_endpoint_in_project(project_id: str, endpoint_id: str, ctx: Ctx,
                                    identity: Ident) -> Response:
    ctx.enforce("identity:check_endpoint_in_project")
    await identity.endpoint_groups.check_endpoint(project_id, endpoint_id)
    return Response(status_code=204)


@router.delete("/projects/{project_id}/endpoints/{endpoint_id}", status_code=204)
async def remove_endpoint_from_project(project_id: str, endpoint_id: str, ctx: Ctx,
                                       identity: Ident) -> Response:
    ctx.enforce("identity:remove_endpoint_from_project")
    await identity.endpoint_groups.remove_endpoint(project_id, endpoint_id)
    return Response(status_code=204)


@router.get("/endpoints/{endpoint_id}/projects")
async def list_endpoint_projects(request: Request, endpoint_id: str, ctx: Ctx,
                                 identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:list_projects_for_endpoint")
    projects = await identity.endpoint_groups.projects_of_endpoint(endpoint_id)
    return collection(request, "projects", [project_view(request, p) for p in projects])
