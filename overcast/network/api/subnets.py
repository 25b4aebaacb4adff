"""/v2.0/subnets."""

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from overcast.network.api.collection import WireModel, resource_routes
from overcast.network.subnets import Subnets

router = APIRouter(prefix="/v2.0", tags=["subnets"])


class SubnetIn(WireModel):
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    network_id: str | None = None
    ip_version: int | None = None
    cidr: str | None = None
    prefixlen: int | None = None
    subnetpool_id: str | None = None
    use_default_subnetpool: bool | None = None
    gateway_ip: str | None = None
    enable_dhcp: bool | None = None
    ipv6_ra_mode: str | None = None
    ipv6_address_mode: str | None = None
    allocation_pools: list[Any] | None = None
    dns_nameservers: list[Any] | None = None
    host_routes: list[Any] | None = None
    service_types: list[str] | None = None
    segment_id: str | None = None
    dns_publish_fixed_ip: bool | None = None
    project_id: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, max_length=255)


class SubnetCreate(WireModel):
    subnet: SubnetIn | None = None
    subnets: list[SubnetIn] | None = None


class SubnetUpdate(WireModel):
    subnet: SubnetIn


resource_routes(router, path="subnets", resource="subnet", collection="subnets",
                key="subnets", kind=Subnets, create_model=SubnetCreate,
                update_model=SubnetUpdate)
