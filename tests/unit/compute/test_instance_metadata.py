"""The guest's documents (compute/instance_metadata.py): network_data.json from Neutron ports
as Nova renders it, the EC2 tree's text form, and the version listings."""

from __future__ import annotations

from overcast.compute import instance_metadata as render

PORT = {"id": "4f3c2b1a-0000-4000-8000-000000000001", "network_id": "net-1",
        "mac_address": "fa:16:3e:12:34:56",
        "fixed_ips": [{"subnet_id": "sub-4", "ip_address": "10.0.0.5"},
                      {"subnet_id": "sub-static", "ip_address": "10.1.0.7"}]}
SUBNETS = {
    "sub-4": {"id": "sub-4", "ip_version": 4, "cidr": "10.0.0.0/24", "enable_dhcp": True,
              "gateway_ip": "10.0.0.1", "dns_nameservers": ["10.0.0.2"], "host_routes": []},
    "sub-static": {"id": "sub-static", "ip_version": 4, "cidr": "10.1.0.0/16",
                   "enable_dhcp": False, "gateway_ip": "10.1.0.1", "dns_nameservers": [],
                   "host_routes": [{"destination": "192.168.0.0/24", "nexthop": "10.1.0.9"}]},
}


def test_network_data_from_ports() -> None:
    doc = render.network_data([PORT], SUBNETS, {"net-1": {"id": "net-1", "mtu": 1450}})
    assert doc["links"] == [{"id": "tap4f3c2b1a-00", "vif_id": PORT["id"], "type": "bridge",
                             "mtu": 1450, "ethernet_mac_address": "fa:16:3e:12:34:56"}]
    dhcp, static = doc["networks"]
    # A DHCP subnet says only that: the guest learns the rest by DHCP.
    assert dhcp == {"id": "network0", "type": "ipv4_dhcp", "link": "tap4f3c2b1a-00",
                    "network_id": "net-1"}
    assert static["type"] == "ipv4" and static["ip_address"] == "10.1.0.7"
    assert static["netmask"] == "255.255.0.0"
    assert static["routes"] == [
        {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.1.0.1"},
        {"network": "192.168.0.0", "netmask": "255.255.255.0", "gateway": "10.1.0.9"}]
    assert doc["services"] == [{"type": "dns", "address": "10.0.0.2"}]


def test_no_ports_is_three_empty_lists() -> None:
    assert render.network_data(()) == {"links": [], "networks": [], "services": []}


def test_ec2_print_lists_directories_and_named_entries() -> None:
    tree = {"hostname": "vm", "placement": {"availability-zone": "nova"},
            "public-keys": {"0": {"_name": "0=kp", "openssh-key": "ssh-ed25519 AAAA"}}}
    assert render.ec2_print(tree) == b"hostname\nplacement/\npublic-keys/"
    assert render.ec2_print(tree["public-keys"]) == b"0=kp"
    assert render.ec2_print(tree["public-keys"]["0"]) == b"openssh-key"
    assert render.ec2_print(["a", "b"]) == b"a\nb"
    assert render.ec2_print(0) == b"0"


def test_listing_follows_the_version() -> None:
    assert render.openstack_listing("2012-08-10", False) == ["meta_data.json"]
    assert render.openstack_listing("2013-10-17", True) == [
        "meta_data.json", "user_data", "password", "vendor_data.json"]
    assert render.openstack_listing("latest", False)[-1] == "vendor_data2.json"


def test_key_type() -> None:
    assert render.key_type("ssh-rsa AAAA") == "ssh"
    assert render.key_type("-----BEGIN CERTIFICATE-----\nMII") == "x509"
