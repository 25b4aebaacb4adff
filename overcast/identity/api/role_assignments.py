"""GET /v3/role_assignments with Keystone's filters, `effective` and `include_names`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.identity.api import Ident, base, bool_param, listing
from overcast.identity.assignments import AssignmentQuery, Grant, Names
from overcast.identity.roles import NULL_DOMAIN

router = APIRouter(tags=["role_assignments"])


def _flag(request: Request, name: str) -> bool:
    """Keystone's presence flags (`?effective`, `?include_subtree`): present means true,
    unless it says false."""
    return bool(bool_param(request.query_params.get(name), name))


@router.get("/v3/role_assignments", **policy("identity:list_role_assignments",
                                             "identity:list_role_assignments_for_tree"))
async def list_role_assignments(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    q = request.query_params
    listed = await identity.assignments.search(ctx, AssignmentQuery(
        user_id=q.get("user.id"), group_id=q.get("group.id"),
        project_id=q.get("scope.project.id"), domain_id=q.get("scope.domain.id"),
        system="scope.system" in q, role_id=q.get("role.id"),
        effective=_flag(request, "effective"), include_subtree=_flag(request, "include_subtree"),
        inherited_to_projects=q.get("scope.OS-INHERIT:inherited_to") == "projects",
        include_names=_flag(request, "include_names")))
    return listing(request, "role_assignments", listed.grants,
                   lambda g: _view(request, g, listed.names), identity.list_limit)


def _dom(names: Names, domain_id: str) -> dict[str, str]:
    d = names.domains.get(domain_id)
    return {"id": domain_id, "name": d.name if d else ""}


def _view(request: Request, g: Grant, names: Names | None) -> dict[str, Any]:
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
        role = names.roles.get(g.role_id)
        if role is not None:
            out["role"]["name"] = role.name
            if role.domain_id != NULL_DOMAIN:
                out["role"]["domain"] = _dom(names, role.domain_id)
        if g.user_id and (u := names.users.get(g.user_id)):
            out["user"].update(name=u.name, domain=_dom(names, u.domain_id))
        if g.group_id and (gr := names.groups.get(g.group_id)):
            out["group"].update(name=gr.name, domain=_dom(names, gr.domain_id))
        if g.project_id and (p := names.projects.get(g.project_id)):
            out["scope"]["project"].update(name=p.name, domain=_dom(names, p.domain_id))
        if g.domain_id:
            out["scope"]["domain"]["name"] = _dom(names, g.domain_id)["name"]
    return out
