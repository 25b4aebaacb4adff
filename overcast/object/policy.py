"""Default policy of the object storage API: Swift's keystoneauth as rules.

Swift has no policy file of its own; its keystoneauth middleware makes a user the owner of
an account when they hold an operator role (`operator_roles`, admin and member by default) in
the project the account names, or the reseller admin role anywhere. These rules say the
same, so an operator changes the roles with a policy.yaml. Where a rule refuses, the
container's ACLs may still let the caller in (proxy/access.py). Targets carry `project_id`:
the project whose account the request names.
"""

from __future__ import annotations

from overcast.common.policy import Rule

__all__ = ["RULES"]

OWNER = "rule:swift_reseller_admin or (rule:swift_operator and project_id:%(project_id)s)"
A = "/v1/{account}"
C = "/v1/{account}/{container}"
O = "/v1/{account}/{container}/{object}"  # noqa: E741


def _r(name: str, check: str, description: str, *ops: tuple[str, str]) -> Rule:
    return Rule(name=name, check_str=check, description=description, operations=list(ops),
                scope_types=["project"])


RULES: list[Rule] = [
    _r("swift_operator", "role:admin or role:member",
       "Roles that make a user the owner of their project's account (keystoneauth's "
       "operator_roles)."),
    _r("swift_reseller_admin", "role:ResellerAdmin",
       "The reseller admin: owner of every account (keystoneauth's reseller_admin_role)."),
    _r("swift_owner", OWNER, "Owner of the account the request names."),
    _r("swift:reseller_request", "rule:swift_reseller_admin",
       "Set what only a reseller may: an account's quota.", ("POST", A)),
    _r("swift:head_account", "rule:swift_owner", "Show an account's metadata.", ("HEAD", A)),
    _r("swift:get_account", "rule:swift_owner", "List an account's containers.", ("GET", A)),
    _r("swift:post_account", "rule:swift_owner", "Set an account's metadata; bulk delete.",
       ("POST", A)),
    _r("swift:put_container", "rule:swift_owner", "Create a container or set its metadata.",
       ("PUT", C)),
    _r("swift:head_container", "rule:swift_owner",
       "Show a container's metadata (else its read ACL decides).", ("HEAD", C)),
    _r("swift:get_container", "rule:swift_owner",
       "List a container (else its read ACL with .rlistings decides).", ("GET", C)),
    _r("swift:post_container", "rule:swift_owner", "Set a container's metadata and ACLs.",
       ("POST", C)),
    _r("swift:delete_container", "rule:swift_owner", "Delete an empty container.",
       ("DELETE", C)),
    _r("swift:put_object", "rule:swift_owner",
       "Create or replace an object (else the write ACL or a temp URL decides).", ("PUT", O)),
    _r("swift:head_object", "rule:swift_owner",
       "Show an object's metadata (else the read ACL or a temp URL decides).", ("HEAD", O)),
    _r("swift:get_object", "rule:swift_owner",
       "Read an object (else the read ACL or a temp URL decides).", ("GET", O)),
    _r("swift:post_object", "rule:swift_owner",
       "Set an object's metadata (else the write ACL or a temp URL decides).", ("POST", O)),
    _r("swift:delete_object", "rule:swift_owner",
       "Delete an object (else the write ACL or a temp URL decides).", ("DELETE", O)),
    _r("swift:copy_object", "rule:swift_owner",
       "Copy an object (reading the source as GET does).", ("COPY", O)),
]
