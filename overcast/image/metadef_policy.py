"""Default policy of the metadata definitions API: Glance's rule names and secure-RBAC defaults
(`glance/policies/metadef.py`).

Writes are for admins (`metadef_admin`). Reads need the reader role on the namespace's owner
project, or a public namespace; which namespaces a caller can see at all is decided by the
query (`Metadefs._visible`). Targets carry `project_id` (the namespace's owner, or the caller's
project for lists and creation) and `visibility`.
"""

from __future__ import annotations

from overcast.common.policy import Rule

__all__ = ["RULES"]

ADMIN = "rule:context_is_admin"
METADEF_ADMIN = "rule:metadef_admin"
PROJECT_READER = f"{ADMIN} or (role:reader and project_id:%(project_id)s)"
READER_OR_PUBLIC = (f"{ADMIN} or (role:reader and (project_id:%(project_id)s or "
                    "'public':%(visibility)s))")

_NS = "/v2/metadefs/namespaces/{namespace_name}"


def _r(name: str, check: str, description: str, *ops: tuple[str, str]) -> Rule:
    return Rule(name=name, check_str=check, description=description, operations=list(ops),
                scope_types=["project"])


RULES: list[Rule] = [
    Rule(name="metadef_default", check_str="",
         description="Glance's legacy default for metadef reads; no default rule uses it."),
    Rule(name="metadef_admin", check_str=ADMIN,
         description="Who may write the metadata definitions catalog."),
    _r("get_metadef_namespace", READER_OR_PUBLIC, "Get a specific namespace.", ("GET", _NS)),
    _r("get_metadef_namespaces", PROJECT_READER, "List namespaces.",
       ("GET", "/v2/metadefs/namespaces")),
    _r("modify_metadef_namespace", METADEF_ADMIN, "Modify an existing namespace.", ("PUT", _NS)),
    _r("add_metadef_namespace", METADEF_ADMIN, "Create a namespace.",
       ("POST", "/v2/metadefs/namespaces")),
    _r("delete_metadef_namespace", METADEF_ADMIN,
       "Delete a namespace, or all its objects, properties or tags.", ("DELETE", _NS),
       ("DELETE", f"{_NS}/objects"), ("DELETE", f"{_NS}/properties"),
       ("DELETE", f"{_NS}/tags")),
    _r("get_metadef_object", READER_OR_PUBLIC, "Get a specific object from a namespace.",
       ("GET", f"{_NS}/objects/{{object_name}}")),
    _r("get_metadef_objects", READER_OR_PUBLIC, "Get objects from a namespace.",
       ("GET", f"{_NS}/objects")),
    _r("modify_metadef_object", METADEF_ADMIN, "Update an object within a namespace.",
       ("PUT", f"{_NS}/objects/{{object_name}}")),
    _r("add_metadef_object", METADEF_ADMIN, "Create an object within a namespace.",
       ("POST", f"{_NS}/objects")),
    _r("delete_metadef_object", METADEF_ADMIN, "Delete an object within a namespace.",
       ("DELETE", f"{_NS}/objects/{{object_name}}")),
    _r("list_metadef_resource_types", READER_OR_PUBLIC, "List meta definition resource types.",
       ("GET", "/v2/metadefs/resource_types")),
    _r("get_metadef_resource_type", READER_OR_PUBLIC,
       "Get meta definition resource types associations.",
       ("GET", f"{_NS}/resource_types")),
    _r("add_metadef_resource_type_association", METADEF_ADMIN,
       "Create meta definition resource types association.",
       ("POST", f"{_NS}/resource_types")),
    _r("remove_metadef_resource_type_association", METADEF_ADMIN,
       "Delete meta definition resource types association.",
       ("DELETE", f"{_NS}/resource_types/{{name}}")),
    _r("get_metadef_property", READER_OR_PUBLIC, "Get a specific meta definition property.",
       ("GET", f"{_NS}/properties/{{property_name}}")),
    _r("get_metadef_properties", READER_OR_PUBLIC, "List meta definition properties.",
       ("GET", f"{_NS}/properties")),
    _r("modify_metadef_property", METADEF_ADMIN, "Update meta definition property.",
       ("PUT", f"{_NS}/properties/{{property_name}}")),
    _r("add_metadef_property", METADEF_ADMIN, "Create meta definition property.",
       ("POST", f"{_NS}/properties")),
    _r("remove_metadef_property", METADEF_ADMIN, "Delete meta definition property.",
       ("DELETE", f"{_NS}/properties/{{property_name}}")),
    _r("get_metadef_tag", READER_OR_PUBLIC, "Get tag definition.",
       ("GET", f"{_NS}/tags/{{tag_name}}")),
    _r("get_metadef_tags", READER_OR_PUBLIC, "List tag definitions.", ("GET", f"{_NS}/tags")),
    _r("modify_metadef_tag", METADEF_ADMIN, "Update tag definition.",
       ("PUT", f"{_NS}/tags/{{tag_name}}")),
    _r("add_metadef_tag", METADEF_ADMIN, "Add tag definition.",
       ("POST", f"{_NS}/tags/{{tag_name}}")),
    _r("add_metadef_tags", METADEF_ADMIN, "Create tag definitions.", ("POST", f"{_NS}/tags")),
    _r("delete_metadef_tag", METADEF_ADMIN, "Delete tag definition.",
       ("DELETE", f"{_NS}/tags/{{tag_name}}")),
    _r("delete_metadef_tags", METADEF_ADMIN, "Delete tag definitions.",
       ("DELETE", f"{_NS}/tags")),
]
