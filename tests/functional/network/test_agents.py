"""/v2.0/agents: agents registered by the heartbeat RPC the real network agent sends (no
agent process runs), listed, shown, updated and deleted by an administrator; `alive` from the
heartbeat's age; nothing for members."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from overcast.common.bus import Bus, connect
from overcast.config import Config
from overcast.network.agent.plugin import PluginAPI
from overcast.network.messages import AgentReport
from tests.functional.network.conftest import Neutron

# API semantics over one table and the bus: SQLite is enough (test_migrations runs the
# agents table on all three databases).
pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)

DOWN_TIME = 1.0
FIELDS = {"id", "agent_type", "binary", "topic", "host", "admin_state_up", "alive",
          "created_at", "started_at", "heartbeat_timestamp", "description",
          "availability_zone", "configurations", "resources_synced"}
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


@pytest.fixture(autouse=True)
def _short_down_time(cloud_config: Config) -> None:
    # before the app starts (autouse fixtures come first): alive flips within the test
    cloud_config.network.agent_down_time = DOWN_TIME


@pytest.fixture
async def plugin(neutron: Neutron, network_config: Config) -> AsyncIterator[PluginAPI]:
    bus: Bus = connect(network_config.default.bus_url)
    await bus.start()
    try:
        yield PluginAPI(bus, timeout=10)
    finally:
        await bus.close()


async def _agents(n: Neutron, query: str = "") -> list[dict[str, object]]:
    r = await n.req("GET", f"agents{query}", n.admin)
    assert r.status_code == 200, r.text
    return r.json()["agents"]  # type: ignore[no-any-return]


async def test_agents_lifecycle(neutron: Neutron, plugin: PluginAPI) -> None:
    n = neutron
    assert await _agents(n) == []
    await plugin.report_state(AgentReport(host="host-a", tunnel_ip="192.0.2.10"))
    await plugin.report_state(AgentReport(host="host-b", problems=["no dnsmasq"], dhcp=False))
    listed = await _agents(n, "?sort_key=host&sort_dir=asc")
    assert [a["host"] for a in listed] == ["host-a", "host-b"]
    a, b = listed
    assert set(a) == FIELDS
    assert a["agent_type"] == "Linux bridge agent" and a["binary"] == "overcast-network-agent"
    assert a["alive"] is True and a["admin_state_up"] is True and a["description"] is None
    assert a["availability_zone"] is None and a["resources_synced"] is None
    assert all(STAMP.match(str(a[k])) for k in ("created_at", "started_at",
                                                "heartbeat_timestamp"))
    assert a["configurations"]["tunneling_ip"] == "192.0.2.10"  # type: ignore[index]
    assert b["configurations"]["problems"] == ["no dnsmasq"]  # type: ignore[index]

    # filters and fields through the shared list mechanism
    assert [x["id"] for x in await _agents(n, "?host=host-b")] == [b["id"]]
    assert len(await _agents(n, "?agent_type=Linux%20bridge%20agent&alive=true")) == 2
    assert await _agents(n, "?alive=false") == []
    assert await _agents(n, "?host=host-a&fields=id&fields=host") == [
        {"id": a["id"], "host": "host-a"}]
    r = await n.req("GET", "agents?colour=red", n.admin)
    assert r.status_code == 400 and "NeutronError" in r.json()
    r = await n.req("GET", f"agents/{a['id']}", n.admin)
    assert r.status_code == 200 and r.json()["agent"]["host"] == "host-a"
    r = await n.req("GET", f"agents/{a['id']}?fields=alive", n.admin)
    assert r.json() == {"agent": {"alive": True}}

    # update: admin_state_up and description only; a heartbeat keeps what was set
    r = await n.req("PUT", f"agents/{a['id']}", n.admin,
                    {"agent": {"admin_state_up": False, "description": "rack 4"}})
    assert r.status_code == 200, r.text
    assert r.json()["agent"]["admin_state_up"] is False
    assert r.json()["agent"]["description"] == "rack 4"
    await plugin.report_state(AgentReport(host="host-a", tunnel_ip="192.0.2.10"))
    shown = (await n.req("GET", f"agents/{a['id']}", n.admin)).json()["agent"]
    assert (shown["admin_state_up"], shown["description"]) == (False, "rack 4")
    for body in ({"host": "elsewhere"}, {"admin_state_up": "perhaps"}, {"nope": 1}):
        r = await n.req("PUT", f"agents/{a['id']}", n.admin, {"agent": body})
        assert r.status_code == 400, (body, r.text)
        assert "NeutronError" in r.json()
    r = await n.req("POST", "agents", n.admin, {"agent": {"host": "x"}})
    assert r.status_code == 405 and "NeutronError" in r.json(), r.text

    # alive: false once the heartbeat is older than agent_down_time, true again after one
    await asyncio.sleep(DOWN_TIME + 0.3)
    assert {x["host"] for x in await _agents(n, "?alive=false")} == {"host-a", "host-b"}
    await plugin.report_state(AgentReport(host="host-a"))
    assert [x["host"] for x in await _agents(n, "?alive=true")] == ["host-a"]
    r = await n.req("GET", f"agents/{b['id']}", n.admin)
    assert r.json()["agent"]["alive"] is False

    # delete: gone (404 after), and a new heartbeat registers the host again
    r = await n.req("DELETE", f"agents/{b['id']}", n.admin)
    assert r.status_code == 204
    for method in ("GET", "DELETE"):
        r = await n.req(method, f"agents/{b['id']}", n.admin)
        assert r.status_code == 404
        assert r.json()["NeutronError"]["type"] == "AgentNotFound"
    await plugin.report_state(AgentReport(host="host-b"))
    again = await _agents(n, "?host=host-b")
    assert len(again) == 1 and again[0]["id"] != b["id"]


async def test_agents_are_the_administrators(neutron: Neutron, plugin: PluginAPI) -> None:
    n = neutron
    await plugin.report_state(AgentReport(host="host-a"))
    agent = (await _agents(n))[0]
    # a member lists none (Neutron filters by get_agent rather than refusing the list) and,
    # not allowed to see one, is told it does not exist (404) rather than forbidden
    r = await n.req("GET", "agents", n.alice)
    assert r.status_code == 200 and r.json() == {"agents": []}
    for method, body in (("GET", None), ("PUT", {"agent": {"description": "mine"}}),
                         ("DELETE", None)):
        r = await n.req(method, f"agents/{agent['id']}", n.alice, body)
        assert r.status_code == 404, (method, r.text)
        assert r.json()["NeutronError"]["type"] == "AgentNotFound"
    r = await n.req("POST", "agents", n.alice, {"agent": {}})
    assert r.status_code == 405
    shown = (await n.req("GET", f"agents/{agent['id']}", n.admin)).json()["agent"]
    assert shown["description"] is None
    # the extension is advertised now that it works
    r = await n.req("GET", "extensions/agent", n.alice)
    assert r.status_code == 200 and r.json()["extension"]["alias"] == "agent"
