"""Default policy of the server routes: Nova's rule names and secure-RBAC defaults
(nova/policies/servers.py, lock_server.py, pause_server.py, suspend_server.py,
console_output.py, server_metadata.py, server_tags.py, instance_actions.py, ...).
compute/policy.py appends these to its RULES."""

from __future__ import annotations

from overcast.common.policy import Rule

__all__ = ["SERVER_RULES"]

ADMIN = "rule:context_is_admin"
MEMBER = "rule:project_member_or_admin"
READER = "rule:project_reader_or_admin"


def _r(name: str, check: str, description: str, *ops: tuple[str, str]) -> Rule:
    return Rule(name=name, check_str=check, description=description, operations=list(ops),
                scope_types=["project"])


_S = "os_compute_api:servers:"
_ACTION = ("POST", "/servers/{server_id}/action")

SERVER_RULES: list[Rule] = [
    _r(_S + "index", READER, "List servers.", ("GET", "/servers")),
    _r(_S + "detail", READER, "List servers with details.", ("GET", "/servers/detail")),
    _r(_S + "index:get_all_tenants", ADMIN, "List servers of every project.",
       ("GET", "/servers")),
    _r(_S + "detail:get_all_tenants", ADMIN, "List servers of every project with details.",
       ("GET", "/servers/detail")),
    _r(_S + "allow_all_filters", ADMIN, "List servers with admin-only filters (host, ...).",
       ("GET", "/servers")),
    _r(_S + "show", READER, "Show a server.", ("GET", "/servers/{server_id}")),
    _r(_S + "show:host_status", ADMIN, "Show a server's host_status (2.16).",
       ("GET", "/servers/{server_id}")),
    _r(_S + "show:flavor-extra-specs", READER, "Show the flavor's extra specs (2.47).",
       ("GET", "/servers/{server_id}")),
    _r(_S + "create", MEMBER, "Create a server.", ("POST", "/servers")),
    _r(_S + "create:forced_host", ADMIN, "Create a server on a given host (zone:host).",
       ("POST", "/servers")),
    _r(_S + "update", MEMBER, "Update a server.", ("PUT", "/servers/{server_id}")),
    _r(_S + "delete", MEMBER, "Delete a server.", ("DELETE", "/servers/{server_id}")),
    _r(_S + "start", MEMBER, "Start a server.", _ACTION),
    _r(_S + "stop", MEMBER, "Stop a server.", _ACTION),
    _r(_S + "reboot", MEMBER, "Reboot a server.", _ACTION),
    _r(_S + "resize", MEMBER, "Resize a server.", _ACTION),
    _r(_S + "confirm_resize", MEMBER, "Confirm a resize.", _ACTION),
    _r(_S + "revert_resize", MEMBER, "Revert a resize.", _ACTION),
    _r(_S + "rebuild", MEMBER, "Rebuild a server.", _ACTION),
    _r(_S + "create_image", MEMBER, "Snapshot a server into an image.", _ACTION),
    _r("os_compute_api:os-create-backup", MEMBER, "Back a server up into an image.", _ACTION),
    _r("os_compute_api:os-extended-server-attributes", ADMIN,
       "See host, hypervisor and instance name of servers.", ("GET", "/servers/{server_id}")),
    _r("os_compute_api:os-deferred-delete:force", MEMBER, "Force-delete a server.", _ACTION),
    _r("os_compute_api:os-admin-actions:reset_state", ADMIN, "Reset a server's state.", _ACTION),
    _r("os_compute_api:os-deferred-delete:restore", MEMBER, "Restore a soft-deleted server.",
       _ACTION),
    _r("os_compute_api:os-shelve:shelve", MEMBER, "Shelve a server.", _ACTION),
    _r("os_compute_api:os-shelve:unshelve", MEMBER, "Unshelve a server.", _ACTION),
    _r("os_compute_api:os-shelve:shelve_offload", ADMIN,
       "Offload a shelved server from its host.", _ACTION),
    _r("os_compute_api:os-rescue", MEMBER, "Rescue a server.", _ACTION),
    _r("os_compute_api:os-unrescue", MEMBER, "Unrescue a server.", _ACTION),
    _r("os_compute_api:os-lock-server:lock", MEMBER, "Lock a server.", _ACTION),
    _r("os_compute_api:os-lock-server:unlock", MEMBER, "Unlock a server.", _ACTION),
    _r("os_compute_api:os-lock-server:unlock:unlock_override", ADMIN,
       "Unlock a server another user locked; act on locked servers.", _ACTION),
    _r("os_compute_api:os-pause-server:pause", MEMBER, "Pause a server.", _ACTION),
    _r("os_compute_api:os-pause-server:unpause", MEMBER, "Unpause a server.", _ACTION),
    _r("os_compute_api:os-suspend-server:suspend", MEMBER, "Suspend a server.", _ACTION),
    _r("os_compute_api:os-suspend-server:resume", MEMBER, "Resume a server.", _ACTION),
    _r("os_compute_api:os-server-diagnostics", ADMIN, "Show the usage data of a server.",
       ("GET", "/servers/{server_id}/diagnostics")),
    _r("os_compute_api:os-console-output", MEMBER, "Show a server's console output.", _ACTION),
    _r("os_compute_api:server-metadata:index", READER, "List a server's metadata.",
       ("GET", "/servers/{server_id}/metadata")),
    _r("os_compute_api:server-metadata:show", READER, "Show a server metadata item.",
       ("GET", "/servers/{server_id}/metadata/{key}")),
    _r("os_compute_api:server-metadata:create", MEMBER, "Add server metadata.",
       ("POST", "/servers/{server_id}/metadata")),
    _r("os_compute_api:server-metadata:update_all", MEMBER, "Replace server metadata.",
       ("PUT", "/servers/{server_id}/metadata")),
    _r("os_compute_api:server-metadata:update", MEMBER, "Set a server metadata item.",
       ("PUT", "/servers/{server_id}/metadata/{key}")),
    _r("os_compute_api:server-metadata:delete", MEMBER, "Delete a server metadata item.",
       ("DELETE", "/servers/{server_id}/metadata/{key}")),
    _r("os_compute_api:os-server-tags:index", READER, "List a server's tags.",
       ("GET", "/servers/{server_id}/tags")),
    _r("os_compute_api:os-server-tags:show", READER, "Check a server tag.",
       ("GET", "/servers/{server_id}/tags/{tag}")),
    _r("os_compute_api:os-server-tags:update", MEMBER, "Add a server tag.",
       ("PUT", "/servers/{server_id}/tags/{tag}")),
    _r("os_compute_api:os-server-tags:update_all", MEMBER, "Replace a server's tags.",
       ("PUT", "/servers/{server_id}/tags")),
    _r("os_compute_api:os-server-tags:delete", MEMBER, "Delete a server tag.",
       ("DELETE", "/servers/{server_id}/tags/{tag}")),
    _r("os_compute_api:os-server-tags:delete_all", MEMBER, "Delete a server's tags.",
       ("DELETE", "/servers/{server_id}/tags")),
    _r(_S + "migrations:index", ADMIN, "List a server's live migrations under way (2.23).",
       ("GET", "/servers/{server_id}/migrations")),
    _r(_S + "migrations:show", ADMIN, "Show a server's live migration under way (2.23).",
       ("GET", "/servers/{server_id}/migrations/{migration_id}")),
    _r("os_compute_api:os-instance-actions:list", READER, "List a server's actions.",
       ("GET", "/servers/{server_id}/os-instance-actions")),
    _r("os_compute_api:os-instance-actions:show", READER, "Show a server action.",
       ("GET", "/servers/{server_id}/os-instance-actions/{request_id}")),
    _r("os_compute_api:os-instance-actions:events", ADMIN, "See an action's events.",
       ("GET", "/servers/{server_id}/os-instance-actions/{request_id}")),
    _r("os_compute_api:os-instance-actions:events:details", ADMIN,
       "See an action's event details (2.84).",
       ("GET", "/servers/{server_id}/os-instance-actions/{request_id}")),
    _r("os_compute_api:ips:index", READER, "List a server's addresses.",
       ("GET", "/servers/{server_id}/ips")),
]
