"""Request bodies of the identity API, as pydantic models, and Keystone's validation messages.

Every body a route reads is one of these models, so /openapi-identity.json describes every
operation and no route parses JSON by hand. They follow Keystone's JSON schemas (facts:
keystone/*/schema.py, keystone/auth/schema.py): types are strict as jsonschema's (a list is
not a string, "true" is not a boolean), unknown attributes are kept where Keystone keeps them
(`extra="allow"`: they land in the resource's `extra`), and the wrapper objects
(`{"user": {...}}`) allow nothing else, as Keystone's `additionalProperties: false`.

A field that may be absent but not null is declared `X = OMITTED`: its default is None (never
validated), so absence is fine while an explicit null is a 400, as jsonschema's
`"type": "string"`. (`OMITTED` is typed Any so type checkers accept the default.)

`validation_message()` turns pydantic's first error into Keystone's words:
- routes Keystone validates with `request_body_schema` (most):
  "Invalid input for field/attribute name. Value: [1]. [1] is not of type 'string'"
- the auth body and the few bodies Keystone still checks with `lazy_validate`:
  "Invalid input for field 'identity/password/user/name': [1] is not of type 'string'"
  (Keystone goes on with jsonschema's "Failed validating ..." dump of its schema; we stop at
  the first line). Values under a password or secret key are never echoed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

__all__ = ["LEGACY_MESSAGES", "validation_message"]

#: The default of a field that may be absent but not null (see the module docstring).
OMITTED: Any = None

# -- field types (keystone/common/validation/parameter_types.py) --
Name64 = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"[\S]+")]
Name255 = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"[\S]+")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^,/]*$")]
Tags = Annotated[list[Tag], Field(max_length=80)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=225)]


class OpenBody(BaseModel):
    """A resource body: strict types, unknown attributes kept (Keystone's `extra`)."""

    model_config = ConfigDict(strict=True, extra="allow")

    def fields(self) -> dict[str, Any]:
        """The attributes the client sent, unknown ones included."""
        return self.model_dump(exclude_unset=True, by_alias=True)


class ClosedBody(OpenBody):
    """A body that allows no attribute it does not name."""

    model_config = ConfigDict(strict=True, extra="forbid")


# -- domains and projects (keystone/resource/schema.py) --
class DomainCreate(OpenBody):
    name: Name64
    description: str | None = None
    enabled: bool = OMITTED
    tags: Tags = OMITTED
    options: dict[str, Any] = OMITTED
    explicit_domain_id: Id = OMITTED


class DomainUpdate(OpenBody):
    name: Name64 = OMITTED
    description: str | None = None
    enabled: bool = OMITTED
    tags: Tags = OMITTED
    options: dict[str, Any] = OMITTED


class ProjectCreate(OpenBody):
    name: Name64
    description: str | None = None
    domain_id: Id | None = None
    parent_id: Id | None = None
    enabled: bool = OMITTED
    is_domain: bool = OMITTED
    tags: Tags = OMITTED
    options: dict[str, Any] = OMITTED


class ProjectUpdate(OpenBody):
    name: Name64 = OMITTED
    description: str | None = None
    domain_id: Id | None = None
    parent_id: Id | None = None
    enabled: bool = OMITTED
    is_domain: bool = OMITTED
    tags: Tags = OMITTED
    options: dict[str, Any] = OMITTED


class TagsIn(BaseModel):
    model_config = ConfigDict(strict=True)
    tags: Tags


# -- users and groups (keystone/identity/schema.py) --
class UserCreate(OpenBody):
    name: Name255
    domain_id: Id = OMITTED
    enabled: bool = OMITTED
    default_project_id: Id | None = None
    password: str | None = None
    description: str | None = None
    options: dict[str, Any] = OMITTED


class UserUpdate(OpenBody):
    name: Name255 = OMITTED
    domain_id: Id = OMITTED
    enabled: bool = OMITTED
    default_project_id: Id | None = None
    password: str | None = None
    description: str | None = None
    options: dict[str, Any] = OMITTED


class PasswordChange(BaseModel):
    model_config = ConfigDict(strict=True)
    original_password: str
    password: str


class GroupCreate(OpenBody):
    name: Name64
    domain_id: Id = OMITTED
    description: str | None = None


class GroupUpdate(OpenBody):
    name: Name64 = OMITTED
    domain_id: Id = OMITTED
    description: str | None = None


# -- roles (keystone/assignment/schema.py) --
class RoleCreate(OpenBody):
    name: Name255
    domain_id: Id | None = None
    description: str | None = None
    options: dict[str, Any] = OMITTED


class RoleUpdate(OpenBody):
    name: Name255 = OMITTED
    description: str | None = None
    options: dict[str, Any] = OMITTED


# -- catalog (keystone/catalog/schema.py) --
class RegionIn(OpenBody):
    id: Annotated[str, StringConstraints(min_length=1, max_length=255)] = OMITTED
    description: str | None = None
    parent_region_id: Annotated[str, StringConstraints(max_length=255)] | None = None


class ServiceCreate(OpenBody):
    type: Name255
    name: Annotated[str, StringConstraints(max_length=255)] = OMITTED
    description: str | None = None
    enabled: bool = OMITTED


class ServiceUpdate(OpenBody):
    type: Name255 = OMITTED
    name: Annotated[str, StringConstraints(max_length=255)] = OMITTED
    description: str | None = None
    enabled: bool = OMITTED


Interface = Literal["public", "internal", "admin"]


class EndpointCreate(OpenBody):
    service_id: Id
    interface: Interface
    url: Url
    region_id: Annotated[str, StringConstraints(max_length=255)] | None = None
    region: Annotated[str, StringConstraints(max_length=255)] | None = None
    enabled: bool = OMITTED


class EndpointUpdate(OpenBody):
    service_id: Id = OMITTED
    interface: Interface = OMITTED
    url: Url = OMITTED
    region_id: Annotated[str, StringConstraints(max_length=255)] | None = None
    region: Annotated[str, StringConstraints(max_length=255)] | None = None
    enabled: bool = OMITTED


class EndpointGroupCreate(ClosedBody):
    name: Name255
    description: str | None = None
    filters: dict[str, Any]


class EndpointGroupUpdate(ClosedBody):
    name: Name255 = OMITTED
    description: str | None = None
    filters: dict[str, Any] = OMITTED


# -- unified limits (keystone/limit/schema.py) --
def _uuid_like(value: str) -> str:
    """jsonschema's "format": "uuid" as Keystone checks it (oslo's is_uuid_like)."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a 'uuid'") from None
    return value


UuidStr = Annotated[str, AfterValidator(_uuid_like)]
LimitInt = Annotated[int, Field(ge=-1, le=0x7FFFFFFF)]
RegionRef = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Description = Annotated[str, StringConstraints(max_length=255)]
IdPattern = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                             pattern=r"^[a-zA-Z0-9-]+$")]


class RegisteredLimitCreate(ClosedBody):
    service_id: UuidStr
    region_id: RegionRef | None = None
    resource_name: Name255
    default_limit: LimitInt
    description: Description | None = None


class RegisteredLimitUpdate(ClosedBody):
    service_id: UuidStr = OMITTED
    region_id: RegionRef | None = None
    resource_name: Name255 = OMITTED
    default_limit: LimitInt = OMITTED
    description: Description | None = None


class LimitCreate(ClosedBody):
    """A project's or a domain's limit: exactly one of the two is named (Keystone's oneOf)."""

    project_id: IdPattern | None = None
    domain_id: IdPattern | None = None
    service_id: UuidStr
    region_id: RegionRef | None = None
    resource_name: Name255
    resource_limit: LimitInt
    description: Description | None = None

    @model_validator(mode="after")
    def _one_owner(self) -> LimitCreate:
        owners = {"project_id", "domain_id"} & self.model_fields_set
        if len(owners) == 2:
            raise ValueError(f"{self.fields()!r} is valid under each of "
                             "{'required': ['service_id', 'resource_name', 'resource_limit', "
                             "'project_id']}, {'required': ['service_id', 'resource_name', "
                             "'resource_limit', 'domain_id']}")
        if not owners:
            raise ValueError(f"{self.fields()!r} is not valid under any of the given schemas")
        return self


class LimitUpdate(ClosedBody):
    resource_limit: LimitInt = OMITTED
    description: Description | None = None


# -- application credentials (keystone/application_credential/schema.py) --
class RoleRef(ClosedBody):
    id: Id = OMITTED
    name: Name255 = OMITTED
    domain_id: Id | None = None
    description: str | None = None
    options: dict[str, Any] | None = None


class AccessRuleIn(ClosedBody):
    id: Id = OMITTED
    path: Annotated[str, StringConstraints(max_length=225, pattern=r"^/")] = OMITTED
    service: Id = OMITTED
    method: Literal["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"] = OMITTED


class AppCredCreate(OpenBody):
    name: Name255
    description: str | None = None
    secret: str | None = None
    expires_at: str | None = None
    roles: list[RoleRef] = OMITTED
    unrestricted: bool | None = None
    access_rules: list[AccessRuleIn] = OMITTED


# -- credentials (keystone/credential/schema.py) --
class CredentialCreate(OpenBody):
    user_id: Id
    type: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    blob: str
    project_id: Id | None = None


class CredentialUpdate(OpenBody):
    user_id: Id = OMITTED
    type: Annotated[str, StringConstraints(min_length=1, max_length=255)] = OMITTED
    blob: str = OMITTED
    project_id: Id | None = None


class Ec2Create(BaseModel):
    model_config = ConfigDict(strict=True)
    tenant_id: Id


# -- trusts (keystone/trust/schema.py) --
class TrustCreate(OpenBody):
    trustor_user_id: Id
    trustee_user_id: Id
    impersonation: bool
    project_id: Id | None = None
    roles: list[RoleRef] | None = None
    expires_at: str | None = None
    remaining_uses: Annotated[int, Field(ge=1)] | None = None
    allow_redelegation: bool | None = None
    redelegation_count: Annotated[int, Field(ge=0)] | None = None


# -- OS-OAUTH1 consumers, policies, domain configuration --
class ConsumerIn(OpenBody):
    description: str | None = None


class PolicyCreate(OpenBody):
    type: Annotated[str, StringConstraints(max_length=255)]
    blob: str


class PolicyUpdate(OpenBody):
    type: Annotated[str, StringConstraints(max_length=255)] = OMITTED
    blob: str = OMITTED


class ConfigIn(BaseModel):
    model_config = ConfigDict(strict=True)
    config: dict[str, Any] = Field(default_factory=dict)


# -- the auth body (keystone/auth/schema.py: every level keeps unknown keys) --
class _AuthPart(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", populate_by_name=True)


class DomainRefIn(_AuthPart):
    id: str = OMITTED
    name: str = OMITTED


class UserRefIn(_AuthPart):
    id: str = OMITTED
    name: str = OMITTED
    password: str = OMITTED
    domain: DomainRefIn = OMITTED


class PasswordMethod(_AuthPart):
    user: UserRefIn = OMITTED


class TokenMethod(_AuthPart):
    id: str


class AppCredMethod(_AuthPart):
    id: str = OMITTED
    name: str = OMITTED
    secret: str = OMITTED
    user: UserRefIn = OMITTED


class IdentityIn(_AuthPart):
    methods: list[str]
    password: PasswordMethod = OMITTED
    token: TokenMethod = OMITTED
    application_credential: AppCredMethod = OMITTED


class ProjectScope(_AuthPart):
    id: str = OMITTED
    name: str = OMITTED
    domain: DomainRefIn = OMITTED


class SystemScope(_AuthPart):
    all: bool = OMITTED


class TrustScope(_AuthPart):
    id: str = OMITTED


class ScopeIn(_AuthPart):
    project: ProjectScope = OMITTED
    domain: DomainRefIn = OMITTED
    system: SystemScope = OMITTED
    trust: TrustScope = Field(OMITTED, alias="OS-TRUST:trust")


class AuthIn(_AuthPart):
    identity: IdentityIn
    # "unscoped", or {"unscoped": {}} from old keystoneauth
    scope: ScopeIn | str = OMITTED


class AuthBody(_AuthPart):
    auth: AuthIn

    def auth_dict(self) -> dict[str, Any]:
        return self.auth.model_dump(exclude_unset=True, by_alias=True)


# -- Keystone's validation messages --
#: (method, route path) of the bodies Keystone checks with `lazy_validate`: its older message
#: format, the field path relative to the wrapped object.
LEGACY_MESSAGES = frozenset({
    ("POST", "/v3/auth/tokens"),
    ("POST", "/v3/users/{user_id}/password"),
    ("POST", "/v3/OS-OAUTH1/consumers"),
    ("PATCH", "/v3/OS-OAUTH1/consumers/{consumer_id}"),
    ("POST", "/v3/policies"),
    ("PATCH", "/v3/policies/{policy_id}"),
    ("PUT", "/v3/projects/{project_id}/tags"),
})

#: JSON types by pydantic error type, as jsonschema names them.
_JSON_TYPES = {
    "string_type": "string", "bool_type": "boolean", "int_type": "integer",
    "int_from_float": "integer", "float_type": "number", "list_type": "array",
    "dict_type": "object", "model_type": "object", "model_attributes_type": "object",
    "none_required": "null",
}
_SECRET_KEYS = ("password", "secret")
_MAX_ECHO = 200
_MISSING = object()


def _secret_key(key: object) -> bool:
    return isinstance(key, str) and any(k in key.lower() for k in _SECRET_KEYS)


def _scrub(value: object) -> object:
    """The value with whatever sits under a password or secret key hidden."""
    if isinstance(value, dict):
        return {k: "***" if _secret_key(k) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _echo(value: object, path: Sequence[object]) -> str:
    """jsonschema's repr of an instance, shortened, and never a secret."""
    if path and _secret_key(path[-1]):
        return "'***'"
    text = repr(_scrub(value))
    return text if len(text) <= _MAX_ECHO else text[:_MAX_ECHO] + "..."


def _walk(body: object, loc: Sequence[object]) -> tuple[list[object], object]:
    """Follow `loc` into the body as far as it goes: the real path, and what is there.

    pydantic puts union member names in `loc` (("scope", "ScopeIn", "project")); they are not
    keys of the body, so the walk steps over them."""
    path: list[object] = []
    node = body
    for key in loc:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            continue
        path.append(key)
    return path, node


def _describe(err: dict[str, Any], body: object) -> tuple[list[object], object, str]:
    """(path of the failing instance, the instance, jsonschema's message) for one error."""
    loc = [p for p in err.get("loc", ()) if p != "body"]
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        path, parent = _walk(body, loc[:-1])
        return path, parent, f"{loc[-1]!r} is a required property" if loc else \
            "The request body is required"
    if kind == "extra_forbidden":
        path, parent = _walk(body, loc[:-1])
        return path, parent, f"Additional properties are not allowed ({loc[-1]!r} was unexpected)"
    path, value = _walk(body, loc)
    shown = _echo(value, path)
    if kind in _JSON_TYPES:
        return path, value, f"{shown} is not of type {_JSON_TYPES[kind]!r}"
    if kind in ("string_too_short", "too_short"):
        return path, value, f"{shown} is too short"
    if kind in ("string_too_long", "too_long"):
        return path, value, f"{shown} is too long"
    if kind == "string_pattern_mismatch":
        return path, value, f"{shown} does not match {ctx.get('pattern')!r}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace(" or ", ", ")
        return path, value, f"{shown} is not one of [{expected}]"
    if kind in ("greater_than_equal", "greater_than"):
        return path, value, f"{shown} is less than the minimum of {ctx.get('ge', ctx.get('gt'))}"
    if kind == "value_error":  # a model's own check, already in jsonschema's words
        error = ctx.get("error")
        return path, value, str(error) if error is not None else str(err.get("msg"))
    if kind == "less_than_equal":
        return path, value, f"{shown} is greater than the maximum of {ctx.get('le')}"
    if kind == "json_invalid":
        return [], None, "Malformed request body: the body is not valid JSON."
    return path, value, str(err.get("msg", "Invalid input"))


def validation_message(request: Request, exc: RequestValidationError) -> str:
    """Keystone's message for the first error of a body that does not validate."""
    errors: list[dict[str, Any]] = [dict(e) for e in exc.errors()]
    if not errors:
        return "Invalid input."
    body = exc.body
    # The deepest error explains best (jsonschema's best_match does the same): of a union
    # (`scope` is an object or "unscoped"), the member the client evidently meant.
    err = max(errors, key=lambda e: len(_walk(body, [p for p in e.get("loc", ())
                                                    if p != "body"])[0]))
    route = request.scope.get("route")
    legacy = (request.method, getattr(route, "path", "")) in LEGACY_MESSAGES
    if legacy:
        # Keystone validates the object inside the wrapper ({"auth": ...}, {"user": ...}).
        loc = [p for p in err.get("loc", ()) if p != "body"]
        wrapper = loc[0] if loc else None
        if isinstance(body, dict) and wrapper in body:
            inner = body[wrapper]
            err["loc"] = tuple(loc[1:])
            if err.get("type") == "missing" and not err["loc"]:
                err["loc"] = (wrapper,)
                inner = body
            path, value, message = _describe(err, inner)
        else:
            path, value, message = _describe(err, body)
        if err.get("type") == "json_invalid" or not path:
            return message
        return f"Invalid input for field {'/'.join(map(str, path))!r}: {message}"
    path, value, message = _describe(err, body)
    if err.get("type") == "json_invalid" or not path:
        return message
    shown = _echo(value, path)
    shown = shown[1:-1] if isinstance(value, str) and shown != "'***'" else shown
    return f"Invalid input for field/attribute {path[-1]}. Value: {shown}. {message}"


# -- the wrappers: {"<member>": {...}} and nothing else (Keystone's additionalProperties: false)
class _Wrapper(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class DomainCreateBody(_Wrapper):
    domain: DomainCreate


class DomainUpdateBody(_Wrapper):
    domain: DomainUpdate


class ProjectCreateBody(_Wrapper):
    project: ProjectCreate


class ProjectUpdateBody(_Wrapper):
    project: ProjectUpdate


class UserCreateBody(_Wrapper):
    user: UserCreate


class UserUpdateBody(_Wrapper):
    user: UserUpdate


class PasswordBody(BaseModel):
    model_config = ConfigDict(strict=True)
    user: PasswordChange


class GroupCreateBody(_Wrapper):
    group: GroupCreate


class GroupUpdateBody(_Wrapper):
    group: GroupUpdate


class RoleCreateBody(_Wrapper):
    role: RoleCreate


class RoleUpdateBody(_Wrapper):
    role: RoleUpdate


class RegionBody(_Wrapper):
    region: RegionIn


class ServiceCreateBody(_Wrapper):
    service: ServiceCreate


class ServiceUpdateBody(_Wrapper):
    service: ServiceUpdate


class EndpointCreateBody(_Wrapper):
    endpoint: EndpointCreate


class EndpointUpdateBody(_Wrapper):
    endpoint: EndpointUpdate


class RegisteredLimitsCreateBody(_Wrapper):
    registered_limits: Annotated[list[RegisteredLimitCreate], Field(min_length=1)]


class RegisteredLimitUpdateBody(_Wrapper):
    registered_limit: RegisteredLimitUpdate


class LimitsCreateBody(_Wrapper):
    limits: Annotated[list[LimitCreate], Field(min_length=1)]


class LimitUpdateBody(_Wrapper):
    limit: LimitUpdate


class EndpointGroupCreateBody(_Wrapper):
    endpoint_group: EndpointGroupCreate


class EndpointGroupUpdateBody(_Wrapper):
    endpoint_group: EndpointGroupUpdate


class AppCredBody(_Wrapper):
    application_credential: AppCredCreate


class CredentialCreateBody(_Wrapper):
    credential: CredentialCreate


class CredentialUpdateBody(_Wrapper):
    credential: CredentialUpdate


class TrustBody(_Wrapper):
    trust: TrustCreate


class ConsumerBody(BaseModel):
    model_config = ConfigDict(strict=True)
    consumer: ConsumerIn


class PolicyCreateBody(BaseModel):
    model_config = ConfigDict(strict=True)
    policy: PolicyCreate


class PolicyUpdateBody(BaseModel):
    model_config = ConfigDict(strict=True)
    policy: PolicyUpdate
