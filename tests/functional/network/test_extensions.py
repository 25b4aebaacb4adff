"""What tempest's extension tests check: metering labels and rules, service providers, the
agent list for members, and routers without the dvr and l3-ha extensions."""

from __future__ import annotations

import pytest

from tests.functional.network.conftest import Neutron

# Plain API semantics, no database race: SQLite is enough (test_migrations runs the metering
# tables on all three).
pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)


async def test_metering_labels_and_rules(neutron: Neutron) -> None:
    n = neutron
    label = await n.make(n.admin, "metering_label", "metering/metering-labels", name="l1",
                         description="counted")
    assert set(label) == {"id", "name", "description", "shared", "project_id", "tenant_id"}
    assert label["shared"] is False
    rule = await n.make(n.admin, "metering_label_rule", "metering/metering-label-rules",
                        metering_label_id=label["id"], direction="ingress",
                        remote_ip_prefix="10.0.0.0/24")
    assert rule["excluded"] is False and rule["source_ip_prefix"] is None
    v6 = await n.make(n.admin, "metering_label_rule", "metering/metering-label-rules",
                      metering_label_id=label["id"], direction="egress",
                      destination_ip_prefix="fd02::/64", excluded=True)
    assert v6["destination_ip_prefix"] == "fd02::/64" and v6["remote_ip_prefix"] is None
    # filters: by id (an id that names nothing lists nothing), by label
    r = await n.req("GET", "metering/metering-labels?id=33", n.admin)
    assert r.status_code == 200 and r.json() == {"metering_labels": []}
    r = await n.req("GET", f"metering/metering-label-rules?metering_label_id={label['id']}"
                    "&direction=egress", n.admin)
    assert [x["id"] for x in r.json()["metering_label_rules"]] == [v6["id"]]
    r = await n.req("GET", f"metering/metering-label-rules/{rule['id']}", n.admin)
    assert r.json()["metering_label_rule"] == rule

    bad = [({"direction": "sideways", "remote_ip_prefix": "10.1.0.0/24"}, 400),
           ({"direction": "ingress", "remote_ip_prefix": "10.0.0.128/25"}, 409),  # overlaps
           ({"direction": "ingress", "remote_ip_prefix": "10.9.0.1/24"}, 400),
           ({"direction": "ingress"}, 400),
           ({"direction": "ingress", "remote_ip_prefix": "10.2.0.0/24",
             "source_ip_prefix": "10.3.0.0/24"}, 400)]
    for body, code in bad:
        r = await n.req("POST", "metering/metering-label-rules", n.admin,
                        {"metering_label_rule": {"metering_label_id": label["id"], **body}})
        assert r.status_code == code, (body, r.text)
        assert "NeutronError" in r.json()
    r = await n.req("POST", "metering/metering-label-rules", n.admin, {"metering_label_rule": {
        "metering_label_id": "00000000-0000-0000-0000-000000000000", "direction": "ingress",
        "remote_ip_prefix": "10.0.0.0/24"}})
    assert r.status_code == 404
    assert r.json()["NeutronError"]["type"] == "MeteringLabelNotFound"
    r = await n.req("PUT", f"metering/metering-labels/{label['id']}", n.admin,
                    {"metering_label": {"name": "x"}})
    assert r.status_code == 400

    # administrators only: a member neither creates nor sees labels
    r = await n.req("POST", "metering/metering-labels", n.alice, {"metering_label": {}})
    assert r.status_code == 403
    r = await n.req("GET", "metering/metering-labels", n.alice)
    assert r.json() == {"metering_labels": []}
    r = await n.req("GET", f"metering/metering-labels/{label['id']}", n.alice)
    assert r.status_code == 404

    # deleting the label takes its rules
    r = await n.req("DELETE", f"metering/metering-labels/{label['id']}", n.admin)
    assert r.status_code == 204
    r = await n.req("GET", f"metering/metering-label-rules/{rule['id']}", n.admin)
    assert r.status_code == 404
    r = await n.req("GET", "extensions/metering", n.alice)
    assert r.json()["extension"]["alias"] == "metering"


async def test_service_providers_and_agents_for_members(neutron: Neutron) -> None:
    n = neutron
    r = await n.req("GET", "service-providers", n.alice)
    assert r.status_code == 200 and r.json() == {"service_providers": []}
    r = await n.req("GET", "extensions/service-type", n.alice)
    assert r.status_code == 200
    # Neutron filters the agent list by policy: a member lists none instead of a 403
    r = await n.req("GET", "agents", n.alice)
    assert r.status_code == 200 and r.json() == {"agents": []}


async def test_routers_are_centralized(neutron: Neutron) -> None:
    """Without the dvr and l3-ha extensions a router has no `distributed` or `ha` attribute
    (tempest reads their absence as "no DVR") and a body asking for either is refused."""
    n = neutron
    router = await n.make(n.admin, "router", "routers", name="r", distributed=False, ha=False)
    assert "distributed" not in router and "ha" not in router
    for key in ("distributed", "ha"):
        r = await n.req("POST", "routers", n.admin, {"router": {key: True}})
        assert r.status_code == 400, r.text
        r = await n.req("PUT", f"routers/{router['id']}", n.admin, {"router": {key: True}})
        assert r.status_code == 400, r.text
    # setting either is for administrators (Neutron's create_router:distributed); the
    # default value sent explicitly is not a setting
    r = await n.req("POST", "routers", n.alice, {"router": {"distributed": True}})
    assert r.status_code == 403
    r = await n.req("POST", "routers", n.alice, {"router": {"distributed": False}})
    assert r.status_code == 201


async def test_port_binding_as_neutron_shows_it(neutron: Neutron) -> None:
    """The binding extension's five attributes: all to administrators, only vnic_type to the
    port's project; unbound until a host is set, bound (bridge) while one is."""
    n = neutron
    net = await n.net(n.alice)
    port = await n.port(n.alice, net["id"])
    shown = (await n.req("GET", f"ports/{port['id']}", n.admin)).json()["port"]
    assert {k: v for k, v in shown.items() if k.startswith("binding:")} == {
        "binding:host_id": "", "binding:vif_type": "unbound", "binding:vif_details": {},
        "binding:vnic_type": "normal", "binding:profile": {}}
    assert [k for k in port if k.startswith("binding:")] == ["binding:vnic_type"]
    r = await n.req("PUT", f"ports/{port['id']}", n.admin, {"port": {
        "binding:host_id": "node1", "binding:profile": {"migrating_to": "node2"}}})
    bound = r.json()["port"]
    assert bound["binding:vif_type"] == "bridge" and bound["binding:host_id"] == "node1"
    assert bound["binding:vif_details"]["port_filter"] is True
    assert bound["binding:profile"] == {"migrating_to": "node2"}
    r = await n.req("PUT", f"ports/{port['id']}", n.admin, {"port": {"binding:host_id": ""}})
    assert r.json()["port"]["binding:vif_type"] == "unbound"
    assert r.json()["port"]["binding:vif_details"] == {}
