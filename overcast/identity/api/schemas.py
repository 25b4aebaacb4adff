"""Request bodies of the identity API. Keystone keeps unknown attributes (extra="allow")
and rejects wrong types and lengths with 400, as its JSON schemas do."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

Name64 = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=False)]
Name255 = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class OpenBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    def fields(self) -> dict[str, Any]:
        """The attributes the client sent, unknown ones included."""
        return self.model_dump(exclude_unset=True)


class DomainIn(OpenBody):
    name: Name64 | None = None
    description: str | None = None
    enabled: StrictBool | None = None
    tags: list[Tag] | None = None


class ProjectIn(OpenBody):
    name: Name64 | None = None
    description: str | None = None
    enabled: StrictBool | None = None
    domain_id: Id | None = None
    parent_id: Id | None = None
    is_domain: StrictBool | None = None
    tags: list[Tag] | None = Field(None, max_length=80)


class UserIn(OpenBody):
    name: Name255 | None = None
    domain_id: Id | None = None
    enabled: StrictBool | None = None
    default_project_id: Id | None = None
    password: str | None = None
    description: str | None = None
    email: str | None = None
    options: dict[str, Any] | None = None


class GroupIn(OpenBody):
    name: Name64 | None = None
    domain_id: Id | None = None
    description: str | None = None


class RoleIn(OpenBody):
    name: Name255 | None = None
    domain_id: Id | None = None
    description: str | None = None
    options: dict[str, Any] | None = None


class RegionIn(OpenBody):
    id: Name255 | None = None
    description: str | None = None
    parent_region_id: str | None = None


class ServiceIn(OpenBody):
    type: Name255 | None = None
    name: str | None = None
    description: str | None = None
    enabled: StrictBool | None = None


class EndpointIn(OpenBody):
    service_id: str | None = None
    interface: str | None = None
    url: str | None = None
    region_id: str | None = None
    region: str | None = None
    enabled: StrictBool | None = None


class AppCredIn(OpenBody):
    name: Name255
    description: str | None = None
    secret: str | None = None
    expires_at: str | None = None
    roles: list[dict[str, str]] | None = None
    unrestricted: StrictBool | None = None
    access_rules: list[dict[str, Any]] | None = None


class CredentialIn(OpenBody):
    user_id: str | None = None
    project_id: str | None = None
    type: str | None = None
    blob: str | None = None


class PasswordChange(BaseModel):
    original_password: str
    password: str


class TagsIn(BaseModel):
    tags: list[Tag] = Field(max_length=80)
