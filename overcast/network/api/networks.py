"""/v2.0/networks: Neutron's network attributes, provider and availability-zone extensions."""

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from overcast.network.api.collection import WireModel, resource_routes
from overcast.network.networks import Networks

router = APIRouter(prefix="/v2.0", tags=["networks"])

Name = str | None


class NetworkIn(WireModel):
    name: Name = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    admin_state_up: bool | None = None
    shared: bool | None = None
    router_external: bool | None = Field(None, alias="router:external")
    is_default: bool | None = None
    mtu: int | None = Field(None, ge=68)
    port_security_enabled: bool | None = None
    dns_domain: str | None = Field(None, max_length=255)
    availability_zone_hints: list[str] | None = None
    provider_network_type: str | None = Field(None, alias="provider:network_type")
    provider_physical_network: str | None = Field(None, alias="provider:physical_network",
                                                  max_length=64)
    provider_segmentation_id: int | None = Field(None, alias="provider:segmentation_id")
    project_id: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, max_length=255)
    qos_policy_id: Any = None


class NetworkCreate(WireModel):
    network: NetworkIn | None = None
    networks: list[NetworkIn] | None = None


class NetworkUpdateIn(NetworkIn):
    pass


class NetworkUpdate(WireModel):
    network: NetworkUpdateIn


resource_routes(router, path="networks", resource="network", collection="networks",
                key="networks", kind=Networks, create_model=NetworkCreate,
                update_model=NetworkUpdate)
