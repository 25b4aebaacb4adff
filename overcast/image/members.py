"""Image members: the projects a shared image is offered to, and what each said of it."""

from __future__ import annotations

from sqlalchemy import func, select

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.image.models import Image, ImageMember
from overcast.image.service import Caller, Images, MemberStatus

__all__ = ["Members"]


class Members:
    def __init__(self, images: Images):
        self.images = images
        self.db = images.db

    @staticmethod
    def _owner_only(caller: Caller, image: Image) -> None:
        if not caller.is_admin and image.owner != caller.project_id:
            raise faults.Forbidden("Only the owner of an image may manage its members.")

    async def add(self, caller: Caller, image_id: str, member_id: str) -> ImageMember:
        async with self.db.transaction() as s:
            image = await self.images.get(s, caller, image_id, for_update=True)
            self._owner_only(caller, image)
            if image.visibility != "shared":
                raise faults.Forbidden(f"Only shared images have members. Image {image_id} is "
                                       f"{image.visibility}.")
            if await s.get(ImageMember, (image_id, member_id)) is not None:
                raise faults.Conflict(f"Member {member_id} already has membership on image "
                                      f"{image_id}")
            quota = self.images.config.image_member_quota
            if quota >= 0:
                count = await s.scalar(select(func.count()).select_from(ImageMember).where(
                    ImageMember.image_id == image_id))
                if (count or 0) >= quota:
                    raise faults.OverQuota(f"Attempted: {(count or 0) + 1}, Maximum: {quota}: "
                                           "maximum number of image members exceeded.")
            now = utcnow()
            member = ImageMember(image_id=image_id, member=member_id, status="pending",
                                 created_at=now, updated_at=now)
            s.add(member)
        return member

    async def list(self, caller: Caller, image_id: str) -> list[ImageMember]:
        async with self.db.read() as s:
            image = await self.images.get(s, caller, image_id)
            if image.visibility != "shared":
                raise faults.Forbidden(f"Only shared images have members. Image {image_id} is "
                                       f"{image.visibility}.")
            q = select(ImageMember).where(ImageMember.image_id == image_id).order_by(
                ImageMember.created_at, ImageMember.member)
            if not caller.is_admin and image.owner != caller.project_id:
                q = q.where(ImageMember.member == caller.project_id)
            return list(await s.scalars(q))

    async def show(self, caller: Caller, image_id: str, member_id: str) -> ImageMember:
        async with self.db.read() as s:
            image = await self.images.get(s, caller, image_id)
            member = await s.get(ImageMember, (image_id, member_id))
            mine = caller.is_admin or image.owner == caller.project_id or \
                member_id == caller.project_id
            if member is None or not mine:
                raise faults.NotFound(f"Member {member_id} not found on image {image_id}")
            return member

    async def update(self, caller: Caller, image_id: str, member_id: str,
                     status: MemberStatus) -> ImageMember:
        async with self.db.transaction() as s:
            image = await self.images.get(s, caller, image_id)
            member = await s.get(ImageMember, (image_id, member_id))
            if member is None or not (caller.is_admin or image.owner == caller.project_id
                                      or member_id == caller.project_id):
                raise faults.NotFound(f"Member {member_id} not found on image {image_id}")
            if member_id != caller.project_id and not caller.is_admin:
                raise faults.Forbidden("Only the member project may accept or reject an image "
                                       "shared with it.")
            member.status = status
            member.updated_at = utcnow()
        return member

    async def delete(self, caller: Caller, image_id: str, member_id: str) -> None:
        async with self.db.transaction() as s:
            image = await self.images.get(s, caller, image_id)
            member = await s.get(ImageMember, (image_id, member_id))
            if member is None:
                raise faults.NotFound(f"Member {member_id} not found on image {image_id}")
            self._owner_only(caller, image)
            await s.delete(member)
