"""What the agent writes for dnsmasq, from a network's desired state (pure: no kernel)."""

from __future__ import annotations

from pathlib import Path

from overcast.network.agent.dnsmasq import DhcpServers, addn_hosts, host_entries, options
from overcast.network.messages import DesiredNetwork, DesiredPort, DesiredSubnet

V4 = DesiredSubnet(id="s4", ip_version=4, cidr="10.0.0.0/24", gateway_ip="10.0.0.1",
                   dns_nameservers=["192.0.2.53", "192.0.2.54"],
                   host_routes=[{"destination": "198.51.100.0/24", "nexthop": "10.0.0.254"}])
NOGW = DesiredSubnet(id="s5", ip_version=4, cidr="10.1.0.0/24", gateway_ip=None)
OFF = DesiredSubnet(id="s6", ip_version=4, cidr="10.2.0.0/24", enable_dhcp=False)
V6 = DesiredSubnet(id="s7", ip_version=6, cidr="fd00::/64")
DHCP = DesiredPort(id="d" * 8 + "-0000-0000-0000-000000000000", mac_address="fa:16:3e:00:00:02",
                   device_owner="network:dhcp",
                   fixed_ips=[{"subnet_id": "s4", "ip_address": "10.0.0.2"}])


def _net(*ports: DesiredPort) -> DesiredNetwork:
    return DesiredNetwork(id="n1", mtu=1450, subnets=[V4, NOGW, OFF, V6], ports=[*ports, DHCP],
                          dns_domain="openstacklocal.")


def test_a_host_entry_per_fixed_ip_on_a_dhcp_subnet() -> None:
    guest = DesiredPort(id="p1", mac_address="fa:16:3e:aa:bb:cc", fixed_ips=[
        {"subnet_id": "s4", "ip_address": "10.0.0.5"},
        {"subnet_id": "s6", "ip_address": "10.2.0.5"},  # DHCP off there
        {"subnet_id": "s7", "ip_address": "fd00::5"}])  # DHCPv6: not yet
    named = DesiredPort(id="p2", mac_address="fa:16:3e:aa:bb:cd", dns_name="web",
                        fixed_ips=[{"subnet_id": "s5", "ip_address": "10.1.0.9"}])
    net = _net(guest, named)
    assert host_entries(net) == ("fa:16:3e:aa:bb:cc,host-10-0-0-5,10.0.0.5\n"
                                 "fa:16:3e:aa:bb:cd,web,10.1.0.9\n")
    assert addn_hosts(net) == ("10.0.0.5\thost-10-0-0-5.openstacklocal\thost-10-0-0-5\n"
                               "10.1.0.9\tweb.openstacklocal\tweb\n")


def test_options_router_dns_and_classless_routes() -> None:
    lines = options(_net()).splitlines()
    assert lines == [
        "tag:subnet-s4,option:router,10.0.0.1",
        "tag:subnet-s4,option:dns-server,192.0.2.53,192.0.2.54",
        "tag:subnet-s4,option:classless-static-route,198.51.100.0/24,10.0.0.254,"
        "0.0.0.0/0,10.0.0.1",
        "tag:subnet-s4,249,198.51.100.0/24,10.0.0.254,0.0.0.0/0,10.0.0.1",
        # no gateway: an empty router option, or dnsmasq would offer itself
        "tag:subnet-s5,option:router",
    ]


def test_arguments_serve_only_static_leases_on_the_dhcp_interface(tmp_path: Path) -> None:
    args = DhcpServers(tmp_path).args(_net(), DHCP)
    assert "--interface=ns-dddddddd000" in args and "--bind-interfaces" in args
    assert "--dhcp-range=set:subnet-s4,10.0.0.0,static,255.255.255.0,86400s" in args
    assert "--dhcp-range=set:subnet-s5,10.1.0.0,static,255.255.255.0,86400s" in args
    assert not any("s6" in a or "s7" in a for a in args)
    assert "--dhcp-option-force=option:mtu,1450" in args
    assert f"--dhcp-hostsfile={tmp_path}/n1/host" in args
