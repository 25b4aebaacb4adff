"""Metadata definitions catalog tables (Glance's `metadef_*`), on the image service's Base.

Glance keys its rows by integer ids it never shows; here namespaces, objects, properties and
tags have dashed UUIDs (equally hidden: the API names everything by name), a resource type is
keyed by its name, and the JSON a property or object definition carries is a JSON column.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from overcast.common.clock import utcnow
from overcast.common.db import Timestamp
from overcast.image.models import Base

__all__ = ["MetadefNamespace", "MetadefNamespaceResourceType", "MetadefObject",
           "MetadefProperty", "MetadefResourceType", "MetadefStandardLoad", "MetadefTag"]

_NAMESPACE_FK = "metadef_namespaces.id"


class MetadefNamespace(Base):
    """A namespace: the container of property, object and tag definitions. Its name is unique
    across all projects."""

    __tablename__ = "metadef_namespaces"
    __table_args__ = (UniqueConstraint("namespace"),
                      Index("ix_metadef_namespaces_owner", "owner"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(80))
    display_name: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(32), default="private")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class MetadefObject(Base):
    """An object definition: a named group of property definitions."""

    __tablename__ = "metadef_objects"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),
                      Index("ix_metadef_objects_name", "name"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(ForeignKey(_NAMESPACE_FK, ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    required: Mapped[list[str] | None] = mapped_column(JSON)
    #: the object's property definitions, by name (Glance's `json_schema`)
    json_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class MetadefProperty(Base):
    """A property definition of a namespace: a JSON-schema fragment (type, title, enum, ...)."""

    __tablename__ = "metadef_properties"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),
                      Index("ix_metadef_properties_name", "name"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(ForeignKey(_NAMESPACE_FK, ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    json_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class MetadefTag(Base):
    __tablename__ = "metadef_tags"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),
                      Index("ix_metadef_tags_name", "name"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(ForeignKey(_NAMESPACE_FK, ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class MetadefResourceType(Base):
    """A kind of resource namespaces apply to (`OS::Glance::Image`, ...). The well-known ones
    are seeded by the migration, marked protected; associating an unknown name creates it."""

    __tablename__ = "metadef_resource_types"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class MetadefNamespaceResourceType(Base):
    """A namespace's association with a resource type, with the prefix its properties take
    when applied to that resource type (`hw_` for images, `hw:` for flavors)."""

    __tablename__ = "metadef_namespace_resource_types"

    # The conventional constraint names would pass MariaDB's 64-character limit.
    namespace_id: Mapped[str] = mapped_column(
        ForeignKey(_NAMESPACE_FK, ondelete="CASCADE", name="fk_metadef_ns_res_types_namespace_id"),
        primary_key=True)
    resource_type: Mapped[str] = mapped_column(
        ForeignKey("metadef_resource_types.name", name="fk_metadef_ns_res_types_resource_type"),
        primary_key=True)
    prefix: Mapped[str | None] = mapped_column(String(80))
    properties_target: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class MetadefStandardLoad(Base):
    """A standard namespace (Glance's etc/metadefs, shipped in image/metadef_data/) that was
    loaded once: bootstrap does not bring it back after an operator deleted it."""

    __tablename__ = "metadef_standard_loads"

    namespace: Mapped[str] = mapped_column(String(80), primary_key=True)
    loaded_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
