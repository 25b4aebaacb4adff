"""Default policy of the networking API, with Neutron's rule names and its secure-RBAC defaults.

Neutron checks a rule per operation (`create_network`, `get_port`, ...) and, for some
attributes, a rule per attribute (`create_network:shared`, `get_network:provider:network_type`):
a create or update that sets the attribute needs the attribute's rule too, and a read leaves out
every attribute whose `get_` rule the caller fails. Targets are the resource's attributes
(`project_id`, `tenant_id`, `shared`, `router:external`, ...) plus, for a port or subnet, its
network's owner as `network:project_id` / `network:tenant_id`.
"""

from __future__ import annotations

from overcast.common.policy import Rule

__all__ = ["ATTRIBUTE_RULES", "KEPT_FOR_OPERATORS", "RULES", "attribute_rules"]

#: Neutron's legacy building blocks, no longer referenced by the defaults; an operator's
#: policy.yaml may still use them.
KEPT_FOR_OPERATORS = frozenset({"admin_or_owner", "admin_or_network_owner", "regular_user",
                                "default", "admin_owner_or_network_owner"})

ADMIN = "rule:admin_only"
READER = "(role:reader and project_id:%(project_id)s)"
MEMBER = "(role:member and project_id:%(project_id)s)"
NET_MEMBER = "(role:member and project_id:%(network:project_id)s)"
NET_READER = "(role:reader and project_id:%(network:project_id)s)"
ADMIN_OR_READER = f"{ADMIN} or {READER}"
ADMIN_OR_MEMBER = f"{ADMIN} or {MEMBER}"
ADMIN_OR_NET_MEMBER = f"{ADMIN} or {NET_MEMBER}"
ADMIN_OR_MEMBER_OR_NET_MEMBER = f"{ADMIN} or {MEMBER} or {NET_MEMBER}"


def _r(name: str, check: str, description: str, *ops: tuple[str, str]) -> Rule:
    return Rule(name=name, check_str=check, description=description, operations=list(ops),
                scope_types=["project"])


def _crud(resource: str, path: str, *, get: str = ADMIN_OR_READER,
          write: str = ADMIN_OR_MEMBER, create: str | None = None) -> list[Rule]:
    plural = f"/v2.0/{path}"
    one = f"{plural}/{{id}}"
    return [
        _r(f"create_{resource}", create or write, f"Create a {resource}.", ("POST", plural)),
        _r(f"get_{resource}", get, f"Show or list {resource}s.", ("GET", plural), ("GET", one)),
        _r(f"update_{resource}", write, f"Update a {resource} (and its tags).", ("PUT", one)),
        _r(f"delete_{resource}", write, f"Delete a {resource}.", ("DELETE", one)),
    ]


def _attr(op: str, resource: str, attribute: str, check: str) -> Rule:
    verb = {"create": "Set", "update": "Change", "get": "See"}[op]
    return _r(f"{op}_{resource}:{attribute}", check,
              f"{verb} the {attribute} attribute of a {resource}.")


#: (operation, resource) -> the attributes that have a rule of their own.
ATTRIBUTE_RULES: dict[tuple[str, str], dict[str, str]] = {
    ("create", "network"): {
        "shared": ADMIN, "router:external": ADMIN, "is_default": ADMIN,
        "provider:network_type": ADMIN, "provider:physical_network": ADMIN,
        "provider:segmentation_id": ADMIN, "port_security_enabled": ADMIN_OR_MEMBER},
    ("update", "network"): {
        "shared": ADMIN, "router:external": ADMIN, "is_default": ADMIN,
        "provider:network_type": ADMIN, "provider:physical_network": ADMIN,
        "provider:segmentation_id": ADMIN, "port_security_enabled": ADMIN_OR_MEMBER},
    ("get", "network"): {
        "provider:network_type": ADMIN, "provider:physical_network": ADMIN,
        "provider:segmentation_id": ADMIN},
    ("create", "subnet"): {"segment_id": ADMIN, "service_types": ADMIN},
    ("update", "subnet"): {"segment_id": ADMIN, "service_types": ADMIN},
    ("get", "subnet"): {"segment_id": ADMIN},
    ("create", "port"): {
        "device_owner": f"not rule:network_device or {ADMIN_OR_NET_MEMBER}",
        "mac_address": ADMIN_OR_NET_MEMBER,
        "fixed_ips": f"{ADMIN_OR_NET_MEMBER} or rule:shared",
        "port_security_enabled": ADMIN_OR_NET_MEMBER,
        "binding:host_id": ADMIN, "binding:profile": ADMIN,
        "binding:vnic_type": ADMIN_OR_MEMBER,
        "allowed_address_pairs": ADMIN_OR_NET_MEMBER},
    ("update", "port"): {
        "device_owner": f"not rule:network_device or {ADMIN_OR_NET_MEMBER}",
        "mac_address": ADMIN, "fixed_ips": f"{ADMIN_OR_NET_MEMBER} or rule:shared",
        "port_security_enabled": ADMIN_OR_NET_MEMBER,
        "binding:host_id": ADMIN, "binding:profile": ADMIN,
        "binding:vnic_type": ADMIN_OR_MEMBER,
        "allowed_address_pairs": ADMIN_OR_NET_MEMBER},
    ("get", "port"): {"binding:host_id": ADMIN, "binding:profile": ADMIN,
                      "binding:vif_type": ADMIN, "binding:vif_details": ADMIN},
    ("create", "router"): {
        "external_gateway_info": ADMIN_OR_MEMBER,
        "external_gateway_info:network_id": ADMIN_OR_MEMBER,
        "external_gateway_info:enable_snat": ADMIN,
        "external_gateway_info:external_fixed_ips": ADMIN,
        "distributed": ADMIN, "ha": ADMIN},
    ("update", "router"): {
        "external_gateway_info": ADMIN_OR_MEMBER,
        "external_gateway_info:network_id": ADMIN_OR_MEMBER,
        "external_gateway_info:enable_snat": ADMIN,
        "external_gateway_info:external_fixed_ips": ADMIN,
        "distributed": ADMIN, "ha": ADMIN},
    ("create", "floatingip"): {"floating_ip_address": ADMIN},
    ("create", "subnetpool"): {"shared": ADMIN, "is_default": ADMIN},
    ("update", "subnetpool"): {"is_default": ADMIN},
    ("create", "address_scope"): {"shared": ADMIN},
    ("update", "address_scope"): {"shared": ADMIN},
    ("create", "security_group"): {"shared": ADMIN},
    ("create", "rbac_policy"): {"target_tenant": "rule:restrict_wildcard"},
    ("update", "rbac_policy"): {"target_tenant": "rule:restrict_wildcard"},
}


def attribute_rules(op: str, resource: str) -> list[str]:
    """The names of the attribute rules of `op` on `resource` (what its routes declare)."""
    return [f"{op}_{resource}:{a}" for a in ATTRIBUTE_RULES.get((op, resource), {})]


RULES: list[Rule] = [
    _r("context_is_admin", "role:admin", "Who counts as an administrator: sees and may change "
       "every project's resources."),
    _r("admin_only", "rule:context_is_admin", "Administrators only."),
    _r("context_is_advsvc", "role:advsvc", "An advanced service (may manage others' ports)."),
    _r("owner", "project_id:%(project_id)s", "The resource's project."),
    _r("admin_or_owner", "rule:context_is_admin or rule:owner", "Legacy: admin or owner."),
    _r("network_owner", "project_id:%(network:project_id)s", "The project of the port's or "
       "subnet's network."),
    _r("admin_or_network_owner", "rule:context_is_admin or rule:network_owner",
       "Legacy: admin or the network's project."),
    _r("admin_owner_or_network_owner", "rule:owner or rule:admin_or_network_owner",
       "Legacy: admin, owner or the network's project."),
    _r("regular_user", "", "Anyone with a token (Neutron's legacy base rule)."),
    _r("default", "rule:admin_or_owner", "Legacy: the rule of operations without one."),
    _r("shared", "field:networks:shared=True", "The network is shared with every project."),
    _r("external", "field:networks:router:external=True", "The network is external."),
    _r("network_device", "field:port:device_owner=~^network:", "A port of the network "
       "itself (router interface, DHCP)."),
    _r("restrict_wildcard", f"(not field:rbac_policy:target_tenant=*) or {ADMIN}",
       "Only an administrator shares with every project (*)."),
    _r("shared_subnetpools", "field:subnetpools:shared=True", "The subnet pool is shared."),
    _r("shared_address_scopes", "field:address_scopes:shared=True",
       "The address scope is shared."),
    _r("get_extension", "", "List and show the API extensions (Neutron checks none: anyone "
       "with a token).", ("GET", "/v2.0/extensions"), ("GET", "/v2.0/extensions/{alias}")),
    *_crud("network", "networks",
           get=f"{ADMIN_OR_READER} or rule:shared or rule:external or rule:context_is_advsvc"),
    *_crud("subnet", "subnets", get=f"{ADMIN_OR_READER} or {NET_READER} or rule:shared",
           write=ADMIN_OR_MEMBER_OR_NET_MEMBER),
    *_crud("port", "ports",
           get=f"rule:context_is_advsvc or {ADMIN_OR_READER} or {NET_READER}",
           write=f"rule:context_is_advsvc or {ADMIN_OR_MEMBER_OR_NET_MEMBER}"),
    *_crud("security_group", "security-groups"),
    _r("create_security_group_rule", ADMIN_OR_MEMBER, "Create a security group rule.",
       ("POST", "/v2.0/security-group-rules")),
    _r("get_security_group_rule", f"{ADMIN_OR_READER} or "
       "(role:reader and project_id:%(security_group:project_id)s)",
       "Show or list security group rules.", ("GET", "/v2.0/security-group-rules"),
       ("GET", "/v2.0/security-group-rules/{id}")),
    _r("update_security_group_rule", ADMIN_OR_MEMBER, "Change a rule's description.",
       ("PUT", "/v2.0/security-group-rules/{id}")),
    _r("delete_security_group_rule", f"{ADMIN_OR_MEMBER} or "
       "(role:member and project_id:%(security_group:project_id)s)",
       "Delete a security group rule.", ("DELETE", "/v2.0/security-group-rules/{id}")),
    *_crud("router", "routers"),
    _r("add_router_interface", ADMIN_OR_MEMBER, "Attach a subnet or port to a router.",
       ("PUT", "/v2.0/routers/{id}/add_router_interface")),
    _r("remove_router_interface", ADMIN_OR_MEMBER, "Detach a subnet or port from a router.",
       ("PUT", "/v2.0/routers/{id}/remove_router_interface")),
    *_crud("floatingip", "floatingips"),
    *_crud("subnetpool", "subnetpools", get=f"{ADMIN_OR_READER} or rule:shared_subnetpools"),
    *_crud("address_scope", "address-scopes",
           get=f"{ADMIN_OR_READER} or rule:shared_address_scopes"),
    *_crud("rbac_policy", "rbac-policies"),
    _r("get_quota", ADMIN_OR_READER, "Show a project's quotas and usage.",
       ("GET", "/v2.0/quotas/{project_id}")),
    _r("update_quota", ADMIN, "Change a project's quotas.", ("PUT", "/v2.0/quotas/{project_id}")),
    _r("delete_quota", ADMIN, "Reset a project's quotas to the defaults.",
       ("DELETE", "/v2.0/quotas/{project_id}")),
    _r("get_network_ip_availability", ADMIN, "Show how many addresses networks have left.",
       ("GET", "/v2.0/network-ip-availabilities")),
    _r("get_availability_zone", "", "List availability zones.",
       ("GET", "/v2.0/availability_zones")),
    _r("get_agent", ADMIN, "List and show agents (others list none).",
       ("GET", "/v2.0/agents"), ("GET", "/v2.0/agents/{id}")),
    _r("update_agent", ADMIN, "Change an agent's admin_state_up or description.",
       ("PUT", "/v2.0/agents/{id}")),
    _r("delete_agent", ADMIN, "Forget an agent (it registers again at its next heartbeat).",
       ("DELETE", "/v2.0/agents/{id}")),
    *_crud("metering_label", "metering/metering-labels", get=ADMIN, write=ADMIN),
    *_crud("metering_label_rule", "metering/metering-label-rules", get=ADMIN, write=ADMIN),
    _r("get_service_provider", "", "List the service providers (anyone with a token).",
       ("GET", "/v2.0/service-providers")),
    *(_attr(op, resource, attribute, check)
      for (op, resource), attrs in ATTRIBUTE_RULES.items()
      for attribute, check in attrs.items()),
]
