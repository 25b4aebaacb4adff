"""/v2.0/floatingips."""

from fastapi import APIRouter
from pydantic import Field

from overcast.network.api.collection import WireModel, resource_routes
from overcast.network.floatingips import FloatingIPs

router = APIRouter(prefix="/v2.0", tags=["floatingips"])


class FloatingIPIn(WireModel):
    floating_network_id: str | None = None
    floating_ip_address: str | None = None
    subnet_id: str | None = None
    port_id: str | None = None
    fixed_ip_address: str | None = None
    description: str | None = Field(None, max_length=255)
    dns_name: str | None = Field(None, max_length=255)
    dns_domain: str | None = Field(None, max_length=255)
    project_id: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, max_length=255)


class FloatingIPCreate(WireModel):
    floatingip: FloatingIPIn


class FloatingIPUpdate(WireModel):
    floatingip: FloatingIPIn


resource_routes(router, path="floatingips", resource="floatingip", collection="floatingips",
                key="floatingips", kind=FloatingIPs, create_model=FloatingIPCreate,
                update_model=FloatingIPUpdate, bulk=False)
