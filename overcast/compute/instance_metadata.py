"""What a guest reads about itself: the documents of Nova's metadata API and config drive,
rendered in one place so that the two never disagree (nova/api/metadata/base.py's
InstanceMetadata is the one source of both in Nova too).

- OpenStack documents (`openstack/<version>/...`): meta_data.json, user_data,
  vendor_data.json, vendor_data2.json, network_data.json, password.
- The EC2-compatible tree (`<version>/meta-data/...`, `<version>/user-data`).
- The text rendering of a tree node (a listing, one entry a line, directories with a
  trailing slash), as Nova's metadata handler prints it.

Pure functions over plain values: the conductor (config drive, through the agent's
`DesiredInstance`), the metadata service and the QEMU driver's config-drive writer use them;
nothing here touches the database, the bus or HTTP.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from overcast.compute.instance_models import Instance

__all__ = ["EC2_VERSIONS", "OPENSTACK_VERSIONS", "document", "ec2_meta_data",
           "ec2_print", "key_type", "meta_data", "network_data", "openstack_files",
           "openstack_listing", "user_data_bytes", "vendor_data"]

#: The EC2 metadata versions Nova serves (nova/api/metadata/base.py VERSIONS).
EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
                "2008-02-01", "2008-09-01", "2009-04-04")
#: The OpenStack metadata versions, oldest first ("latest" is the newest).
OPENSTACK_VERSIONS = ("2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
                      "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14")
_GRIZZLY, _HAVANA, _LIBERTY, _NEWTON_TWO = "2013-04-04", "2013-10-17", "2015-10-15", "2016-10-06"


def key_type(public_key: str) -> str:
    """A keypair's type as Nova names it, from the key itself (the instance keeps the key,
    not the keypair row)."""
    return "x509" if public_key.lstrip().startswith("-----BEGIN CERTIFICATE") else "ssh"


def meta_data(inst: Instance) -> dict[str, Any]:
    """openstack/<version>/meta_data.json, keys in the order Nova writes them for a config
    drive (uuid, name, hostname, launch_index, availability_zone, project_id, public_keys,
    keys, meta, devices)."""
    public_keys = {inst.key_name: inst.key_data} if inst.key_name and inst.key_data else {}
    return {
        "uuid": inst.uuid,
        "name": inst.display_name,
        "hostname": inst.hostname,
        "launch_index": inst.launch_index,
        "availability_zone": inst.availability_zone,
        "project_id": inst.project_id,
        "public_keys": public_keys,
        "keys": [{"name": n, "type": key_type(d), "data": d} for n, d in public_keys.items()],
        "meta": {m.key: m.value for m in inst.metadata_items},
        "devices": [],
    }


def vendor_data() -> dict[str, Any]:
    """vendor_data.json and vendor_data2.json: Nova's defaults (no StaticJSON file, no
    dynamic targets) are empty objects."""
    return {}


def _ip_version(address: str) -> int:
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        return 4


def network_data(ports: Sequence[Mapping[str, Any]],
                 subnets: Mapping[str, Mapping[str, Any]] | None = None,
                 networks: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """network_data.json from a server's Neutron ports (their subnets and networks by id),
    as Nova's netutils.get_network_metadata writes it: a link per port, a network per fixed
    IP, the subnets' DNS servers as services. No ports: three empty lists."""
    subnets = subnets or {}
    networks = networks or {}
    links: list[dict[str, Any]] = []
    nets: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    for port in ports:
        link_id = f"tap{str(port.get('id', ''))[:11]}"
        net = networks.get(str(port.get("network_id"))) or {}
        # The Linux-bridge data plane: every VIF is a tap on a bridge.
        links.append({"id": link_id, "vif_id": port.get("id"), "type": "bridge",
                      "mtu": net.get("mtu"),
                      "ethernet_mac_address": port.get("mac_address")})
        for fixed in port.get("fixed_ips") or []:
            subnet = subnets.get(str(fixed.get("subnet_id"))) or {}
            address = str(fixed.get("ip_address", ""))
            version = subnet.get("ip_version") or _ip_version(address)
            dhcp = subnet.get("enable_dhcp", True)
            if version == 6:
                mode = subnet.get("ipv6_address_mode")
                kind = {"slaac": "ipv6_slaac", "dhcpv6-stateless": "ipv6_dhcpv6-stateless",
                        "dhcpv6-stateful": "ipv6_dhcpv6-stateful"}.get(str(mode), "ipv6")
            else:
                kind = "ipv4_dhcp" if dhcp else "ipv4"
            entry: dict[str, Any] = {"id": f"network{len(nets)}", "type": kind,
                                     "link": link_id, "network_id": port.get("network_id")}
            if not kind.endswith("dhcp") or version == 6:
                cidr = subnet.get("cidr")
                entry["ip_address"] = address
                if cidr:
                    entry["netmask"] = str(ipaddress.ip_network(cidr, strict=False).netmask)
                routes = []
                if subnet.get("gateway_ip"):
                    default = "::" if version == 6 else "0.0.0.0"
                    routes.append({"network": default, "netmask": default,
                                   "gateway": subnet["gateway_ip"]})
                for route in subnet.get("host_routes") or []:
                    dest = ipaddress.ip_network(route["destination"], strict=False)
                    routes.append({"network": str(dest.network_address),
                                   "netmask": str(dest.netmask), "gateway": route["nexthop"]})
                entry["routes"] = routes
                entry["services"] = [{"type": "dns", "address": a}
                                     for a in subnet.get("dns_nameservers") or []]
            nets.append(entry)
            for server in subnet.get("dns_nameservers") or []:
                svc = {"type": "dns", "address": server}
                if svc not in services:
                    services.append(svc)
    return {"links": links, "networks": nets, "services": services}


def user_data_bytes(user_data: str | None) -> bytes | None:
    """The user data the API took (base64) as the guest reads it: decoded bytes."""
    if user_data is None:
        return None
    try:
        return base64.b64decode(user_data)
    except (binascii.Error, ValueError):
        return None


def document(doc: Mapping[str, Any]) -> bytes:
    """A JSON document as the guest reads it, from the metadata service or a config drive."""
    return json.dumps(doc, sort_keys=True).encode()


def openstack_files(meta: Mapping[str, Any], user_data: bytes | None,
                    net: Mapping[str, Any] | None,
                    vendor: Mapping[str, Any] | None = None) -> dict[str, bytes]:
    """The files of openstack/latest/ on a config drive, byte for byte what the metadata
    service answers for the same paths."""
    files = {"meta_data.json": document(meta),
             "network_data.json": document(net if net is not None else network_data(())),
             "vendor_data.json": document(vendor if vendor is not None else vendor_data()),
             "vendor_data2.json": document(vendor_data())}
    if user_data is not None:
        files["user_data"] = user_data
    return files


def openstack_listing(version: str, has_user_data: bool) -> list[str]:
    """What `openstack/<version>` lists, as Nova's _handle_version: what that version has."""
    if version == "latest":
        version = OPENSTACK_VERSIONS[-1]
    out = ["meta_data.json"]
    if has_user_data:
        out.append("user_data")
    if version >= _GRIZZLY:
        out.append("password")
    if version >= _HAVANA:
        out.append("vendor_data.json")
    if version >= _LIBERTY:
        out.append("network_data.json")
    if version >= _NEWTON_TWO:
        out.append("vendor_data2.json")
    return out


def _ec2_id(prefix: str, value: int) -> str:
    return f"{prefix}-{value & 0xFFFFFFFF:08x}"


def _image_ec2_id(prefix: str, image_id: str | None) -> str:
    """Nova maps an image uuid to an EC2 id through a table of its own; a stable number made
    of the uuid's first 32 bits serves the same purpose (ami-XXXXXXXX)."""
    try:
        number = int((image_id or "").replace("-", "")[:8], 16)
    except ValueError:
        number = 0
    return _ec2_id(prefix, number)


def ec2_meta_data(inst: Instance, version: str, *, fixed_ip: str = "",
                  floating_ip: str = "", security_groups: Sequence[str] = ()
                  ) -> dict[str, Any]:
    """The EC2 tree of `version` (already checked): {"meta-data": {...}, "user-data": bytes}
    as Nova's get_ec2_metadata builds it; a dict is a directory."""
    if version == "latest":
        version = EC2_VERSIONS[-1]
    hostname = inst.hostname
    md: dict[str, Any] = {
        "ami-id": _image_ec2_id("ami", inst.image_ref),
        "ami-launch-index": inst.launch_index,
        "ami-manifest-path": "FIXME",  # sic: Nova answers this
        "instance-id": _ec2_id("i", inst.id),
        "hostname": hostname,
        "local-ipv4": fixed_ip,
        "reservation-id": inst.reservation_id,
        "security-groups": list(security_groups),
    }
    if inst.key_name and inst.key_data:
        # public-keys/ lists "0=NAME"; public-keys/0/ lists openssh-key (Nova's "_name").
        md["public-keys"] = {"0": {"_name": f"0={inst.key_name}", "openssh-key": inst.key_data}}
    if version >= "2007-01-19":
        md.update({"local-hostname": hostname, "public-hostname": hostname,
                   "public-ipv4": floating_ip})
    if version >= "2007-08-29":
        md["instance-type"] = inst.flavor.get("name", "")
    if version >= "2007-12-15":
        md["block-device-mapping"] = {"ami": "vda", "root": "/dev/vda"}
        kernel = (inst.image_meta.get("properties") or {}).get("kernel_id")
        ramdisk = (inst.image_meta.get("properties") or {}).get("ramdisk_id")
        if kernel:
            md["kernel-id"] = _image_ec2_id("aki", kernel)
        if ramdisk:
            md["ramdisk-id"] = _image_ec2_id("ari", ramdisk)
    if version >= "2008-02-01":
        md["placement"] = {"availability-zone": inst.availability_zone or ""}
    if version >= "2008-09-01":
        md["instance-action"] = "none"
    data: dict[str, Any] = {"meta-data": md}
    user_data = user_data_bytes(inst.user_data)
    if user_data is not None:
        data["user-data"] = user_data
    return data


def ec2_print(node: Any) -> bytes:
    """A node of a metadata tree as Nova's handler prints it (ec2_md_print): a directory
    lists its entries sorted, one a line, sub-directories with a trailing slash (or their
    `_name`); a list one item a line; anything else as text."""
    if isinstance(node, dict):
        lines = []
        for key in sorted(node):
            if key == "_name":
                continue
            value = node[key]
            if isinstance(value, dict):
                lines.append(str(value["_name"]) if "_name" in value else f"{key}/")
            else:
                lines.append(key)
        return "\n".join(lines).encode()
    if isinstance(node, list):
        return "\n".join(str(v) for v in node).encode()
    if isinstance(node, bytes):
        return node
    return str(node).encode()
