"""/v2.0/security-groups and /v2.0/security-group-rules."""

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from overcast.network.api.collection import WireModel, resource_routes
from overcast.network.security_groups import SecurityGroupRules, SecurityGroups

router = APIRouter(prefix="/v2.0", tags=["security-groups"])


class GroupIn(WireModel):
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    stateful: bool | None = None
    shared: bool | None = None
    project_id: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, max_length=255)


class GroupCreate(WireModel):
    security_group: GroupIn


class GroupUpdate(WireModel):
    security_group: GroupIn


class RuleIn(WireModel):
    security_group_id: str | None = None
    direction: str | None = None
    ethertype: str | None = None
    # Checked by the domain, in Neutron's words (tempest reads them), not by type.
    protocol: Any = None
    port_range_min: Any = None
    port_range_max: Any = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    remote_address_group_id: str | None = None
    description: str | None = Field(None, max_length=255)
    project_id: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, max_length=255)


class RuleCreate(WireModel):
    security_group_rule: RuleIn | None = None
    security_group_rules: list[RuleIn] | None = None


class RuleUpdateIn(WireModel):
    description: str | None = Field(None, max_length=255)


class RuleUpdate(WireModel):
    security_group_rule: RuleUpdateIn


resource_routes(router, path="security-groups", resource="security_group",
                collection="security_groups", key="security_groups", kind=SecurityGroups,
                create_model=GroupCreate, update_model=GroupUpdate, bulk=False)
resource_routes(router, path="security-group-rules", resource="security_group_rule",
                collection="security_group_rules", key="security_group_rules",
                kind=SecurityGroupRules, create_model=RuleCreate, update_model=RuleUpdate,
                tags=False)
