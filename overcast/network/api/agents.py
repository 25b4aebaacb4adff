"""/v2.0/agents: list, show, update (admin_state_up, description), delete; no create."""

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from overcast.network.agents import Agents
from overcast.network.api.collection import WireModel, resource_routes

router = APIRouter(prefix="/v2.0", tags=["agents"])


class AgentIn(WireModel):
    admin_state_up: Any = None
    description: str | None = Field(None, max_length=255)
    # Known but read-only: named so a PUT of one answers Neutron's "Cannot update read-only
    # attribute" (agents.py) instead of "Unrecognized attribute".
    id: Any = None
    agent_type: Any = None
    binary: Any = None
    topic: Any = None
    host: Any = None
    alive: Any = None
    created_at: Any = None
    started_at: Any = None
    heartbeat_timestamp: Any = None
    availability_zone: Any = None
    configurations: Any = None
    resources_synced: Any = None


class AgentBody(WireModel):
    agent: AgentIn


resource_routes(router, path="agents", resource="agent", collection="agents", key="agents",
                kind=Agents, create_model=AgentBody, update_model=AgentBody, bulk=False,
                tags=False, create=False)
