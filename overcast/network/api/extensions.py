"""/v2.0/extensions: exactly the aliases this service implements (clients and tempest decide
what to use from this list)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.network import errors

router = APIRouter(prefix="/v2.0/extensions", tags=["extensions"])

UPDATED = "2026-12-01T10:00:00-00:00"

#: alias -> (name, description)
EXTENSIONS: dict[str, tuple[str, str]] = {
    "address-scope": ("Address scope", "Address scopes extension."),
    "agent": ("agent", "The agent management extension."),
    "allowed-address-pairs": ("Allowed Address Pairs", "Provides allowed address pairs"),
    "availability_zone": ("Availability Zone", "The availability zone extension."),
    "binding": ("Port Binding", "Expose port bindings of a virtual port to external "
                "application"),
    "default-subnetpools": ("Default Subnetpools", "Provides ability to mark and use a "
                            "subnetpool as the default."),
    "dns-integration": ("DNS Integration", "Provides integration with DNS."),
    "external-net": ("Neutron external network", "Adds external network attribute to network "
                     "resource."),
    "extra_dhcp_opt": ("Neutron Extra DHCP options", "Extra options configuration for DHCP."),
    "extraroute": ("Neutron Extra Route", "Extra routes configuration for L3 router"),
    "ext-gw-mode": ("Neutron L3 Configurable external gateway mode", "Extension of the router "
                    "abstraction for specifying whether SNAT should occur on the external "
                    "gateway"),
    "filter-validation": ("Filter parameters validation", "Provides validation on filter "
                          "parameters."),
    "ip-substring-filtering": ("IP address substring filtering", "Provides IP address "
                               "substring filtering when listing ports"),
    "ip_allocation": ("IP Allocation", "IP allocation extension."),
    "metering": ("Neutron Metering", "Neutron Metering extension."),
    "net-mtu": ("Network MTU", "Provides MTU attribute for a network resource."),
    "net-mtu-writable": ("Network MTU (writable)", "Provides a writable MTU attribute for a "
                         "network resource."),
    "network-ip-availability": ("Network IP Availability", "Provides IP availability data "
                                "for each network and subnet."),
    "network_availability_zone": ("Network Availability Zone", "Availability zone support "
                                  "for network."),
    "pagination": ("Pagination support", "Extension that indicates that pagination is "
                   "enabled."),
    "port-security": ("Port Security", "Provides port security"),
    "port-security-groups-filtering": ("Port filtering on security groups", "Provides "
                                       "security groups filtering when listing ports"),
    "project-id": ("project_id field enabled", "Extension that indicates that project_id "
                   "field is enabled."),
    "provider": ("Provider Network", "Expose mapping of virtual networks to physical "
                 "networks"),
    "quotas": ("Quota management support", "Expose functions for quotas management per "
               "tenant"),
    "quota_details": ("Quota details management support", "Expose functions for quotas usage "
                      "statistics per project"),
    "rbac-policies": ("RBAC Policies", "Allows creation and modification of policies that "
                      "control tenant access to resources."),
    "revision-if-match": ("If-Match constraints based on revision_number", "Extension "
                          "indicating that If-Match based on revision_number is supported."),
    "router": ("Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 "
               "Neutron networks and access to external networks via a NAT gateway."),
    "router_availability_zone": ("Router Availability Zone", "Availability zone support for "
                                 "router."),
    "security-group": ("security-group", "The security groups extension."),
    "service-type": ("Neutron Service Type Management", "API for retrieving service "
                     "providers for Neutron advanced services"),
    "sorting": ("Sorting support", "Extension that indicates that sorting is enabled."),
    "standard-attr-description": ("standard-attr-description", "Extension to add descriptions "
                                  "to standard attributes"),
    "standard-attr-revisions": ("Resource revision numbers", "This extension will display the "
                                "revision number of neutron resources."),
    "standard-attr-tag": ("Tag support for resources with standard attribute: subnet, trunk, "
                          "network_segment_range, router, network, policy, subnetpool, port, "
                          "security_group, floatingip", "Enables to set tag on resources with "
                          "standard attribute."),
    "standard-attr-timestamp": ("Resource timestamps", "Adds created_at and updated_at fields "
                                "to all Neutron resources that have Neutron standard "
                                "attributes."),
    "stateful-security-group": ("Stateful security group", "Indicates if the security group "
                                "is stateful or not"),
    # The older tag aliases, for clients that still ask for them: the same tag API.
    "tag": ("Tag support", "Enables to set tag on resources."),
    "tag-ext": ("Tag support for resources: subnet, subnetpool, port, router", "Extends tag "
                "support to more L2 and L3 resources."),
    "subnet_allocation": ("Subnet Allocation", "Enables allocation of subnets from a subnet "
                          "pool"),
    "subnet-service-types": ("Subnet service types", "Provides ability to set the subnet "
                             "service_types field"),
}


def _doc(alias: str) -> dict[str, object]:
    name, description = EXTENSIONS[alias]
    return {"alias": alias, "name": name, "description": description, "updated": UPDATED,
            "links": []}


@router.get("", **policy("get_extension"))
async def list_extensions(ctx: Ctx) -> JSONResponse:
    ctx.enforce("get_extension")
    return JSONResponse({"extensions": [_doc(a) for a in sorted(EXTENSIONS)]})


@router.get("/{alias}", **policy("get_extension"))
async def show_extension(alias: str, ctx: Ctx) -> JSONResponse:
    ctx.enforce("get_extension")
    if alias not in EXTENSIONS:
        raise errors.not_found("Extension", alias)
    return JSONResponse({"extension": _doc(alias)})
