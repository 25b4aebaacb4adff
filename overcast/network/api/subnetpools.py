"""/v2.0/subnetpools and /v2.0/address-scopes."""

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from overcast.network.api.collection import WireModel, resource_routes
from overcast.network.subnetpools import AddressScopes, SubnetPools

router = APIRouter(prefix="/v2.0", tags=["subnetpools"])


class PoolIn(WireModel):
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    prefixes: list[str] | None = None
    default_prefixlen: int | None = None
    min_prefixlen: int | None = None
    max_prefixlen: int | None = None
    default_quota: int | None = None
    shared: bool | None = None
    is_default: bool | None = None
    address_scope_id: str | None = None
    project_id: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, max_length=255)


class PoolCreate(WireModel):
    subnetpool: PoolIn


class PoolUpdate(WireModel):
    subnetpool: PoolIn


class ScopeIn(WireModel):
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    ip_version: Any = None
    shared: bool | None = None
    project_id: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, max_length=255)


class ScopeCreate(WireModel):
    address_scope: ScopeIn


class ScopeUpdate(WireModel):
    address_scope: ScopeIn


resource_routes(router, path="subnetpools", resource="subnetpool", collection="subnetpools",
                key="subnetpools", kind=SubnetPools, create_model=PoolCreate,
                update_model=PoolUpdate, bulk=False)
resource_routes(router, path="address-scopes", resource="address_scope",
                collection="address_scopes", key="address_scopes", kind=AddressScopes,
                create_model=ScopeCreate, update_model=ScopeUpdate, bulk=False)
