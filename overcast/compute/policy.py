"""Default policy of the compute API: Nova's rule names and its secure-RBAC defaults (nova/policies/
*.py), so an operator's Nova policy.yaml works unchanged. Targets carry `project_id` (the
resource's project, or the caller's for lists and creation) and, for keypairs, `user_id`.

Nova has no rule on flavor lists and shows; `os_compute_api:flavors` (Nova's pre-Ussuri rule
name, default anyone) stands in, so that every route here declares one.
"""

from __future__ import annotations

from overcast.common.policy import Rule
from overcast.compute.server_policy import SERVER_RULES

__all__ = ["KEPT_FOR_OPERATORS", "RULES"]

#: Nova's deprecated base rules: no default refers to them, an operator's policy.yaml may.
KEPT_FOR_OPERATORS = frozenset({"admin_or_owner", "admin_api", "project_manager_api",
                                "project_manager_or_admin", "service_api", "service_or_admin"})

ANY = "@"
ADMIN = "rule:context_is_admin"
MEMBER = "rule:project_member_or_admin"
READER = "rule:project_reader_or_admin"
OWN_KEYPAIR = f"({ADMIN}) or user_id:%(user_id)s"


def _r(name: str, check: str, description: str, *ops: tuple[str, str],
       scope: tuple[str, ...] = ("project",)) -> Rule:
    return Rule(name=name, check_str=check, description=description, operations=list(ops),
                scope_types=list(scope))


BASE: list[Rule] = [
    _r("context_is_admin", "role:admin",
       "Decides what is required for the 'is_admin:True' check to succeed."),
    _r("admin_or_owner", "is_admin:True or project_id:%(project_id)s",
       "Default rule for most non-Admin APIs (deprecated)."),
    _r("admin_api", "is_admin:True", "Default rule for most Admin APIs (deprecated)."),
    _r("project_manager_api", "role:manager and project_id:%(project_id)s",
       "Default rule for Project level management APIs."),
    _r("project_member_api", "role:member and project_id:%(project_id)s",
       "Default rule for Project level non admin APIs."),
    _r("project_reader_api", "role:reader and project_id:%(project_id)s",
       "Default rule for Project level read only APIs."),
    _r("service_api", "role:service", "Default rule for service-to-service APIs."),
    _r("project_manager_or_admin", "rule:project_manager_api or rule:context_is_admin",
       "Default rule for Project Manager or admin APIs."),
    _r("project_member_or_admin", "rule:project_member_api or rule:context_is_admin",
       "Default rule for Project Member or admin APIs."),
    _r("project_reader_or_admin", "rule:project_reader_api or rule:context_is_admin",
       "Default rule for Project reader or admin APIs."),
    _r("service_or_admin", "rule:service_api or rule:context_is_admin",
       "Default rule for service or admin APIs."),
]

FLAVORS: list[Rule] = [
    _r("os_compute_api:flavors", ANY, "List and show flavors.",
       ("GET", "/flavors"), ("GET", "/flavors/detail"), ("GET", "/flavors/{flavor_id}")),
    _r("os_compute_api:os-flavor-manage:create", ADMIN, "Create a flavor.",
       ("POST", "/flavors")),
    _r("os_compute_api:os-flavor-manage:update", ADMIN, "Update a flavor's description.",
       ("PUT", "/flavors/{flavor_id}")),
    _r("os_compute_api:os-flavor-manage:delete", ADMIN, "Delete a flavor.",
       ("DELETE", "/flavors/{flavor_id}")),
    _r("os_compute_api:os-flavor-access", ADMIN, "List the projects of a private flavor.",
       ("GET", "/flavors/{flavor_id}/os-flavor-access")),
    _r("os_compute_api:os-flavor-access:add_tenant_access", ADMIN,
       "Give a project access to a private flavor.",
       ("POST", "/flavors/{flavor_id}/action (addTenantAccess)")),
    _r("os_compute_api:os-flavor-access:remove_tenant_access", ADMIN,
       "Take a project's access to a private flavor away.",
       ("POST", "/flavors/{flavor_id}/action (removeTenantAccess)")),
    _r("os_compute_api:os-flavor-extra-specs:index", READER,
       "List a flavor's extra specs (and show them in flavor bodies from 2.61).",
       ("GET", "/flavors/{flavor_id}/os-extra_specs"), ("GET", "/flavors/detail"),
       ("GET", "/flavors/{flavor_id}"), ("POST", "/flavors"), ("PUT", "/flavors/{flavor_id}")),
    _r("os_compute_api:os-flavor-extra-specs:show", READER, "Show one extra spec.",
       ("GET", "/flavors/{flavor_id}/os-extra_specs/{key}")),
    _r("os_compute_api:os-flavor-extra-specs:create", ADMIN, "Create extra specs.",
       ("POST", "/flavors/{flavor_id}/os-extra_specs")),
    _r("os_compute_api:os-flavor-extra-specs:update", ADMIN, "Update one extra spec.",
       ("PUT", "/flavors/{flavor_id}/os-extra_specs/{key}")),
    _r("os_compute_api:os-flavor-extra-specs:delete", ADMIN, "Delete one extra spec.",
       ("DELETE", "/flavors/{flavor_id}/os-extra_specs/{key}")),
]

KEYPAIRS: list[Rule] = [
    _r("os_compute_api:os-keypairs:index", OWN_KEYPAIR, "List keypairs.",
       ("GET", "/os-keypairs"), scope=("project", "system")),
    _r("os_compute_api:os-keypairs:create", OWN_KEYPAIR, "Create or import a keypair.",
       ("POST", "/os-keypairs"), scope=("project", "system")),
    _r("os_compute_api:os-keypairs:delete", OWN_KEYPAIR, "Delete a keypair.",
       ("DELETE", "/os-keypairs/{keypair_name}"), scope=("project", "system")),
    _r("os_compute_api:os-keypairs:show", OWN_KEYPAIR, "Show a keypair.",
       ("GET", "/os-keypairs/{keypair_name}"), scope=("project", "system")),
]

ZONES_AND_HOSTS: list[Rule] = [
    _r("os_compute_api:os-availability-zone:list", ANY, "List availability zones.",
       ("GET", "/os-availability-zone")),
    _r("os_compute_api:os-availability-zone:detail", ADMIN,
       "List availability zones with their hosts and services.",
       ("GET", "/os-availability-zone/detail")),
    _r("os_compute_api:os-aggregates:index", ADMIN, "List aggregates.",
       ("GET", "/os-aggregates")),
    _r("os_compute_api:os-aggregates:create", ADMIN, "Create an aggregate.",
       ("POST", "/os-aggregates")),
    _r("os_compute_api:os-aggregates:show", ADMIN, "Show an aggregate.",
       ("GET", "/os-aggregates/{aggregate_id}")),
    _r("os_compute_api:os-aggregates:update", ADMIN, "Update an aggregate.",
       ("PUT", "/os-aggregates/{aggregate_id}")),
    _r("os_compute_api:os-aggregates:delete", ADMIN, "Delete an aggregate.",
       ("DELETE", "/os-aggregates/{aggregate_id}")),
    _r("os_compute_api:os-aggregates:add_host", ADMIN, "Add a host to an aggregate.",
       ("POST", "/os-aggregates/{aggregate_id}/action (add_host)")),
    _r("os_compute_api:os-aggregates:remove_host", ADMIN, "Remove a host from an aggregate.",
       ("POST", "/os-aggregates/{aggregate_id}/action (remove_host)")),
    _r("os_compute_api:os-aggregates:set_metadata", ADMIN, "Set an aggregate's metadata.",
       ("POST", "/os-aggregates/{aggregate_id}/action (set_metadata)")),
    _r("compute:aggregates:images", ADMIN, "Precache images on an aggregate's hosts.",
       ("POST", "/os-aggregates/{aggregate_id}/images")),
    _r("os_compute_api:os-services:list", ADMIN, "List compute services.",
       ("GET", "/os-services")),
    _r("os_compute_api:os-services:update", ADMIN,
       "Enable, disable or force down a compute service.",
       ("PUT", "/os-services/{service_id}"), ("PUT", "/os-services/enable"),
       ("PUT", "/os-services/disable"), ("PUT", "/os-services/disable-log-reason"),
       ("PUT", "/os-services/force-down")),
    _r("os_compute_api:os-services:delete", ADMIN, "Delete a compute service.",
       ("DELETE", "/os-services/{service_id}")),
    _r("os_compute_api:os-migrations:index", ADMIN, "List the migrations of every server.",
       ("GET", "/os-migrations")),
    _r("os_compute_api:os-hypervisors:list", ADMIN, "List hypervisors.",
       ("GET", "/os-hypervisors")),
    _r("os_compute_api:os-hypervisors:list-detail", ADMIN, "List hypervisors with details.",
       ("GET", "/os-hypervisors/details")),
    _r("os_compute_api:os-hypervisors:statistics", ADMIN, "Hypervisor statistics (to 2.87).",
       ("GET", "/os-hypervisors/statistics")),
    _r("os_compute_api:os-hypervisors:show", ADMIN, "Show a hypervisor.",
       ("GET", "/os-hypervisors/{hypervisor_id}")),
    _r("os_compute_api:os-hypervisors:uptime", ADMIN, "A hypervisor's uptime (to 2.87).",
       ("GET", "/os-hypervisors/{hypervisor_id}/uptime")),
    _r("os_compute_api:os-hypervisors:search", ADMIN, "Search hypervisors by name (to 2.52).",
       ("GET", "/os-hypervisors/{hypervisor_hostname_pattern}/search")),
    _r("os_compute_api:os-hypervisors:servers", ADMIN,
       "List the servers of hypervisors (to 2.52; later a list filter).",
       ("GET", "/os-hypervisors/{hypervisor_hostname_pattern}/servers")),
]

#: os-hosts (deprecated at 2.43), os-instance_usage_audit_log and the extension list.
LEGACY: list[Rule] = [
    _r("os_compute_api:os-hosts:list", ADMIN, "List hosts (to 2.42).", ("GET", "/os-hosts")),
    _r("os_compute_api:os-hosts:show", ADMIN, "Show a host's resources (to 2.42).",
       ("GET", "/os-hosts/{host_name}")),
    _r("os_compute_api:os-hosts:update", ADMIN, "Enable or disable a host (to 2.42).",
       ("PUT", "/os-hosts/{host_name}")),
    _r("os_compute_api:os-hosts:reboot", ADMIN, "Reboot a host (to 2.42).",
       ("GET", "/os-hosts/{host_name}/reboot")),
    _r("os_compute_api:os-hosts:shutdown", ADMIN, "Shut a host down (to 2.42).",
       ("GET", "/os-hosts/{host_name}/shutdown")),
    _r("os_compute_api:os-hosts:start", ADMIN, "Start a host (to 2.42).",
       ("GET", "/os-hosts/{host_name}/startup")),
    _r("os_compute_api:os-instance-usage-audit-log:list", ADMIN,
       "List the instance usage audit logs.", ("GET", "/os-instance_usage_audit_log")),
    _r("os_compute_api:os-instance-usage-audit-log:show", ADMIN,
       "Show the instance usage audit log before a time.",
       ("GET", "/os-instance_usage_audit_log/{before_timestamp}")),
    _r("os_compute_api:extensions", ANY, "List and show the API extensions.",
       ("GET", "/extensions"), ("GET", "/extensions/{alias}")),
]

QUOTAS: list[Rule] = [
    _r("os_compute_api:os-quota-sets:show", READER, "Show a project's quotas.",
       ("GET", "/os-quota-sets/{tenant_id}")),
    _r("os_compute_api:os-quota-sets:detail", READER,
       "Show a project's quotas with usage and reservations.",
       ("GET", "/os-quota-sets/{tenant_id}/detail")),
    _r("os_compute_api:os-quota-sets:defaults", ANY, "Show the default quotas.",
       ("GET", "/os-quota-sets/{tenant_id}/defaults")),
    _r("os_compute_api:os-quota-sets:update", ADMIN, "Update a project's quotas.",
       ("PUT", "/os-quota-sets/{tenant_id}")),
    _r("os_compute_api:os-quota-sets:delete", ADMIN, "Revert a project's quotas to defaults.",
       ("DELETE", "/os-quota-sets/{tenant_id}")),
    _r("os_compute_api:os-quota-class-sets:show", ADMIN, "Show a quota class.",
       ("GET", "/os-quota-class-sets/{quota_class}")),
    _r("os_compute_api:os-quota-class-sets:update", ADMIN, "Update a quota class.",
       ("PUT", "/os-quota-class-sets/{quota_class}")),
    _r("os_compute_api:limits", ANY, "Show rate and absolute limits of the caller's project.",
       ("GET", "/limits")),
    _r("os_compute_api:limits:other_project", ADMIN,
       "Show the absolute limits of another project (?tenant_id=).", ("GET", "/limits")),
]

SERVER_GROUPS: list[Rule] = [
    _r("os_compute_api:os-server-groups:create", MEMBER, "Create a server group.",
       ("POST", "/os-server-groups")),
    _r("os_compute_api:os-server-groups:delete", MEMBER, "Delete a server group.",
       ("DELETE", "/os-server-groups/{server_group_id}")),
    _r("os_compute_api:os-server-groups:index", READER, "List server groups.",
       ("GET", "/os-server-groups")),
    _r("os_compute_api:os-server-groups:index:all_projects", ADMIN,
       "List the server groups of every project.", ("GET", "/os-server-groups")),
    _r("os_compute_api:os-server-groups:show", READER, "Show a server group.",
       ("GET", "/os-server-groups/{server_group_id}")),
]

USAGE: list[Rule] = [
    _r("os_compute_api:os-simple-tenant-usage:show", READER,
       "Show usage statistics for a specific tenant.",
       ("GET", "/os-simple-tenant-usage/{tenant_id}")),
    _r("os_compute_api:os-simple-tenant-usage:list", ADMIN,
       "List per tenant usage statistics for all tenants.", ("GET", "/os-simple-tenant-usage")),
]

#: Nova checks no rule on its image proxy (deprecated; gone from 2.36): the Image service decides
#: with the caller's token. This stand-in name lets an operator close the proxy.
IMAGES: list[Rule] = [
    _r("os_compute_api:images", ANY, "List, show, delete images and their metadata (proxy).",
       ("GET", "/images"), ("GET", "/images/detail"), ("GET", "/images/{image_id}"),
       ("DELETE", "/images/{image_id}"), ("GET", "/images/{image_id}/metadata"),
       ("POST", "/images/{image_id}/metadata"), ("PUT", "/images/{image_id}/metadata"),
       ("GET", "/images/{image_id}/metadata/{key}"),
       ("PUT", "/images/{image_id}/metadata/{key}"),
       ("DELETE", "/images/{image_id}/metadata/{key}")),
]

#: Consoles and the guest's password (nova/policies/remote_consoles.py, console_auth_tokens.py,
#: server_password.py).
GUEST_ACCESS: list[Rule] = [
    _r("os_compute_api:os-remote-consoles", MEMBER, "Create a remote console of a server.",
       ("POST", "/servers/{server_id}/remote-consoles"),
       ("POST", "/servers/{server_id}/action (os-getVNCConsole, os-getSerialConsole, ...)")),
    _r("os_compute_api:os-console-auth-tokens", ADMIN,
       "Show the connection of a console token.",
       ("GET", "/os-console-auth-tokens/{console_token}")),
    _r("os_compute_api:os-server-password:show", READER,
       "Show the encrypted password a server's guest posted.",
       ("GET", "/servers/{server_id}/os-server-password")),
    _r("os_compute_api:os-server-password:clear", MEMBER,
       "Clear the password a server's guest posted.",
       ("DELETE", "/servers/{server_id}/os-server-password")),
]

RULES: list[Rule] = [*BASE, *FLAVORS, *IMAGES, *KEYPAIRS, *ZONES_AND_HOSTS, *QUOTAS, *SERVER_GROUPS,
                     *USAGE, *LEGACY, *SERVER_RULES, *GUEST_ACCESS]
