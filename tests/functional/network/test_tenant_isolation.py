"""Tenant isolation of the L3 resources and of RBAC grants, as Neutron draws it: another
project's member cannot see, change, delete or use (associate, attach, allocate on) what it
was not granted; `access_as_shared` lets the target create ports but not see others' ports;
`access_as_external` lets it allocate floating IPs and set a router gateway but not create
ports; a policy that something depends on cannot be revoked (409 RbacPolicyInUse).

SQLite only: these are scoping rules written once in SQLAlchemy; test_isolation.py walks
every resource on the three database kinds."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.network.conftest import Neutron

pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)


def _error(r: Any, status: int, kind: str | None = None) -> None:
    assert r.status_code == status, r.text
    if kind is not None:
        assert r.json()["NeutronError"]["type"] == kind, r.text


async def _policy(n: Neutron, who: dict[str, str], net_id: str, action: str,
                  target: str) -> dict[str, Any]:
    return await n.make(who, "rbac_policy", "rbac-policies", object_type="network",
                        object_id=net_id, action=action, target_tenant=target)


async def _external(n: Neutron, cidr: str, **attrs: Any) -> tuple[dict[str, Any], str]:
    """An administrator's network with a subnet without DHCP; external if attrs say so."""
    net = await n.net(n.admin, name="ext", **attrs)
    sub = await n.subnet(n.admin, net["id"], cidr, enable_dhcp=False)
    return net, sub["id"]


async def test_floating_ips_routers_and_ports_of_another_project(neutron: Neutron) -> None:
    n = neutron
    ext, _ = await _external(n, "203.0.113.0/24", **{"router:external": True})
    # alice's topology: network, subnet, router linking it to ext, a port with a floating IP
    net = await n.net(n.alice, name="a")
    sub = await n.subnet(n.alice, net["id"], "10.1.0.0/24")
    router = await n.make(n.alice, "router", "routers", name="ra",
                          external_gateway_info={"network_id": ext["id"]})
    r = await n.req("PUT", f"routers/{router['id']}/add_router_interface", n.alice,
                    {"subnet_id": sub["id"]})
    _error(r, 200)
    port = await n.port(n.alice, net["id"])
    fip = await n.make(n.alice, "floatingip", "floatingips", floating_network_id=ext["id"],
                       port_id=port["id"])
    assert fip["router_id"] == router["id"]
    # bob's own topology on the same external network
    bnet = await n.net(n.bob, name="b")
    bsub = await n.subnet(n.bob, bnet["id"], "10.2.0.0/24")
    brouter = await n.make(n.bob, "router", "routers", name="rb",
                           external_gateway_info={"network_id": ext["id"]})
    bport = await n.port(n.bob, bnet["id"])
    bfip = await n.make(n.bob, "floatingip", "floatingips", floating_network_id=ext["id"])

    # alice's floating IP: not shown, listed, changed, re-associated or deleted
    r = await n.req("GET", f"floatingips/{fip['id']}", n.bob)
    _error(r, 404, "FloatingIPNotFound")
    listed = (await n.req("GET", "floatingips", n.bob)).json()["floatingips"]
    assert [f["id"] for f in listed] == [bfip["id"]]
    r = await n.req("GET", "floatingips", n.bob, params={"floating_ip_address":
                                                         fip["floating_ip_address"]})
    assert r.json()["floatingips"] == []
    for body in ({"description": "x"}, {"port_id": None}, {"port_id": bport["id"]}):
        r = await n.req("PUT", f"floatingips/{fip['id']}", n.bob, {"floatingip": body})
        _error(r, 404, "FloatingIPNotFound")
    _error(await n.req("DELETE", f"floatingips/{fip['id']}", n.bob), 404, "FloatingIPNotFound")
    # bob's floating IP cannot take alice's port, at creation or by update
    r = await n.req("PUT", f"floatingips/{bfip['id']}", n.bob,
                    {"floatingip": {"port_id": port["id"]}})
    _error(r, 404, "PortNotFound")
    r = await n.req("POST", "floatingips", n.bob, {"floatingip": {
        "floating_network_id": ext["id"], "port_id": port["id"]}})
    _error(r, 404, "PortNotFound")

    # alice's router: not shown, changed, deleted, nor given interfaces or a gateway by bob
    _error(await n.req("GET", f"routers/{router['id']}", n.bob), 404, "RouterNotFound")
    r = await n.req("PUT", f"routers/{router['id']}", n.bob,
                    {"router": {"external_gateway_info": {}}})
    _error(r, 404, "RouterNotFound")
    for action in ("add_router_interface", "remove_router_interface"):
        for body in ({"subnet_id": bsub["id"]}, {"subnet_id": sub["id"]},
                     {"port_id": bport["id"]}):
            r = await n.req("PUT", f"routers/{router['id']}/{action}", n.bob, body)
            _error(r, 404, "RouterNotFound")
    _error(await n.req("DELETE", f"routers/{router['id']}", n.bob), 404, "RouterNotFound")
    # bob's router cannot take alice's subnet or port
    r = await n.req("PUT", f"routers/{brouter['id']}/add_router_interface", n.bob,
                    {"subnet_id": sub["id"]})
    _error(r, 404, "SubnetNotFound")
    r = await n.req("PUT", f"routers/{brouter['id']}/add_router_interface", n.bob,
                    {"port_id": port["id"]})
    _error(r, 404, "PortNotFound")

    # alice's network, subnet, port and security group cannot be used by bob either
    r = await n.req("POST", "ports", n.bob, {"port": {"network_id": net["id"]}})
    _error(r, 404, "NetworkNotFound")
    r = await n.req("POST", "subnets", n.bob, {"subnet": {
        "network_id": net["id"], "cidr": "10.9.0.0/24", "ip_version": 4}})
    _error(r, 404, "NetworkNotFound")
    r = await n.req("PUT", f"ports/{port['id']}", n.bob, {"port": {"name": "x"}})
    _error(r, 404, "PortNotFound")
    group = (await n.req("GET", "security-groups", n.alice)).json()["security_groups"][0]
    r = await n.req("POST", "ports", n.bob, {"port": {"network_id": bnet["id"],
                                                      "security_groups": [group["id"]]}})
    _error(r, 404, "SecurityGroupNotFound")
    r = await n.req("PUT", f"ports/{bport['id']}", n.bob,
                    {"port": {"security_groups": [group["id"]]}})
    _error(r, 404, "SecurityGroupNotFound")
    r = await n.req("POST", "security-group-rules", n.bob, {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "tcp"}})
    _error(r, 404, "SecurityGroupNotFound")
    bgroup = await n.make(n.bob, "security_group", "security-groups", name="bg")
    r = await n.req("POST", "security-group-rules", n.bob, {"security_group_rule": {
        "security_group_id": bgroup["id"], "direction": "ingress",
        "remote_group_id": group["id"]}})
    _error(r, 404, "SecurityGroupNotFound")
    # nothing of alice's changed
    seen = (await n.req("GET", f"floatingips/{fip['id']}", n.alice)).json()["floatingip"]
    assert (seen["port_id"], seen["revision_number"]) == (port["id"], fip["revision_number"])
    seen = (await n.req("GET", f"routers/{router['id']}", n.alice)).json()["router"]
    assert seen["external_gateway_info"]["network_id"] == ext["id"]
    ports = (await n.req("GET", "ports", n.alice, params={"device_id": router["id"]})).json()
    assert len(ports["ports"]) == 1


async def test_floating_ip_on_a_port_the_caller_sees_but_does_not_own(neutron: Neutron) -> None:
    """The owner of a network sees every port on it, but may not put its floating IP on a
    port of another project (Neutron: 400, the port belongs to a different tenant)."""
    n = neutron
    ext, _ = await _external(n, "203.0.113.0/24", **{"router:external": True})
    net = await n.net(n.alice, name="a")
    sub = await n.subnet(n.alice, net["id"], "10.1.0.0/24")
    router = await n.make(n.alice, "router", "routers", name="ra",
                          external_gateway_info={"network_id": ext["id"]})
    r = await n.req("PUT", f"routers/{router['id']}/add_router_interface", n.alice,
                    {"subnet_id": sub["id"]})
    _error(r, 200)
    await _policy(n, n.alice, net["id"], "access_as_shared", n.beta)
    bport = await n.port(n.bob, net["id"])
    _error(await n.req("GET", f"ports/{bport['id']}", n.alice), 200)
    r = await n.req("POST", "floatingips", n.alice, {"floatingip": {
        "floating_network_id": ext["id"], "port_id": bport["id"]}})
    _error(r, 400, "BadRequest")
    fip = await n.make(n.alice, "floatingip", "floatingips", floating_network_id=ext["id"])
    r = await n.req("PUT", f"floatingips/{fip['id']}", n.alice,
                    {"floatingip": {"port_id": bport["id"]}})
    _error(r, 400, "BadRequest")
    # bob may put his own floating IP on his port: alice's router links the subnet
    bfip = await n.make(n.bob, "floatingip", "floatingips", floating_network_id=ext["id"],
                        port_id=bport["id"])
    assert bfip["router_id"] == router["id"]


async def test_access_as_shared(neutron: Neutron) -> None:
    n = neutron
    net = await n.net(n.alice, name="granted")
    sub = await n.subnet(n.alice, net["id"], "10.3.0.0/24")
    aport = await n.port(n.alice, net["id"])
    # before the grant bob sees nothing of it
    _error(await n.req("GET", f"networks/{net['id']}", n.bob), 404, "NetworkNotFound")
    _error(await n.req("GET", f"subnets/{sub['id']}", n.bob), 404, "SubnetNotFound")
    # only the owner (or an administrator) grants: 400 as Neutron's policy callbacks answer
    r = await n.req("POST", "rbac-policies", n.bob, {"rbac_policy": {
        "object_type": "network", "object_id": net["id"], "action": "access_as_shared",
        "target_tenant": n.beta}})
    _error(r, 400, "InvalidInput")
    pol = await _policy(n, n.alice, net["id"], "access_as_shared", n.beta)
    # the target sees the network (shared for it), its subnets, and not the policy itself
    shown = (await n.req("GET", f"networks/{net['id']}", n.bob)).json()["network"]
    assert shown["shared"] is True and shown["subnets"] == [sub["id"]]
    _error(await n.req("GET", f"subnets/{sub['id']}", n.bob), 200)
    assert (await n.req("GET", f"networks/{net['id']}", n.alice)).json()["network"][
        "shared"] is False
    _error(await n.req("GET", f"rbac-policies/{pol['id']}", n.bob), 404, "RbacPolicyNotFound")
    assert (await n.req("GET", "rbac-policies", n.bob)).json()["rbac_policies"] == []
    # ... still may not change it, nor grant it further
    r = await n.req("PUT", f"networks/{net['id']}", n.bob, {"network": {"name": "x"}})
    _error(r, 403)
    r = await n.req("POST", "rbac-policies", n.bob, {"rbac_policy": {
        "object_type": "network", "object_id": net["id"], "action": "access_as_shared",
        "target_tenant": n.alpha}})
    _error(r, 400, "InvalidInput")
    # bob creates a port on it; he does not see alice's port, alice (the network's owner)
    # sees and may delete his
    bport = await n.port(n.bob, net["id"])
    ids = [p["id"] for p in (await n.req("GET", "ports", n.bob,
                                         params={"network_id": net["id"]})).json()["ports"]]
    assert ids == [bport["id"]]
    _error(await n.req("GET", f"ports/{aport['id']}", n.bob), 404, "PortNotFound")
    ids = [p["id"] for p in (await n.req("GET", "ports", n.alice,
                                         params={"network_id": net["id"]})).json()["ports"]]
    assert sorted(ids) == sorted([aport["id"], bport["id"]])
    # no floating IP on a network that is shared but not external
    r = await n.req("POST", "floatingips", n.bob, {"floatingip": {
        "floating_network_id": net["id"]}})
    _error(r, 400, "BadRequest")
    # bob's router may take the subnet of a network shared with his project by RBAC
    brouter = await n.make(n.bob, "router", "routers", name="rb")
    r = await n.req("PUT", f"routers/{brouter['id']}/add_router_interface", n.bob,
                    {"subnet_id": sub["id"]})
    _error(r, 200)
    r = await n.req("PUT", f"routers/{brouter['id']}/remove_router_interface", n.bob,
                    {"subnet_id": sub["id"]})
    _error(r, 200)
    # revoking the grant while bob's port uses it is refused; after the port goes it works
    r = await n.req("DELETE", f"rbac-policies/{pol['id']}", n.alice)
    _error(r, 409, "RbacPolicyInUse")
    r = await n.req("PUT", f"rbac-policies/{pol['id']}", n.alice,
                    {"rbac_policy": {"target_tenant": n.alpha}})
    _error(r, 409, "RbacPolicyInUse")
    _error(await n.req("DELETE", f"ports/{bport['id']}", n.alice), 204)
    _error(await n.req("DELETE", f"rbac-policies/{pol['id']}", n.alice), 204)
    _error(await n.req("GET", f"networks/{net['id']}", n.bob), 404, "NetworkNotFound")
    r = await n.req("POST", "ports", n.bob, {"port": {"network_id": net["id"]}})
    _error(r, 404, "NetworkNotFound")


async def test_access_as_external(neutron: Neutron) -> None:
    n = neutron
    net, sub_id = await _external(n, "198.51.100.0/24")
    assert net["router:external"] is False
    # a grant to one project makes the network external; only that project sees it
    pol = await _policy(n, n.admin, net["id"], "access_as_external", n.beta)
    for who in (n.admin, n.bob):
        shown = (await n.req("GET", f"networks/{net['id']}", who)).json()["network"]
        assert shown["router:external"] is True and shown["shared"] is False
    _error(await n.req("GET", f"networks/{net['id']}", n.alice), 404, "NetworkNotFound")
    listed = (await n.req("GET", "networks", n.bob,
                          params={"router:external": "true"})).json()["networks"]
    assert [x["id"] for x in listed] == [net["id"]]
    # its subnets stay hidden (external is not shared), and no port goes on it
    _error(await n.req("GET", f"subnets/{sub_id}", n.bob), 404, "SubnetNotFound")
    r = await n.req("POST", "ports", n.bob, {"port": {"network_id": net["id"]}})
    _error(r, 404)
    r = await n.req("POST", "subnets", n.bob, {"subnet": {
        "network_id": net["id"], "cidr": "10.9.0.0/24", "ip_version": 4}})
    _error(r, 404)
    # the target allocates floating IPs and sets its router's gateway on it ...
    fip = await n.make(n.bob, "floatingip", "floatingips", floating_network_id=net["id"])
    assert fip["floating_ip_address"] == "198.51.100.2"
    brouter = await n.make(n.bob, "router", "routers", name="rb",
                           external_gateway_info={"network_id": net["id"]})
    assert brouter["external_gateway_info"]["network_id"] == net["id"]
    # ... another project can do neither (it cannot see the network)
    r = await n.req("POST", "floatingips", n.alice, {"floatingip": {
        "floating_network_id": net["id"]}})
    _error(r, 404, "NetworkNotFound")
    r = await n.req("POST", "routers", n.alice, {"router": {
        "name": "ra", "external_gateway_info": {"network_id": net["id"]}}})
    _error(r, 404, "NetworkNotFound")
    # bob's router gateway depends on the grant: revoking it is refused, unless a '*'
    # policy gives the same access
    _error(await n.req("DELETE", f"rbac-policies/{pol['id']}", n.admin), 409,
           "RbacPolicyInUse")
    r = await n.req("PUT", f"rbac-policies/{pol['id']}", n.admin,
                    {"rbac_policy": {"target_tenant": n.alpha}})
    _error(r, 409, "RbacPolicyInUse")
    wildcard = await _policy(n, n.admin, net["id"], "access_as_external", "*")
    _error(await n.req("DELETE", f"rbac-policies/{pol['id']}", n.admin), 204)
    # now the wildcard carries bob's gateway
    _error(await n.req("DELETE", f"rbac-policies/{wildcard['id']}", n.admin), 409,
           "RbacPolicyInUse")
    r = await n.req("PUT", f"routers/{brouter['id']}", n.bob,
                    {"router": {"external_gateway_info": {}}})
    _error(r, 200)
    _error(await n.req("DELETE", f"rbac-policies/{wildcard['id']}", n.admin), 204)
    # no policy left: no longer external, and bob no longer sees it
    shown = (await n.req("GET", f"networks/{net['id']}", n.admin)).json()["network"]
    assert shown["router:external"] is False
    _error(await n.req("GET", f"networks/{net['id']}", n.bob), 404, "NetworkNotFound")
    r = await n.req("PUT", f"routers/{brouter['id']}", n.bob, {"router": {
        "external_gateway_info": {"network_id": net["id"]}}})
    _error(r, 404, "NetworkNotFound")


async def test_a_member_grants_external_access_to_its_own_network(neutron: Neutron) -> None:
    """Neutron lets a network's owner grant access_as_external to one project (not to '*')."""
    n = neutron
    net = await n.net(n.alice, name="mine")
    await n.subnet(n.alice, net["id"], "10.5.0.0/24", enable_dhcp=False)
    r = await n.req("POST", "rbac-policies", n.alice, {"rbac_policy": {
        "object_type": "network", "object_id": net["id"], "action": "access_as_external",
        "target_tenant": "*"}})
    _error(r, 403)
    await _policy(n, n.alice, net["id"], "access_as_external", n.beta)
    listed = [x["id"] for x in (await n.req("GET", "networks", n.bob)).json()["networks"]]
    assert net["id"] in listed
    router = await n.make(n.bob, "router", "routers", name="rb",
                          external_gateway_info={"network_id": net["id"]})
    assert router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"] == \
        "10.5.0.2"


async def test_router_interface_on_a_shared_subnet(neutron: Neutron) -> None:
    """Neutron refuses a router interface on the subnet of a network shared with everyone
    (LP 1757482) and allows it when an RBAC policy shares it with the project (LP 1975603)."""
    n = neutron
    everyone = await n.net(n.admin, name="everyone", shared=True)
    esub = await n.subnet(n.admin, everyone["id"], "10.6.0.0/24")
    granted = await n.net(n.admin, name="granted")
    gsub = await n.subnet(n.admin, granted["id"], "10.7.0.0/24")
    await _policy(n, n.admin, granted["id"], "access_as_shared", n.beta)
    router = await n.make(n.bob, "router", "routers", name="rb")
    r = await n.req("PUT", f"routers/{router['id']}/add_router_interface", n.bob,
                    {"subnet_id": esub["id"]})
    _error(r, 400, "BadRequest")
    r = await n.req("PUT", f"routers/{router['id']}/add_router_interface", n.bob,
                    {"subnet_id": gsub["id"]})
    _error(r, 200)


async def test_unsharing_keeps_projects_with_their_own_grant(neutron: Neutron) -> None:
    """`shared: false` removes the '*' grant: refused while another project's ports need it,
    allowed when that project has a policy of its own (Neutron checks as for deleting '*')."""
    n = neutron
    net = await n.net(n.admin, name="s", shared=True)
    await n.subnet(n.admin, net["id"], "10.8.0.0/24")
    await n.port(n.bob, net["id"])
    r = await n.req("PUT", f"networks/{net['id']}", n.admin, {"network": {"shared": False}})
    _error(r, 409, "InvalidSharedSetting")
    await _policy(n, n.admin, net["id"], "access_as_shared", n.beta)
    r = await n.req("PUT", f"networks/{net['id']}", n.admin, {"network": {"shared": False}})
    _error(r, 200)
    assert (await n.req("GET", f"networks/{net['id']}", n.bob)).json()["network"]["shared"]
    _error(await n.req("GET", f"networks/{net['id']}", n.alice), 404, "NetworkNotFound")
