"""Instance tables (migration 0002): servers, their metadata and tags, faults, and the
instance actions with their events; the migrations of servers (resizes, migration 0003).
Column names are Nova's (`display_name`, `vm_state`, `image_ref`, `locked_by`, ...), so one
grep finds model, view and Nova's docs.

A deleted server keeps its row (`deleted`, `deleted_at`) as Nova's soft-deleted rows do: lists
with `changes-since` show it as DELETED, and its instance actions stay readable by admins.
The flavor is copied into the row (Nova's instance_extra.flavor): deleting a flavor changes no
server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from overcast.common.clock import utcnow
from overcast.common.db import Timestamp
from overcast.compute.models import Base

__all__ = ["Instance", "InstanceAction", "InstanceActionEvent", "InstanceFault",
           "InstanceMetadata", "InstanceTag", "Migration"]


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (
        UniqueConstraint("uuid"),
        Index("ix_instances_project_deleted", "project_id", "deleted"),
        Index("ix_instances_host_deleted", "host", "deleted"),
        Index("ix_instances_reservation", "reservation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36))
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(Text)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    reservation_id: Mapped[str] = mapped_column(String(255))
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    image_ref: Mapped[str] = mapped_column(String(255), default="")
    #: The image's Image-service record as it was at boot (disk_format, min_*, properties).
    image_meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flavor: Mapped[dict[str, Any]] = mapped_column(JSON)
    old_flavor: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new_flavor: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    key_name: Mapped[str | None] = mapped_column(String(255))
    key_data: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[str | None] = mapped_column(Text)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    #: The zone the user asked for (2.96 pinned_availability_zone).
    pinned_availability_zone: Mapped[str | None] = mapped_column(String(255))
    config_drive: Mapped[str] = mapped_column(String(255), default="")
    networks: Mapped[str] = mapped_column(String(16), default="none")
    #: What the create asked of Networking, checked (migration 0004): [{"network_id",
    #: "port_id", "fixed_ip", "tag"}], one port each (compute/networking.py).
    requested_networks: Mapped[list[Any] | None] = mapped_column(JSON, default=list)
    #: The server's ports (Nova's instance_info_caches.network_info): [{"port_id",
    #: "network_id", "preserve_on_delete", "tag", "network_name", "mac_address",
    #: "fixed_ips", "request"}].
    network_info: Mapped[list[Any] | None] = mapped_column(JSON, default=list)
    host: Mapped[str | None] = mapped_column(String(255))
    node: Mapped[str | None] = mapped_column(String(255))
    vm_state: Mapped[str] = mapped_column(String(255))
    task_state: Mapped[str | None] = mapped_column(String(255))
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(16))
    locked_reason: Mapped[str | None] = mapped_column(Text)
    access_ip_v4: Mapped[str | None] = mapped_column(String(39))
    access_ip_v6: Mapped[str | None] = mapped_column(String(39))
    #: OS-DCF:diskConfig (migration 0006): True is AUTO; None (rows before it) and False MANUAL.
    auto_disk_config: Mapped[bool | None] = mapped_column(Boolean, default=False)
    scheduler_hints: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    group_uuid: Mapped[str | None] = mapped_column(String(36))
    #: The Image-service record a pending snapshot uploads into.
    snapshot_image_id: Mapped[str | None] = mapped_column(String(36))
    #: Hosts a failed build may still be retried on (the scheduler's alternates).
    alternates: Mapped[list[Any]] = mapped_column(JSON, default=list)
    launched_at: Mapped[datetime | None] = mapped_column(Timestamp)
    terminated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)

    metadata_items: Mapped[list[InstanceMetadata]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InstanceMetadata.key")
    tags: Mapped[list[InstanceTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InstanceTag.tag")


class InstanceMetadata(Base):
    __tablename__ = "instance_metadata"

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"),
                                             primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class InstanceTag(Base):
    __tablename__ = "instance_tags"

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"),
                                             primary_key=True)
    tag: Mapped[str] = mapped_column(String(80), primary_key=True)


class InstanceFault(Base):
    """Why an instance went wrong; the newest one is the server's `fault`."""

    __tablename__ = "instance_faults"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    code: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class InstanceAction(Base):
    """A user's request on a server (create, stop, reboot, ...), os-instance-actions."""

    __tablename__ = "instance_actions"
    __table_args__ = (Index("ix_instance_actions_instance_request", "instance_uuid",
                            "request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(255))
    instance_uuid: Mapped[str] = mapped_column(String(36))
    request_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    finish_time: Mapped[datetime | None] = mapped_column(Timestamp)
    message: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    events: Mapped[list[InstanceActionEvent]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InstanceActionEvent.id")


class InstanceActionEvent(Base):
    __tablename__ = "instance_actions_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("instance_actions.id", ondelete="CASCADE"),
                                           index=True)
    event: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    finish_time: Mapped[datetime | None] = mapped_column(Timestamp)
    result: Mapped[str | None] = mapped_column(String(255))
    traceback: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)


class Migration(Base):
    """A resize or move of a server (Nova's migrations table, os-migrations). Status as Nova:
    pre-migrating, migrating, finished, confirming, confirmed, reverting, reverted, error."""

    __tablename__ = "migrations"
    __table_args__ = (UniqueConstraint("uuid"),
                      Index("ix_migrations_instance_uuid_status", "instance_uuid", "status"),
                      Index("ix_migrations_updated_at", "updated_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36))
    instance_uuid: Mapped[str] = mapped_column(String(36))
    migration_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(255))
    source_compute: Mapped[str | None] = mapped_column(String(255))
    dest_compute: Mapped[str | None] = mapped_column(String(255))
    source_node: Mapped[str | None] = mapped_column(String(255))
    dest_node: Mapped[str | None] = mapped_column(String(255))
    dest_host: Mapped[str | None] = mapped_column(String(255))
    old_instance_type_id: Mapped[int | None] = mapped_column(Integer)
    new_instance_type_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(Timestamp)
