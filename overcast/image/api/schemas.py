"""/v2/schemas/image(s) and member(s): Glance's JSON-schema documents, which python-glanceclient
reads to tell core attributes from custom properties (CLIENT_SURFACE.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pprint import pformat
from typing import Any

from fastapi import APIRouter, Depends

from overcast.common.api import policy
from overcast.image.api import readable
from overcast.image.service import CONTAINER_FORMATS, DISK_FORMATS, MEMBER_STATUSES, STATUSES

#: Glance has no rule of its own for its schemas: "default" (where no other applies).
router = APIRouter(prefix="/v2/schemas", tags=["schemas"], dependencies=[Depends(readable)])

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){12}$")


def _ro(kind: Any, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "readOnly": True, "description": description, **extra}


#: What a location's `validation_data` may say (Glance 33's image schema; this cloud takes no
#: locations, but the schema is Glance's).
_VALIDATION_DATA = {
    "description": "Values to be used to populate the corresponding image properties. If the "
                   "image status is not 'queued', values must exactly match those already "
                   "contained in the image properties.",
    "type": "object",
    "writeOnly": True,
    "additionalProperties": False,
    "properties": {"checksum": {"type": "string", "minLength": 32, "maxLength": 32},
                   "os_hash_algo": {"type": "string", "maxLength": 64},
                   "os_hash_value": {"type": "string", "maxLength": 128}},
    "required": ["os_hash_algo", "os_hash_value"],
}


def _extra(description: str, **extra: Any) -> dict[str, Any]:
    # "is_base": false marks the properties glanceclient treats as removable custom ones.
    return {"type": "string", "is_base": False, "description": description, **extra}


def image_schema() -> dict[str, Any]:
    # Each property's keys in Glance's order (glance/api/v2/images.py get_base_properties):
    # a refusal quotes the property's schema as Glance's does (see `schema_error`).
    props: dict[str, Any] = {
        "id": {"type": "string", "description": "An identifier for the image",
               "pattern": UUID_PATTERN},
        "name": {"type": ["null", "string"], "description": "Descriptive name for the image",
                 "maxLength": 255},
        "status": _ro("string", "Status of the image", enum=list(STATUSES)),
        "visibility": {"type": "string", "description": "Scope of image accessibility",
                       "enum": ["community", "public", "private", "shared"]},
        "protected": {"type": "boolean",
                      "description": "If true, image will not be deletable."},
        "os_hidden": {"type": "boolean",
                      "description": "If true, image will not appear in default image list "
                                     "response."},
        "checksum": _ro(["null", "string"], "md5 hash of image contents.", maxLength=32),
        "os_hash_algo": _ro(["null", "string"], "Algorithm to calculate the os_hash_value",
                            maxLength=64),
        "os_hash_value": _ro(["null", "string"], "Hexdigest of the image contents using the "
                             "algorithm specified by the os_hash_algo", maxLength=128),
        "owner": {"type": ["null", "string"], "description": "Owner of the image",
                  "maxLength": 255},
        "size": _ro(["null", "integer"], "Size of image file in bytes"),
        "virtual_size": _ro(["null", "integer"], "Virtual size of image in bytes"),
        "container_format": {"type": ["null", "string"], "description": "Format of the container",
                             "enum": [None, *CONTAINER_FORMATS]},
        "disk_format": {"type": ["null", "string"], "description": "Format of the disk",
                        "enum": [None, *DISK_FORMATS]},
        "created_at": _ro("string", "Date and time of image registration"),
        "updated_at": _ro("string", "Date and time of the last image modification"),
        "tags": {"type": "array", "description": "List of strings related to the image",
                 "items": {"type": "string", "maxLength": 255}},
        "direct_url": _ro("string", "URL to access the image file kept in external store"),
        "min_ram": {"type": "integer", "description": "Amount of ram (in MB) required to boot "
                    "image."},
        "min_disk": {"type": "integer", "description": "Amount of disk space (in GB) required to "
                     "boot image."},
        "self": _ro("string", "An image self url"),
        "file": _ro("string", "An image file url"),
        "stores": _ro("string", "Store in which image data resides.  Only present when the "
                      "operator has enabled multiple stores.  May be a comma-separated list of "
                      "store identifiers."),
        "schema": _ro("string", "An image schema url"),
        "locations": {"type": "array",
                      "items": {"type": "object",
                                "properties": {"url": {"type": "string", "maxLength": 255},
                                               "metadata": {"type": "object"},
                                               "validation_data": _VALIDATION_DATA},
                                "required": ["url", "metadata"]},
                      "description": "A set of URLs to access the image file kept in external "
                      "store"},
        "kernel_id": {"type": ["null", "string"], "pattern": UUID_PATTERN, "is_base": False,
                      "description": "ID of image stored in Glance that should be used as the "
                      "kernel when booting an AMI-style image."},
        "ramdisk_id": {"type": ["null", "string"], "pattern": UUID_PATTERN, "is_base": False,
                       "description": "ID of image stored in Glance that should be used as the "
                       "ramdisk when booting an AMI-style image."},
        "instance_uuid": _extra("Metadata which can be used to record which instance this "
                                "image is associated with."),
        "architecture": _extra("Operating system architecture"),
        "os_distro": _extra("Common name of operating system distribution"),
        "os_version": _extra("Operating system version as specified by the distributor"),
        "description": _extra("A human-readable string describing this image."),
        "cim_pasd_cpu_count": _extra("Number of processors"),
    }
    return {
        "name": "image",
        "properties": props,
        "additionalProperties": {"type": "string"},
        "links": [{"href": "{self}", "rel": "self"}, {"href": "{file}", "rel": "enclosure"},
                  {"href": "{schema}", "rel": "describedby"}],
    }


# -- refusals worded as Glance's: jsonschema's best match, as glance/schema.py reports it --
@dataclass
class _Error:
    message: str
    keyword: str
    schema: dict[str, Any]
    instance: Any
    path: tuple[str | int, ...]
    schema_path: tuple[str | int, ...]


def _is(value: Any, kind: str) -> bool:
    """JSON Schema 2020-12 types (jsonschema's default for a schema without `$schema`)."""
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    kinds: dict[str, Any] = {"null": type(None), "boolean": bool, "string": str, "array": list,
                             "object": dict}
    return isinstance(value, kinds[kind])


def _equal(one: Any, two: Any) -> bool:
    """jsonschema's enum equality: True is not 1, None is only None."""
    if isinstance(one, str) or isinstance(two, str) or one is None or two is None:
        return bool(one == two) and type(one) is type(two)
    if isinstance(one, bool) or isinstance(two, bool):
        return one is two
    return bool(one == two)


def _errors(schema: dict[str, Any], value: Any, path: tuple[str | int, ...] = (),
            schema_path: tuple[str | int, ...] = ()) -> Iterator[_Error]:
    """What each keyword of `schema` finds wrong with `value`, in the schema's key order (the
    keywords Glance's image schema uses)."""
    for keyword, expected in schema.items():
        def error(message: str, keyword: str = keyword) -> _Error:
            return _Error(message, keyword, schema, value, path, (*schema_path, keyword))
        if keyword == "type":
            kinds = [expected] if isinstance(expected, str) else expected
            if not any(_is(value, k) for k in kinds):
                yield error(f"{value!r} is not of type {', '.join(repr(k) for k in kinds)}")
        elif keyword == "enum":
            if not any(_equal(e, value) for e in expected):
                yield error(f"{value!r} is not one of {expected!r}")
        elif keyword == "maxLength" and isinstance(value, str) and len(value) > expected:
            yield error(f"{value!r} {'is expected to be empty' if expected == 0 else 'is too long'}")
        elif keyword == "minLength" and isinstance(value, str) and len(value) < expected:
            yield error(f"{value!r} {'should be non-empty' if expected == 1 else 'is too short'}")
        elif keyword == "pattern" and isinstance(value, str) and not re.search(expected, value):
            yield error(f"{value!r} does not match {expected!r}")
        elif keyword == "required" and isinstance(value, dict):
            for name in expected:
                if name not in value:
                    yield error(f"{name!r} is a required property")
        elif keyword == "properties" and isinstance(value, dict):
            for name, sub in expected.items():
                if name in value:
                    yield from _errors(sub, value[name], (*path, name),
                                       (*schema_path, keyword, name))
        elif keyword == "additionalProperties" and isinstance(value, dict):
            extras = [k for k in value if k not in schema.get("properties", {})]
            if isinstance(expected, dict):
                for name in extras:
                    yield from _errors(expected, value[name], (*path, name),
                                       (*schema_path, keyword))
            elif expected is False and extras:
                names = ", ".join(repr(k) for k in sorted(extras, key=str))
                verb = "was" if len(extras) == 1 else "were"
                yield error(f"Additional properties are not allowed ({names} {verb} unexpected)")
        elif keyword == "items" and isinstance(value, list) and isinstance(expected, dict):
            for index, item in enumerate(value):
                yield from _errors(expected, item, (*path, index), (*schema_path, keyword))


def _relevance(e: _Error) -> tuple[Any, ...]:
    """jsonschema's best_match: the shallowest error, then the greatest path; then one whose
    value at least has the schema's type."""
    kinds = e.schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    matches = kinds is not None and any(_is(e.instance, k) for k in kinds)
    return (-len(e.path), e.path, not matches)


def _index(word: str, indices: Sequence[str | int]) -> str:
    return f"{word}[{']['.join(repr(i) for i in indices)}]" if indices else word


def _pretty(thing: Any) -> str:
    return pformat(thing, width=72, sort_dicts=False).replace("\n", "\n    ")


def schema_error(schema: dict[str, Any], value: Any) -> str | None:
    """Why `value` does not match `schema`, in the words Glance 33 gets from jsonschema
    (`str(best_match(...))`: the message, the failing keyword and its schema, the value), or
    None when it matches."""
    found = list(_errors(schema, value))
    if not found:
        return None
    e = max(found, key=_relevance)  # max keeps the first of equals, as jsonschema's
    return (f"{e.message}\n\nFailed validating {e.keyword!r} in "
            f"{_index('schema', e.schema_path[:-1])}:\n    {_pretty(e.schema)}\n\n"
            f"On {_index('instance', e.path)}:\n    {_pretty(e.instance)}")


IMAGE_SCHEMA = image_schema()


def member_schema() -> dict[str, Any]:
    return {
        "name": "member",
        "properties": {
            "created_at": {"type": "string", "description": "Date and time of image member "
                           "creation"},
            "image_id": {"type": "string", "pattern": UUID_PATTERN,
                         "description": "An identifier for the image"},
            "member_id": {"type": "string", "description": "An identifier for the image member "
                          "(tenantId)"},
            "schema": {"type": "string", "readOnly": True},
            "status": {"type": "string", "enum": list(MEMBER_STATUSES),
                       "description": "The status of this image member"},
            "updated_at": {"type": "string", "description": "Date and time of last modification "
                           "of image member"},
        },
    }


@router.get("/image", **policy("default"))
async def get_image_schema() -> dict[str, Any]:
    return image_schema()


@router.get("/images", **policy("default"))
async def get_images_schema() -> dict[str, Any]:
    return {
        "name": "images",
        "properties": {"images": {"type": "array", "items": image_schema()},
                       "schema": {"type": "string"}, "first": {"type": "string"},
                       "next": {"type": "string"}},
        "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                  {"rel": "describedby", "href": "{schema}"}],
    }


@router.get("/member", **policy("default"))
async def get_member_schema() -> dict[str, Any]:
    return member_schema()


@router.get("/members", **policy("default"))
async def get_members_schema() -> dict[str, Any]:
    return {"name": "members",
            "properties": {"members": {"type": "array", "items": member_schema()},
                           "schema": {"type": "string"}},
            "links": [{"rel": "describedby", "href": "{schema}"}]}
