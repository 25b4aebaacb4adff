"""GET /v3/role_assignments with Keystone's filters, `effective` and `include_names`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.identity.api import Ident, base, collection
from overcast.identity.assignments import Grant
from overcast.identity.models import Domain, Group, Project, Role, User

router = APIRouter(tags=["role_assignments"])


@router.get("/v3/role_assignments")
async def list_role_assignments(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    q = request.query_params
    effective = "effective" in q
    include_names = q.get("include_names", "").lower() in ("", "true", "1") and \
        "include_names" in q
    if effective and "group.id" in q:
        raise faults.BadRequest("effective and group.id cannot be combined.")
    if "include_subtree" in q and "scope.project.id" not in q:
        raise faults.BadRequest("include_subtree needs scope.project.id.")
    inherited_to = q.get("scope.OS-INHERIT:inherited_to")
    ctx.enforce("identity:list_role_assignments", {"domain_id": q.get("scope.domain.id")})
    project_ids: list[str | None] = [q.get("scope.project.id")]
    if "include_subtree" in q and project_ids[0]:
        _, subtree = await identity.projects.subtree(project_ids[0])
        project_ids += [p.id for p in subtree]
    grants: list[Grant] = []
    for pid in project_ids:
        grants += await identity.assignments.list_assignments(
            user_id=q.get("user.id"), group_id=q.get("group.id"), project_id=pid,
            domain_id=q.get("scope.domain.id"), system="scope.system" in q,
            role_id=q.get("role.id"), effective=effective,
            inherited=True if inherited_to == "projects" else None)
    names = await _names(identity, grants) if include_names else None
    return collection(request, "role_assignments",
                      [_view(request, g, names) for g in grants])


async def _names(identity: Ident, grants: list[Grant]) -> dict[str, Any]:
    async with identity.state.db.read() as s:
        domains = {d.id: d for d in await s.scalars(select(Domain))}
        roles = {r.id: r for r in await s.scalars(select(Role).where(
            Role.id.in_({g.role_id for g in grants})))}
        users = {u.id: u for u in await s.scalars(select(User).where(
            User.id.in_({g.user_id for g in grants if g.user_id})))}
        groups = {x.id: x for x in await s.scalars(select(Group).where(
            Group.id.in_({g.group_id for g in grants if g.group_id})))}
        projects = {p.id: p for p in await s.scalars(select(Project).where(
            Project.id.in_({g.project_id for g in grants if g.project_id})))}
    return {"domains": domains, "roles": roles, "users": users, "groups": groups,
            "projects": projects}


def _dom(names: dict[str, Any], domain_id: str) -> dict[str, str]:
    d = names["domains"].get(domain_id)
    return {"id": domain_id, "name": d.name if d else ""}


def _view(request: Request, g: Grant, names: dict[str, Any] | None) -> dict[str, Any]:
    b = base(request)
    out: dict[str, Any] = {"role": {"id": g.role_id}}
    if g.user_id:
        out["user"] = {"id": g.user_id}
        actor = f"users/{g.user_id}"
    else:
        out["group"] = {"id": g.group_id}
        actor = f"groups/{g.group_id}"
    if g.project_id:
        out["scope"] = {"project": {"id": g.project_id}}
        target = f"projects/{g.project_id}"
    elif g.domain_id:
        out["scope"] = {"domain": {"id": g.domain_id}}
        target = f"domains/{g.domain_id}"
    else:
        out["scope"] = {"system": {"all": True}}
        target = "system"
    if g.inherited:
        out["scope"]["OS-INHERIT:inherited_to"] = "projects"
    role_id = g.implied_from or g.role_id
    if g.inherited:
        link = f"{b}/v3/OS-INHERIT/{target}/{actor}/roles/{role_id}/inherited_to_projects"
    else:
        link = f"{b}/v3/{target}/{actor}/roles/{role_id}"
    if g.via_group_id:
        link = f"{b}/v3/{target}/groups/{g.via_group_id}/roles/{role_id}"
    out["links"] = {"assignment": link}
    if g.via_group_id:
        out["links"]["membership"] = f"{b}/v3/groups/{g.via_group_id}/users/{g.user_id}"
    if g.implied_from:
        out["prior_role"] = {"id": g.implied_from}
    if names is not None:
        role = names["roles"].get(g.role_id)
        if role is not None:
            out["role"]["name"] = role.name
            if role.domain_id != "<<null>>":
                out["role"]["domain"] = _dom(names, role.domain_id)
        if g.user_id and (u := names["users"].get(g.user_id)):
            out["user"].update(name=u.name, domain=_dom(names, u.domain_id))
        if g.group_id and (gr := names["groups"].get(g.group_id)):
            out["group"].update(name=gr.name, domain=_dom(names, gr.domain_id))
        if g.project_id and (p := names["projects"].get(g.project_id)):
            out["scope"]["project"].update(name=p.name, domain=_dom(names, p.domain_id))
        if g.domain_id:
            out["scope"]["domain"]["name"] = _dom(names, g.domain_id)["name"]
    return out
