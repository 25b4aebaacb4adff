"""/os-server-groups: server groups of the caller's project (every project's with
`?all_projects=True` for admins). Per microversion: soft policies from 2.15, `project_id` and
`user_id` from 2.13, and from 2.64 one `policy` plus `rules` instead of a `policies` list and
`metadata` (tempest's schemas v2_1, v2_13, v2_64)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from overcast.common import faults
from overcast.common.api import policy, query_bool
from overcast.common.app import Ctx
from overcast.compute.api import MAX_INT, Paged, SGroups, only_params
from overcast.compute.models import ServerGroup
from overcast.compute.server_groups import POLICIES

router = APIRouter(prefix="/v2.1/os-server-groups", tags=["server groups"])


class ServerGroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255)
    policies: list[str] | None = None
    policy: str | None = None
    rules: dict[str, Any] | None = None


class ServerGroupCreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    server_group: ServerGroupCreate


def _view(ctx: Ctx, g: ServerGroup) -> dict[str, Any]:
    view: dict[str, Any] = {"id": g.uuid, "name": g.name}
    if ctx.microversion >= (2, 64):
        view["policy"] = g.policy
        view["rules"] = dict(g.rules or {})
    else:
        view["policies"] = [g.policy]
    view["members"] = [m.instance_uuid for m in g.members]
    if ctx.microversion < (2, 64):
        view["metadata"] = {}
    if ctx.microversion >= (2, 13):
        view["project_id"] = g.project_id
        view["user_id"] = g.user_id
    return view


def _policy_and_rules(ctx: Ctx, sg: ServerGroupCreate) -> tuple[str, dict[str, Any]]:
    allowed = POLICIES if ctx.microversion >= (2, 15) else POLICIES[:2]
    if ctx.microversion >= (2, 64):
        if sg.policies is not None or sg.policy is None:
            raise faults.BadRequest("Invalid input for field/attribute server_group: "
                                    "'policy' is a required property")
        chosen, rules = sg.policy, dict(sg.rules or {})
        if chosen not in allowed:
            raise faults.BadRequest(f"Invalid input for field/attribute policy. Value: "
                                    f"{chosen}. {chosen!r} is not one of {list(allowed)}")
        if rules:
            if chosen != "anti-affinity":
                raise faults.BadRequest("Only anti-affinity policy supports rules.")
            extra = set(rules) - {"max_server_per_host"}
            value = rules.get("max_server_per_host")
            if extra or isinstance(value, bool) or not (
                    isinstance(value, int) or (isinstance(value, str) and value.isdigit())) \
                    or int(value) < 1:
                raise faults.BadRequest("Invalid input for field/attribute rules: "
                                        "max_server_per_host is a positive integer and the "
                                        "only rule.")
            rules = {"max_server_per_host": int(value)}
        return chosen, rules
    if sg.policy is not None or sg.rules is not None or sg.policies is None:
        raise faults.BadRequest("Invalid input for field/attribute server_group: "
                                "'policies' is a required property")
    if len(sg.policies) != 1:
        raise faults.BadRequest("Invalid input for field/attribute policies: exactly one "
                                "policy is required.")
    if sg.policies[0] not in allowed:
        raise faults.BadRequest(f"Invalid input for field/attribute policies. Value: "
                                f"{sg.policies}. {sg.policies[0]!r} is not one of "
                                f"{list(allowed)}")
    return sg.policies[0], {}


@router.get("", **policy("os_compute_api:os-server-groups:index",
                         "os_compute_api:os-server-groups:index:all_projects"))
async def list_server_groups(request: Request, ctx: Ctx, groups: SGroups, page: Paged
                             ) -> dict[str, Any]:
    if ctx.microversion >= (2, 75):
        only_params(request, ("all_projects", "limit", "offset"))
    q = request.query_params
    raw_offset = q.get("offset", "0")
    if not raw_offset.isdigit():
        raise faults.BadRequest("offset param must be an integer")
    all_projects = bool(query_bool(q.get("all_projects"), "all_projects", empty=True,
                                   strict=False))
    # An offset past any possible row is an empty page, not an integer the database refuses.
    found = await groups.list(ctx, all_projects=all_projects, limit=page.limit,
                              offset=min(int(raw_offset), MAX_INT))
    return {"server_groups": [_view(ctx, g) for g in found]}


@router.post("", **policy("os_compute_api:os-server-groups:create"))
async def create_server_group(body: ServerGroupCreateBody, ctx: Ctx, groups: SGroups
                              ) -> dict[str, Any]:
    sg = body.server_group
    if sg.name != sg.name.strip():
        raise faults.BadRequest("Invalid input for field/attribute name: leading or trailing "
                                "whitespace.")
    chosen, rules = _policy_and_rules(ctx, sg)
    return {"server_group": _view(ctx, await groups.create(ctx, sg.name, chosen, rules))}


@router.get("/{server_group_id}", **policy("os_compute_api:os-server-groups:show"))
async def show_server_group(server_group_id: str, ctx: Ctx, groups: SGroups) -> dict[str, Any]:
    return {"server_group": _view(ctx, await groups.get(ctx, server_group_id))}


@router.delete("/{server_group_id}", **policy("os_compute_api:os-server-groups:delete"))
async def delete_server_group(server_group_id: str, ctx: Ctx, groups: SGroups) -> Response:
    await groups.delete(ctx, server_group_id)
    return Response(status_code=204)
