"""/v2/schemas/image(s) and member(s): Glance's JSON-schema documents, which python-glanceclient
reads to tell core attributes from custom properties (CLIENT_SURFACE.md)."""

from __future__ import annotations

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


def _extra(description: str, **extra: Any) -> dict[str, Any]:
    # "is_base": false marks the properties glanceclient treats as removable custom ones.
    return {"type": "string", "is_base": False, "description": description, **extra}


def image_schema() -> dict[str, Any]:
    props: dict[str, Any] = {
        "id": {"type": "string", "pattern": UUID_PATTERN,
               "description": "An identifier for the image"},
        "name": {"type": ["null", "string"], "maxLength": 255,
                 "description": "Descriptive name for the image"},
        "status": _ro("string", "Status of the image", enum=list(STATUSES)),
        "visibility": {"type": "string", "enum": ["community", "public", "private", "shared"],
                       "description": "Scope of image accessibility"},
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
        "owner": {"type": ["null", "string"], "maxLength": 255,
                  "description": "Owner of the image"},
        "size": _ro(["null", "integer"], "Size of image file in bytes"),
        "virtual_size": _ro(["null", "integer"], "Virtual size of image in bytes"),
        "container_format": {"type": ["null", "string"], "enum": [None, *CONTAINER_FORMATS],
                             "description": "Format of the container"},
        "disk_format": {"type": ["null", "string"], "enum": [None, *DISK_FORMATS],
                        "description": "Format of the disk"},
        "created_at": _ro("string", "Date and time of image registration"),
        "updated_at": _ro("string", "Date and time of the last image modification"),
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255},
                 "description": "List of strings related to the image"},
        "direct_url": _ro("string", "URL to access the image file kept in external store"),
        "min_ram": {"type": "integer", "description": "Amount of ram (in MB) required to boot "
                    "image."},
        "min_disk": {"type": "integer", "description": "Amount of disk space (in GB) required to "
                     "boot image."},
        "self": _ro("string", "An image self url"),
        "file": _ro("string", "An image file url"),
        "stores": _ro("string", "Store in which image data resides."),
        "schema": _ro("string", "An image schema url"),
        "locations": {"type": "array", "description": "A set of URLs to access the image file "
                      "kept in external store",
                      "items": {"type": "object", "required": ["url", "metadata"],
                                "properties": {"url": {"type": "string", "maxLength": 255},
                                               "metadata": {"type": "object"},
                                               "validation_data": {"type": "object"}}}},
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
