"""Another project's resources: 404 to show, update and delete, absent from lists; shared
and external networks and RBAC grants seen as Neutron shows them; admin-only attributes."""

from __future__ import annotations

from tests.functional.network.conftest import Neutron


async def test_every_resource_is_hidden_from_other_projects(neutron: Neutron) -> None:
    n = neutron
    net = await n.net(n.alice)
    sub = await n.subnet(n.alice, net["id"], "10.1.0.0/24")
    port = await n.port(n.alice, net["id"])
    router = await n.make(n.alice, "router", "routers", name="r")
    group = await n.make(n.alice, "security_group", "security-groups", name="g")
    rule = group["security_group_rules"][0]
    pool = await n.make(n.alice, "subnetpool", "subnetpools", name="p",
                        prefixes=["10.100.0.0/16"], default_prefixlen=24)
    scope = await n.make(n.alice, "address_scope", "address-scopes", name="s", ip_version=4)
    resources = [("networks", "network", net), ("subnets", "subnet", sub),
                 ("ports", "port", port), ("routers", "router", router),
                 ("security-groups", "security_group", group),
                 ("security-group-rules", "security_group_rule", rule),
                 ("subnetpools", "subnetpool", pool),
                 ("address-scopes", "address_scope", scope)]
    for path, key, item in resources:
        r = await n.req("GET", f"{path}/{item['id']}", n.bob)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["NeutronError"]["type"].endswith("NotFound")
        listed = (await n.req("GET", path, n.bob)).json()[path.replace("-", "_")]
        assert item["id"] not in [x["id"] for x in listed], path
        r = await n.req("PUT", f"{path}/{item['id']}", n.bob, {key: {"description": "x"}})
        assert r.status_code == 404, (path, r.text)
        r = await n.req("DELETE", f"{path}/{item['id']}", n.bob)
        assert r.status_code == 404, (path, r.text)
        r = await n.req("GET", f"{path}/{item['id']}", n.admin)
        assert r.status_code == 200, (path, r.text)


async def test_shared_external_and_rbac_networks(neutron: Neutron) -> None:
    n = neutron
    shared = await n.net(n.admin, name="shared", shared=True)
    ext = await n.net(n.admin, name="ext", **{"router:external": True})
    granted = await n.net(n.alice, name="granted")
    r = await n.req("POST", "rbac-policies", n.alice, {"rbac_policy": {
        "object_type": "network", "object_id": granted["id"], "action": "access_as_shared",
        "target_tenant": n.beta}})
    assert r.status_code == 201, r.text
    names = sorted(x["name"] for x in (await n.req("GET", "networks", n.bob)).json()["networks"])
    assert names == ["ext", "granted", "shared"]
    # Only an administrator shares with everyone.
    r = await n.req("POST", "rbac-policies", n.alice, {"rbac_policy": {
        "object_type": "network", "object_id": granted["id"], "action": "access_as_shared",
        "target_tenant": "*"}})
    assert r.status_code == 403
    # bob may put a port on the shared network, and not change the network.
    await n.port(n.bob, shared["id"])
    r = await n.req("PUT", f"networks/{shared['id']}", n.bob, {"network": {"name": "x"}})
    assert r.status_code == 403
    assert ext["router:external"] is True


async def test_provider_attributes_are_admin_only(neutron: Neutron) -> None:
    n = neutron
    r = await n.req("POST", "networks", n.alice, {"network": {
        "name": "p", "provider:network_type": "vlan", "provider:physical_network": "physnet1",
        "provider:segmentation_id": 100}})
    assert r.status_code == 403
    r = await n.req("POST", "networks", n.alice, {"network": {"name": "s", "shared": True}})
    assert r.status_code == 403
    vlan = await n.net(n.admin, **{"provider:network_type": "vlan",
                                  "provider:physical_network": "physnet1",
                                  "provider:segmentation_id": 100})
    assert vlan["mtu"] == 1500 and vlan["provider:segmentation_id"] == 100
    r = await n.req("POST", "networks", n.admin, {"network": {
        "provider:network_type": "vlan", "provider:physical_network": "physnet1",
        "provider:segmentation_id": 100}})
    assert r.status_code == 409 and r.json()["NeutronError"]["type"] == "VlanIdInUse"
    # Project networks take VXLAN ids from vni_ranges, the lowest free first.
    a = await n.net(n.alice)
    b = await n.net(n.alice)
    shown = [(await n.req("GET", f"networks/{x['id']}", n.admin)).json()["network"]
             for x in (a, b)]
    assert [(s["provider:network_type"], s["provider:segmentation_id"]) for s in shown] == [
        ("vxlan", 1), ("vxlan", 2)]
    assert all(s["mtu"] == 1450 for s in shown)
    port = await n.port(n.admin, a["id"], **{"binding:host_id": "node1"})
    assert port["binding:vif_type"] == "bridge"
    seen = (await n.req("GET", f"ports/{port['id']}", n.alice)).json()["port"]
    assert "binding:host_id" not in seen and "binding:vif_type" not in seen
    r = await n.req("PUT", f"ports/{port['id']}", n.alice,
                    {"port": {"binding:host_id": "node2"}})
    assert r.status_code == 403
