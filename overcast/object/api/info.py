"""Public documents: GET /info (the capabilities and limits, Swift's discoverability),
/healthcheck, /crossdomain.xml, and CORS preflights (OPTIONS) on every storage path."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from overcast.object.api.deps import ContainersDep
from overcast.object.constraints import LIMITS
from overcast.object.proxy import cors
from overcast.object.proxy.authv1 import AuthV1
from overcast.object.proxy.common import POLICY_NAME
from overcast.object.proxy.large import MAX_MANIFEST_SIZE, MAX_SEGMENTS
from overcast.object.proxy.tempurl import DIGESTS, METHODS

__all__ = ["capabilities", "router"]

router = APIRouter(tags=["info"])

#: The Swift release whose API this follows (tempest reads it from /info).
SWIFT_VERSION = "2.36.0"


def capabilities() -> dict[str, Any]:
    return {
        "swift": {"version": SWIFT_VERSION, **LIMITS,
                  "policies": [{"name": POLICY_NAME, "aliases": POLICY_NAME, "default": True}],
                  "strict_cors_mode": True, "allow_account_management": False,
                  "account_autocreate": True, "valid_api_versions": ["v1", "v1.0"]},
        "slo": {"max_manifest_segments": MAX_SEGMENTS, "max_manifest_size": MAX_MANIFEST_SIZE,
                "min_segment_size": 1, "yield_frequency": 10, "allow_async_delete": False},
        "dlo": {"max_segments": 10000},
        "tempurl": {"methods": list(METHODS), "allowed_digests": list(DIGESTS),
                    "incoming_remove_headers": ["x-timestamp"],
                    "incoming_allow_headers": [],
                    "outgoing_remove_headers": ["x-object-meta-*"],
                    "outgoing_allow_headers": ["x-object-meta-public-*"]},
        "formpost": {"allowed_digests": list(DIGESTS)},
        "bulk_delete": {"max_deletes_per_request": 10000, "max_failed_deletes": 1000},
        "bulk_upload": {"max_containers_per_extraction": 10000,
                        "max_failed_extractions": 1000},
        "account_quotas": {},
        "container_quotas": {},
        "versioned_writes": {"allowed_flags": ["x-versions-location", "x-history-location"]},
        "object_versioning": {},
        "keystoneauth": {},
        "crossdomain": {},
    }


@router.get("/info")
async def info() -> JSONResponse:
    return JSONResponse(capabilities())


@router.head("/info")
async def head_info() -> Response:
    return Response(b"", media_type="application/json; charset=utf-8")


@router.get("/auth/v1.0")
async def auth_v1(request: Request) -> Response:
    """Swift's v1.0 auth (project:user and password), answered with a Keystone token."""
    auth: AuthV1 = request.state.auth_v1
    return await auth.login(request)


@router.get("/healthcheck")
async def healthcheck() -> Response:
    return Response(b"OK", media_type="text/plain")


@router.get("/crossdomain.xml")
async def crossdomain() -> Response:
    body = ('<?xml version="1.0"?>\n<!DOCTYPE cross-domain-policy SYSTEM '
            '"http://www.adobe.com/xml/dtds/cross-domain-policy.dtd" >\n'
            '<cross-domain-policy>\n<allow-access-from domain="*" secure="false" />\n'
            '</cross-domain-policy>')
    return Response(body, media_type="application/xml")


@router.options("/v1/{account}")
async def options_account(account: str, request: Request) -> Response:
    return cors.preflight(request, None)


@router.options("/v1/{account}/{container}")
async def options_container(account: str, container: str, request: Request,
                            containers: ContainersDep) -> Response:
    return cors.preflight(request, await containers.p.cluster.info(account, container))


@router.options("/v1/{account}/{container}/{obj:path}")
async def options_object(account: str, container: str, obj: str, request: Request,
                         containers: ContainersDep) -> Response:
    return cors.preflight(request, await containers.p.cluster.info(account, container))
