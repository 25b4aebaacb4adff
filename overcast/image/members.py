"""Image members: the projects a shared image is offered to, and what each said of it.

Each method loads the image (scoped by `Images.visible`), enforces its rule with the image's
owner and the membership's project as target, and changes the membership, in one transaction.
"""

from __future__ import annotations

from sqlalchemy import func, select

from overcast.common import faults
from overcast.common.clock import utcnow
from overcast.common.context import RequestContext
from overcast.image.models import Image, ImageMember
from overcast.image.service import IMAGE_NOT_FOUND, Images, MemberStatus, image_target

__all__ = ["Members"]


def _shared_only(image: Image, refusal: faults.Fault) -> None:
    """Glance's first check of every member operation, before any rule: only shared images
    have members; each operation words the refusal its own way (image_members.py)."""
    if image.visibility != "shared":
        raise refusal


def _not_member(image_id: str, member_id: str) -> faults.NotFound:
    return faults.NotFound(f"{member_id} not found in the member list of the image {image_id}.")


class Members:
    def __init__(self, images: Images):
        self.images = images
        self.db = images.db

    @staticmethod
    def _concerns(ctx: RequestContext, image: Image, member_id: str) -> bool:
        """Whether the caller may know of this membership: the image's owner, the member
        project itself, or context_is_admin."""
        return (image.owner == ctx.project_id or member_id == ctx.project_id
                or ctx.can("context_is_admin"))

    async def add(self, ctx: RequestContext, image_id: str, member_id: str) -> ImageMember:
        async with self.db.transaction() as s:
            image = await self.images.load(s, ctx, image_id, for_update=True,
                                           missing=IMAGE_NOT_FOUND)
            _shared_only(image, faults.Forbidden(f"Not allowed to create members for image "
                                                 f"{image_id}."))
            ctx.enforce("add_member", image_target(image, member_id))
            if await s.get(ImageMember, (image_id, member_id)) is not None:
                raise faults.Conflict(f"Member {member_id} is duplicated for image {image_id}")
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

    async def list(self, ctx: RequestContext, image_id: str) -> list[ImageMember]:
        """The image's memberships; a member project sees only its own."""
        async with self.db.read() as s:
            image = await self.images.load(s, ctx, image_id, missing=IMAGE_NOT_FOUND)
            _shared_only(image, faults.Forbidden(f"Not allowed to list members for image "
                                                 f"{image_id}: Only shared images have members."))
            ctx.enforce("get_members", image_target(image, ctx.project_id))
            q = select(ImageMember).where(ImageMember.image_id == image_id).order_by(
                ImageMember.created_at, ImageMember.member)
            if image.owner != ctx.project_id and not ctx.can("context_is_admin"):
                q = q.where(ImageMember.member == ctx.project_id)
            return list(await s.scalars(q))

    async def show(self, ctx: RequestContext, image_id: str, member_id: str) -> ImageMember:
        async with self.db.read() as s:
            image = await self.images.load(s, ctx, image_id, missing=IMAGE_NOT_FOUND)
            # A refusal here is a 404, as Glance's show hides a membership it will not show.
            _shared_only(image, faults.NotFound("Only shared images have members."))
            ctx.enforce("get_member", image_target(image, member_id))
            member = await s.get(ImageMember, (image_id, member_id))
            if member is None or not self._concerns(ctx, image, member_id):
                raise _not_member(image_id, member_id)
            return member

    async def update(self, ctx: RequestContext, image_id: str, member_id: str,
                     status: MemberStatus) -> ImageMember:
        """The member project accepts or rejects the image (modify_member)."""
        async with self.db.transaction() as s:
            image = await self.images.load(s, ctx, image_id, missing=IMAGE_NOT_FOUND)
            _shared_only(image, faults.Forbidden(f"Not allowed to update members for image "
                                                 f"{image_id}."))
            member = await s.get(ImageMember, (image_id, member_id), with_for_update=True)
            if member is None or not self._concerns(ctx, image, member_id):
                raise _not_member(image_id, member_id)
            ctx.enforce("modify_member", image_target(image, member_id))
            member.status = status
            member.updated_at = utcnow()
        return member

    async def delete(self, ctx: RequestContext, image_id: str, member_id: str) -> None:
        async with self.db.transaction() as s:
            image = await self.images.load(s, ctx, image_id, missing=IMAGE_NOT_FOUND)
            _shared_only(image, faults.Forbidden(f"Not allowed to delete members for image "
                                                 f"{image_id}."))
            member = await s.get(ImageMember, (image_id, member_id), with_for_update=True)
            if member is None:
                raise _not_member(image_id, member_id)
            ctx.enforce("delete_member", image_target(image, member_id))
            await s.delete(member)
