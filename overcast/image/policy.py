"""Default policy of the image API, with Glance's rule names and its secure-RBAC defaults.

Which images a caller can see at all (public, community, own, shared-and-member) is decided by
the query (`Images.visible`), as Glance's database layer does; these rules then say what a
caller may do with an image it can see. Targets carry `project_id` (the image's owner, or the
caller's project for lists and creation), `visibility` and `member_id`.
"""

from __future__ import annotations

from overcast.common.policy import Rule
from overcast.image.metadef_policy import RULES as METADEF_RULES

__all__ = ["KEPT_FOR_OPERATORS", "RULES"]

#: Glance's legacy base rule for metadefs reads: no default refers to it any more, an
#: operator's policy.yaml still may.
KEPT_FOR_OPERATORS = frozenset({"metadef_default"})

ADMIN = "role:admin"
OWNER_READER = "(role:reader and project_id:%(project_id)s)"
OWNER_MEMBER = "(role:member and project_id:%(project_id)s)"
MEMBER_READER = "(role:reader and project_id:%(member_id)s)"
ADMIN_OR_OWNER_MEMBER = f"{ADMIN} or {OWNER_MEMBER}"
ADMIN_OR_READER = f"{ADMIN} or role:reader"


def _r(name: str, check: str, description: str, *ops: tuple[str, str]) -> Rule:
    return Rule(name=name, check_str=check, description=description, operations=list(ops),
                scope_types=["project"])


RULES: list[Rule] = [
    _r("context_is_admin", ADMIN, "Who counts as an administrator: sees every image."),
    _r("default", "", "Rule used where no other applies (Glance's: anyone with a token): its "
       "schemas and the /v2/info documents.", ("GET", "/v2/schemas/image"),
       ("GET", "/v2/info/import"), ("GET", "/v2/info/stores")),
    _r("add_image", ADMIN_OR_OWNER_MEMBER, "Create an image.", ("POST", "/v2/images")),
    _r("get_images", ADMIN_OR_READER, "List images.", ("GET", "/v2/images")),
    _r("get_image", ADMIN_OR_READER, "Show an image the caller can see.",
       ("GET", "/v2/images/{image_id}")),
    _r("modify_image", ADMIN_OR_OWNER_MEMBER, "Update an image, its tags and properties.",
       ("PATCH", "/v2/images/{image_id}"), ("PUT", "/v2/images/{image_id}/tags/{tag}"),
       ("DELETE", "/v2/images/{image_id}/tags/{tag}")),
    _r("delete_image", ADMIN_OR_OWNER_MEMBER, "Delete an image.",
       ("DELETE", "/v2/images/{image_id}")),
    _r("publicize_image", ADMIN, "Make an image public.", ("PATCH", "/v2/images/{image_id}")),
    _r("communitize_image", ADMIN_OR_OWNER_MEMBER, "Make an image community.",
       ("PATCH", "/v2/images/{image_id}")),
    _r("upload_image", ADMIN_OR_OWNER_MEMBER, "Upload or stage image data.",
       ("PUT", "/v2/images/{image_id}/file"), ("PUT", "/v2/images/{image_id}/stage")),
    _r("import_image", ADMIN_OR_OWNER_MEMBER, "Import staged or remote data into an image.",
       ("POST", "/v2/images/{image_id}/import")),
    _r("download_image", ADMIN_OR_READER, "Download the data of an image the caller can see.",
       ("GET", "/v2/images/{image_id}/file")),
    _r("deactivate", ADMIN_OR_OWNER_MEMBER, "Deactivate an image.",
       ("POST", "/v2/images/{image_id}/actions/deactivate")),
    _r("reactivate", ADMIN_OR_OWNER_MEMBER, "Reactivate an image.",
       ("POST", "/v2/images/{image_id}/actions/reactivate")),
    _r("add_member", ADMIN_OR_OWNER_MEMBER, "Share an image with a project.",
       ("POST", "/v2/images/{image_id}/members")),
    _r("delete_member", ADMIN_OR_OWNER_MEMBER, "Stop sharing an image with a project.",
       ("DELETE", "/v2/images/{image_id}/members/{member_id}")),
    _r("get_member", f"{ADMIN} or {OWNER_READER} or {MEMBER_READER}", "Show a membership.",
       ("GET", "/v2/images/{image_id}/members/{member_id}")),
    _r("get_members", f"{ADMIN} or {OWNER_READER} or {MEMBER_READER}", "List an image's members.",
       ("GET", "/v2/images/{image_id}/members")),
    _r("modify_member", f"{ADMIN} or (role:member and project_id:%(member_id)s)",
       "Accept or reject an image shared with the caller's project.",
       ("PUT", "/v2/images/{image_id}/members/{member_id}")),
    _r("delete_image_location", ADMIN, "Remove an image's data from one store.",
       ("DELETE", "/v2/stores/{store_id}/{image_id}")),
    _r("add_task", ADMIN, "Create a task (the legacy tasks API).", ("POST", "/v2/tasks")),
    _r("get_tasks", ADMIN, "List tasks.", ("GET", "/v2/tasks")),
    _r("get_task", ADMIN, "Show a task.", ("GET", "/v2/tasks/{task_id}")),
]
RULES += METADEF_RULES
