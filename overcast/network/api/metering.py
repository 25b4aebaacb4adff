"""/v2.0/metering/metering-labels and /v2.0/metering/metering-label-rules."""

from fastapi import APIRouter
from pydantic import Field

from overcast.network.api.collection import WireModel, resource_routes
from overcast.network.metering import MeteringLabelRules, MeteringLabels

router = APIRouter(prefix="/v2.0/metering", tags=["metering"])


class LabelIn(WireModel):
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=1024)
    shared: bool | None = None
    project_id: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, max_length=255)


class LabelBody(WireModel):
    metering_label: LabelIn


class RuleIn(WireModel):
    metering_label_id: str | None = None
    direction: str | None = None
    remote_ip_prefix: str | None = None
    source_ip_prefix: str | None = None
    destination_ip_prefix: str | None = None
    excluded: bool | None = None
    project_id: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, max_length=255)


class RuleBody(WireModel):
    metering_label_rule: RuleIn


resource_routes(router, path="metering-labels", resource="metering_label",
                collection="metering_labels", key="metering_labels", kind=MeteringLabels,
                create_model=LabelBody, update_model=LabelBody, bulk=False, tags=False)
resource_routes(router, path="metering-label-rules", resource="metering_label_rule",
                collection="metering_label_rules", key="metering_label_rules",
                kind=MeteringLabelRules, create_model=RuleBody, update_model=RuleBody,
                bulk=False, tags=False)
