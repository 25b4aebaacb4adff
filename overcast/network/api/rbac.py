"""/v2.0/rbac-policies."""

from fastapi import APIRouter
from pydantic import Field

from overcast.network.api.collection import WireModel, resource_routes
from overcast.network.rbac import RBACPolicies

router = APIRouter(prefix="/v2.0", tags=["rbac-policies"])


class RBACIn(WireModel):
    object_type: str | None = None
    object_id: str | None = None
    action: str | None = None
    target_tenant: str | None = Field(None, max_length=255)
    target_project: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    project_id: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, max_length=255)


class RBACCreate(WireModel):
    rbac_policy: RBACIn


class RBACUpdate(WireModel):
    rbac_policy: RBACIn


resource_routes(router, path="rbac-policies", resource="rbac_policy",
                collection="rbac_policies", key="rbac_policies", kind=RBACPolicies,
                create_model=RBACCreate, update_model=RBACUpdate, bulk=False, tags=False)
