"""/v2.0/ports: fixed IPs, security groups, binding, address pairs, DHCP options, DNS."""

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from overcast.network.api.collection import WireModel, resource_routes
from overcast.network.ports import Ports

router = APIRouter(prefix="/v2.0", tags=["ports"])


class PortIn(WireModel):
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    network_id: str | None = None
    admin_state_up: bool | None = None
    mac_address: str | None = None
    fixed_ips: list[Any] | None = None
    device_id: str | None = Field(None, max_length=255)
    device_owner: str | None = Field(None, max_length=255)
    security_groups: list[str] | None = None
    port_security_enabled: bool | None = None
    allowed_address_pairs: list[Any] | None = None
    extra_dhcp_opts: list[Any] | None = None
    dns_name: str | None = Field(None, max_length=255)
    binding_host_id: str | None = Field(None, alias="binding:host_id", max_length=255)
    binding_vnic_type: str | None = Field(None, alias="binding:vnic_type")
    binding_profile: dict[str, Any] | None = Field(None, alias="binding:profile")
    project_id: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, max_length=255)
    qos_policy_id: Any = None
    propagate_uplink_status: bool | None = None


class PortCreate(WireModel):
    port: PortIn | None = None
    ports: list[PortIn] | None = None


class PortUpdate(WireModel):
    port: PortIn


resource_routes(router, path="ports", resource="port", collection="ports", key="ports",
                kind=Ports, create_model=PortCreate, update_model=PortUpdate)
