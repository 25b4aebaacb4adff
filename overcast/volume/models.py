"""Block Storage tables. Ids are dashed UUIDs, as Cinder's; columns carry the wire names.

A volume's `host` is Cinder's `host@backend#pool` string: the agent (`host@backend`) that keeps
it and the pool it lives in. Services are the scheduler and each volume agent, refreshed by
their heartbeats (os-services).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from overcast.common.clock import utcnow
from overcast.common.db import Timestamp, new_metadata

__all__ = ["Base", "QuotaLimit", "Service", "Snapshot", "SnapshotMetadata", "Volume",
           "VolumeMetadata", "VolumeType", "VolumeTypeAccess", "VolumeTypeExtraSpec"]


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = {dict[str, Any]: JSON}


class Volume(Base):
    __tablename__ = "volumes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    description: Mapped[str | None] = mapped_column(String(255), default=None)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), index=True)
    #: The size being reached by os-extend (the agent grows the file to it).
    target_size: Mapped[int | None] = mapped_column(Integer, default=None)
    availability_zone: Mapped[str] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    volume_type_id: Mapped[str] = mapped_column(String(36))
    snapshot_id: Mapped[str | None] = mapped_column(String(36), default=None)
    source_volid: Mapped[str | None] = mapped_column(String(36), default=None)
    image_id: Mapped[str | None] = mapped_column(String(36), default=None)
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False)
    attach_status: Mapped[str] = mapped_column(String(32), default="detached")
    #: What went wrong, for the operator (the API shows only status "error").
    fault: Mapped[str | None] = mapped_column(String(255), default=None)
    image_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(Timestamp, default=None)


class VolumeMetadata(Base):
    __tablename__ = "volume_metadata"

    volume_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volumes.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Snapshot(Base):
    __tablename__ = "snapshots"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    description: Mapped[str | None] = mapped_column(String(255), default=None)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), index=True)
    host: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    progress: Mapped[str] = mapped_column(String(8), default="0%")
    fault: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(Timestamp, default=None)


class SnapshotMetadata(Base):
    __tablename__ = "snapshot_metadata"

    snapshot_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class VolumeType(Base):
    __tablename__ = "volume_types"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255), default=None)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(Timestamp, default=None)


class VolumeTypeExtraSpec(Base):
    __tablename__ = "volume_type_extra_specs"

    volume_type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class VolumeTypeAccess(Base):
    __tablename__ = "volume_type_projects"

    volume_type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class QuotaLimit(Base):
    """A project's own limit of one resource (absent: the configured default)."""

    __tablename__ = "quotas"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(BigInteger)


class Service(Base):
    """cinder-scheduler or a cinder-volume agent (`host@backend`), with its last report."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36))
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    availability_zone: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255), default=None)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The agent's last capability report: pools with total/free capacity (GiB).
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(Timestamp, default=None)
