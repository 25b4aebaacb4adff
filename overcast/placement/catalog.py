"""Resource classes and traits: the standard names (code) and the custom ones (rows)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.placement.errors import DuplicateName
from overcast.placement.models import (
    Allocation,
    CustomResourceClass,
    CustomTrait,
    Inventory,
    ProviderTrait,
)
from overcast.placement.standards import STANDARD_CLASSES, STANDARD_TRAITS, is_custom
from overcast.placement.state import PlacementState

__all__ = ["ResourceClasses", "Traits", "check_classes", "check_traits"]

_STANDARD_CLASS_SET = frozenset(STANDARD_CLASSES)
BAD_TRAIT = ("The trait is invalid. A valid trait must be no longer than 255 characters, start "
             "with the prefix \"CUSTOM_\" and use following characters: \"A\"-\"Z\", \"0\"-\"9\" "
             "and \"_\"")


async def check_classes(s: AsyncSession, names: Iterable[str]) -> None:
    """400 unless every name is a standard or an existing custom resource class."""
    custom = {n for n in names if n not in _STANDARD_CLASS_SET}
    if custom:
        known = set(await s.scalars(select(CustomResourceClass.name)
                                    .where(CustomResourceClass.name.in_(custom))))
        missing = sorted(custom - known)
        if missing:
            raise faults.BadRequest(f"Invalid resource class in resources parameter: No such "
                                    f"resource class {', '.join(missing)}.")


async def check_traits(s: AsyncSession, names: Iterable[str]) -> None:
    """400 unless every name is a standard or an existing custom trait."""
    custom = {n for n in names if n not in STANDARD_TRAITS}
    if custom:
        known = set(await s.scalars(select(CustomTrait.name).where(CustomTrait.name.in_(custom))))
        missing = sorted(custom - known)
        if missing:
            raise faults.BadRequest(f"No such trait(s): {', '.join(missing)}.")


class ResourceClasses:
    def __init__(self, state: PlacementState):
        self.db = state.db

    async def list(self) -> builtins.list[tuple[str, datetime | None]]:
        async with self.db.read() as s:
            custom = (await s.execute(select(CustomResourceClass.name,
                                             CustomResourceClass.updated_at)
                                      .order_by(CustomResourceClass.id))).all()
        return [(n, None) for n in STANDARD_CLASSES] + list(custom)

    async def get(self, name: str) -> str:
        if name in _STANDARD_CLASS_SET:
            return name
        async with self.db.read() as s:
            if await s.scalar(select(CustomResourceClass.id)
                              .where(CustomResourceClass.name == name)) is None:
                raise faults.NotFound(f"No such resource class {name}.")
        return name

    async def create(self, name: str) -> None:
        if not is_custom(name):
            raise faults.BadRequest(f"JSON does not validate: '{name}' does not match "
                                    f"'^CUSTOM_[A-Z0-9_]+$'")
        try:
            async with self.db.transaction() as s:
                if await s.scalar(select(CustomResourceClass.id)
                                  .where(CustomResourceClass.name == name)) is not None:
                    raise faults.Conflict(f"Conflicting resource class already exists: {name}")
                s.add(CustomResourceClass(name=name))
        except IntegrityError:
            raise faults.Conflict(f"Conflicting resource class already exists: {name}") from None

    async def ensure(self, name: str) -> bool:
        """PUT at 1.7+: create the custom class, or confirm it exists; True when created."""
        if not is_custom(name):
            raise faults.BadRequest(f"JSON does not validate: '{name}' does not match "
                                    f"'^CUSTOM_[A-Z0-9_]+$'")
        try:
            async with self.db.transaction() as s:
                if await s.scalar(select(CustomResourceClass.id)
                                  .where(CustomResourceClass.name == name)) is not None:
                    return False
                s.add(CustomResourceClass(name=name))
                return True
        except IntegrityError:
            return False  # created at the same moment by another request: it exists

    async def rename(self, name: str, new: str) -> None:
        """PUT before 1.7: rename a custom class."""
        if name in _STANDARD_CLASS_SET:
            raise faults.BadRequest(f"Cannot update standard resource class {name}")
        if not is_custom(new):
            raise faults.BadRequest(f"JSON does not validate: '{new}' does not match "
                                    f"'^CUSTOM_[A-Z0-9_]+$'")
        async with self.db.transaction() as s:
            row = await s.scalar(select(CustomResourceClass)
                                 .where(CustomResourceClass.name == name))
            if row is None:
                raise faults.NotFound(f"No such resource class {name}.")
            if await s.scalar(select(CustomResourceClass.id)
                              .where(CustomResourceClass.name == new)) is not None:
                raise DuplicateName(f"Resource class already exists: {new}")
            if await _class_in_use(s, name):
                raise faults.Conflict(f"Unable to update resource class {name}: it is in use.")
            row.name = new
            row.updated_at = utcnow()

    async def delete(self, name: str) -> None:
        if name in _STANDARD_CLASS_SET:
            raise faults.BadRequest(f"Cannot delete standard resource class {name}: "
                                    f"standard resource classes are not deletable.")
        async with self.db.transaction() as s:
            row = await s.scalar(select(CustomResourceClass)
                                 .where(CustomResourceClass.name == name))
            if row is None:
                raise faults.NotFound(f"No such resource class {name}.")
            if await _class_in_use(s, name):
                raise faults.Conflict(f"Unable to delete resource class {name}. The resource "
                                      f"class is in use in inventory.")
            await s.delete(row)


async def _class_in_use(s: AsyncSession, name: str) -> bool:
    return bool(await s.scalar(select(
        exists().where(Inventory.resource_class == name)
        | exists().where(Allocation.resource_class == name))))


class Traits:
    def __init__(self, state: PlacementState):
        self.db = state.db

    async def list(self, names: set[str] | None = None, prefix: str | None = None,
                   associated: bool | None = None) -> builtins.list[str]:
        async with self.db.read() as s:
            everything = set(STANDARD_TRAITS) | set(await s.scalars(select(CustomTrait.name)))
            if associated is not None:
                used = set(await s.scalars(select(ProviderTrait.trait).distinct()))
                everything = everything & used if associated else everything - used
        if names is not None:
            everything &= names
        if prefix is not None:
            everything = {t for t in everything if t.startswith(prefix)}
        return sorted(everything)

    async def exists(self, name: str) -> None:
        if name in STANDARD_TRAITS:
            return
        async with self.db.read() as s:
            if await s.scalar(select(CustomTrait.id).where(CustomTrait.name == name)) is None:
                raise faults.NotFound(f"No such trait(s): {name}")

    async def ensure(self, name: str) -> bool:
        """PUT /traits/{name}: True when created, False when it was there."""
        if name in STANDARD_TRAITS:
            return False
        if not is_custom(name) or len(name) > 255:
            raise faults.BadRequest(BAD_TRAIT)
        try:
            async with self.db.transaction() as s:
                if await s.scalar(select(CustomTrait.id).where(CustomTrait.name == name)):
                    return False
                s.add(CustomTrait(name=name))
                return True
        except IntegrityError:
            return False

    async def delete(self, name: str) -> None:
        if name in STANDARD_TRAITS:
            raise faults.BadRequest(f"Cannot delete standard trait {name}.")
        async with self.db.transaction() as s:
            row = await s.scalar(select(CustomTrait).where(CustomTrait.name == name))
            if row is None:
                raise faults.NotFound(f"No such trait(s): {name}")
            if await s.scalar(select(func.count()).select_from(ProviderTrait)
                              .where(ProviderTrait.trait == name)):
                raise faults.Conflict(f"The trait {name} is in use by a resource provider.")
            await s.delete(row)
