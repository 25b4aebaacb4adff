"""Create, update and delete notifications on the bus in Neutron's shape."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from overcast.common.bus import connect
from overcast.config import Config
from tests.functional.network.conftest import Neutron

# The bus is the subject, not the database.
pytestmark = pytest.mark.parametrize("cloud_config", ["sqlite"], indirect=True)


async def test_notifications_in_neutrons_shape(neutron: Neutron, network_config: Config) -> None:
    n = neutron
    seen: list[tuple[str, dict[str, Any]]] = []

    async def record(event_type: str, payload: dict[str, Any]) -> None:
        seen.append((event_type, payload))

    bus = connect(network_config.default.bus_url)
    await bus.start()
    try:
        await bus.listen("notifications", record)
        net = await n.net(n.alice, name="told")
        sub = await n.subnet(n.alice, net["id"], "10.7.0.0/24")
        port = await n.port(n.alice, net["id"], name="p")
        r = await n.req("PUT", f"ports/{port['id']}", n.alice, {"port": {"name": "q"}})
        assert r.status_code == 200
        router = await n.make(n.alice, "router", "routers", name="r")
        r = await n.req("PUT", f"routers/{router['id']}/add_router_interface", n.alice,
                        {"subnet_id": sub["id"]})
        assert r.status_code == 200
        r = await n.req("DELETE", f"ports/{port['id']}", n.alice)
        assert r.status_code == 204
        r = await n.req("POST", "ports", n.alice, {"ports": [
            {"network_id": net["id"], "name": "b1"}, {"network_id": net["id"], "name": "b2"}]})
        assert r.status_code == 201
        # a refused request tells nothing
        r = await n.req("DELETE", f"networks/{net['id']}", n.bob)
        assert r.status_code == 404
        for _ in range(100):
            if len(seen) >= 15:
                break
            await asyncio.sleep(0.01)
    finally:
        await bus.close()

    events = [e for e, _ in seen]
    assert events == ["network.create.start", "network.create.end",
                      "subnet.create.start", "subnet.create.end",
                      "port.create.start", "port.create.end",
                      "port.update.start", "port.update.end",
                      "router.create.start", "router.create.end",
                      "router.interface.create",
                      "port.delete.start", "port.delete.end",
                      "port.create.start", "port.create.end"]  # a bulk create: one of each
    bulk = seen[-1][1]["ports"]
    assert [p["name"] for p in bulk] == ["b1", "b2"] and all("id" in p for p in bulk)
    payloads = dict(seen[:-2])  # the last payload of each event type, before the bulk
    assert payloads["network.create.start"] == {"network": {"name": "told"}}
    assert payloads["network.create.end"]["network"]["id"] == net["id"]
    assert payloads["port.update.start"] == {"port": {"name": "q"}, "id": port["id"]}
    assert payloads["port.update.end"]["port"]["name"] == "q"
    assert payloads["router.interface.create"]["router_interface"]["subnet_id"] == sub["id"]
    assert payloads["port.delete.start"] == {"port_id": port["id"]}
    assert payloads["port.delete.end"]["port_id"] == port["id"]
    assert payloads["port.delete.end"]["port"]["name"] == "q"
