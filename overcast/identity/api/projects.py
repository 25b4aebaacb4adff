"""/v3/projects, their tags, and /v3/users/{id}/projects."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.identity.api import Ident, collection, flag, self_link
from overcast.identity.api.schemas import ProjectCreateBody, ProjectUpdateBody, TagsIn
from overcast.identity.models import Domain, Project

router = APIRouter(tags=["projects"])



def project_view(request: Request, p: Project | Domain) -> dict[str, Any]:
    if isinstance(p, Domain):  # a project acting as a domain
        return {**p.extra, "id": p.id, "name": p.name, "domain_id": None,
                "description": p.description, "enabled": p.enabled, "parent_id": None,
                "is_domain": True, "tags": p.tags, "options": {},
                "links": self_link(request, f"/v3/projects/{p.id}")}
    return {**p.extra, "id": p.id, "name": p.name, "domain_id": p.domain_id,
            "description": p.description, "enabled": p.enabled,
            "parent_id": p.parent_id or p.domain_id, "is_domain": False, "tags": p.tags,
            "options": {}, "links": self_link(request, f"/v3/projects/{p.id}")}


def _domain_of(p: Project | Domain) -> str:
    return p.id if isinstance(p, Domain) else p.domain_id


def _tags(value: str | None) -> list[str] | None:
    return value.split(",") if value else None


@router.get("/v3/projects")
async def list_projects(request: Request, ctx: Ctx, identity: Ident, name: str | None = None,
                        domain_id: str | None = None, parent_id: str | None = None,
                        enabled: str | None = None, is_domain: str | None = None,
                        tags: str | None = None, tags_any: str | None = None,
                        not_tags: str | None = None,
                        not_tags_any: str | None = None) -> dict[str, Any]:
    ctx.enforce("identity:list_projects", {"domain_id": domain_id})
    if flag(is_domain, "is_domain"):
        domains = await identity.domains.list(name=name, enabled=flag(enabled, "enabled"))
        return collection(request, "projects", [project_view(request, d) for d in domains])
    projects = await identity.projects.list(
        name=name, domain_id=domain_id, parent_id=parent_id, enabled=flag(enabled, "enabled"),
        tags=_tags(tags), tags_any=_tags(tags_any), not_tags=_tags(not_tags),
        not_tags_any=_tags(not_tags_any))
    return collection(request, "projects", [project_view(request, p) for p in projects])


@router.post("/v3/projects", status_code=201)
async def create_project(request: Request, body: ProjectCreateBody, ctx: Ctx,
                         identity: Ident) -> dict[str, Any]:
    fields = body.project.fields()
    if not fields.get("name"):
        raise faults.BadRequest("Invalid input for field 'name': a name is required.")
    if fields.get("domain_id") is None:
        fields.pop("domain_id", None)
        # Keystone puts a project in the caller's domain when none is named.
        if not fields.get("parent_id") and not fields.get("is_domain"):
            fields["domain_id"] = ctx.creds.domain_id or ctx.creds.project_domain_id or "default"
    ctx.enforce("identity:create_project", {"project": fields})
    project = await identity.projects.create(fields)
    return {"project": project_view(request, project)}


@router.get("/v3/projects/{project_id}")
async def show_project(request: Request, project_id: str, ctx: Ctx, identity: Ident,
                       parents_as_ids: str | None = None, subtree_as_ids: str | None = None,
                       parents_as_list: str | None = None,
                       subtree_as_list: str | None = None) -> dict[str, Any]:
    project = await identity.projects.show_any(project_id)
    ctx.enforce("identity:get_project", {"project": {"id": project.id,
                                                     "domain_id": _domain_of(project)}})
    view = project_view(request, project)
    q = request.query_params
    if any(k in q for k in ("parents_as_ids", "subtree_as_ids", "parents_as_list",
                            "subtree_as_list")):
        parents, subtree = await identity.projects.subtree(project_id)
        if "parents_as_list" in q:
            view["parents"] = [{"project": project_view(request, p)} for p in parents]
        if "subtree_as_list" in q:
            view["subtree"] = [{"project": project_view(request, p)} for p in subtree]
        if "parents_as_ids" in q:
            tree: dict[str, Any] | None = None
            for p in reversed(parents):
                tree = {p.id: tree}
            view["parents"] = tree
        if "subtree_as_ids" in q:
            view["subtree"] = _nest(project_id, subtree) or None
    return {"project": view}


def _nest(root: str, projects: list[Project]) -> dict[str, Any]:
    return {p.id: (_nest(p.id, projects) or None) for p in projects if p.parent_id == root}


@router.patch("/v3/projects/{project_id}")
async def update_project(request: Request, project_id: str, body: ProjectUpdateBody, ctx: Ctx,
                         identity: Ident) -> dict[str, Any]:
    project = await identity.projects.show_any(project_id)
    ctx.enforce("identity:update_project", {"project": {"id": project.id,
                                                        "domain_id": _domain_of(project)}})
    fields = body.project.fields()
    if "name" in fields and not fields["name"]:
        raise faults.BadRequest("Invalid input for field 'name'.")
    if fields.get("is_domain"):
        raise faults.BadRequest("is_domain cannot be changed.")
    project = await identity.projects.update(project_id, fields)
    return {"project": project_view(request, project)}


@router.delete("/v3/projects/{project_id}", status_code=204)
async def delete_project(project_id: str, ctx: Ctx, identity: Ident) -> Response:
    project = await identity.projects.show_any(project_id)
    ctx.enforce("identity:delete_project", {"project": {"id": project.id,
                                                        "domain_id": _domain_of(project)}})
    await identity.projects.delete(project_id)
    return Response(status_code=204)


# -- tags --
async def _tag_target(ctx: Ctx, identity: Ident, project_id: str, rule: str) -> None:
    project = await identity.projects.show(project_id)
    ctx.enforce(rule, {"project": {"id": project.id, "domain_id": project.domain_id}})


@router.get("/v3/projects/{project_id}/tags")
async def list_tags(project_id: str, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    await _tag_target(ctx, identity, project_id, "identity:list_project_tags")
    return {"tags": (await identity.projects.show(project_id)).tags}


@router.put("/v3/projects/{project_id}/tags")
async def replace_tags(project_id: str, body: TagsIn, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    await _tag_target(ctx, identity, project_id, "identity:update_project_tags")
    return {"tags": await identity.projects.set_tags(project_id, body.tags)}


@router.delete("/v3/projects/{project_id}/tags", status_code=204)
async def clear_tags(project_id: str, ctx: Ctx, identity: Ident) -> Response:
    await _tag_target(ctx, identity, project_id, "identity:delete_project_tags")
    await identity.projects.clear_tags(project_id)
    return Response(status_code=204)


@router.get("/v3/projects/{project_id}/tags/{tag}", status_code=204)
@router.head("/v3/projects/{project_id}/tags/{tag}", status_code=204)
async def check_tag(project_id: str, tag: str, ctx: Ctx, identity: Ident) -> Response:
    await _tag_target(ctx, identity, project_id, "identity:get_project_tag")
    if tag not in (await identity.projects.show(project_id)).tags:
        raise faults.NotFound(f"Tag {tag} was not found on project {project_id}.")
    return Response(status_code=204)


@router.put("/v3/projects/{project_id}/tags/{tag}", status_code=201)
async def add_tag(request: Request, project_id: str, tag: str, ctx: Ctx,
                  identity: Ident) -> Response:
    await _tag_target(ctx, identity, project_id, "identity:create_project_tag")
    await identity.projects.add_tag(project_id, tag)
    return Response(status_code=201, headers={"Location": str(request.url)})


@router.delete("/v3/projects/{project_id}/tags/{tag}", status_code=204)
async def remove_tag(project_id: str, tag: str, ctx: Ctx, identity: Ident) -> Response:
    await _tag_target(ctx, identity, project_id, "identity:delete_project_tag")
    await identity.projects.remove_tag(project_id, tag)
    return Response(status_code=204)


# -- a user's projects --
@router.get("/v3/users/{user_id}/projects")
async def user_projects(request: Request, user_id: str, ctx: Ctx, identity: Ident,
                        enabled: str | None = None, name: str | None = None) -> dict[str, Any]:
    user = await identity.users.show(user_id)
    ctx.enforce("identity:list_user_projects",
                {"user_id": user.id, "user": {"id": user.id, "domain_id": user.domain_id}})
    async with identity.state.db.read() as s:
        projects = await identity.assignments.projects_of_user(s, user_id)
    wanted = flag(enabled, "enabled")
    projects = [p for p in projects if (wanted is None or p.enabled == wanted)
                and (name is None or p.name == name)]
    return collection(request, "projects", [project_view(request, p) for p in projects])
