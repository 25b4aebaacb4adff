"""Unified limits and filtered catalogs through the real `openstack` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.compat.conftest import Cloud

pytestmark = pytest.mark.compat


def test_registered_limit_and_limit_commands(cloud: Cloud) -> None:
    svc = cloud.openstack_json("service", "create", "--name", "cli-limits", "cli-limits")
    cloud.openstack("region", "create", "LimitRegion")
    project = cloud.openstack_json("project", "create", "--domain", "default", "limits-cli")

    reg = cloud.openstack_json("registered", "limit", "create", "--service", "cli-limits",
                               "--default-limit", "10", "--region", "LimitRegion",
                               "--description", "cores per project", "cores")
    assert reg["default_limit"] == 10 and reg["region_id"] == "LimitRegion"  # type: ignore[index]
    assert reg["service_id"] == svc["id"]  # type: ignore[index]
    listed = cloud.openstack_json("registered", "limit", "list", "--service", "cli-limits")
    assert [x["ID"] for x in listed] == [reg["id"]]  # type: ignore[index,union-attr]
    shown = cloud.openstack_json("registered", "limit", "show", reg["id"])  # type: ignore[index]
    assert shown["description"] == "cores per project"  # type: ignore[index]
    # A second registered limit for the same resource: Keystone's 409, through the client
    r = cloud.openstack("registered", "limit", "create", "--service", "cli-limits",
                        "--default-limit", "3", "--region", "LimitRegion", "cores", check=False)
    assert r.returncode != 0 and "Duplicate entry" in r.stderr

    limit = cloud.openstack_json("limit", "create", "--service", "cli-limits", "--project",
                                 "limits-cli", "--resource-limit", "4", "--region",
                                 "LimitRegion", "cores")
    assert limit["project_id"] == project["id"]  # type: ignore[index]
    assert limit["resource_limit"] == 4  # type: ignore[index]
    limits = cloud.openstack_json("limit", "list", "--project", "limits-cli")
    assert [x["ID"] for x in limits] == [limit["id"]]  # type: ignore[index,union-attr]
    updated = cloud.openstack_json("limit", "set", "--resource-limit", "6",
                                   limit["id"])  # type: ignore[index]
    assert updated["resource_limit"] == 6  # type: ignore[index]
    # In use: the registered limit cannot be deleted
    r = cloud.openstack("registered", "limit", "delete", reg["id"], check=False)  # type: ignore[index]
    assert r.returncode != 0
    cloud.openstack("limit", "delete", limit["id"])  # type: ignore[index]
    cloud.openstack("registered", "limit", "set", "--default-limit", "12",
                    reg["id"])  # type: ignore[index]
    assert cloud.openstack_json("registered", "limit", "show",
                                reg["id"])["default_limit"] == 12  # type: ignore[index]
    cloud.openstack("registered", "limit", "delete", reg["id"])  # type: ignore[index]
    assert cloud.openstack_json("registered", "limit", "list", "--service", "cli-limits") == []


def test_endpoint_filter_narrows_catalog_list(cloud: Cloud, tmp_path: Path) -> None:
    cloud.openstack("project", "create", "--domain", "default", "filtered-cli")
    cloud.openstack("user", "create", "--domain", "default", "--password", "filtered-pass",
                    "filtered-user")
    cloud.openstack("role", "add", "--project", "filtered-cli", "--user", "filtered-user",
                    "member")
    env = {"OS_USERNAME": "filtered-user", "OS_PASSWORD": "filtered-pass",
           "OS_PROJECT_NAME": "filtered-cli", "OS_USER_DOMAIN_NAME": "Default",
           "OS_PROJECT_DOMAIN_NAME": "Default", "OS_AUTH_URL": cloud.auth_url,
           "OS_IDENTITY_API_VERSION": "3"}

    def catalog() -> dict[str, set[str]]:
        rows = cloud.openstack_json("catalog", "list", cloud="", env=env)
        return {row["Type"]: {line.split(": ")[0] for line in _lines(row["Endpoints"])}
                for row in rows}  # type: ignore[union-attr,index]

    assert {"identity", "image"} <= set(catalog())

    # An endpoint group selecting the image service's public endpoint, given to the project
    image = cloud.openstack_json("service", "show", "image")
    filters = tmp_path / "filters.json"
    filters.write_text(json.dumps({"service_id": image["id"],  # type: ignore[index]
                                   "interface": "public"}))
    cloud.openstack("endpoint", "group", "create", "--description", "image only",
                    "image-public", str(filters))
    cloud.openstack("endpoint", "group", "add", "project", "image-public", "filtered-cli")
    narrowed = catalog()
    assert set(narrowed) == {"image"}
    # ... and a single identity endpoint associated directly
    identity = cloud.openstack_json("endpoint", "list", "--service", "identity",
                                    "--interface", "public")
    cloud.openstack("endpoint", "add", "project", identity[0]["ID"],  # type: ignore[index]
                    "filtered-cli")
    assert set(catalog()) == {"image", "identity"}
    # The admin's project has no association: its catalog is whole
    assert {"identity", "image"} < set(
        row["Type"] for row in cloud.openstack_json("catalog", "list"))  # type: ignore[union-attr,index]

    cloud.openstack("endpoint", "remove", "project", identity[0]["ID"],  # type: ignore[index]
                    "filtered-cli")
    cloud.openstack("endpoint", "group", "remove", "project", "image-public", "filtered-cli")
    assert {"identity", "image"} <= set(catalog())


def _lines(cell: object) -> list[str]:
    """The endpoint lines of a `catalog list` cell ("RegionOne\n  public: http://...")."""
    text = cell if isinstance(cell, str) else "\n".join(map(str, cell))  # type: ignore[call-overload]
    return [line.strip() for line in text.splitlines() if ":" in line]
