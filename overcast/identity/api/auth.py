"""/v3/auth/tokens (issue, validate, check, revoke) and the /v3/auth/* views of a token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from overcast.common import faults
from overcast.common.app import Ctx
from overcast.common.auth import ACCESS_RULES_HEADER, ACCESS_RULES_VERSION
from overcast.identity.api import Ident, collection, self_link
from overcast.identity.api.domains import domain_view
from overcast.identity.api.projects import project_view
from overcast.identity.api.schemas import AuthBody
from overcast.identity.tokens import AuthRequest, Validated

router = APIRouter(prefix="/v3/auth", tags=["auth"])


def _nocatalog(request: Request) -> bool:
    return "nocatalog" in request.query_params


@router.post("/tokens")
async def issue_token(request: Request, body: AuthBody, identity: Ident) -> JSONResponse:
    req = AuthRequest.parse(body.auth_dict())
    token, body = await identity.tokens.issue(req, nocatalog=_nocatalog(request))
    return JSONResponse({"token": body}, status_code=201, headers={"X-Subject-Token": token})


async def _subject(request: Request, ctx: Ctx, identity: Ident, rule: str) -> tuple[str, Validated]:
    subject = request.headers.get("x-subject-token")
    if not subject:
        raise faults.BadRequest("X-Subject-Token is required.")
    ctx.creds  # noqa: B018 - the caller must be authenticated
    try:
        validated = await identity.tokens.validate(subject, nocatalog=_nocatalog(request))
    except faults.Unauthorized as e:
        # Keystone hides whether the token ever existed: 404 for any invalid subject.
        raise faults.NotFound(f"Could not find token: {subject[:8]}...") from e
    ctx.enforce(rule, {"token": {"user_id": validated.payload.user_id}})
    rules = validated.body.get("application_credential", {}).get("access_rules")
    if rules is not None and not _understands_access_rules(request):
        # A validator that would not enforce the rules must not learn the token is valid
        # (Keystone's _validate_token_access_rules).
        raise faults.NotFound("Failed to validate token")
    return subject, validated


def _understands_access_rules(request: Request) -> bool:
    raw = request.headers.get(ACCESS_RULES_HEADER)
    try:
        return raw is not None and float(raw) >= float(ACCESS_RULES_VERSION)
    except ValueError:
        return False


@router.get("/tokens")
async def validate_token(request: Request, ctx: Ctx, identity: Ident) -> JSONResponse:
    subject, validated = await _subject(request, ctx, identity, "identity:validate_token")
    return JSONResponse({"token": validated.body}, headers={"X-Subject-Token": subject})


@router.head("/tokens")
async def check_token(request: Request, ctx: Ctx, identity: Ident) -> Response:
    subject, _ = await _subject(request, ctx, identity, "identity:check_token")
    return Response(status_code=200, headers={"X-Subject-Token": subject})


@router.delete("/tokens", status_code=204)
async def revoke_token(request: Request, ctx: Ctx, identity: Ident) -> Response:
    subject, _ = await _subject(request, ctx, identity, "identity:revoke_token")
    await identity.tokens.revoke(subject)
    return Response(status_code=204)


@router.get("/catalog")
async def auth_catalog(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_auth_catalog")
    creds = ctx.creds
    if not (creds.project_id or creds.domain_id or creds.system_scope):
        raise faults.Forbidden("A scoped token is required to produce a service catalog.")
    catalog = await identity.catalog.for_token(creds.project_id)
    return {"catalog": catalog, "links": self_link(request, "/v3/auth/catalog")}


@router.get("/projects")
async def auth_projects(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_auth_projects")
    async with identity.state.db.read() as s:
        projects = await identity.assignments.projects_of_user(s, ctx.user_id)
    return collection(request, "projects",
                      [project_view(request, p) for p in projects if p.enabled])


@router.get("/domains")
async def auth_domains(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_auth_domains")
    async with identity.state.db.read() as s:
        ids = await identity.assignments.domains_of_user(s, ctx.user_id)
    domains = [d for d in await identity.domains.list() if d.id in ids and d.enabled]
    return collection(request, "domains", [domain_view(request, d) for d in domains])


@router.get("/system")
async def auth_system(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    ctx.enforce("identity:get_auth_system")
    async with identity.state.db.read() as s:
        has = await identity.assignments.has_system_roles(s, ctx.user_id)
    return {"system": [{"all": True}] if has else [],
            "links": self_link(request, "/v3/auth/system")}
