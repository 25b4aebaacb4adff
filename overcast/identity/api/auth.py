"""/v3/auth/tokens (issue, validate, check, revoke) and the /v3/auth/* views of a token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.common.auth import ACCESS_RULES_HEADER, ACCESS_RULES_VERSION
from overcast.identity.api import Ident, listing, self_link
from overcast.identity.api.domains import domain_view
from overcast.identity.api.projects import project_view
from overcast.identity.api.schemas import AuthBody
from overcast.identity.receipts import RECEIPT_HEADER, ReceiptRequired

router = APIRouter(prefix="/v3/auth", tags=["auth"])


def _nocatalog(request: Request) -> bool:
    return "nocatalog" in request.query_params


def _enforces_access_rules(request: Request) -> bool:
    """Whether the validator says it enforces application credential access rules."""
    raw = request.headers.get(ACCESS_RULES_HEADER)
    try:
        return raw is not None and float(raw) >= float(ACCESS_RULES_VERSION)
    except ValueError:
        return False


@router.post("/tokens", status_code=201)  # public: PUBLIC in identity/app.py
async def issue_token(request: Request, body: AuthBody, identity: Ident) -> JSONResponse:
    issued = await identity.tokens.issue(body.auth_dict(), nocatalog=_nocatalog(request),
                                         receipt=request.headers.get(RECEIPT_HEADER))
    if isinstance(issued, ReceiptRequired):
        # More factors wanted: Keystone's 401 with the receipt (keystone/receipt/handlers.py)
        return JSONResponse(issued.body, status_code=401,
                            headers={RECEIPT_HEADER: issued.receipt})
    return JSONResponse({"token": issued.body}, status_code=201,
                        headers={"X-Subject-Token": issued.token})


@router.get("/tokens", **policy("identity:validate_token"))
async def validate_token(request: Request, ctx: Ctx, identity: Ident) -> JSONResponse:
    subject = request.headers.get("x-subject-token")
    body = await identity.tokens.show(ctx, subject, nocatalog=_nocatalog(request),
                                      enforces_access_rules=_enforces_access_rules(request))
    return JSONResponse({"token": body}, headers={"X-Subject-Token": subject or ""})


@router.head("/tokens", **policy("identity:check_token"))
async def check_token(request: Request, ctx: Ctx, identity: Ident) -> Response:
    subject = request.headers.get("x-subject-token")
    await identity.tokens.check(ctx, subject,
                                enforces_access_rules=_enforces_access_rules(request))
    # The Content-Type of the GET it stands for, as Keystone's (Flask answers HEAD with GET)
    return Response(status_code=200, media_type="application/json",
                    headers={"X-Subject-Token": subject or ""})


@router.delete("/tokens", status_code=204, **policy("identity:revoke_token"))
async def revoke_token(request: Request, ctx: Ctx, identity: Ident) -> Response:
    await identity.tokens.revoke(ctx, request.headers.get("x-subject-token"))
    return Response(status_code=204)


@router.head("/catalog", **policy("identity:get_auth_catalog"))
@router.get("/catalog", **policy("identity:get_auth_catalog"))
async def auth_catalog(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    return {"catalog": await identity.catalog.for_caller(ctx),
            "links": self_link(request, "/v3/auth/catalog")}


@router.head("/projects", **policy("identity:get_auth_projects"))
@router.get("/projects", **policy("identity:get_auth_projects"))
async def auth_projects(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    projects = await identity.assignments.auth_projects(ctx)
    return listing(request, "projects", projects, lambda p: project_view(request, p),
                   identity.list_limit)


@router.head("/domains", **policy("identity:get_auth_domains"))
@router.get("/domains", **policy("identity:get_auth_domains"))
async def auth_domains(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    domains = await identity.assignments.auth_domains(ctx)
    return listing(request, "domains", domains, lambda d: domain_view(request, d),
                   identity.list_limit)


@router.head("/system", **policy("identity:get_auth_system"))
@router.get("/system", **policy("identity:get_auth_system"))
async def auth_system(request: Request, ctx: Ctx, identity: Ident) -> dict[str, Any]:
    has = await identity.assignments.auth_system(ctx)
    return {"system": [{"all": True}] if has else [],
            "links": self_link(request, "/v3/auth/system")}
