"""os-migrations and /servers/{id}/migrations over servers really resized (the fake driver's
cloud): Nova's statuses through resize, revert and confirm, the fields each microversion
adds, the filters, 2.59 paging, and who may list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from overcast.config import Config
from tests.functional.compute.conftest import mv
from tests.functional.compute.servers_cloud import Cloud, servers_cloud
from tests.functional.compute.test_servers import SQLITE_ONLY, _act, _create, _wait

pytestmark = SQLITE_ONLY

MIGS = "/v2.1/os-migrations"


@pytest.fixture
async def cloud(compute_config: Config) -> AsyncIterator[Cloud]:
    async with servers_cloud(compute_config, driver="fake", hosts=1, image=b"x" * 4096,
                             disk_format="raw") as c:
        yield c


async def _get(c: Cloud, path: str, who: dict[str, str], version: str = "2.1",
               status: int = 200) -> Any:
    r = await c.http.get(path, headers=mv(version, who))
    assert r.status_code == status, r.text
    return r.json()


async def test_resizes_are_listed_with_nova_statuses_and_fields(cloud: Cloud) -> None:
    a, admin = cloud.alice, cloud.admin
    sid = await _create(cloud, a)
    await _wait(cloud, a, sid, "ACTIVE")
    other = await _create(cloud, a)
    await _wait(cloud, a, other, "ACTIVE")
    assert (await _get(cloud, MIGS, admin))["migrations"] == []

    await _act(cloud, a, sid, {"resize": {"flavorRef": "2"}})
    await _wait(cloud, a, sid, "VERIFY_RESIZE")
    (m,) = (await _get(cloud, MIGS, admin))["migrations"]
    assert m["status"] == "finished" and m["instance_uuid"] == sid
    assert set(m) == {"id", "status", "instance_uuid", "source_compute", "source_node",
                      "dest_compute", "dest_node", "dest_host", "old_instance_type_id",
                      "new_instance_type_id", "created_at", "updated_at"}
    assert m["source_compute"] and m["source_compute"] == m["dest_compute"]
    assert isinstance(m["old_instance_type_id"], int)
    assert m["old_instance_type_id"] != m["new_instance_type_id"]
    await _act(cloud, a, sid, {"revertResize": None})
    await _wait(cloud, a, sid, "ACTIVE")
    await _act(cloud, a, sid, {"resize": {"flavorRef": "2"}})
    await _wait(cloud, a, sid, "VERIFY_RESIZE")
    await _act(cloud, a, sid, {"confirmResize": None}, status=204)
    await _wait(cloud, a, sid, "ACTIVE")
    await _act(cloud, a, other, {"resize": {"flavorRef": "2"}})
    await _wait(cloud, a, other, "VERIFY_RESIZE")

    # Oldest first before 2.59; migration_type and (for no live migration) no links at 2.23.
    body = await _get(cloud, MIGS, admin, "2.23")
    assert [(x["instance_uuid"], x["status"]) for x in body["migrations"]] == [
        (sid, "reverted"), (sid, "confirmed"), (other, "finished")]
    assert {x["migration_type"] for x in body["migrations"]} == {"resize"}
    assert all("links" not in x and "uuid" not in x for x in body["migrations"])
    # Filters.
    mine = await _get(cloud, f"{MIGS}?instance_uuid={sid}", admin)
    assert [x["status"] for x in mine["migrations"]] == ["reverted", "confirmed"]
    done = await _get(cloud, f"{MIGS}?status=confirmed", admin)
    assert [x["instance_uuid"] for x in done["migrations"]] == [sid]
    host = body["migrations"][0]["source_compute"]
    typed = await _get(cloud, f"{MIGS}?migration_type=resize", admin)  # a filter at 2.1 too
    assert len(typed["migrations"]) == 3 and "migration_type" not in typed["migrations"][0]
    assert len((await _get(cloud, f"{MIGS}?host={host}", admin))["migrations"]) == 3
    assert (await _get(cloud, f"{MIGS}?host=nowhere", admin))["migrations"] == []
    live = await _get(cloud, f"{MIGS}?migration_type=live-migration", admin, "2.23")
    assert live["migrations"] == []

    # 2.59: uuid, newest first, paging by uuid marker with migrations_links; 2.80: user and
    # project.
    page = await _get(cloud, f"{MIGS}?limit=2", admin, "2.59")
    assert [x["instance_uuid"] for x in page["migrations"]] == [other, sid]
    assert len(page["migrations"]) == 2 and "uuid" in page["migrations"][0]
    assert "user_id" not in page["migrations"][0]
    nxt = page["migrations_links"][0]
    assert nxt["rel"] == "next" and page["migrations"][1]["uuid"] in nxt["href"]
    rest = await _get(cloud, f"{MIGS}?limit=2&marker={page['migrations'][1]['uuid']}", admin,
                      "2.59")
    assert [x["status"] for x in rest["migrations"]] == ["reverted"]
    assert "migrations_links" not in rest
    await _get(cloud, f"{MIGS}?marker=nope", admin, "2.59", status=400)
    await _get(cloud, f"{MIGS}?bogus=1", admin, "2.59", status=400)
    assert len((await _get(cloud, f"{MIGS}?bogus=1", admin))["migrations"]) == 3
    latest = await _get(cloud, f"{MIGS}?limit=1", admin, "2.80")
    server = (await _get(cloud, f"/v2.1/servers/{sid}", a))["server"]
    assert latest["migrations"][0]["project_id"] == server["tenant_id"]
    assert latest["migrations"][0]["user_id"] == server["user_id"]
    by_project = await _get(cloud, f"{MIGS}?project_id={server['tenant_id']}", admin, "2.80")
    assert len(by_project["migrations"]) == 3
    assert (await _get(cloud, f"{MIGS}?user_id=someone", admin, "2.80"))["migrations"] == []
    # changes-since (2.59) and changes-before (2.66) on updated_at.
    stamp = body["migrations"][-1]["updated_at"]
    since = await _get(cloud, f"{MIGS}?changes-since={stamp}", admin, "2.66")
    assert [x["instance_uuid"] for x in since["migrations"]] == [other]
    before = await _get(cloud, f"{MIGS}?changes-before=2000-01-01T00:00:00", admin, "2.66")
    assert before["migrations"] == []

    # Admin only.
    r = await cloud.http.get(MIGS, headers=a)
    assert r.status_code == 403, r.text


async def test_server_migrations_lists_live_migrations_under_way(cloud: Cloud) -> None:
    a, admin = cloud.alice, cloud.admin
    sid = await _create(cloud, a)
    await _wait(cloud, a, sid, "ACTIVE")
    await _act(cloud, a, sid, {"resize": {"flavorRef": "2"}})
    await _wait(cloud, a, sid, "VERIFY_RESIZE")
    path = f"/v2.1/servers/{sid}/migrations"
    # A resize is no live migration: the server's list stays empty, a show is a 404.
    assert (await _get(cloud, path, admin, "2.23"))["migrations"] == []
    mid = (await _get(cloud, MIGS, admin))["migrations"][-1]["id"]
    body = await _get(cloud, f"{path}/{mid}", admin, "2.23", status=404)
    assert body["itemNotFound"]["message"].endswith("is not live-migration.")
    body = await _get(cloud, f"{path}/999999", admin, "2.23", status=404)
    assert "is not found for server" in body["itemNotFound"]["message"]
    await _get(cloud, path, admin, "2.22", status=404)  # the route came at 2.23
    await _get(cloud, path, a, "2.23", status=403)
    await _get(cloud, "/v2.1/servers/00000000-0000-0000-0000-000000000000/migrations", admin,
               "2.23", status=404)
