"""/v2/schemas/metadefs/...: the JSON-schema documents of the metadata definitions catalog, as
Glance serves them (a `name`, `properties`, `additionalProperties: false`, `required`,
`definitions`; the plural ones wrap the singular in a collection with first/next/schema links).
Bodies are checked against the same rules by the models in `api/metadef_bodies.py`."""

from __future__ import annotations

from typing import Any, get_args

from fastapi import APIRouter, Depends

from overcast.common.api import policy
from overcast.image.api import readable
from overcast.image.api.metadef_bodies import PropertyType
from overcast.image.metadefs import NAMESPACE_VISIBILITIES

#: Glance has no rule of its own for its schemas: "default" (where no other applies).
router = APIRouter(prefix="/v2/schemas/metadefs", tags=["schemas"], dependencies=[Depends(readable)])

_COLLECTION_LINKS = [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                     {"rel": "describedby", "href": "{schema}"}]


def _stamp(what: str, when: str) -> dict[str, Any]:
    return {"type": "string", "readOnly": True, "format": "date-time",
            "description": f"Date and time of {what} {when}"}


def _timestamps(what: str) -> dict[str, Any]:
    return {"created_at": _stamp(what, "creation"),
            "updated_at": _stamp(f"the last {what}", "modification")}


def _ro_string() -> dict[str, Any]:
    return {"type": "string", "readOnly": True}


def _document(name: str, properties: dict[str, Any], required: list[str] | None = None,
              definitions: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": name, "properties": properties, "additionalProperties": False}
    if definitions:
        doc["definitions"] = definitions
    if required:
        doc["required"] = required
    return doc


def _array_of(name: str, item: dict[str, Any]) -> dict[str, Any]:
    item = dict(item)
    definitions = item.pop("definitions", None)
    doc: dict[str, Any] = {
        "name": name,
        "properties": {name: {"type": "array", "items": item}, "first": {"type": "string"},
                       "next": {"type": "string"}, "schema": {"type": "string"}},
        "links": _COLLECTION_LINKS,
    }
    if definitions:
        doc["definitions"] = definitions
    return doc


def _type_enum() -> dict[str, Any]:
    return {"type": "string", "enum": [*get_args(PropertyType), None]}


def _property_fields() -> dict[str, Any]:
    """The fields of one property definition (Glance's PropertyType)."""
    return {
        "name": {"type": "string", "maxLength": 80},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "operators": {"type": "array", "items": {"type": "string"}},
        "type": _type_enum(),
        "required": {"$ref": "#/definitions/stringArray"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "maxLength": {"$ref": "#/definitions/positiveInteger"},
        "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "pattern": {"type": "string", "format": "regex"},
        "enum": {"type": "array"},
        "readonly": {"type": "boolean"},
        "default": {},
        "items": {"type": "object", "properties": {"type": _type_enum(),
                                                   "enum": {"type": "array"}}},
        "maxItems": {"$ref": "#/definitions/positiveInteger"},
        "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "uniqueItems": {"type": "boolean", "default": False},
        "additionalItems": {"type": "boolean"},
    }


def _definitions(with_property: bool = True, min_items: bool = False) -> dict[str, Any]:
    string_array: dict[str, Any] = {"type": "array", "items": {"type": "string"},
                                    "uniqueItems": True}
    if min_items:
        string_array["minItems"] = 1
    defs: dict[str, Any] = {
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"},
                                              {"default": 0}]},
        "stringArray": string_array,
    }
    if with_property:
        defs["property"] = {"type": "object", "additionalProperties": {
            "type": "object", "required": ["title", "type"], "properties": _property_fields()}}
    return defs


def namespace_schema() -> dict[str, Any]:
    props = {
        "namespace": {"type": "string", "maxLength": 80,
                      "description": "The unique namespace text."},
        "display_name": {"type": "string", "maxLength": 80,
                         "description": "The user friendly name for the namespace. Used by UI "
                                        "if available."},
        "description": {"type": "string", "maxLength": 500,
                        "description": "Provides a user friendly description of the "
                                       "namespace."},
        "visibility": {"type": "string", "enum": list(NAMESPACE_VISIBILITIES),
                       "description": "Scope of namespace accessibility."},
        "protected": {"type": "boolean",
                      "description": "If true, namespace will not be deletable."},
        "owner": {"type": "string", "maxLength": 255, "description": "Owner of the namespace."},
        **_timestamps("namespace"),
        "schema": _ro_string(),
        "self": _ro_string(),
        "resource_type_associations": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "prefix": {"type": "string"},
            "properties_target": {"type": "string"}}}},
        "properties": {"$ref": "#/definitions/property"},
        "objects": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "description": {"type": "string"},
            "required": {"$ref": "#/definitions/stringArray"},
            "properties": {"$ref": "#/definitions/property"}}}},
        "tags": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}}}},
    }
    return _document("namespace", props, ["namespace"], _definitions())


def object_schema() -> dict[str, Any]:
    props = {
        "name": {"type": "string", "maxLength": 80},
        "description": {"type": "string"},
        "required": {"$ref": "#/definitions/stringArray"},
        "properties": {"$ref": "#/definitions/property"},
        "schema": _ro_string(),
        "self": _ro_string(),
        **_timestamps("object"),
    }
    return _document("object", props, ["name"], _definitions())


def property_schema(require_name: bool = True) -> dict[str, Any]:
    required = ["type", "title", *(["name"] if require_name else [])]
    return _document("property", _property_fields(), required,
                     _definitions(with_property=False, min_items=True))


def resource_type_schema() -> dict[str, Any]:
    props = {
        "name": {"type": "string", "maxLength": 80,
                 "description": "Resource type names should be aligned with Heat resource "
                                "types whenever possible: https://docs.openstack.org/heat/"
                                "latest/template_guide/openstack.html"},
        "prefix": {"type": "string", "maxLength": 80,
                   "description": "Specifies the prefix to use for the given resource type. "
                                  "Any properties in the namespace should be prefixed with this "
                                  "prefix when being applied to the specified resource type. "
                                  "Must include prefix separator (e.g. a colon :)."},
        "properties_target": {"type": "string", "maxLength": 80,
                              "description": "Some resource types allow more than one key / "
                                             "value pair per instance. For example, Cinder "
                                             "allows user and image metadata on volumes. Only "
                                             "the image properties metadata is evaluated by "
                                             "Nova (scheduling or drivers). This property "
                                             "allows a namespace target to remove the "
                                             "ambiguity."},
        "created_at": _stamp("resource type", "association"),
        "updated_at": _stamp("the last resource type association", "modification"),
    }
    return _document("resource_type_association", props, ["name"])


def tag_schema() -> dict[str, Any]:
    props = {"name": {"type": "string", "maxLength": 80}, **_timestamps("tag")}
    return _document("tag", props, ["name"])


@router.get("/namespace", **policy("default"))
async def get_namespace_schema() -> dict[str, Any]:
    return namespace_schema()


@router.get("/namespaces", **policy("default"))
async def get_namespaces_schema() -> dict[str, Any]:
    return _array_of("namespaces", namespace_schema())


@router.get("/object", **policy("default"))
async def get_object_schema() -> dict[str, Any]:
    return object_schema()


@router.get("/objects", **policy("default"))
async def get_objects_schema() -> dict[str, Any]:
    return _array_of("objects", object_schema())


@router.get("/property", **policy("default"))
async def get_property_schema() -> dict[str, Any]:
    return property_schema()


@router.get("/properties", **policy("default"))
async def get_properties_schema() -> dict[str, Any]:
    # A dict collection: property names are the keys, so the items do not require a name.
    item = property_schema(require_name=False)
    definitions = item.pop("definitions")
    return {
        "name": "properties",
        "properties": {"properties": {"type": "object", "additionalProperties": item},
                       "first": {"type": "string"}, "next": {"type": "string"},
                       "schema": {"type": "string"}},
        "links": _COLLECTION_LINKS,
        "definitions": definitions,
    }


@router.get("/resource_type", **policy("default"))
async def get_resource_type_schema() -> dict[str, Any]:
    return resource_type_schema()


@router.get("/resource_types", **policy("default"))
async def get_resource_types_schema() -> dict[str, Any]:
    return _array_of("resource_type_associations", resource_type_schema())


@router.get("/tag", **policy("default"))
async def get_tag_schema() -> dict[str, Any]:
    return tag_schema()


@router.get("/tags", **policy("default"))
async def get_tags_schema() -> dict[str, Any]:
    return _array_of("tags", tag_schema())
