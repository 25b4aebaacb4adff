"""The shape every service keeps, checked by machine (STYLE.md §11): each route declares the
policy rule it enforces or is public, each declared rule exists, and each rule guards a route
(or is a building block other rules reference). That each request really checks its declared
rule is proven at run time (common/app.py PolicyCheckMiddleware, strict in tests)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from overcast.common.api import POLICY_KEY
from overcast.common.app import PublicRoute
from overcast.config import load_config
from overcast.services import SERVICES


def _routes(app: object) -> list[RouteContext]:
    """Every API route of an app, included routers flattened (FastAPI keeps them nested)."""
    return [r for r in iter_route_contexts(app.routes)  # type: ignore[attr-defined]
            if isinstance(r.original_route, APIRoute)]


def _apps() -> dict[str, tuple[object, list[PublicRoute]]]:
    config = load_config(Path("/nonexistent-state"), environ={})
    out = {}
    for name, spec in SERVICES.items():
        module = __import__(f"overcast.{name}.app", fromlist=["PUBLIC"])
        out[name] = (spec.create_app(config, None), list(module.PUBLIC))
    return out


APPS = _apps()


@pytest.mark.parametrize("service", sorted(APPS))
def test_every_route_declares_one_rule_or_is_public(service: str) -> None:
    app, public = APPS[service]
    rules = {r.name for r in SERVICES[service].policy_rules()}
    undeclared, unknown = [], []
    for route in _routes(app):
        declared = (route.openapi_extra or {}).get(POLICY_KEY)
        for method in route.methods or ():
            if declared is None:
                sample = re.sub(r"\{[^}]+\}", "x", route.path)
                if not any(p.matches(method, sample) for p in public):
                    undeclared.append(f"{method} {route.path}")
            else:
                unknown += [f"{method} {route.path}: {r}" for r in declared if r not in rules]
    assert undeclared == [], "routes that neither declare a policy rule nor are public"
    assert unknown == [], "declared rules the service does not define"


@pytest.mark.parametrize("service", sorted(APPS))
def test_every_rule_guards_something(service: str) -> None:
    app, _ = APPS[service]
    assert len(_routes(app)) > 20
    rules = SERVICES[service].policy_rules()
    declared = set()
    for route in _routes(app):
        declared.update((route.openapi_extra or {}).get(POLICY_KEY) or ())
    referenced = {m for r in rules for m in re.findall(r"rule:([\w:.-]+)", r.check_str)}
    unused = sorted(r.name for r in rules if r.name not in declared | referenced)
    assert unused == [], "rules no route declares and no rule references"
