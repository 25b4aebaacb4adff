"""Placement tables. Providers and consumers are named by dashed UUIDs on the wire; rows have
integer ids so that the trees (parent, root) and the hot allocation joins stay narrow.

Resource classes and traits are referred to by name: the standard ones live in code
(`standards.py`, from os-resource-classes and os-traits), only custom ones have rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from overcast.common.clock import utcnow
from overcast.common.db import Timestamp, new_metadata

__all__ = ["Allocation", "Base", "Consumer", "CustomResourceClass", "CustomTrait", "Inventory",
           "ProviderAggregate", "ProviderTrait", "ResourceProvider"]


class Base(DeclarativeBase):
    metadata = new_metadata()


class _Times:
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class ResourceProvider(_Times, Base):
    """A provider of resources; `generation` moves on every change of its inventory, traits,
    aggregates or allocations against it (the compare-and-set of every writer)."""

    __tablename__ = "resource_providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    #: Set right after the insert (a root is its own root).
    root_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_providers.id"), index=True)
    parent_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_providers.id"), index=True)


class Inventory(_Times, Base):
    __tablename__ = "inventories"
    __table_args__ = (UniqueConstraint("resource_provider_id", "resource_class"),
                      Index("ix_inventories_resource_class", "resource_class"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id", ondelete="CASCADE"))
    resource_class: Mapped[str] = mapped_column(String(255))
    total: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    min_unit: Mapped[int] = mapped_column(Integer, default=1)
    max_unit: Mapped[int] = mapped_column(Integer)
    step_size: Mapped[int] = mapped_column(Integer, default=1)
    allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)


class Consumer(_Times, Base):
    """Whoever holds allocations (an instance, a migration); gone with its last allocation."""

    __tablename__ = "consumers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    consumer_type: Mapped[str | None] = mapped_column(String(255))
    generation: Mapped[int] = mapped_column(Integer, default=0)


class Allocation(_Times, Base):
    __tablename__ = "allocations"
    __table_args__ = (Index("ix_allocations_provider_class", "resource_provider_id",
                            "resource_class"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No cascade: a provider with allocations cannot be deleted (409).
    resource_provider_id: Mapped[int] = mapped_column(ForeignKey("resource_providers.id"))
    consumer_id: Mapped[str] = mapped_column(String(36), index=True)
    resource_class: Mapped[str] = mapped_column(String(255))
    used: Mapped[int] = mapped_column(Integer)


class CustomResourceClass(_Times, Base):
    __tablename__ = "resource_classes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class CustomTrait(_Times, Base):
    __tablename__ = "traits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class ProviderTrait(Base):
    __tablename__ = "resource_provider_traits"
    __table_args__ = (Index("ix_resource_provider_traits_trait", "trait"),)

    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id", ondelete="CASCADE"), primary_key=True)
    trait: Mapped[str] = mapped_column(String(255), primary_key=True)


class ProviderAggregate(Base):
    __tablename__ = "resource_provider_aggregates"
    __table_args__ = (Index("ix_resource_provider_aggregates_aggregate", "aggregate_uuid"),)

    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id", ondelete="CASCADE"), primary_key=True)
    aggregate_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
