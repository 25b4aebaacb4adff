"""Glance's standard metadata definition namespaces, loaded at bootstrap and by
`overcast image load-metadefs` (issue 8, #17): tools that build image forms from
`GET /v2/metadefs/namespaces?resource_types=OS::Glance::Image` found an empty catalog."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from overcast.cli import bootstrap
from overcast.config import Config
from overcast.image.metadef_data import standard_namespaces
from tests.functional.conftest import ADMIN_PASSWORD
from tests.functional.image.conftest import Glance

NS = "/v2/metadefs/namespaces"
EXE = str(Path(sys.executable).parent / "overcast")


async def load_metadefs(config: Config, *args: str) -> str:
    """`overcast image load-metadefs` as an operator runs it; its one line of output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERCAST_")}
    if config.image.database_url:
        env["OVERCAST_IMAGE__DATABASE_URL"] = config.image.database_url
    proc = await asyncio.create_subprocess_exec(
        EXE, "image", "load-metadefs", "--state-dir", str(config.state_dir), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode().strip()


async def image_namespaces(glance: Glance) -> dict[str, dict[str, Any]]:
    r = await glance.http.get(f"{NS}?resource_types=OS::Glance::Image&limit=1000",
                              headers=glance.alice)
    assert r.status_code == 200, r.text
    return {n["namespace"]: n for n in r.json()["namespaces"]}


async def everything(glance: Glance) -> dict[str, Any]:
    """Every namespace in full, as an admin sees it."""
    r = await glance.http.get(f"{NS}?limit=1000", headers=glance.admin)
    return {n["namespace"]: (await glance.http.get(f"{NS}/{n['namespace']}",
                                                   headers=glance.admin)).json()
            for n in r.json()["namespaces"]}


async def test_bootstrap_loads_the_standard_namespaces(glance: Glance, image_config: Config
                                                       ) -> None:
    shipped = {ns["namespace"]: ns for ns in standard_namespaces()}
    # A member sees the public ones; OS::OperatingSystem names no visibility, which leaves
    # it to admins in Glance too (its loader stores NULL, which only the public filter skips).
    for_images = {name for name, ns in shipped.items()
                  if ns.get("visibility") == "public"
                  and any(a["name"] == "OS::Glance::Image"
                          for a in ns.get("resource_type_associations", []))}
    assert len(shipped) == 33 and "OS::Compute::Watchdog" in for_images
    assert "OS::OperatingSystem" not in for_images
    assert await image_namespaces(glance) == {}  # the image database came after bootstrap
    await bootstrap(image_config, ADMIN_PASSWORD)
    listed = await image_namespaces(glance)
    assert set(listed) == for_images
    r = await glance.http.get(f"{NS}?resource_types=OS::Glance::Image&limit=1000",
                              headers=glance.admin)
    assert "OS::OperatingSystem" in {n["namespace"] for n in r.json()["namespaces"]}
    watchdog = listed["OS::Compute::Watchdog"]
    assert (watchdog["visibility"], watchdog["protected"], watchdog["owner"]) == (
        "public", True, "admin")
    # What a form builder reads: the properties, with the image association's prefix.
    r = await glance.http.get(f"{NS}/OS::Compute::Watchdog?resource_type=OS::Glance::Image",
                              headers=glance.alice)
    props = r.json()["properties"]
    expected = shipped["OS::Compute::Watchdog"]["properties"]["watchdog_action"]
    assert props == {"hw_watchdog_action": expected}
    r = await glance.http.get(f"{NS}/OS::Software::DBMS/objects", headers=glance.alice)
    assert {o["name"] for o in r.json()["objects"]} == {
        o["name"] for o in shipped["OS::Software::DBMS"]["objects"]}
    # Protected, like Glance's: a member cannot delete one, nor can an admin without unprotecting.
    r = await glance.http.delete(f"{NS}/OS::Compute::Watchdog", headers=glance.admin)
    assert r.status_code == 403
    assert "protected" in r.json()["message"]


async def test_loading_again_changes_nothing_and_keeps_an_operators_edits(
        glance: Glance, image_config: Config) -> None:
    assert await load_metadefs(image_config) == "loaded 33, kept 0, replaced 0"
    before = await everything(glance)
    assert await load_metadefs(image_config) == "loaded 0, kept 33, replaced 0"
    await bootstrap(image_config, ADMIN_PASSWORD)
    assert await everything(glance) == before  # not even updated_at moved
    # The operator edits one namespace and deletes another.
    watchdog = f"{NS}/OS::Compute::Watchdog"
    r = await glance.http.put(watchdog, headers=glance.admin, json={
        "namespace": "OS::Compute::Watchdog", "description": "ours", "visibility": "public",
        "protected": False})
    assert r.status_code == 200, r.text
    r = await glance.http.delete(watchdog, headers=glance.admin)
    assert r.status_code == 204
    randomgen = f"{NS}/OS::Compute::RandomNumberGenerator"
    r = await glance.http.put(randomgen, headers=glance.admin, json={
        "namespace": "OS::Compute::RandomNumberGenerator", "description": "ours",
        "visibility": "private", "protected": True})
    assert r.status_code == 200, r.text
    # Bootstrap (every `overcast up`) brings back neither the deleted one nor the old text.
    await bootstrap(image_config, ADMIN_PASSWORD)
    assert (await glance.http.get(watchdog, headers=glance.admin)).status_code == 404
    assert (await glance.http.get(randomgen, headers=glance.admin)).json()["description"] == "ours"
    # Asked explicitly, the deleted one comes back; the edited one is kept...
    assert await load_metadefs(image_config) == "loaded 1, kept 32, replaced 0"
    assert (await glance.http.get(watchdog, headers=glance.admin)).status_code == 200
    r = await glance.http.get(randomgen, headers=glance.admin)
    assert (r.json()["description"], r.json()["visibility"]) == ("ours", "private")
    # ...unless --force: the shipped definitions win.
    assert await load_metadefs(image_config, "--force") == "loaded 0, kept 0, replaced 33"
    r = await glance.http.get(randomgen, headers=glance.admin)
    shipped = next(ns for ns in standard_namespaces()
                   if ns["namespace"] == "OS::Compute::RandomNumberGenerator")
    assert (r.json()["description"], r.json()["visibility"]) == (
        shipped["description"], "public")
