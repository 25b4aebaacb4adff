"""/v3/projects, their tags, and /v3/users/{user_id}/projects."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, base, bool_param, listing, self_link
from overcast.identity.api.schemas import ProjectCreateBody, ProjectUpdateBody, TagsIn
from overcast.identity.models import Domain, Project
from overcast.identity.projects import ProjectFilter

router = APIRouter(tags=["projects"])

_HIERARCHY = ("parents_as_ids", "subtree_as_ids", "parents_as_list", "subtree_as_list")
#: What werkzeug's iri_to_uri leaves unquoted in a path.
_IRI_SAFE = "%!$&'()*+,/:;=@"


def project_view(request: Request, p: Project | Domain, *,
                 with_extra: bool = False) -> dict[str, Any]:
    """A project; `with_extra` adds the extra attributes once more under `extra`, as Keystone's
    PATCH answer has them (its driver returns to_dict(include_extra_dict=True) there only)."""
    if isinstance(p, Domain):  # a project acting as a domain
        view = {**p.extra, "id": p.id, "name": p.name, "domain_id": None,
                "description": p.description, "enabled": p.enabled, "parent_id": None,
                "is_domain": True, "tags": p.tags, "options": {},
                "links": self_link(request, f"/v3/projects/{p.id}")}
    else:
        view = {**p.extra, "id": p.id, "name": p.name, "domain_id": p.domain_id,
                "description": p.description, "enabled": p.enabled,
                "parent_id": p.parent_id or p.domain_id, "is_domain": False, "tags": p.tags,
                "options": {}, "links": self_link(request, f"/v3/projects/{p.id}")}
    if with_extra:
        view["extra"] = dict(p.extra)
    return view


def _tags(value: str | None) -> tuple[str, ...]:
    return tuple(value.split(",")) if value else ()


def _nest(root: str, projects: list[Project]) -> dict[str, Any]:
    return {p.id: (_nest(p.id, projects) or None) for p in projects if p.parent_id == root}


@router.get("/v3/projects", **policy("identity:list_projects"))
async def list_projects(request: Request, ctx: Ctx, identity: Ident, name: str | None = None,
                        domain_id: str | None = None, parent_id: str | None = None,
                        enabled: str | None = None, is_domain: str | None = None,
                        tags: str | None = None, tags_any: str | None = None,
                        not_tags: str | None = None,
                        not_tags_any: str | None = None) -> dict[str, Any]:
    projects = await identity.projects.list(ctx, ProjectFilter(
        name=name, domain_id=domain_id, parent_id=parent_id,
        enabled=bool_param(enabled, "enabled"), is_domain=bool_param(is_domain, "is_domain"),
        tags=_tags(tags), tags_any=_tags(tags_any), not_tags=_tags(not_tags),
        not_tags_any=_tags(not_tags_any)))
    return listing(request, "projects", projects, lambda p: project_view(request, p),
                   identity.list_limit)


@router.post("/v3/projects", status_code=201, **policy("identity:create_project"))
async def create_project(request: Request, body: ProjectCreateBody, ctx: Ctx,
                         identity: Ident) -> dict[str, Any]:
    return {"project": project_view(request, await identity.projects.create(
        ctx, body.project.fields()))}


@router.get("/v3/projects/{project_id}", **policy("identity:get_project"))
async def show_project(request: Request, project_id: str, ctx: Ctx,
                       identity: Ident) -> dict[str, Any]:
    q = request.query_params
    if not any(k in q for k in _HIERARCHY):
        return {"project": project_view(request, await identity.projects.show(ctx, project_id))}
    tree = await identity.projects.hierarchy(ctx, project_id)
    view = project_view(request, tree.project)
    if "parents_as_list" in q:
        view["parents"] = [{"project": project_view(request, p)} for p in tree.parents]
    if "subtree_as_list" in q:
        view["subtree"] = [{"project": project_view(request, p)} for p in tree.subtree]
    if "parents_as_ids" in q:
        nested: dict[str, Any] | None = None
        for p in reversed(tree.parents):
            nested = {p.id: nested}
        view["parents"] = nested
    if "subtree_as_ids" in q:
        view["subtree"] = _nest(project_id, tree.subtree) or None
    return {"project": view}


@router.patch("/v3/projects/{project_id}", **policy("identity:update_project"))
async def update_project(request: Request, project_id: str, body: ProjectUpdateBody, ctx: Ctx,
                         identity: Ident) -> dict[str, Any]:
    return {"project": project_view(request, await identity.projects.update(
        ctx, project_id, body.project.fields()), with_extra=True)}


@router.delete("/v3/projects/{project_id}", status_code=204,
               **policy("identity:delete_project"))
async def delete_project(project_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.projects.delete(ctx, project_id)
    return Response(status_code=204)


# -- tags --
@router.get("/v3/projects/{project_id}/tags", **policy("identity:list_project_tags"))
async def list_tags(project_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"tags": await identity.projects.tags(ctx, project_id)}


@router.put("/v3/projects/{project_id}/tags", **policy("identity:update_project_tags"))
async def replace_tags(project_id: str, body: TagsIn, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"tags": await identity.projects.set_tags(ctx, project_id, body.tags)}


@router.delete("/v3/projects/{project_id}/tags", status_code=204,
               **policy("identity:delete_project_tags"))
async def clear_tags(project_id: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.projects.clear_tags(ctx, project_id)
    return Response(status_code=204)


@router.head("/v3/projects/{project_id}/tags/{tag}", status_code=204,
             **policy("identity:get_project_tag"))
@router.get("/v3/projects/{project_id}/tags/{tag}", status_code=204,
            **policy("identity:get_project_tag"))
async def check_tag(project_id: str, tag: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.projects.check_tag(ctx, project_id, tag)
    return Response(status_code=204)


@router.put("/v3/projects/{project_id}/tags/{tag}", status_code=201,
            response_class=HTMLResponse, **policy("identity:create_project_tag"))
async def add_tag(request: Request, project_id: str, tag: str, ctx: Ctx,
                  identity: Ident) -> Response:
    await identity.projects.add_tag(ctx, project_id, tag)
    # Keystone's answer (keystone/api/projects.py ProjectTagResource.put): an empty text/html
    # body and a Location, the tag percent-encoded as werkzeug's iri_to_uri does, so any tag
    # makes a header. Keystone's Location leaves out "projects/" and leads nowhere; ours
    # names the tag's real URL.
    location = quote(f"/v3/projects/{project_id}/tags/{tag}", safe=_IRI_SAFE)
    return HTMLResponse(status_code=201, headers={"Location": f"{base(request)}{location}"})


@router.delete("/v3/projects/{project_id}/tags/{tag}", status_code=204,
               **policy("identity:delete_project_tag"))
async def remove_tag(project_id: str, tag: str, ctx: Ctx, identity: Ident) -> Response:
    await identity.projects.remove_tag(ctx, project_id, tag)
    return Response(status_code=204)


# -- a user's projects --
@router.get("/v3/users/{user_id}/projects", **policy("identity:list_user_projects"))
async def user_projects(request: Request, user_id: str, ctx: Ctx, identity: Ident,
                        enabled: str | None = None, name: str | None = None) -> dict[str, Any]:
    projects = await identity.projects.of_user(ctx, user_id,
                                               enabled=bool_param(enabled, "enabled"),
                                               name=name)
    return listing(request, "projects", projects, lambda p: project_view(request, p),
                   identity.list_limit)
