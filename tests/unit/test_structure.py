"""The shape every service keeps, checked by machine for all of them (STYLE.md §11):

- each route declares the policy rule(s) it enforces, or is public (and then declares none);
- each declared rule exists, and each rule guards a route, is a building block other rules
  reference, or is kept for operators' policy files (the service's KEPT_FOR_OPERATORS);
- each POST and PATCH documents its request body, so the OpenAPI document describes it.

That each request really checks its declared rule is proven at run time by every test that
makes one (common/app.py PolicyCheckMiddleware, strict under OVERCAST_STRICT_POLICY=1)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from overcast.common.api import POLICY_KEY
from overcast.common.app import PublicRoute
from overcast.config import load_config
from overcast.services import SERVICES

#: Writes that have no request body in the OpenStack API they follow.
NO_BODY = {
    ("POST", "/v2/images/{image_id}/actions/deactivate"),
    ("POST", "/v2/images/{image_id}/actions/reactivate"),
    ("POST", "/v2/metadefs/namespaces/{namespace}/tags/{tag_name}"),
}


def _routes(app: FastAPI) -> list[RouteContext]:
    """Every API route of an app, included routers flattened (FastAPI keeps them nested)."""
    return [r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)]


def _app(service: str) -> tuple[FastAPI, list[PublicRoute], Any]:
    config = load_config(Path("/nonexistent-state"), environ={})
    app = SERVICES[service].create_app(config, None)
    package = SERVICES[service].package or service
    public = importlib.import_module(f"overcast.{package}.app").PUBLIC
    policy = importlib.import_module(f"overcast.{package}.policy")
    return app, list(public), policy


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_route_declares_its_rule_or_is_public(service: str) -> None:
    app, public, _ = _app(service)
    names = {r.name for r in SERVICES[service].policy_rules()}
    routes = _routes(app)
    assert len(routes) > 2  # the included routers were flattened
    problems = []
    for route in routes:
        declared = (route.openapi_extra or {}).get(POLICY_KEY)
        for method in sorted(route.methods or ()):
            sample = re.sub(r"\{[^}]+\}", "x", route.path or "")
            is_public = any(p.matches(method, sample) for p in public)
            where = f"{method} {route.path}"
            if is_public and declared is not None:
                problems.append(f"{where}: public, yet declares {declared}")
            elif not is_public and not declared:
                problems.append(f"{where}: declares no policy rule and is not public")
            elif declared:
                problems += [f"{where}: unknown rule {r}" for r in declared if r not in names]
    assert problems == []


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_rule_guards_something(service: str) -> None:
    app, _, policy = _app(service)
    rules = SERVICES[service].policy_rules()
    declared = {r for route in _routes(app)
                for r in (route.openapi_extra or {}).get(POLICY_KEY) or ()}
    referenced = {m for r in rules for m in re.findall(r"rule:([\w:.-]+)", r.check_str)}
    kept = set(getattr(policy, "KEPT_FOR_OPERATORS", ()))
    unused = sorted(r.name for r in rules if r.name not in declared | referenced | kept)
    assert unused == [], "rules no route declares, no rule references and none is kept"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_write_documents_its_body(service: str) -> None:
    app, _, _ = _app(service)
    doc = app.openapi()
    missing = [f"{method.upper()} {path}" for path, ops in doc["paths"].items()
               for method, op in ops.items()
               if method in ("post", "patch") and (method.upper(), path) not in NO_BODY
               and not (op.get("requestBody") or {}).get("content")]
    assert missing == []


def test_the_policy_sample_names_what_each_rule_guards() -> None:
    from overcast.cli import _policy_sample

    config = load_config(Path("/nonexistent-state"), environ={})
    sample = _policy_sample(config, "identity")
    block = sample[:sample.index('"identity:get_user":')].rsplit("\n\n", 1)[-1]
    assert "# GET /v3/users/{user_id}" in block
    sample = _policy_sample(config, "image")
    block = sample[:sample.index('"publicize_image":')].rsplit("\n\n", 1)[-1]
    assert "# POST /v2/images  (also checked)" in block
