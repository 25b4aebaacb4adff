"""Request bodies of /v2/metadefs: namespaces, objects, property definitions, tags and
resource type associations, as Glance's schemas at /v2/schemas/metadefs/... describe them.

Unknown keys and wrong types are 400, the read-only keys (self, schema, created_at,
updated_at) 403 (Glance's RequestDeserializer._disallowed_properties). A key Glance types as a
string may not be null. Each model gives the domain its typed spec (metadefs.py).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    Field,
    FiniteFloat,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from overcast.common import faults
from overcast.image.api.bodies import Body, Str255
from overcast.image.metadefs import AssociationSpec, NamespaceSpec, ObjectSpec

__all__ = ["AssociationBody", "NamespaceBody", "ObjectBody", "PropertyBody", "TagBody",
           "TagsBody"]

Name = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"\S")]
Str80 = Annotated[str, StringConstraints(max_length=80)]
Count = Annotated[StrictInt, Field(ge=0)]
Number = StrictInt | Annotated[FiniteFloat, Field(strict=True)]
PropertyType = Literal["array", "boolean", "integer", "number", "object", "string"]


class _Metadef(Body):
    """A metadefs body: read-only keys are 403; keys typed as strings may not be null."""

    read_only: ClassVar[tuple[str, ...]] = ("self", "schema", "created_at", "updated_at")
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in cls.read_only:
                if key in data:
                    raise faults.Forbidden(f"Attribute '{key}' is read-only.")
            for key, value in data.items():
                if value is None and key in cls.model_fields and key not in cls.nullable:
                    raise ValueError(f"Provided object does not match schema "
                                     f"'{cls.glance_schema}': None is not of type "
                                     f"'string' ({key})")
        return data


class ItemsBody(_Metadef):
    glance_schema = "property"
    read_only = ()

    type: PropertyType | None = None
    enum: list[Any] | None = None


class PropertyBody(_Metadef):
    """A property definition (Glance's PropertyType): a JSON-schema fragment with a title."""

    glance_schema = "property"
    read_only = ("created_at", "updated_at")
    nullable = frozenset({"type", "default"})

    name: Name | None = None
    title: str
    type: PropertyType | None
    description: str | None = None
    operators: list[str] | None = None
    default: Any = None
    readonly: StrictBool | None = None
    confidential: StrictBool | None = None
    minimum: Number | None = None
    maximum: Number | None = None
    enum: list[Any] | None = None
    pattern: str | None = None
    minLength: Count | None = None
    maxLength: Count | None = None
    items: ItemsBody | None = None
    uniqueItems: StrictBool | None = None
    minItems: Count | None = None
    maxItems: Count | None = None
    additionalItems: StrictBool | None = None

    def definition(self) -> dict[str, Any]:
        """The JSON-schema fragment as given (without the name)."""
        return self.model_dump(exclude={"name"}, exclude_unset=True)

    def named(self) -> tuple[str, dict[str, Any]]:
        if self.name is None:
            raise faults.BadRequest("Provided object does not match schema 'property': 'name' "
                                    "is a required property")
        return self.name, self.definition()


def _definitions(value: dict[str, PropertyBody]) -> dict[str, dict[str, Any]]:
    return {name: prop.definition() for name, prop in value.items()}


class ObjectBody(_Metadef):
    """An object definition: a named group of property definitions."""

    glance_schema = "object"

    name: Name
    description: str | None = None
    required: list[str] | None = None
    properties: dict[Name, PropertyBody] = {}

    @field_validator("required")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"Provided object does not match schema 'object': {value!r:.80} "
                             "has non-unique elements (required)")
        return value

    def spec(self) -> ObjectSpec:
        return ObjectSpec(self.name, self.description, self.required,
                          _definitions(self.properties))


class AssociationBody(_Metadef):
    """A namespace's association with a resource type (and the prefix of its properties)."""

    glance_schema = "resource_type_association"
    read_only = ("created_at", "updated_at")

    name: Name
    prefix: Str80 | None = None
    properties_target: Str80 | None = None

    def spec(self) -> AssociationSpec:
        return AssociationSpec(self.name, self.prefix, self.properties_target)


class TagBody(_Metadef):
    glance_schema = "tag"
    read_only = ("created_at", "updated_at")

    name: Name


class TagsBody(_Metadef):
    """POST /v2/metadefs/namespaces/{ns}/tags: several tags at once."""

    glance_schema = "tags"
    read_only = ()

    tags: list[TagBody]


class NamespaceBody(_Metadef):
    """A namespace, and on creation what it holds."""

    glance_schema = "namespace"

    namespace: Name
    display_name: Str80 | None = None
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    visibility: Literal["public", "private"] | None = None
    protected: StrictBool | None = None
    owner: Str255 | None = None
    resource_type_associations: list[AssociationBody] = []
    properties: dict[Name, PropertyBody] = {}
    objects: list[ObjectBody] = []
    tags: list[TagBody] = []

    def spec(self) -> NamespaceSpec:
        return NamespaceSpec(
            namespace=self.namespace, display_name=self.display_name,
            description=self.description, visibility=self.visibility, protected=self.protected,
            owner=self.owner,
            associations=[a.spec() for a in self.resource_type_associations],
            properties=_definitions(self.properties), objects=[o.spec() for o in self.objects],
            tags=[t.name for t in self.tags])
