"""Every image route declares the policy rule it enforces (or is public), and every rule is
used: the declaration a request's context checks, and the table `overcast policy sample
image` prints, cannot drift from the code."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi.routing import APIRoute

from overcast.common.api import POLICY_KEY, declared_rules
from overcast.image.app import PUBLIC, ROUTERS
from overcast.image.policy import RULES

#: Glance's legacy base rule for metadefs reads: no default refers to it any more, an
#: operator's policy.yaml still may.
KEPT_FOR_OPERATORS = {"metadef_default"}


def routes() -> Iterator[tuple[str, str, APIRoute]]:
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in route.methods:
                yield method, route.path, route


def test_every_route_declares_its_rule_or_is_public() -> None:
    names = {r.name for r in RULES}
    seen = 0
    for method, path, route in routes():
        seen += 1
        public = any(p.matches(method, path) for p in PUBLIC)
        rules = declared_rules(route)
        if public:
            assert rules is None, f"{method} {path} is public and declares {rules}"
            continue
        assert rules, f"{method} {path} declares no policy rule and is not public"
        assert rules <= names, f"{method} {path} declares unknown rules {rules - names}"
        primary = route.openapi_extra[POLICY_KEY][0]  # type: ignore[index]
        assert primary not in ("context_is_admin", "get_metadef_namespace") or \
            path.endswith("{namespace}"), f"{method} {path}: {primary} is not its own rule"
    assert seen >= 70


def test_every_rule_is_used() -> None:
    declared = set().union(*(declared_rules(route) or set() for _, _, route in routes()))
    referenced = {name for r in RULES for name in re.findall(r"rule:(\w+)", r.check_str)}
    unused = {r.name for r in RULES} - declared - referenced - KEPT_FOR_OPERATORS
    assert not unused, f"rules no route declares nor any rule refers to: {sorted(unused)}"
