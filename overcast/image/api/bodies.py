"""What every image request body model shares: Glance's error messages for a body that does
not match its schema, and the string and id types Glance's schemas use.

Each body is a pydantic model (the route's parameter, so /openapi-image.json describes it).
A model names the Glance schema it stands for (`glance_schema`), so a refused body reads as in
Glance: "Provided object does not match schema 'image': ...". A validator that knows Glance's
own words raises ValueError with them, and they are the message as they are. Read-only and
reserved attributes are refused with 403 before any type check, as Glance's deserializers do:
their validators raise the Fault itself, which pydantic lets through.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from overcast.common import faults

__all__ = ["Body", "Str80", "Str255", "UUIDStr", "body_error", "validate"]

T = TypeVar("T")

UUID_PATTERN = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
Str80 = Annotated[str, StringConstraints(max_length=80)]
Str255 = Annotated[str, StringConstraints(max_length=255)]
UUIDStr = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]


class Body(BaseModel):
    """A request body; `glance_schema` names the schema its errors cite."""

    glance_schema: ClassVar[str] = "body"
    model_config = ConfigDict(extra="forbid")


def _where(error: ErrorDetails) -> str:
    return ".".join(str(p) for p in error["loc"] if p != "body")


def body_error(errors: Sequence[ErrorDetails], schema: str) -> faults.BadRequest:
    """The 400 for a body that does not match its schema, in Glance's words where known."""
    first = errors[0]
    if first["type"] == "value_error":  # a validator's own (Glance's) message
        return faults.BadRequest(str(first.get("ctx", {}).get("error", first["msg"])))
    if first["type"] == "json_invalid":
        return faults.BadRequest("Malformed JSON in request body.")
    where = _where(first)
    if not where and first["type"] == "missing":
        return faults.BadRequest("Body expected in request.")
    given = first.get("input")
    reason = first["msg"]
    if first["type"] == "extra_forbidden":
        reason = f"Additional properties are not allowed ({where!r} was unexpected)"
    elif first["type"] == "missing":
        reason = f"{where!r} is a required property"
    elif where:
        shown = repr(given) if len(repr(given)) <= 80 else repr(given)[:77] + "..."
        reason = f"{shown} is not valid for {where!r}: {first['msg']}"
    return faults.BadRequest(f"Provided object does not match schema '{schema}': {reason}")


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def validate(kind: type[T] | Any, raw: Any, schema: str) -> T:
    """`raw` (parsed JSON) validated as `kind`, or the 400 Glance would answer."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    try:
        return adapter.validate_python(raw)  # type: ignore[no-any-return]
    except ValidationError as e:
        raise body_error(e.errors(), schema) from None

