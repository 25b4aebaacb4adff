"""The compute agent against the fake driver over the memory bus, with a stand-in conductor
that holds desired states and records what the agent reports: the reconcile table of
agent/reconciler.py, row by row, and idempotence (a second pass changes nothing)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from overcast.common.bus import Bus, connect
from overcast.compute.agent.host import ComputeAgent
from overcast.compute.agent.images import ImageCache
from overcast.compute.drivers.base import PowerState
from overcast.compute.drivers.fake import FakeDriver
from overcast.compute.messages import (
    CONDUCTOR_TOPIC,
    DesiredFlavor,
    DesiredImage,
    DesiredInstance,
    HostReport,
    InstanceReport,
)

HOST = "h1"


class StandInConductor:
    """Desired states by uuid, and every report, as the conductor's bus endpoint."""

    def __init__(self) -> None:
        self.desired: dict[str, DesiredInstance] = {}
        self.reports: list[InstanceReport] = []
        self.hosts: list[HostReport] = []

    async def instances_on_host(self, ctx: dict[str, Any], host: str) -> list[str]:
        return [u for u, d in self.desired.items() if d.host == host and not d.deleted]

    async def get_instance(self, ctx: dict[str, Any], instance_uuid: str, host: str
                           ) -> dict[str, Any] | None:
        d = self.desired.get(instance_uuid)
        return None if d is None or d.host != host else d.model_dump(mode="json")

    async def instance_report(self, ctx: dict[str, Any], report: dict[str, Any]) -> None:
        r = InstanceReport.model_validate(report)
        self.reports.append(r)
        d = self.desired.get(r.uuid)
        if d is not None and (r.expected_task_state is None
                              or d.task_state in r.expected_task_state):
            known = {k: v for k, v in r.updates.items() if k in DesiredInstance.model_fields}
            self.desired[r.uuid] = d.model_copy(update=known)

    async def host_report(self, ctx: dict[str, Any], report: dict[str, Any]) -> None:
        self.hosts.append(HostReport.model_validate(report))


def desired(vm_state: str = "building", task_state: str | None = "scheduling",
            **kw: Any) -> DesiredInstance:
    u = str(uuid.uuid4())
    fields: dict[str, Any] = {
        "flavor": DesiredFlavor(id="1", name="m1.tiny", vcpus=1, memory_mb=512, root_gb=1),
        "image": DesiredImage(id="img"), **kw}
    return DesiredInstance(
        uuid=u, name="vm", hostname="vm", project_id="p", user_id="u", host=HOST,
        vm_state=vm_state, task_state=task_state, power_state=0, **fields)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[ComputeAgent, FakeDriver,
                                                       StandInConductor]]:
    bus: Bus = connect(f"memory://agent-{uuid.uuid4().hex[:8]}")
    await bus.start()
    conductor = StandInConductor()
    await bus.serve(CONDUCTOR_TOPIC, "c1", conductor)
    driver = FakeDriver(HOST)
    agent = ComputeAgent(HOST, driver, bus, ImageCache(tmp_path, None, fetch_bytes=False),
                         driver_name="fake", shutdown_timeout=0)
    yield agent, driver, conductor
    await agent.stop()
    await bus.close()


async def settle(conductor: StandInConductor, n: int) -> None:
    """Casts are asynchronous: wait until `n` reports arrived."""
    for _ in range(200):
        if len(conductor.reports) >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(conductor.reports)} reports, expected {n}")


async def test_a_build_spawns_and_reports_active(world: Any) -> None:
    agent, driver, conductor = world
    d = desired()
    conductor.desired[d.uuid] = d
    await agent.run_once()
    await settle(conductor, 2)
    assert [r.updates.get("task_state", "-") for r in conductor.reports] == ["spawning", None]
    assert conductor.desired[d.uuid].vm_state == "active"
    assert conductor.reports[-1].notification == "instance.create.end"
    assert driver.vms[d.uuid].state == PowerState.RUNNING
    await agent.report()  # the heartbeat names the guests the host runs
    for _ in range(100):
        if conductor.hosts[-1].instances:
            break
        await asyncio.sleep(0.01)
    assert conductor.hosts[-1].instances == [d.uuid]
    # Level-triggered: a second pass finds nothing to do.
    before = len(conductor.reports)
    await agent.run_once()
    await asyncio.sleep(0.05)
    assert len(conductor.reports) == before
    assert [c for c in driver.calls if c[0] == "spawn"] == [("spawn", d.uuid)]


async def test_a_guest_that_died_goes_shutoff(world: Any) -> None:
    agent, driver, conductor = world
    d = desired()
    conductor.desired[d.uuid] = d
    await agent.run_once()
    await settle(conductor, 2)
    driver.vms[d.uuid].state = PowerState.SHUTDOWN  # its QEMU process died
    await agent.run_once()
    await settle(conductor, 3)
    assert conductor.desired[d.uuid].vm_state == "stopped"
    assert conductor.desired[d.uuid].power_state == int(PowerState.SHUTDOWN)


async def test_a_guest_deleted_while_the_agent_was_down_is_cleaned_up(world: Any) -> None:
    agent, driver, conductor = world
    d = desired()
    conductor.desired[d.uuid] = d
    await agent.run_once()
    await settle(conductor, 2)
    del conductor.desired[d.uuid]  # the database no longer has it
    await agent.run_once()
    assert d.uuid not in driver.vms


async def test_delete_destroys_then_reports(world: Any) -> None:
    agent, driver, conductor = world
    d = desired()
    conductor.desired[d.uuid] = d
    await agent.run_once()
    await settle(conductor, 2)
    conductor.desired[d.uuid] = conductor.desired[d.uuid].model_copy(
        update={"task_state": "deleting"})
    await agent.run_once()
    await settle(conductor, 3)
    assert conductor.reports[-1].destroyed and d.uuid not in driver.vms


async def test_stop_and_start_tasks(world: Any) -> None:
    agent, driver, conductor = world
    d = desired()
    conductor.desired[d.uuid] = d
    await agent.run_once()
    await settle(conductor, 2)
    conductor.desired[d.uuid] = conductor.desired[d.uuid].model_copy(
        update={"task_state": "powering-off"})
    await agent.run_once()
    await settle(conductor, 3)
    assert conductor.desired[d.uuid].vm_state == "stopped"
    assert driver.vms[d.uuid].state == PowerState.SHUTDOWN
    conductor.desired[d.uuid] = conductor.desired[d.uuid].model_copy(
        update={"task_state": "powering-on"})
    await agent.run_once()
    await settle(conductor, 4)
    assert conductor.desired[d.uuid].vm_state == "active"
    assert conductor.reports[-1].event == "compute_start_instance"


async def test_a_stopped_instance_found_running_is_powered_off(world: Any) -> None:
    agent, driver, conductor = world
    d = desired()
    conductor.desired[d.uuid] = d
    await agent.run_once()
    await settle(conductor, 2)
    conductor.desired[d.uuid] = conductor.desired[d.uuid].model_copy(
        update={"vm_state": "stopped", "power_state": 4})
    await agent.run_once()
    assert driver.vms[d.uuid].state == PowerState.SHUTDOWN


async def test_a_failed_boot_asks_for_a_reschedule_with_the_reason(world: Any) -> None:
    agent, driver, conductor = world
    d = desired(flavor=DesiredFlavor(id="0", name="tiny", vcpus=1, memory_mb=32, root_gb=1))
    conductor.desired[d.uuid] = d
    await agent.run_once()
    await settle(conductor, 2)
    last = conductor.reports[-1]
    assert last.reschedule and last.fault is not None and "RAM" in last.fault.message
    assert d.uuid not in driver.vms


async def test_a_poke_with_the_desired_state_builds_at_once(world: Any) -> None:
    agent, _driver, conductor = world
    await agent.start()
    d = desired()
    conductor.desired[d.uuid] = d
    await agent.bus.cast("compute", "sync", server=HOST, ctx={}, instance_uuid=d.uuid,
                         desired=d.model_dump(mode="json"))
    await settle(conductor, 2)
    assert conductor.desired[d.uuid].vm_state == "active"
    out = await agent.bus.call("compute", "get_console_output", server=HOST, ctx={},
                               instance_uuid=d.uuid, length=5)
    assert "Overcast guest" in out
