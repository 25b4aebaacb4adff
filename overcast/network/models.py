"""Networking tables. Ids are dashed UUIDs, as Neutron's; column names are wire names (a colon
name such as `router:external` is the column `router_external`).

Every resource row carries Neutron's standard attributes (`StandardAttrs`): project, description,
created/updated times and the revision number that `If-Match` checks. Tags live in one table for
every resource, keyed by the resource's id (ids are UUIDs, unique across resource types).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from overcast.common.clock import utcnow
from overcast.common.db import Timestamp, new_metadata

__all__ = [
    "AddressScope",
    "Agent",
    "Base",
    "DefaultSecurityGroup",
    "FloatingIP",
    "IPAllocation",
    "MeteringLabel",
    "MeteringLabelRule",
    "Network",
    "Port",
    "PortSecurityGroup",
    "Quota",
    "RBACPolicy",
    "Router",
    "SecurityGroup",
    "SecurityGroupRule",
    "SegmentAllocation",
    "StandardAttrs",
    "Subnet",
    "SubnetPool",
    "Tag",
]

JSONList = list[Any]


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = {dict[str, Any]: JSON, JSONList: JSON}


class StandardAttrs:
    """Neutron's standard attributes, on every resource table."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True, default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)


class Tag(Base):
    """A tag of any resource (Neutron's standard-attr-tag)."""

    __tablename__ = "tags"

    resource_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    __table_args__ = (Index("ix_tags_tag", "tag"),)


class Network(StandardAttrs, Base):
    __tablename__ = "networks"

    name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Shared with every project: kept equal to "an access_as_shared RBAC policy for *".
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    router_external: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    dns_domain: Mapped[str] = mapped_column(String(255), default="")
    availability_zone_hints: Mapped[JSONList] = mapped_column(JSON, default=list)
    network_type: Mapped[str] = mapped_column(String(32), default="")
    physical_network: Mapped[str | None] = mapped_column(String(64))
    segmentation_id: Mapped[int | None] = mapped_column(Integer)


class SegmentAllocation(Base):
    """A segmentation id in use: the primary key makes two networks on one VLAN or VNI
    impossible, whichever process allocates."""

    __tablename__ = "segment_allocations"

    network_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    physical_network: Mapped[str] = mapped_column(String(64), primary_key=True)
    segmentation_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True)


class Subnet(StandardAttrs, Base):
    __tablename__ = "subnets"

    name: Mapped[str] = mapped_column(String(255), default="")
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(16))
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(16))
    subnetpool_id: Mapped[str | None] = mapped_column(String(36), index=True)
    segment_id: Mapped[str | None] = mapped_column(String(36))
    dns_publish_fixed_ip: Mapped[bool] = mapped_column(Boolean, default=False)
    #: [{"start": ip, "end": ip}, ...] in the order given
    allocation_pools: Mapped[JSONList] = mapped_column(JSON, default=list)
    dns_nameservers: Mapped[JSONList] = mapped_column(JSON, default=list)
    #: [{"destination": cidr, "nexthop": ip}, ...]
    host_routes: Mapped[JSONList] = mapped_column(JSON, default=list)
    service_types: Mapped[JSONList] = mapped_column(JSON, default=list)


class Port(StandardAttrs, Base):
    __tablename__ = "ports"
    __table_args__ = (UniqueConstraint("network_id", "mac_address"),
                      Index("ix_ports_device_id", "device_id"))

    name: Mapped[str] = mapped_column(String(255), default="")
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="")
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    binding_host_id: Mapped[str] = mapped_column(String(255), default="")
    binding_vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    binding_vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    binding_profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    binding_vif_details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: [{"ip_address": ip-or-cidr, "mac_address": mac}, ...]
    allowed_address_pairs: Mapped[JSONList] = mapped_column(JSON, default=list)
    #: [{"opt_name", "opt_value", "ip_version"}, ...]
    extra_dhcp_opts: Mapped[JSONList] = mapped_column(JSON, default=list)
    dns_name: Mapped[str] = mapped_column(String(255), default="")


class IPAllocation(Base):
    """An address held by a port. The primary key (subnet, address) is what makes a duplicate
    impossible under any concurrency: a second writer's insert fails and it picks again."""

    __tablename__ = "ip_allocations"

    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(36), index=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    #: Position in the port's fixed_ips (they are shown in the order they were asked for).
    position: Mapped[int] = mapped_column(Integer, default=0)


class SecurityGroup(StandardAttrs, Base):
    __tablename__ = "security_groups"

    name: Mapped[str] = mapped_column(String(255), default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)


class DefaultSecurityGroup(Base):
    """A project's `default` group; the primary key makes a second one impossible when two
    first requests of a project race."""

    __tablename__ = "default_security_groups"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"))


class SecurityGroupRule(StandardAttrs, Base):
    __tablename__ = "security_group_rules"

    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(40))
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    remote_address_group_id: Mapped[str | None] = mapped_column(String(36))


class PortSecurityGroup(Base):
    __tablename__ = "port_security_groups"

    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"),
                                         primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), primary_key=True)


class Router(StandardAttrs, Base):
    __tablename__ = "routers"

    name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    gw_network_id: Mapped[str | None] = mapped_column(String(36))
    gw_port_id: Mapped[str | None] = mapped_column(String(36))
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    #: [{"destination": cidr, "nexthop": ip}, ...]
    routes: Mapped[JSONList] = mapped_column(JSON, default=list)
    availability_zone_hints: Mapped[JSONList] = mapped_column(JSON, default=list)


class FloatingIP(StandardAttrs, Base):
    __tablename__ = "floatingips"

    floating_network_id: Mapped[str] = mapped_column(String(36), index=True)
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    #: The port on the external network that holds the address (device_owner network:floatingip)
    floating_port_id: Mapped[str] = mapped_column(String(36))
    port_id: Mapped[str | None] = mapped_column(String(36), index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64))
    router_id: Mapped[str | None] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    dns_name: Mapped[str] = mapped_column(String(255), default="")
    dns_domain: Mapped[str] = mapped_column(String(255), default="")


class SubnetPool(StandardAttrs, Base):
    __tablename__ = "subnetpools"

    name: Mapped[str] = mapped_column(String(255), default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    prefixes: Mapped[JSONList] = mapped_column(JSON, default=list)
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    default_quota: Mapped[int | None] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    address_scope_id: Mapped[str | None] = mapped_column(String(36))


class AddressScope(StandardAttrs, Base):
    __tablename__ = "address_scopes"

    name: Mapped[str] = mapped_column(String(255), default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)


class RBACPolicy(StandardAttrs, Base):
    __tablename__ = "rbac_policies"
    __table_args__ = (UniqueConstraint("object_type", "object_id", "action", "target_tenant"),)

    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(32))
    target_tenant: Mapped[str] = mapped_column(String(255), index=True)


class MeteringLabel(StandardAttrs, Base):
    """An L3 metering label (admin only): the rules below say which traffic it counts."""

    __tablename__ = "metering_labels"

    name: Mapped[str] = mapped_column(String(255), default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)


class MeteringLabelRule(StandardAttrs, Base):
    __tablename__ = "metering_label_rules"

    metering_label_id: Mapped[str] = mapped_column(
        ForeignKey("metering_labels.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    source_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    destination_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)


class Quota(Base):
    """A project's limit for one resource, where it differs from the configured default."""

    __tablename__ = "quotas"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    limit: Mapped[int] = mapped_column(Integer)


class Agent(Base):
    """A network agent as it last reported (Neutron's agents table): the VXLAN tunnel address
    other hosts send to, and when it was last heard from."""

    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("agent_type", "host"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent_type: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255), default="")
    host: Mapped[str] = mapped_column(String(255), index=True)
    topic: Mapped[str] = mapped_column(String(255), default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    #: What the agent reported: tunneling_ip, problems, ... (Neutron's `configurations`).
    configurations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    started_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    heartbeat_timestamp: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    #: Set by an administrator (PUT); None until then, as Neutron shows it.
    description: Mapped[str | None] = mapped_column(String(255), nullable=True, default=None)
