"""Every image decision is a policy rule an operator's policy.yaml can change (issue 8, one way:
no `is_admin` checks or permission dicts in domain code), and lists page the one way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from overcast.config import Config
from tests.functional.image.conftest import Glance


@pytest.fixture
def operator_policy(image_config: Config, tmp_path: Path) -> Iterator[Path]:
    """An operator's policy.yaml, in force when the image service starts (request it before
    `glance`)."""
    path = tmp_path / "image-policy.yaml"
    path.write_text(
        # Nobody is an administrator for visibility: admin sees what its project may see.
        '"context_is_admin": "!"\n'
        # Members may publicize their own images.
        '"publicize_image": "role:member and project_id:%(project_id)s"\n')
    image_config.image.policy_file = str(path)
    yield path


async def test_admin_sees_all_and_publicize_are_the_operators_to_change(
        operator_policy: Path, glance: Glance) -> None:
    private = await glance.create(glance.alice, name="alices", visibility="private")
    # context_is_admin decides who sees every image: now nobody.
    r = await glance.http.get(f"/v2/images/{private['id']}", headers=glance.admin)
    assert r.status_code == 404, r.text
    assert r.json()["message"] == f"No image found with ID {private['id']}<br /><br />\n\n\n"
    listed = (await glance.http.get("/v2/images", headers=glance.admin)).json()["images"]
    assert private["id"] not in [i["id"] for i in listed]
    # ...and who may give an image to another project (it was an is_admin check).
    r = await glance.patch(glance.admin, private["id"], [])
    assert r.status_code == 404
    # publicize_image decides who makes an image public: now its owner's members too.
    r = await glance.patch(glance.alice, private["id"], [
        {"op": "replace", "path": "/visibility", "value": "public"}])
    assert r.status_code == 200, r.text
    assert r.json()["visibility"] == "public"
    r = await glance.patch(glance.bob, private["id"], [
        {"op": "replace", "path": "/name", "value": "mine now"}])
    assert r.status_code == 403
    assert r.json()["message"].startswith(
        "You are not authorized to perform the requested action: modify_image.")


async def test_by_default_only_an_admin_publicizes_or_gives_an_image_away(glance: Glance
                                                                          ) -> None:
    img = await glance.create(glance.alice, name="a", visibility="private")
    r = await glance.patch(glance.alice, img["id"], [
        {"op": "replace", "path": "/visibility", "value": "public"}])
    assert r.status_code == 403
    assert r.json()["message"].startswith(
        "You are not authorized to perform the requested action: publicize_image.")
    r = await glance.patch(glance.alice, img["id"], [
        {"op": "replace", "path": "/owner", "value": glance.beta}])
    assert r.status_code == 403
    # Glance's HTTPForbidden(detail): webob's explanation, then why
    assert r.json()["message"] == ("Access was denied to this resource.<br /><br />\n"
                                   "Owner can't be updated by non admin.\n\n")
    r = await glance.patch(glance.admin, img["id"], [
        {"op": "replace", "path": "/owner", "value": glance.beta}])
    assert r.status_code == 200 and r.json()["owner"] == glance.beta
    r = await glance.http.get(f"/v2/images/{img['id']}", headers=glance.bob)
    assert r.status_code == 200  # bob's project owns it now


async def test_tasks_page_with_next_links(glance: Glance, image_config: Config) -> None:
    # Nothing listens there: the imports fail, the tasks are listed all the same.
    image_config.image.web_download_allowed_hosts = "127.0.0.1:9"
    created = []
    for i in range(3):
        r = await glance.http.post("/v2/tasks", headers=glance.admin, json={
            "type": "import", "input": {"import_from": "http://127.0.0.1:9/x.raw",
                                        "image_properties": {"name": f"t{i}"}}})
        assert r.status_code == 201, r.text
        created.append(r.json()["id"])
    seen: list[str] = []
    url = "/v2/tasks?limit=2&sort_dir=asc"
    pages = 0
    while url:
        body = (await glance.http.get(url, headers=glance.admin)).json()
        seen += [t["id"] for t in body["tasks"]]
        url = body.get("next", "")
        pages += 1
    assert seen == created and pages == 2
    r = await glance.http.get("/v2/tasks?sort_key=colour", headers=glance.admin)
    assert r.status_code == 400 and r.json()["message"].startswith("Invalid sort key: colour")
    r = await glance.http.get("/v2/tasks?marker=nope", headers=glance.admin)
    assert r.status_code == 400
    assert r.json()["message"].startswith("Invalid marker. Task nope could not be found.")
