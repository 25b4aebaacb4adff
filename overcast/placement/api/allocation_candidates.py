"""GET /allocation_candidates (1.10): ready-made allocation bodies and provider summaries."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common import faults
from overcast.common.api import policy
from overcast.common.app import Ctx, RequestContext
from overcast.common.microversion import available
from overcast.placement.api import VERSIONED, Cands, params, reply
from overcast.placement.candidates import CandidateRequest, CandidateResult
from overcast.placement.errors import QueryMissingValue
from overcast.placement.queries import parse_candidates_groups, parse_required

router = APIRouter(tags=["allocation_candidates"], dependencies=[VERSIONED])

_GROUPED = re.compile(r"^(resources|required|member_of|in_tree)[a-zA-Z0-9_-]{1,64}$")


def _allowed(mv: tuple[int, int]) -> set[str]:
    names = {"resources"}
    for version, name in (((1, 16), "limit"), ((1, 17), "required"), ((1, 21), "member_of"),
                          ((1, 25), "group_policy"), ((1, 31), "in_tree"),
                          ((1, 35), "root_required"), ((1, 36), "same_subtree")):
        if mv >= version:
            names.add(name)
    return names


def _request(request: Request, ctx: RequestContext, max_default: int) -> CandidateRequest:
    mv = ctx.microversion
    q = params(request)
    allowed = _allowed(mv)
    unknown = sorted(k for k in q if k not in allowed
                     and not (mv >= (1, 25) and _GROUPED.match(k)))
    if unknown:
        raise faults.BadRequest(f"Invalid query string parameters: Additional properties are not "
                                f"allowed ({', '.join(repr(u) for u in unknown)} were "
                                f"unexpected)")
    groups = parse_candidates_groups(q, mv)
    if not any(g.resources for g in groups.values()):
        if mv < (1, 25):
            raise faults.BadRequest("Invalid query string parameters: 'resources' is a "
                                    "required property")
        raise QueryMissingValue("There must be at least one resources or resources[$S] "
                                "parameter.")
    numbered = [s for s in groups if s]
    policy_value = q.get("group_policy", [None])[-1]
    if policy_value is not None and policy_value not in ("none", "isolate"):
        raise faults.BadRequest(f"Invalid query string parameters: '{policy_value}' is not one "
                                f"of ['none', 'isolate']")
    if len(numbered) > 1 and policy_value is None:
        raise faults.BadRequest("The \"group_policy\" parameter is required when specifying "
                                "more than one \"resources{N}\" parameter.")
    limit = None
    if "limit" in q:
        raw = q["limit"][-1]
        if not re.fullmatch(r"[1-9][0-9]*", raw):
            raise faults.BadRequest(f"Invalid query string parameters: '{raw}' does not match "
                                    f"'^[1-9][0-9]*$'")
        limit = int(raw)
    elif max_default > 0:
        limit = max_default
    root_required = parse_required(q["root_required"], mv, "root_required") \
        if "root_required" in q else None
    if root_required is not None and len(q["root_required"]) > 1:
        raise faults.BadRequest("Query parameter 'root_required' may be specified only once.")
    same_subtree = []
    for raw in q.get("same_subtree", []):
        names = [n.strip() for n in raw.split(",")]
        missing = [n for n in names if n not in groups]
        if missing or not all(names):
            raise faults.BadRequest(f"Real suffixes should be specified in same_subtree: "
                                    f"{', '.join(missing)} not found in {sorted(numbered)}.")
        same_subtree.append(names)
    return CandidateRequest(groups, policy_value, limit, root_required, same_subtree)


def _body(ctx: RequestContext, req: CandidateRequest, found: CandidateResult) -> dict[str, Any]:
    mv = ctx.microversion
    asked = {rc for g in req.groups.values() for rc in g.resources}
    requests: list[dict[str, Any]] = []
    for ar in found.allocation_requests:
        item: dict[str, Any]
        if mv >= (1, 12):
            item = {"allocations": {u: {"resources": r} for u, r in ar.allocations.items()}}
        else:
            item = {"allocations": [{"resource_provider": {"uuid": u}, "resources": r}
                                    for u, r in ar.allocations.items()]}
        if mv >= (1, 34):
            item["mappings"] = ar.mappings
        requests.append(item)
    in_requests = {u for ar in found.allocation_requests for u in ar.allocations}
    summaries: dict[str, Any] = {}
    for u, summary in found.provider_summaries.items():
        if mv < (1, 29) and u not in in_requests:
            continue
        resources = {rc: {"capacity": cap, "used": used}
                     for rc, (cap, used) in summary.resources.items()
                     if mv >= (1, 27) or rc in asked}
        entry: dict[str, Any] = {"resources": resources}
        if mv >= (1, 17):
            entry["traits"] = summary.traits
        if mv >= (1, 29):
            entry["parent_provider_uuid"] = summary.parent_provider_uuid
            entry["root_provider_uuid"] = summary.root_provider_uuid
        summaries[u] = entry
    return {"allocation_requests": requests, "provider_summaries": summaries}


@router.get("/allocation_candidates", dependencies=[available(minimum=(1, 10))],
            **policy("placement:allocation_candidates:list"))
async def list_candidates(request: Request, ctx: Ctx, candidates: Cands) -> Response:
    ctx.enforce("placement:allocation_candidates:list")
    section_limit = int(request.state.placement_config.max_allocation_candidates)
    req = _request(request, ctx, section_limit)
    found = await candidates.find(req)
    return reply(ctx, _body(ctx, req, found))
