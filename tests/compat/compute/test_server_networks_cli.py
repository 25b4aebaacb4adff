"""Servers on networks through the real `openstack` CLI against `overcast up` with Compute
(fake driver) and Networking: `server create --network`, addresses in `server show`, a
floating IP added with `server add floating ip`, `port list --server`, interfaces, `server
delete` giving the port back, and another project's network refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack
import pytest

from tests.compat.conftest import Cloud, start_cloud, stop_cloud

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    c = start_cloud(tmp_path_factory.mktemp("compute-net"), {
        "OVERCAST_COMPUTE__ENABLED": "true", "OVERCAST_COMPUTE__DRIVER": "fake",
        "OVERCAST_NETWORK__ENABLED": "true", "OVERCAST_PLACEMENT__ENABLED": "false"},
        seconds=240)
    yield c
    stop_cloud(c)


def _as(c: Cloud, name: str) -> dict[str, str]:
    """A member of a project of its own (made through openstacksdk: quicker than three CLI
    runs), as environment variables for the CLI."""
    admin = openstack.connect(auth_url=c.auth_url, username="admin",
                              password=c.admin_password, project_name="admin",
                              user_domain_name="Default", project_domain_name="Default")
    project = admin.identity.create_project(name=name, domain_id="default")
    user = admin.identity.create_user(name=name, password=f"{name}-pw", domain_id="default")
    admin.identity.assign_project_role_to_user(project, user, admin.identity.find_role("member"))
    return {"OS_AUTH_URL": c.auth_url, "OS_USERNAME": name, "OS_PASSWORD": f"{name}-pw",
            "OS_PROJECT_NAME": name, "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default", "OS_IDENTITY_API_VERSION": "3",
            "OS_CLIENT_CONFIG_FILE": "/dev/null"}


def test_server_on_a_network_with_a_floating_ip(cloud: Cloud, tmp_path: Path) -> None:
    c = cloud
    img = tmp_path / "cirros.raw"
    img.write_bytes(b"\0" * 65536)
    c.openstack("image", "create", "--disk-format", "raw", "--container-format", "bare",
                "--file", str(img), "--public", "cirros")
    c.openstack("network", "create", "ext-net", "--external", "--share")
    c.openstack("subnet", "create", "ext-subnet", "--network", "ext-net", "--no-dhcp",
                "--allocation-pool", "start=203.0.113.101,end=203.0.113.200",
                "--gateway", "203.0.113.1", "--subnet-range", "203.0.113.0/24")
    demo = _as(c, "demo")

    def run(*args: str, env: dict[str, str] = demo, check: bool = True) -> Any:
        return c.openstack(*args, cloud="", env=env, check=check)

    def js(*args: str, env: dict[str, str] = demo) -> Any:
        return c.openstack_json(*args, cloud="", env=env)

    net = js("network", "create", "demo-net")
    js("subnet", "create", "demo-subnet", "--network", "demo-net",
       "--subnet-range", "192.168.1.0/24")
    run("router", "create", "demo-router")
    run("router", "add", "subnet", "demo-router", "demo-subnet")
    run("router", "set", "--external-gateway", "ext-net", "demo-router")
    server = js("server", "create", "--flavor", "m1.tiny", "--image", "cirros",
                "--network", "demo-net", "--wait", "vm1")
    assert server["status"] == "ACTIVE"
    shown = js("server", "show", "vm1")
    assert shown["addresses"] == {"demo-net": ["192.168.1.2"]} or \
        shown["addresses"] == "demo-net=192.168.1.2", shown["addresses"]
    (port,) = js("port", "list", "--server", "vm1")
    assert port["Fixed IP Addresses"][0]["ip_address"] == "192.168.1.2"
    fip = js("floating", "ip", "create", "ext-net")["floating_ip_address"]
    run("server", "add", "floating", "ip", "vm1", fip)
    shown = js("server", "show", "vm1")
    assert fip in str(shown["addresses"]) and "192.168.1.2" in str(shown["addresses"])
    # An interface on a second network, then detached.
    js("network", "create", "second")
    js("subnet", "create", "second-sub", "--network", "second", "--subnet-range",
       "10.5.0.0/24")
    run("server", "add", "network", "vm1", "second")
    assert "10.5.0." in str(js("server", "show", "vm1")["addresses"])
    assert len(js("port", "list", "--server", "vm1")) == 2
    run("server", "remove", "network", "vm1", "second")
    assert len(js("port", "list", "--server", "vm1")) == 1
    # Another project: the CLI finds no such network; Nova's own answer, through
    # openstacksdk, is a 400 NetworkNotFound.
    other = _as(c, "other")
    r = run("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--network",
            net["id"], "vm2", env=other, check=False)
    assert r.returncode != 0 and f"No Network found for {net['id']}" in r.stderr
    conn = openstack.connect(auth_url=c.auth_url, username="other", password="other-pw",
                             project_name="other", user_domain_name="Default",
                             project_domain_name="Default")
    image = conn.image.find_image("cirros")
    with pytest.raises(openstack.exceptions.BadRequestException) as err:
        conn.compute.create_server(name="vm2", image_id=image.id, flavor_id="1",
                                   networks=[{"uuid": net["id"]}])
    assert f"Network {net['id']} could not be found." in str(err.value)
    assert list(conn.compute.servers()) == []
    run("server", "delete", "--wait", "vm1")
    assert js("port", "list", "--network", "demo-net", "--device-owner", "compute:nova") == []
    assert js("floating", "ip", "show", fip)["port_id"] is None
