"""/os-simple-tenant-usage over servers that really ran (the fake driver's cloud): hours, the
totals, who may see what, deleted servers as terminated, and the 2.40 paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from overcast.config import Config
from tests.functional.compute.conftest import mv
from tests.functional.compute.servers_cloud import Cloud, servers_cloud
from tests.functional.compute.test_servers import SQLITE_ONLY, _boot, _create, _wait

FMT = "%Y-%m-%dT%H:%M:%S.%f"
USAGE = "/v2.1/os-simple-tenant-usage"


@pytest.fixture
async def cloud(compute_config: Config) -> AsyncIterator[Cloud]:
    async with servers_cloud(compute_config, driver="fake", hosts=1, image=b"x" * 4096,
                             disk_format="raw") as c:
        yield c


def _window() -> str:
    now = datetime.now(UTC).replace(tzinfo=None)
    start = now - timedelta(days=1)
    end = now + timedelta(days=1)
    return f"start={start.strftime(FMT)}&end={end.strftime(FMT)}"


async def _get(c: Cloud, path: str, who: dict[str, str], status: int = 200,
               version: str = "2.1") -> Any:
    r = await c.http.get(path, headers=mv(version, who))
    assert r.status_code == status, r.text
    return r.json()


async def test_usage_counts_the_hours_servers_ran(cloud: Cloud) -> None:
    a = cloud.alice
    sid = await _create(cloud, a)
    server = await _wait(cloud, a, sid, "ACTIVE")
    alpha = server["tenant_id"]
    gone = await _create(cloud, a)
    await _wait(cloud, a, gone, "ACTIVE")
    assert (await cloud.http.delete(f"/v2.1/servers/{gone}", headers=a)).status_code == 204
    await _wait(cloud, a, gone, "DELETED")

    body = await _get(cloud, f"{USAGE}?{_window()}&detailed=1", cloud.admin)
    (mine,) = [t for t in body["tenant_usages"] if t["tenant_id"] == alpha]
    assert set(mine) == {"tenant_id", "server_usages", "total_local_gb_usage",
                         "total_vcpus_usage", "total_memory_mb_usage", "total_hours",
                         "start", "stop"}
    by_id = {s["instance_id"]: s for s in mine["server_usages"]}
    assert set(by_id) == {sid, gone}
    running, ended = by_id[sid], by_id[gone]
    assert running["state"] == "active" and running["ended_at"] is None
    assert running["flavor"] == "m1.tiny" and running["vcpus"] == 1
    assert running["memory_mb"] == 512 and running["local_gb"] == 1
    assert 0 < running["hours"] < 0.5 and running["uptime"] >= 0
    assert ended["state"] == "terminated" and ended["ended_at"] >= ended["started_at"]
    hours = running["hours"] + ended["hours"]
    assert mine["total_hours"] == pytest.approx(hours)
    assert mine["total_memory_mb_usage"] == pytest.approx(512 * hours)
    assert mine["total_vcpus_usage"] == pytest.approx(hours)

    # Without detailed=1 the list has the totals only; the project's own members see theirs.
    body = await _get(cloud, f"{USAGE}?{_window()}", cloud.admin)
    assert all("server_usages" not in t for t in body["tenant_usages"])
    own = (await _get(cloud, f"{USAGE}/{alpha}?{_window()}", a))["tenant_usage"]
    assert {s["instance_id"] for s in own["server_usages"]} == {sid, gone}
    # A period that ended before the servers were launched has nothing.
    old = "start=2000-01-01T00:00:00&end=2000-01-02T00:00:00"
    assert (await _get(cloud, f"{USAGE}/{alpha}?{old}", a)) == {"tenant_usage": {}}


@SQLITE_ONLY
async def test_policy_bad_periods_and_paging(cloud: Cloud) -> None:
    a = cloud.alice
    r = await cloud.http.post("/v2.1/servers", headers=mv("2.96", a),
                              json=_boot(cloud, min_count=3, max_count=3))
    assert r.status_code == 202, r.text
    r = await cloud.http.get("/v2.1/servers/detail", headers=a)
    servers = r.json()["servers"]
    for s in servers:
        await _wait(cloud, a, s["id"], "ACTIVE")
    alpha = servers[0]["tenant_id"]
    window = _window()

    assert (await _get(cloud, f"{USAGE}?{window}", a, 403))["forbidden"]["code"] == 403
    await _get(cloud, f"{USAGE}/{alpha}?{window}", cloud.bob, 403)
    for query in ("start=2030-01-02T00:00:00&end=2030-01-01T00:00:00", "start=yesterday"):
        fault = await _get(cloud, f"{USAGE}/{alpha}?{query}", a, 400)
        assert fault["badRequest"]["code"] == 400

    # 2.40: pages of servers with a next link; before, no links.
    seen: list[str] = []
    path = f"{USAGE}/{alpha}?{window}&limit=2"
    while path:
        body = await _get(cloud, path, a, version="2.40")
        seen += [s["instance_id"] for s in body["tenant_usage"].get("server_usages", [])]
        links = body.get("tenant_usage_links", [])
        path = links[0]["href"].split("testserver", 1)[1] if links else ""
    assert sorted(seen) == sorted(s["id"] for s in servers) and len(seen) == 3
    body = await _get(cloud, f"{USAGE}?{window}&detailed=1&limit=1", cloud.admin, version="2.40")
    assert len(body["tenant_usages"][0]["server_usages"]) == 1
    assert body["tenant_usages_links"][0]["rel"] == "next"
    await _get(cloud, f"{USAGE}?{window}&marker=nope", cloud.admin, 400, version="2.40")
    body = await _get(cloud, f"{USAGE}/{alpha}?{window}&limit=1", a)
    assert "tenant_usage_links" not in body and len(body["tenant_usage"]["server_usages"]) == 3
