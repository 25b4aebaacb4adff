"""Networking through the real clients: the installation guide's network flows with the
`openstack` CLI, and openstacksdk (errors included), against `overcast up` with the network
service enabled."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack
import pytest

from tests.compat.conftest import Cloud, start_cloud, stop_cloud
from tests.conftest import require

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def ncloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    require("openstack CLI", shutil.which("openstack", path=str(Path(sys.executable).parent))
            is not None, "pip install python-openstackclient")
    c = start_cloud(tmp_path_factory.mktemp("netcloud"), {"OVERCAST_NETWORK__ENABLED": "true"},
                    seconds=240)
    yield c
    stop_cloud(c)


def _json(c: Cloud, *args: str, **kw: Any) -> Any:
    return c.openstack_json(*args, **kw)


def _demo(cloud: Cloud) -> dict[str, str]:
    """The guide's demo user, a member of project demo; the environment to act as it."""
    cloud.openstack("project", "create", "demo")
    cloud.openstack("user", "create", "demo", "--password", "demo-pw")
    cloud.openstack("role", "add", "--project", "demo", "--user", "demo", "member")
    return {"OS_AUTH_URL": cloud.auth_url, "OS_USERNAME": "demo", "OS_PASSWORD": "demo-pw",
            "OS_PROJECT_NAME": "demo", "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default", "OS_IDENTITY_API_VERSION": "3",
            "OS_CLIENT_CONFIG_FILE": "/dev/null"}


def _heartbeat(c: Cloud, host: str) -> str:
    """An agent's row as its first heartbeat writes it (dataplane.report), put straight into
    the cloud's database: the test cloud runs no agent and its bus is in-process (the
    heartbeat RPC itself is tests/functional/network/test_agents.py's)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from overcast.common.clock import utcnow
    from overcast.network.models import Agent

    engine = create_engine(f"sqlite:///{c.state_dir / 'network.sqlite'}")
    now = utcnow()
    try:
        with Session(engine) as s, s.begin():
            row = Agent(id="5b0b1a43-0c3e-4b7e-9d1c-6a4c3f1d2e70", agent_type="Linux bridge agent",
                        host=host, binary="overcast-network-agent", topic="N/A",
                        admin_state_up=True, created_at=now, started_at=now,
                        heartbeat_timestamp=now,
                        configurations={"tunneling_ip": "192.0.2.7", "dhcp": True})
            s.add(row)
    finally:
        engine.dispose()
    return "5b0b1a43-0c3e-4b7e-9d1c-6a4c3f1d2e70"


def test_installation_guide_network_flows(ncloud: Cloud) -> None:
    c = ncloud
    c.openstack("network", "create", "ext-net", "--external", "--share",
                "--provider-network-type", "flat", "--provider-physical-network", "provider")
    c.openstack("subnet", "create", "ext-subnet", "--network", "ext-net",
                "--allocation-pool", "start=203.0.113.101,end=203.0.113.200", "--no-dhcp",
                "--gateway", "203.0.113.1", "--subnet-range", "203.0.113.0/24")
    demo = _demo(c)

    def as_demo(*args: str) -> Any:
        return _json(c, *args, cloud="", env=demo)

    net = as_demo("network", "create", "demo-net")
    assert net["mtu"] == 1450 and net["status"] == "ACTIVE"
    sub = as_demo("subnet", "create", "demo-subnet", "--network", "demo-net", "--gateway",
                  "192.168.1.1", "--subnet-range", "192.168.1.0/24")
    assert sub["allocation_pools"] == [{"start": "192.168.1.2", "end": "192.168.1.254"}]
    as_demo("router", "create", "demo-router")
    c.openstack("router", "add", "subnet", "demo-router", "demo-subnet", cloud="", env=demo)
    c.openstack("router", "set", "--external-gateway", "ext-net", "demo-router", cloud="",
                env=demo)
    router = as_demo("router", "show", "demo-router")
    gateway = router["external_gateway_info"]
    assert gateway["external_fixed_ips"][0]["ip_address"] == "203.0.113.101"
    assert gateway["enable_snat"] is True
    fip = as_demo("floating", "ip", "create", "ext-net")
    assert fip["floating_ip_address"] == "203.0.113.102" and fip["status"] == "DOWN"
    as_demo("security", "group", "rule", "create", "--proto", "tcp", "--dst-port", "22",
            "default")
    as_demo("security", "group", "rule", "create", "--proto", "icmp", "default")
    r = c.openstack("security", "group", "rule", "create", "--proto", "icmp", "default",
                    cloud="", env=demo, check=False)
    assert r.returncode != 0 and "already exists" in r.stderr
    names = {n["Name"] for n in as_demo("network", "list")}
    assert names == {"ext-net", "demo-net"}
    ports = as_demo("port", "list", "--long")
    owners = sorted(p["Device Owner"] for p in ports)
    assert owners == ["network:router_interface"]  # the gateway and floating IP ports are
    # the network's, not the project's
    assert _json(c, "network", "agent", "list") == []  # the test cloud runs no agent
    agent_id = _heartbeat(c, "compute-7")
    listed = _json(c, "network", "agent", "list")
    assert [(a["ID"], a["Agent Type"], a["Host"], a["Alive"], a["State"]) for a in listed] == [
        (agent_id, "Linux bridge agent", "compute-7", True, True)]
    c.openstack("network", "agent", "set", "--description", "rack 4", "--disable", agent_id)
    shown = _json(c, "network", "agent", "show", agent_id)
    assert shown["description"] == "rack 4" and shown["admin_state_up"] is False
    assert shown["configuration"]["tunneling_ip"] == "192.0.2.7"  # the SDK's name
    # agents are the administrator's: Neutron filters the list by policy (a member lists
    # none, tempest's test_list_agents_non_admin) rather than refusing it
    assert json.loads(c.openstack("network", "agent", "list", "-f", "json", cloud="",
                                  env=demo).stdout) == []
    c.openstack("network", "agent", "delete", agent_id)
    assert _json(c, "network", "agent", "list") == []
    aliases = {e["Alias"] for e in _json(c, "extension", "list", "--network")}
    assert {"router", "external-net", "security-group", "provider"} <= aliases
    # admin shares demo's network, then narrows it to one project by RBAC
    c.openstack("network", "set", "--share", "demo-net")
    assert _json(c, "network", "show", "demo-net")["shared"] is True
    c.openstack("project", "create", "other")
    rbac = _json(c, "network", "rbac", "create", "--type", "network", "--action",
                            "access_as_shared", "--target-project", "other", "demo-net")
    assert rbac["object_id"] == net["id"]
    listed = _json(c, "network", "rbac", "list", "--long")
    assert {(r["Object ID"], r["Action"]) for r in listed if r["Object ID"] == net["id"]} == {
        (net["id"], "access_as_shared")}
    assert len([r for r in listed if r["Object ID"] == net["id"]]) == 2  # '*' and 'other'
    # associate the floating IP with a port on demo-net, through the router
    port = as_demo("port", "create", "--network", "demo-net", "vm-port")
    c.openstack("floating", "ip", "set", "--port", "vm-port", fip["floating_ip_address"],
                cloud="", env=demo)
    shown = as_demo("floating", "ip", "show", fip["floating_ip_address"])
    assert shown["port_id"] == port["id"] and shown["router_id"] == router["id"]


def test_openstacksdk(ncloud: Cloud) -> None:
    conn = openstack.connect(auth_url=ncloud.auth_url, username="admin",
                             password=ncloud.admin_password, project_name="admin",
                             user_domain_name="Default", project_domain_name="Default")
    net = conn.network.create_network(name="sdk-net", is_admin_state_up=True)
    sub = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.77.0.0/24",
                                     name="sdk-sub")
    assert sub.gateway_ip == "10.77.0.1"
    ports = [conn.network.create_port(network_id=net.id) for _ in range(3)]
    assert [p.fixed_ips[0]["ip_address"] for p in ports] == ["10.77.0.2", "10.77.0.3",
                                                             "10.77.0.4"]
    conn.network.set_tags(net, ["a", "b"])
    assert sorted(conn.network.get_network(net.id).tags) == ["a", "b"]
    found = list(conn.network.networks(tags="a"))
    assert [n.id for n in found] == [net.id]
    paged = list(conn.network.ports(network_id=net.id, limit=1, paginated=True))
    assert len(paged) == 3
    with pytest.raises(openstack.exceptions.NotFoundException) as err:
        conn.network.get_network("00000000-0000-0000-0000-000000000000")
    assert "could not be found" in str(err.value)
    with pytest.raises(openstack.exceptions.ConflictException):
        conn.network.create_port(network_id=net.id, fixed_ips=[
            {"subnet_id": sub.id, "ip_address": "10.77.0.2"}])
    with pytest.raises(openstack.exceptions.ConflictException) as conflict:
        conn.network.delete_network(net.id)
    assert "ports still in use" in str(conflict.value)
    for p in ports:
        conn.network.delete_port(p)
    conn.network.delete_network(net.id)
    assert conn.network.find_network("sdk-net") is None


def test_isolation_through_openstacksdk(ncloud: Cloud) -> None:
    """Another project's member, through openstacksdk: 404 for what it was not granted;
    an RBAC grant lets it use exactly what Neutron lets it use; a grant in use stays."""
    admin = openstack.connect(auth_url=ncloud.auth_url, username="admin",
                              password=ncloud.admin_password, project_name="admin",
                              user_domain_name="Default", project_domain_name="Default")
    member = admin.identity.find_role("member")
    conns = {}
    for name in ("iso-a", "iso-b"):
        project = admin.identity.create_project(name=name, domain_id="default")
        user = admin.identity.create_user(name=name, password=f"{name}-pw",
                                          domain_id="default")
        admin.identity.assign_project_role_to_user(project, user, member)
        conns[name] = openstack.connect(
            auth_url=ncloud.auth_url, username=name, password=f"{name}-pw", project_name=name,
            user_domain_name="Default", project_domain_name="Default")
    a, b = conns["iso-a"].network, conns["iso-b"].network
    ext = admin.network.create_network(name="iso-ext", is_router_external=True)
    admin.network.create_subnet(network_id=ext.id, ip_version=4, cidr="198.18.0.0/24",
                                is_dhcp_enabled=False)
    net = a.create_network(name="iso-net")
    sub = a.create_subnet(network_id=net.id, ip_version=4, cidr="10.88.0.0/24")
    router = a.create_router(name="iso-router", external_gateway_info={"network_id": ext.id})
    a.add_interface_to_router(router, subnet=sub.id)
    port = a.create_port(network_id=net.id)
    fip = a.create_ip(floating_network_id=ext.id, port_id=port.id)
    group = a.create_security_group(name="iso-sg")
    nf = openstack.exceptions.NotFoundException
    for get, obj in ((b.get_network, net), (b.get_subnet, sub), (b.get_port, port),
                     (b.get_router, router), (b.get_ip, fip), (b.get_security_group, group)):
        with pytest.raises(nf):
            get(obj.id)
    assert fip.id not in [f.id for f in b.ips()]
    with pytest.raises(nf):
        b.update_ip(fip.id, port_id=None)
    with pytest.raises(nf):
        b.delete_router(router.id, ignore_missing=False)
    with pytest.raises(nf):
        b.create_port(network_id=net.id)
    # share iso-net with iso-b: it makes a port there, does not see iso-a's port nor the
    # policy; the policy cannot be revoked while that port exists
    project_b = admin.identity.find_project("iso-b")
    policy = a.create_rbac_policy(object_type="network", object_id=net.id,
                                  action="access_as_shared", target_project_id=project_b.id)
    assert b.get_network(net.id).is_shared is True
    bport = b.create_port(network_id=net.id)
    assert [p.id for p in b.ports(network_id=net.id)] == [bport.id]
    assert list(b.rbac_policies()) == []
    with pytest.raises(openstack.exceptions.ConflictException):
        a.delete_rbac_policy(policy)
    b.delete_port(bport)
    a.delete_rbac_policy(policy)
    with pytest.raises(nf):
        b.get_network(net.id)


def test_metering_and_service_providers_through_the_cli(ncloud: Cloud) -> None:
    c = ncloud
    meter = _json(c, "network", "meter", "create", "--description", "web traffic", "web")
    assert meter["name"] == "web" and meter["shared"] is False
    rule = _json(c, "network", "meter", "rule", "create", "--ingress", "--remote-ip-prefix",
                 "10.0.0.0/24", "web")
    assert rule["remote_ip_prefix"] == "10.0.0.0/24" and rule["metering_label_id"] == meter["id"]
    bad = c.openstack("network", "meter", "rule", "create", "--ingress", "--remote-ip-prefix",
                      "10.0.0.0/25", "web", check=False)
    assert bad.returncode != 0 and "overlaps" in bad.stderr
    assert [r["ID"] for r in _json(c, "network", "meter", "rule", "list")] == [rule["id"]]
    assert _json(c, "network", "meter", "show", "web")["description"] == "web traffic"
    c.openstack("network", "meter", "delete", "web")
    assert _json(c, "network", "meter", "rule", "list") == []
    assert _json(c, "network", "service", "provider", "list") == []
