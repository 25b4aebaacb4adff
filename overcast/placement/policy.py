"""Default policy of the Placement API, with Placement's rule names and secure-RBAC defaults:
administrators and service users (the `service` role Nova's and Neutron's users hold) do
everything; a project reader may see the usages of its own project."""

from __future__ import annotations

from overcast.common.policy import Rule

__all__ = ["KEPT_FOR_OPERATORS", "RULES"]

#: Placement's base rule that no default refers to any more; an operator's file still may.
KEPT_FOR_OPERATORS = frozenset({"admin_api"})

ADMIN_OR_SERVICE = "rule:admin_or_service_api"
RP = "/resource_providers/{uuid}"


def _r(name: str, check: str, description: str, *ops: tuple[str, str]) -> Rule:
    return Rule(name=name, check_str=check, description=description, operations=list(ops),
                scope_types=["project"])


RULES: list[Rule] = [
    _r("admin_api", "role:admin", "Default rule for most placement APIs."),
    _r("service_api", "role:service", "Default rule for service-to-service placement APIs."),
    _r("admin_or_service_api", "role:admin or role:service",
       "Default rule for most placement APIs."),
    _r("project_reader_api", "role:reader and project_id:%(project_id)s",
       "Default rule for project level reader APIs."),
    _r("admin_or_project_reader_or_service_api",
       "role:admin or rule:project_reader_api or role:service",
       "Default rule for project level reader APIs."),
    _r("placement:resource_providers:list", ADMIN_OR_SERVICE, "List resource providers.",
       ("GET", "/resource_providers")),
    _r("placement:resource_providers:create", ADMIN_OR_SERVICE, "Create resource provider.",
       ("POST", "/resource_providers")),
    _r("placement:resource_providers:show", ADMIN_OR_SERVICE, "Show resource provider.",
       ("GET", RP)),
    _r("placement:resource_providers:update", ADMIN_OR_SERVICE, "Update resource provider.",
       ("PUT", RP)),
    _r("placement:resource_providers:delete", ADMIN_OR_SERVICE, "Delete resource provider.",
       ("DELETE", RP)),
    _r("placement:resource_providers:inventories:list", ADMIN_OR_SERVICE,
       "List resource provider inventories.", ("GET", RP + "/inventories")),
    _r("placement:resource_providers:inventories:create", ADMIN_OR_SERVICE,
       "Create one resource provider inventory.", ("POST", RP + "/inventories")),
    _r("placement:resource_providers:inventories:show", ADMIN_OR_SERVICE,
       "Show resource provider inventory.", ("GET", RP + "/inventories/{resource_class}")),
    _r("placement:resource_providers:inventories:update", ADMIN_OR_SERVICE,
       "Update resource provider inventory.", ("PUT", RP + "/inventories"),
       ("PUT", RP + "/inventories/{resource_class}")),
    _r("placement:resource_providers:inventories:delete", ADMIN_OR_SERVICE,
       "Delete resource provider inventory.", ("DELETE", RP + "/inventories"),
       ("DELETE", RP + "/inventories/{resource_class}")),
    _r("placement:resource_providers:aggregates:list", ADMIN_OR_SERVICE,
       "List resource provider aggregates.", ("GET", RP + "/aggregates")),
    _r("placement:resource_providers:aggregates:update", ADMIN_OR_SERVICE,
       "Update resource provider aggregates.", ("PUT", RP + "/aggregates")),
    _r("placement:resource_providers:traits:list", ADMIN_OR_SERVICE,
       "List resource provider traits.", ("GET", RP + "/traits")),
    _r("placement:resource_providers:traits:update", ADMIN_OR_SERVICE,
       "Update resource provider traits.", ("PUT", RP + "/traits")),
    _r("placement:resource_providers:traits:delete", ADMIN_OR_SERVICE,
       "Delete resource provider traits.", ("DELETE", RP + "/traits")),
    _r("placement:resource_providers:allocations:list", ADMIN_OR_SERVICE,
       "List resource provider allocations.", ("GET", RP + "/allocations")),
    _r("placement:resource_providers:usages", ADMIN_OR_SERVICE,
       "List resource provider usages.", ("GET", RP + "/usages")),
    _r("placement:usages", "rule:admin_or_project_reader_or_service_api",
       "List total resource usages for a given project.", ("GET", "/usages")),
    _r("placement:resource_classes:list", ADMIN_OR_SERVICE, "List resource classes.",
       ("GET", "/resource_classes")),
    _r("placement:resource_classes:create", ADMIN_OR_SERVICE, "Create resource class.",
       ("POST", "/resource_classes")),
    _r("placement:resource_classes:show", ADMIN_OR_SERVICE, "Show resource class.",
       ("GET", "/resource_classes/{name}")),
    _r("placement:resource_classes:update", ADMIN_OR_SERVICE, "Update resource class.",
       ("PUT", "/resource_classes/{name}")),
    _r("placement:resource_classes:delete", ADMIN_OR_SERVICE, "Delete resource class.",
       ("DELETE", "/resource_classes/{name}")),
    _r("placement:traits:list", ADMIN_OR_SERVICE, "List traits.", ("GET", "/traits")),
    _r("placement:traits:show", ADMIN_OR_SERVICE, "Show trait.", ("GET", "/traits/{name}")),
    _r("placement:traits:update", ADMIN_OR_SERVICE, "Update trait.", ("PUT", "/traits/{name}")),
    _r("placement:traits:delete", ADMIN_OR_SERVICE, "Delete trait.",
       ("DELETE", "/traits/{name}")),
    _r("placement:allocations:manage", ADMIN_OR_SERVICE, "Manage allocations.",
       ("POST", "/allocations")),
    _r("placement:allocations:list", ADMIN_OR_SERVICE, "List allocations.",
       ("GET", "/allocations/{consumer_uuid}")),
    _r("placement:allocations:update", ADMIN_OR_SERVICE, "Update allocations.",
       ("PUT", "/allocations/{consumer_uuid}")),
    _r("placement:allocations:delete", ADMIN_OR_SERVICE, "Delete allocations.",
       ("DELETE", "/allocations/{consumer_uuid}")),
    _r("placement:allocation_candidates:list", ADMIN_OR_SERVICE,
       "List allocation candidates.", ("GET", "/allocation_candidates")),
    _r("placement:reshaper:reshape", "rule:service_api", "Reshape Inventory and Allocations.",
       ("POST", "/reshaper")),
]
