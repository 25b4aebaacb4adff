"""Default policy of the identity API, with Keystone's rule names.

Personas as in current Keystone: `admin` administers the cloud (with enforce_scope off, as
every deployment the install guides describe, an admin on any project is a cloud admin),
`reader` on the system may read everything, a domain `reader`/`admin` sees its own domain,
and every user may see and manage what is their own (their token, password, projects,
application credentials, credentials). A plain member running `openstack service list` is
refused, as the guides show.
"""

from __future__ import annotations

from overcast.common import faults
from overcast.common.policy import Rule

__all__ = ["KEPT_FOR_OPERATORS", "RULES", "forbidden_action"]

#: Keystone's base rule no default refers to any more; an operator's policy.yaml still may.
KEPT_FOR_OPERATORS = frozenset({"admin_or_owner"})


def forbidden_action(action: str) -> faults.Forbidden:
    """Keystone's ForbiddenAction: a refusal that says which action, whatever the policy.

    Keystone formats "...action: %(action)s." around an action text that usually ends with a
    period itself, so its messages end in two; kept, as clients and parity tests see them."""
    return faults.Forbidden(f"You are not authorized to perform the requested action: {action}.")

ADMIN = "rule:admin_required"
SYSTEM_READER = "(role:reader and system_scope:all)"
ADMIN_OR_SYSTEM_READER = f"{ADMIN} or {SYSTEM_READER}"


def _r(name: str, check: str, description: str, *ops: tuple[str, str]) -> Rule:
    return Rule(name=name, check_str=check, description=description, operations=list(ops),
                scope_types=["system", "domain", "project"])


def _crud(noun: str, path: str, read: str, write: str, plural: str | None = None) -> list[Rule]:
    many = plural or f"{noun}s"
    item = f"{path}/{{{noun}_id}}"
    return [
        _r(f"identity:get_{noun}", read, f"Show {noun} details.", ("GET", item)),
        _r(f"identity:list_{many}", read, f"List {many}.", ("GET", path)),
        _r(f"identity:create_{noun}", write, f"Create {noun}.", ("POST", path)),
        _r(f"identity:update_{noun}", write, f"Update {noun}.", ("PATCH", item)),
        _r(f"identity:delete_{noun}", write, f"Delete {noun}.", ("DELETE", item)),
    ]


OWNER = "user_id:%(user_id)s"
DOMAIN_READER = "(role:reader and domain_id:%(target.domain_id)s)"
TOKEN_SUBJECT = "user_id:%(target.token.user_id)s"
#: Keystone's ADMIN_OR_SYSTEM_OR_DOMAIN_OR_PROJECT_USER of limits: a domain's users see its own
#: limits and its projects', a project's users their project's.
LIMIT_READER = (f"{ADMIN} or {SYSTEM_READER} or (domain_id:%(target.limit.domain.id)s or "
                "domain_id:%(target.limit.project.domain_id)s) or "
                "(project_id:%(target.limit.project_id)s and not None:%(target.limit.project_id)s)")

RULES: list[Rule] = [
    _r("admin_required", "role:admin or is_admin:1", "Legacy admin check."),
    _r("service_role", "role:service", "A service user."),
    _r("service_or_admin", "rule:admin_required or rule:service_role", "Admin or a service."),
    _r("owner", OWNER, "The user the request is about is the caller."),
    _r("admin_or_owner", "rule:admin_required or rule:owner", "Admin or the user themself."),
    _r("token_subject", TOKEN_SUBJECT, "The caller owns the token being examined."),
    _r("service_admin_or_token_subject",
       "rule:service_or_admin or rule:token_subject", "Admin, a service or the token's owner."),
    # tokens and the auth/* views
    _r("identity:validate_token", "rule:service_admin_or_token_subject", "Validate a token.",
       ("GET", "/v3/auth/tokens")),
    _r("identity:check_token", "rule:service_admin_or_token_subject", "Check a token.",
       ("HEAD", "/v3/auth/tokens")),
    _r("identity:revoke_token", "rule:service_admin_or_token_subject", "Revoke a token.",
       ("DELETE", "/v3/auth/tokens")),
    _r("identity:get_auth_catalog", "", "The token's catalog.", ("GET", "/v3/auth/catalog")),
    _r("identity:get_auth_projects", "", "Projects the token's user may scope to.",
       ("GET", "/v3/auth/projects")),
    _r("identity:get_auth_domains", "", "Domains the token's user may scope to.",
       ("GET", "/v3/auth/domains")),
    _r("identity:get_auth_system", "", "Whether the token's user may scope to the system.",
       ("GET", "/v3/auth/system")),
    # catalog
    *_crud("region", "/v3/regions", "", ADMIN),
    *_crud("service", "/v3/services", ADMIN_OR_SYSTEM_READER, ADMIN),
    *_crud("endpoint", "/v3/endpoints", ADMIN_OR_SYSTEM_READER, ADMIN),
    # resources
    _r("identity:get_domain",
       f"{ADMIN_OR_SYSTEM_READER} or domain_id:%(target.domain.id)s or "
       "project_domain_id:%(target.domain.id)s", "Show domain.", ("GET", "/v3/domains/{domain_id}")),
    _r("identity:list_domains", ADMIN_OR_SYSTEM_READER, "List domains.", ("GET", "/v3/domains")),
    _r("identity:create_domain", ADMIN, "Create domain.", ("POST", "/v3/domains")),
    _r("identity:update_domain", ADMIN, "Update domain.", ("PATCH", "/v3/domains/{domain_id}")),
    _r("identity:delete_domain", ADMIN, "Delete domain.", ("DELETE", "/v3/domains/{domain_id}")),
    _r("identity:get_project",
       f"{ADMIN_OR_SYSTEM_READER} or project_id:%(target.project.id)s or "
       "(role:reader and domain_id:%(target.project.domain_id)s)", "Show project.",
       ("GET", "/v3/projects/{project_id}")),
    _r("identity:list_projects", f"{ADMIN_OR_SYSTEM_READER} or {DOMAIN_READER}", "List projects.",
       ("GET", "/v3/projects")),
    _r("identity:list_user_projects",
       f"{ADMIN_OR_SYSTEM_READER} or rule:owner or (role:reader and "
       "domain_id:%(target.user.domain_id)s)", "List a user's projects.",
       ("GET", "/v3/users/{user_id}/projects")),
    _r("identity:create_project",
       f"{ADMIN} or (role:admin and domain_id:%(target.project.domain_id)s)", "Create project.",
       ("POST", "/v3/projects")),
    _r("identity:update_project",
       f"{ADMIN} or (role:admin and domain_id:%(target.project.domain_id)s)", "Update project.",
       ("PATCH", "/v3/projects/{project_id}")),
    _r("identity:delete_project",
       f"{ADMIN} or (role:admin and domain_id:%(target.project.domain_id)s)", "Delete project.",
       ("DELETE", "/v3/projects/{project_id}")),
    _r("identity:list_project_tags",
       f"{ADMIN_OR_SYSTEM_READER} or project_id:%(target.project.id)s", "List project tags.",
       ("GET", "/v3/projects/{project_id}/tags")),
    _r("identity:get_project_tag",
       f"{ADMIN_OR_SYSTEM_READER} or project_id:%(target.project.id)s", "Check a project tag.",
       ("GET", "/v3/projects/{project_id}/tags/{tag}")),
    _r("identity:update_project_tags", f"{ADMIN} or project_id:%(target.project.id)s and "
       "role:admin", "Replace project tags.", ("PUT", "/v3/projects/{project_id}/tags")),
    _r("identity:create_project_tag", f"{ADMIN} or project_id:%(target.project.id)s and "
       "role:admin", "Add a project tag.", ("PUT", "/v3/projects/{project_id}/tags/{tag}")),
    _r("identity:delete_project_tags", f"{ADMIN} or project_id:%(target.project.id)s and "
       "role:admin", "Remove all project tags.", ("DELETE", "/v3/projects/{project_id}/tags")),
    _r("identity:delete_project_tag", f"{ADMIN} or project_id:%(target.project.id)s and "
       "role:admin", "Remove a project tag.", ("DELETE", "/v3/projects/{project_id}/tags/{tag}")),
    # users and groups
    _r("identity:get_user",
       f"{ADMIN_OR_SYSTEM_READER} or (role:reader and domain_id:%(target.user.domain_id)s) or "
       "user_id:%(target.user.id)s", "Show user.", ("GET", "/v3/users/{user_id}")),
    _r("identity:list_users", f"{ADMIN_OR_SYSTEM_READER} or {DOMAIN_READER}", "List users.",
       ("GET", "/v3/users")),
    _r("identity:create_user", f"{ADMIN} or (role:admin and domain_id:%(target.user.domain_id)s)",
       "Create user.", ("POST", "/v3/users")),
    _r("identity:update_user", f"{ADMIN} or (role:admin and domain_id:%(target.user.domain_id)s)",
       "Update user.", ("PATCH", "/v3/users/{user_id}")),
    _r("identity:delete_user", f"{ADMIN} or (role:admin and domain_id:%(target.user.domain_id)s)",
       "Delete user.", ("DELETE", "/v3/users/{user_id}")),
    _r("identity:list_groups_for_user",
       f"{ADMIN_OR_SYSTEM_READER} or rule:owner or (role:reader and "
       "domain_id:%(target.user.domain_id)s)", "List a user's groups.",
       ("GET", "/v3/users/{user_id}/groups")),
    _r("identity:get_group", f"{ADMIN_OR_SYSTEM_READER} or (role:reader and "
       "domain_id:%(target.group.domain_id)s)", "Show group.", ("GET", "/v3/groups/{group_id}")),
    _r("identity:list_groups", f"{ADMIN_OR_SYSTEM_READER} or {DOMAIN_READER}", "List groups.",
       ("GET", "/v3/groups")),
    _r("identity:create_group", f"{ADMIN} or (role:admin and domain_id:%(target.group.domain_id)s)",
       "Create group.", ("POST", "/v3/groups")),
    _r("identity:update_group", f"{ADMIN} or (role:admin and domain_id:%(target.group.domain_id)s)",
       "Update group.", ("PATCH", "/v3/groups/{group_id}")),
    _r("identity:delete_group", f"{ADMIN} or (role:admin and domain_id:%(target.group.domain_id)s)",
       "Delete group.", ("DELETE", "/v3/groups/{group_id}")),
    _r("identity:list_users_in_group", f"{ADMIN_OR_SYSTEM_READER} or (role:reader and "
       "domain_id:%(target.group.domain_id)s)", "List group members.",
       ("GET", "/v3/groups/{group_id}/users")),
    _r("identity:check_user_in_group", f"{ADMIN_OR_SYSTEM_READER} or (role:reader and "
       "domain_id:%(target.group.domain_id)s)", "Check membership.",
       ("HEAD", "/v3/groups/{group_id}/users/{user_id}")),
    _r("identity:add_user_to_group", f"{ADMIN} or (role:admin and "
       "domain_id:%(target.group.domain_id)s)", "Add a member.",
       ("PUT", "/v3/groups/{group_id}/users/{user_id}")),
    _r("identity:remove_user_from_group", f"{ADMIN} or (role:admin and "
       "domain_id:%(target.group.domain_id)s)", "Remove a member.",
       ("DELETE", "/v3/groups/{group_id}/users/{user_id}")),
    # roles and grants
    *_crud("role", "/v3/roles", f"{ADMIN_OR_SYSTEM_READER} or role:reader and "
           "domain_id:%(target.domain_id)s", ADMIN),
    _r("identity:create_implied_role", ADMIN, "Make one role imply another.",
       ("PUT", "/v3/roles/{prior_role_id}/implies/{implied_role_id}")),
    _r("identity:get_implied_role", ADMIN_OR_SYSTEM_READER, "Show a role implication.",
       ("GET", "/v3/roles/{prior_role_id}/implies/{implied_role_id}")),
    _r("identity:check_implied_role", ADMIN_OR_SYSTEM_READER, "Check a role implication.",
       ("HEAD", "/v3/roles/{prior_role_id}/implies/{implied_role_id}")),
    _r("identity:list_implied_roles", ADMIN_OR_SYSTEM_READER, "List what a role implies.",
       ("GET", "/v3/roles/{prior_role_id}/implies")),
    _r("identity:delete_implied_role", ADMIN, "Remove a role implication.",
       ("DELETE", "/v3/roles/{prior_role_id}/implies/{implied_role_id}")),
    _r("identity:list_role_inference_rules", ADMIN_OR_SYSTEM_READER, "List role implications.",
       ("GET", "/v3/role_inferences")),
    _r("identity:check_grant", ADMIN_OR_SYSTEM_READER, "Check a role assignment.",
       ("HEAD", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}")),
    _r("identity:list_grants", ADMIN_OR_SYSTEM_READER, "List role assignments on a target.",
       ("GET", "/v3/projects/{project_id}/users/{user_id}/roles")),
    _r("identity:create_grant", ADMIN, "Assign a role.",
       ("PUT", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}")),
    _r("identity:revoke_grant", ADMIN, "Unassign a role.",
       ("DELETE", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}")),
    _r("identity:list_system_grants_for_user", ADMIN_OR_SYSTEM_READER, "System roles of a user.",
       ("GET", "/v3/system/users/{user_id}/roles")),
    _r("identity:check_system_grant_for_user", ADMIN_OR_SYSTEM_READER, "Check a system role.",
       ("HEAD", "/v3/system/users/{user_id}/roles/{role_id}")),
    _r("identity:create_system_grant_for_user", ADMIN, "Give a system role.",
       ("PUT", "/v3/system/users/{user_id}/roles/{role_id}")),
    _r("identity:revoke_system_grant_for_user", ADMIN, "Take a system role.",
       ("DELETE", "/v3/system/users/{user_id}/roles/{role_id}")),
    _r("identity:list_system_grants_for_group", ADMIN_OR_SYSTEM_READER, "System roles of a group.",
       ("GET", "/v3/system/groups/{group_id}/roles")),
    _r("identity:check_system_grant_for_group", ADMIN_OR_SYSTEM_READER, "Check a system role.",
       ("HEAD", "/v3/system/groups/{group_id}/roles/{role_id}")),
    _r("identity:create_system_grant_for_group", ADMIN, "Give a system role.",
       ("PUT", "/v3/system/groups/{group_id}/roles/{role_id}")),
    _r("identity:revoke_system_grant_for_group", ADMIN, "Take a system role.",
       ("DELETE", "/v3/system/groups/{group_id}/roles/{role_id}")),
    _r("identity:list_role_assignments", f"{ADMIN_OR_SYSTEM_READER} or (role:reader and "
       "domain_id:%(target.domain_id)s)", "List role assignments.", ("GET", "/v3/role_assignments")),
    _r("identity:list_role_assignments_for_tree", f"{ADMIN_OR_SYSTEM_READER} or (role:reader and "
       "domain_id:%(target.project.domain_id)s)", "Role assignments in a project subtree.",
       ("GET", "/v3/role_assignments?include_subtree")),
    # application credentials and credentials
    _r("identity:get_application_credential", f"{ADMIN_OR_SYSTEM_READER} or rule:owner",
       "Show application credential.",
       ("GET", "/v3/users/{user_id}/application_credentials/{application_credential_id}")),
    _r("identity:list_application_credentials", f"{ADMIN_OR_SYSTEM_READER} or rule:owner",
       "List application credentials.", ("GET", "/v3/users/{user_id}/application_credentials")),
    _r("identity:create_application_credential", "user_id:%(user_id)s",
       "Create application credential.", ("POST", "/v3/users/{user_id}/application_credentials")),
    _r("identity:delete_application_credential", f"{ADMIN} or rule:owner",
       "Delete application credential.",
       ("DELETE", "/v3/users/{user_id}/application_credentials/{application_credential_id}")),
    _r("identity:ec2_create_credential", f"{ADMIN} or rule:owner", "Create EC2 credential.",
       ("POST", "/v3/users/{user_id}/credentials/OS-EC2")),
    _r("identity:ec2_list_credentials", f"{ADMIN_OR_SYSTEM_READER} or rule:owner",
       "List EC2 credentials.", ("GET", "/v3/users/{user_id}/credentials/OS-EC2")),
    _r("identity:ec2_get_credential", f"{ADMIN_OR_SYSTEM_READER} or rule:owner",
       "Show EC2 credential.", ("GET", "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}")),
    _r("identity:ec2_delete_credential", f"{ADMIN} or rule:owner", "Delete EC2 credential.",
       ("DELETE", "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}")),
    _r("identity:list_access_rules", f"{ADMIN_OR_SYSTEM_READER} or rule:owner",
       "List access rules.", ("GET", "/v3/users/{user_id}/access_rules")),
    _r("identity:get_access_rule", f"{ADMIN_OR_SYSTEM_READER} or rule:owner",
       "Show an access rule.", ("GET", "/v3/users/{user_id}/access_rules/{access_rule_id}")),
    _r("identity:delete_access_rule", f"{ADMIN} or rule:owner", "Delete an access rule.",
       ("DELETE", "/v3/users/{user_id}/access_rules/{access_rule_id}")),
    # trusts
    _r("identity:create_trust", "user_id:%(trust.trustor_user_id)s", "Create a trust.",
       ("POST", "/v3/OS-TRUST/trusts")),
    _r("identity:list_trusts", ADMIN_OR_SYSTEM_READER, "List every trust.",
       ("GET", "/v3/OS-TRUST/trusts")),
    _r("identity:list_trusts_for_trustor", f"({ADMIN}) or ({SYSTEM_READER} or "
       "user_id:%(target.trust.trustor_user_id)s)", "List the trusts a user granted.",
       ("GET", "/v3/OS-TRUST/trusts?trustor_user_id={trustor_user_id}")),
    _r("identity:list_trusts_for_trustee", f"({ADMIN}) or ({SYSTEM_READER} or "
       "user_id:%(target.trust.trustee_user_id)s)", "List the trusts a user was given.",
       ("GET", "/v3/OS-TRUST/trusts?trustee_user_id={trustee_user_id}")),
    _r("identity:get_trust", f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.trust.trustor_user_id)s"
       " or user_id:%(target.trust.trustee_user_id)s", "Show a trust.",
       ("GET", "/v3/OS-TRUST/trusts/{trust_id}")),
    _r("identity:delete_trust", f"{ADMIN} or user_id:%(target.trust.trustor_user_id)s",
       "Delete a trust.", ("DELETE", "/v3/OS-TRUST/trusts/{trust_id}")),
    _r("identity:list_roles_for_trust", f"{ADMIN_OR_SYSTEM_READER} or "
       "user_id:%(target.trust.trustor_user_id)s or user_id:%(target.trust.trustee_user_id)s",
       "List a trust's roles.", ("GET", "/v3/OS-TRUST/trusts/{trust_id}/roles")),
    _r("identity:get_role_for_trust", f"{ADMIN_OR_SYSTEM_READER} or "
       "user_id:%(target.trust.trustor_user_id)s or user_id:%(target.trust.trustee_user_id)s",
       "Show a trust's role.", ("GET", "/v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}")),
    _r("identity:get_credential", f"{ADMIN_OR_SYSTEM_READER} or "
       "user_id:%(target.credential.user_id)s", "Show credential.",
       ("GET", "/v3/credentials/{credential_id}")),
    _r("identity:list_credentials", f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.credential.user_id)s",
       "List credentials.", ("GET", "/v3/credentials")),
    _r("identity:create_credential", f"{ADMIN} or user_id:%(target.credential.user_id)s",
       "Create credential.", ("POST", "/v3/credentials")),
    _r("identity:update_credential", f"{ADMIN} or user_id:%(target.credential.user_id)s",
       "Update credential.", ("PATCH", "/v3/credentials/{credential_id}")),
    _r("identity:delete_credential", f"{ADMIN} or user_id:%(target.credential.user_id)s",
       "Delete credential.", ("DELETE", "/v3/credentials/{credential_id}")),
    # OS-OAUTH1 consumers, policies, domain configuration, OS-EP-FILTER
    *_crud("consumer", "/v3/OS-OAUTH1/consumers", ADMIN_OR_SYSTEM_READER, ADMIN),
    *_crud("policy", "/v3/policies", ADMIN_OR_SYSTEM_READER, ADMIN, plural="policies"),
    _r("identity:create_domain_config", ADMIN, "Create domain configuration.",
       ("PUT", "/v3/domains/{domain_id}/config")),
    _r("identity:get_domain_config", ADMIN_OR_SYSTEM_READER, "Show domain configuration.",
       ("GET", "/v3/domains/{domain_id}/config"),
       ("GET", "/v3/domains/{domain_id}/config/{group}"),
       ("GET", "/v3/domains/{domain_id}/config/{group}/{option}")),
    _r("identity:update_domain_config", ADMIN, "Update domain configuration.",
       ("PATCH", "/v3/domains/{domain_id}/config"),
       ("PATCH", "/v3/domains/{domain_id}/config/{group}"),
       ("PATCH", "/v3/domains/{domain_id}/config/{group}/{option}")),
    _r("identity:delete_domain_config", ADMIN, "Delete domain configuration.",
       ("DELETE", "/v3/domains/{domain_id}/config"),
       ("DELETE", "/v3/domains/{domain_id}/config/{group}"),
       ("DELETE", "/v3/domains/{domain_id}/config/{group}/{option}")),
    _r("identity:get_domain_config_default", ADMIN_OR_SYSTEM_READER,
       "Show the default domain configuration.", ("GET", "/v3/domains/config/default"),
       ("GET", "/v3/domains/config/{group}/default"),
       ("GET", "/v3/domains/config/{group}/{option}/default")),
    # unified limits (keystone/common/policies/limit.py, registered_limit.py)
    _r("identity:get_limit_model", "", "Get limit enforcement model.",
       ("GET", "/v3/limits/model"), ("HEAD", "/v3/limits/model")),
    _r("identity:get_limit", LIMIT_READER, "Show limit details.",
       ("GET", "/v3/limits/{limit_id}"), ("HEAD", "/v3/limits/{limit_id}")),
    _r("identity:list_limits", "", "List limits.", ("GET", "/v3/limits"), ("HEAD", "/v3/limits")),
    _r("identity:create_limits", ADMIN, "Create limits.", ("POST", "/v3/limits")),
    _r("identity:update_limit", ADMIN, "Update limit.", ("PATCH", "/v3/limits/{limit_id}")),
    _r("identity:delete_limit", ADMIN, "Delete limit.", ("DELETE", "/v3/limits/{limit_id}")),
    _r("identity:get_registered_limit", "", "Show registered limit details.",
       ("GET", "/v3/registered_limits/{registered_limit_id}"),
       ("HEAD", "/v3/registered_limits/{registered_limit_id}")),
    _r("identity:list_registered_limits", "", "List registered limits.",
       ("GET", "/v3/registered_limits"), ("HEAD", "/v3/registered_limits")),
    _r("identity:create_registered_limits", ADMIN, "Create registered limits.",
       ("POST", "/v3/registered_limits")),
    _r("identity:update_registered_limit", ADMIN, "Update registered limit.",
       ("PATCH", "/v3/registered_limits/{registered_limit_id}")),
    _r("identity:delete_registered_limit", ADMIN, "Delete registered limit.",
       ("DELETE", "/v3/registered_limits/{registered_limit_id}")),
    *_crud("endpoint_group", "/v3/OS-EP-FILTER/endpoint_groups", ADMIN_OR_SYSTEM_READER, ADMIN),
    _r("identity:list_projects_associated_with_endpoint_group", ADMIN_OR_SYSTEM_READER,
       "List the projects of an endpoint group.",
       ("GET", "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects")),
    _r("identity:list_endpoints_associated_with_endpoint_group", ADMIN_OR_SYSTEM_READER,
       "List the endpoints an endpoint group selects.",
       ("GET", "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/endpoints")),
    _r("identity:get_endpoint_group_in_project", ADMIN_OR_SYSTEM_READER,
       "Show an endpoint group's association with a project.",
       ("GET", "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}")),
    _r("identity:list_endpoint_groups_for_project", ADMIN_OR_SYSTEM_READER,
       "List a project's endpoint groups.",
       ("GET", "/v3/OS-EP-FILTER/projects/{project_id}/endpoint_groups")),
    _r("identity:add_endpoint_group_to_project", ADMIN, "Associate an endpoint group with a "
       "project.",
       ("PUT", "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}")),
    _r("identity:remove_endpoint_group_from_project", ADMIN, "Remove an endpoint group from a "
       "project.",
       ("DELETE", "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}")),
    _r("identity:list_projects_for_endpoint", ADMIN_OR_SYSTEM_READER,
       "List the projects an endpoint is associated with.",
       ("GET", "/v3/OS-EP-FILTER/endpoints/{endpoint_id}/projects")),
    _r("identity:add_endpoint_to_project", ADMIN, "Associate an endpoint with a project.",
       ("PUT", "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}")),
    _r("identity:check_endpoint_in_project", ADMIN_OR_SYSTEM_READER,
       "Check an endpoint's association with a project.",
       ("GET", "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}"),
       ("HEAD", "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}")),
    _r("identity:list_endpoints_for_project", ADMIN_OR_SYSTEM_READER,
       "List a project's endpoints.", ("GET", "/v3/OS-EP-FILTER/projects/{project_id}/endpoints")),
    _r("identity:remove_endpoint_from_project", ADMIN, "Remove an endpoint from a project.",
       ("DELETE", "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}")),
]
