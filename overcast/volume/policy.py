"""Default policy of the Block Storage API, with Cinder's rule names and its secure-RBAC
defaults (enforce_scope off, as the install guides run it): an admin on any project is a cloud
admin, members manage their project's volumes, readers read them.

Targets are the resource's `project_id`; lists enforce with the caller's project."""

from __future__ import annotations

from overcast.common.policy import Rule

__all__ = ["KEPT_FOR_OPERATORS", "RULES"]

#: Cinder's legacy building blocks, kept so an operator's policy.yaml that names them works.
KEPT_FOR_OPERATORS = frozenset({"admin_or_owner", "admin_api"})

ADMIN = "rule:admin_api"
READER = "rule:xena_system_admin_or_project_reader"
MEMBER = "rule:xena_system_admin_or_project_member"


def _r(name: str, check: str, description: str, *ops: tuple[str, str]) -> Rule:
    return Rule(name=name, check_str=check, description=description, operations=list(ops),
                scope_types=["project"])


V = "/v3/{project_id}"

RULES: list[Rule] = [
    _r("context_is_admin", "role:admin", "Who counts as an administrator."),
    _r("admin_api", "rule:context_is_admin", "Administrators only."),
    _r("admin_or_owner", "is_admin:True or (role:admin and is_admin_project:True) or "
       "project_id:%(project_id)s", "Legacy: admin or owner."),
    _r("project_reader", "role:reader and project_id:%(project_id)s",
       "A reader of the resource's project."),
    _r("project_member", "role:member and project_id:%(project_id)s",
       "A member of the resource's project."),
    _r("xena_system_admin_or_project_reader", "rule:context_is_admin or rule:project_reader",
       "Admin, or reader of the project (Cinder's Xena default)."),
    _r("xena_system_admin_or_project_member", "rule:context_is_admin or rule:project_member",
       "Admin, or member of the project (Cinder's Xena default)."),
    # volumes
    _r("volume:create", MEMBER, "Create a volume.", ("POST", f"{V}/volumes")),
    _r("volume:create_from_image", MEMBER, "Create a volume from an image."),
    _r("volume:get", READER, "Show a volume.", ("GET", f"{V}/volumes/{{volume_id}}")),
    _r("volume:get_all", READER, "List volumes.", ("GET", f"{V}/volumes"),
       ("GET", f"{V}/volumes/detail")),
    _r("volume:update", MEMBER, "Update a volume.", ("PUT", f"{V}/volumes/{{volume_id}}")),
    _r("volume:delete", MEMBER, "Delete a volume.", ("DELETE", f"{V}/volumes/{{volume_id}}")),
    _r("volume:extend", MEMBER, "Extend a volume (os-extend)."),
    _r("volume:update_readonly_flag", MEMBER, "Set a volume's readonly flag."),
    _r("volume_extension:volume_actions:set_bootable", MEMBER, "Set a volume's bootable flag."),
    _r("volume_extension:volume_admin_actions:reset_status", ADMIN,
       "Reset a volume's status (os-reset_status)."),
    _r("volume_extension:volume_admin_actions:force_delete", ADMIN,
       "Delete a volume whatever its status (os-force_delete)."),
    _r("volume:get_volume_metadata", READER, "Show a volume's metadata."),
    _r("volume:create_volume_metadata", MEMBER, "Add or replace a volume's metadata."),
    _r("volume:update_volume_metadata", MEMBER, "Replace or change a volume's metadata."),
    _r("volume:delete_volume_metadata", MEMBER, "Delete a volume's metadata item."),
    _r("volume_extension:volume_image_metadata:show", READER,
       "See a volume's image metadata (volume_image_metadata)."),
    _r("volume_extension:volume_tenant_attribute", READER,
       "See os-vol-tenant-attr:tenant_id of a volume."),
    _r("volume_extension:volume_host_attribute", ADMIN,
       "See os-vol-host-attr:host of a volume."),
    _r("volume_extension:volume_mig_status_attribute", ADMIN,
       "See a volume's migration attributes."),
    _r("volume:get_all_admin", ADMIN, "List volumes of every project (all_tenants)."),
    _r("volume:get_volume_summary", READER, "Summary of volumes (count, total size)."),
    # snapshots
    _r("volume:create_snapshot", MEMBER, "Create a snapshot.", ("POST", f"{V}/snapshots")),
    _r("volume:get_snapshot", READER, "Show a snapshot."),
    _r("volume:get_all_snapshots", READER, "List snapshots."),
    _r("volume:update_snapshot", MEMBER, "Update a snapshot."),
    _r("volume:delete_snapshot", MEMBER, "Delete a snapshot."),
    _r("volume:get_snapshot_metadata", READER, "Show a snapshot's metadata."),
    _r("volume:update_snapshot_metadata", MEMBER, "Set a snapshot's metadata."),
    _r("volume:delete_snapshot_metadata", MEMBER, "Delete a snapshot's metadata item."),
    _r("volume_extension:snapshot_admin_actions:reset_status", ADMIN,
       "Reset a snapshot's status."),
    _r("volume_extension:snapshot_admin_actions:force_delete", ADMIN,
       "Delete a snapshot whatever its status."),
    _r("volume_extension:extended_snapshot_attributes", READER,
       "See os-extended-snapshot-attributes of a snapshot."),
    # volume types
    _r("volume_extension:types_manage", ADMIN, "Create, update or delete a volume type."),
    _r("volume_extension:type_get", "role:reader or rule:context_is_admin",
       "Show a volume type."),
    _r("volume_extension:type_get_all", "role:reader or rule:context_is_admin",
       "List volume types."),
    _r("volume_extension:access_types_extra_specs", ADMIN,
       "See a volume type's extra specs in its view."),
    _r("volume_extension:access_types_qos_specs_id", ADMIN,
       "See a volume type's qos_specs_id."),
    _r("volume_extension:types_extra_specs:index", "role:reader or rule:context_is_admin",
       "List a volume type's extra specs."),
    _r("volume_extension:types_extra_specs:show", "role:reader or rule:context_is_admin",
       "Show one extra spec of a volume type."),
    _r("volume_extension:types_extra_specs:create", ADMIN, "Set extra specs of a volume type."),
    _r("volume_extension:types_extra_specs:update", ADMIN, "Change an extra spec."),
    _r("volume_extension:types_extra_specs:delete", ADMIN, "Delete an extra spec."),
    _r("volume_extension:volume_type_access", "role:reader or rule:context_is_admin",
       "See os-volume-type-access:is_public."),
    _r("volume_extension:volume_type_access:addProjectAccess", ADMIN,
       "Give a project access to a private volume type."),
    _r("volume_extension:volume_type_access:removeProjectAccess", ADMIN,
       "Take a project's access to a private volume type away."),
    _r("volume_extension:volume_type_access:get_all_for_type", ADMIN,
       "List the projects that may use a private volume type."),
    # quotas, limits, zones, services
    _r("volume_extension:quotas:show", READER, "Show a project's quotas (and usage)."),
    _r("volume_extension:quotas:update", ADMIN, "Change a project's quotas."),
    _r("volume_extension:quotas:delete", ADMIN, "Put a project's quotas back to the defaults."),
    _r("volume_extension:quota_classes", ADMIN, "Show the default quota class."),
    _r("limits_extension:used_limits", READER, "Show absolute limits and their usage."),
    _r("volume_extension:availability_zone_list", "role:reader or rule:context_is_admin",
       "List availability zones."),
    _r("volume_extension:services:index", ADMIN, "List block storage services."),
    _r("volume_extension:services:update", ADMIN, "Enable or disable a service."),
]
