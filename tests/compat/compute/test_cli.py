"""The real `openstack` CLI against `overcast up` with the compute API on: flavors, keypairs,
aggregates, availability zones, services and hypervisors, quotas, limits, server groups.

Compute hosts are registered the way the conductor registers an agent's host
(`Hosts.register_host` on the compute database), since no agent runs here."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from overcast.common.db import Database
from overcast.compute.hosts import Hosts
from overcast.config import load_config
from tests.compat.conftest import Cloud, start_cloud, stop_cloud


@pytest.fixture(scope="module")
def nova_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    c = start_cloud(tmp_path_factory.mktemp("nova"), {"OVERCAST_COMPUTE__ENABLED": "true"})
    # a second project and user, for private flavors, quotas and per-user keypairs
    c.openstack("project", "create", "demo")
    c.openstack("user", "create", "--project", "demo", "--password", "demo-pw", "demo")
    yield c
    stop_cloud(c)


def _register(cloud: Cloud, host: str) -> None:
    config = load_config(cloud.state_dir, environ=cloud.env)

    async def run() -> None:
        db = Database(config.database_url("compute"))
        try:
            hosts = Hosts(db, config.compute)
            await hosts.register_host(host, vcpus=4, memory_mb=8192, local_gb=40,
                                      host_ip="127.0.0.1")
        finally:
            await db.dispose()

    asyncio.run(run())


def _json(cloud: Cloud, *args: str) -> Any:
    return cloud.openstack_json(*args)


def test_flavor_list_shows_the_guides_flavors(nova_cloud: Cloud) -> None:
    flavors = {f["Name"]: f for f in _json(nova_cloud, "flavor", "list")}
    assert {"m1.nano", "m1.micro", "m1.tiny", "m1.small", "m1.medium", "m1.large",
            "m1.xlarge"} <= set(flavors)
    assert (flavors["m1.tiny"]["ID"], flavors["m1.tiny"]["RAM"], flavors["m1.tiny"]["Disk"]) == (
        "1", 512, 1)


def test_flavor_create_set_show_private_and_delete(nova_cloud: Cloud) -> None:
    made = _json(nova_cloud, "flavor", "create", "--id", "auto", "--vcpus", "1", "--ram", "256",
                 "--disk", "1", "FR_bootcamp_01")
    assert made["name"] == "FR_bootcamp_01" and made["ram"] == 256
    nova_cloud.openstack("flavor", "set", "--property", "hw:cpu_policy=shared",
                         "--property", "hw:numa_nodes=1", "FR_bootcamp_01")
    shown = _json(nova_cloud, "flavor", "show", "FR_bootcamp_01")
    assert shown["properties"] == {"hw:cpu_policy": "shared", "hw:numa_nodes": "1"}
    nova_cloud.openstack("flavor", "unset", "--property", "hw:numa_nodes", "FR_bootcamp_01")
    assert _json(nova_cloud, "flavor", "show", "FR_bootcamp_01")["properties"] == {
        "hw:cpu_policy": "shared"}

    private = _json(nova_cloud, "flavor", "create", "--private", "--vcpus", "2", "--ram", "128",
                    "--disk", "2", "--project", "demo", "secret-size")
    assert private["os-flavor-access:is_public"] is False
    public_names = [f["Name"] for f in _json(nova_cloud, "flavor", "list")]
    assert "secret-size" not in public_names
    private_names = [f["Name"] for f in _json(nova_cloud, "flavor", "list", "--private")]
    assert private_names == ["secret-size"]
    shown = _json(nova_cloud, "flavor", "show", "secret-size")
    assert len(shown["access_project_ids"]) == 1
    nova_cloud.openstack("flavor", "delete", "secret-size", "FR_bootcamp_01")
    r = nova_cloud.openstack("flavor", "show", "FR_bootcamp_01", check=False)
    assert r.returncode != 0 and "No Flavor found" in r.stderr


def test_keypairs_generated_and_imported(nova_cloud: Cloud, tmp_path: Path) -> None:
    private = nova_cloud.openstack("keypair", "create", "KP").stdout
    assert "PRIVATE KEY" in private
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    pub = tmp_path / "kp2.pub"
    pub.write_text(key.public_bytes(serialization.Encoding.OpenSSH,
                                    serialization.PublicFormat.OpenSSH).decode() + " me@host\n")
    imported = _json(nova_cloud, "keypair", "create", "--public-key", str(pub), "KP2")
    expected = subprocess.run(["ssh-keygen", "-l", "-E", "md5", "-f", str(pub)],
                              capture_output=True, text=True, check=True).stdout.split()[1]
    assert imported["fingerprint"] == expected.removeprefix("MD5:")
    listed = {k["Name"]: k for k in _json(nova_cloud, "keypair", "list")}
    assert set(listed) >= {"KP", "KP2"}
    assert listed["KP2"]["Type"] == "ssh"
    shown = _json(nova_cloud, "keypair", "show", "KP2")
    assert shown["fingerprint"] == imported["fingerprint"]
    assert "ssh-ed25519" in nova_cloud.openstack("keypair", "show", "--public-key", "KP2").stdout
    nova_cloud.openstack("keypair", "delete", "KP", "KP2")
    assert not {"KP", "KP2"} & {k["Name"] for k in _json(nova_cloud, "keypair", "list")}
    # keypairs are per user: an admin makes and lists the demo user's (user_id, 2.10)
    nova_cloud.openstack("keypair", "create", "--user", "demo", "--public-key", str(pub), "KP3")
    assert [k["Name"] for k in _json(nova_cloud, "keypair", "list", "--user", "demo")] == ["KP3"]
    assert "KP3" not in {k["Name"] for k in _json(nova_cloud, "keypair", "list")}
    nova_cloud.openstack("keypair", "delete", "--user", "demo", "KP3")


def test_hosts_aggregates_and_zones(nova_cloud: Cloud) -> None:
    _register(nova_cloud, "compute-a")
    _register(nova_cloud, "compute-b")
    services = {s["Host"]: s for s in _json(nova_cloud, "compute", "service", "list")}
    assert services["compute-a"]["Binary"] == "nova-compute"
    assert services["compute-a"]["State"] == "up" and services["compute-a"]["Zone"] == "nova"
    hypervisors = {h["Hypervisor Hostname"] for h in _json(nova_cloud, "hypervisor", "list")}
    assert {"compute-a", "compute-b"} <= hypervisors

    agg = _json(nova_cloud, "aggregate", "create", "--zone", "az-fast", "--property", "ssd=true",
                "fast")
    assert agg["availability_zone"] == "az-fast"
    nova_cloud.openstack("aggregate", "add", "host", "fast", "compute-a")
    shown = _json(nova_cloud, "aggregate", "show", "fast")
    assert shown["hosts"] == ["compute-a"]
    assert shown["properties"] == {"ssd": "true"}
    zones = {z["Zone Name"]: z for z in _json(nova_cloud, "availability", "zone", "list",
                                              "--compute")}
    assert set(zones) >= {"az-fast", "nova"}
    assert zones["az-fast"]["Zone Status"] == "available"
    r = nova_cloud.openstack("aggregate", "add", "host", "fast", "no-such-host", check=False)
    assert r.returncode != 0
    nova_cloud.openstack("compute", "service", "set", "--disable", "--disable-reason", "repair",
                         "compute-b", "nova-compute")
    services = {s["Host"]: s for s in _json(nova_cloud, "compute", "service", "list")}
    assert services["compute-b"]["Status"] == "disabled"
    nova_cloud.openstack("aggregate", "remove", "host", "fast", "compute-a")
    nova_cloud.openstack("aggregate", "delete", "fast")
    assert "fast" not in [a["Name"] for a in _json(nova_cloud, "aggregate", "list")]


def test_legacy_hosts_and_extensions(nova_cloud: Cloud) -> None:
    _register(nova_cloud, "compute-h")
    hosts = {h["Host Name"]: h for h in _json(nova_cloud, "host", "list")}
    assert hosts["compute-h"]["Service"] == "compute" and hosts["compute-h"]["Zone"] == "nova"
    shown = _json(nova_cloud, "host", "show", "compute-h")
    assert [r["Project"] for r in shown][:3] == ["(total)", "(used_now)", "(used_max)"]
    assert shown[0]["CPU"] == 4 and shown[0]["Memory MB"] == 8192
    nova_cloud.openstack("host", "set", "--disable", "compute-h")
    assert "compute-h" not in {h["Host Name"] for h in _json(nova_cloud, "host", "list")}
    nova_cloud.openstack("host", "set", "--enable", "compute-h")
    r = nova_cloud.openstack("host", "set", "--enable-maintenance", "compute-h", check=False)
    assert r.returncode != 0 and "501" in r.stderr
    extensions = _json(nova_cloud, "extension", "list", "--compute")
    assert "os-consoles" in {e["Alias"] for e in extensions}


def test_quota_and_limits(nova_cloud: Cloud) -> None:
    quotas = {q["Resource"]: q["Limit"] for q in _json(nova_cloud, "quota", "show",
                                                       "--compute")}
    assert (quotas["instances"], quotas["cores"], quotas["ram"]) == (10, 20, 51200)
    nova_cloud.openstack("quota", "set", "--instances", "15", "--ram", "10240", "demo")
    demo = {q["Resource"]: q["Limit"] for q in _json(nova_cloud, "quota", "show", "--compute",
                                                     "demo")}
    assert (demo["instances"], demo["ram"]) == (15, 10240)
    limits = {x["Name"]: x["Value"] for x in _json(nova_cloud, "limits", "show", "--absolute")}
    assert limits["max_total_instances"] == 10 and limits["total_instances_used"] == 0
    demo_limits = {x["Name"]: x["Value"] for x in _json(
        nova_cloud, "limits", "show", "--absolute", "--project", "demo")}
    assert demo_limits["max_total_instances"] == 15


def test_server_groups(nova_cloud: Cloud) -> None:
    made = _json(nova_cloud, "server", "group", "create", "--policy", "anti-affinity", "sg1")
    assert made["policy"] == "anti-affinity" and made["members"] == []
    soft = _json(nova_cloud, "server", "group", "create", "--policy", "soft-affinity", "sg2")
    listed = {g["Name"]: g for g in _json(nova_cloud, "server", "group", "list")}
    assert listed["sg1"]["Policy"] == "anti-affinity"
    assert listed["sg2"]["Policy"] == "soft-affinity"
    assert _json(nova_cloud, "server", "group", "show", soft["id"])["name"] == "sg2"
    nova_cloud.openstack("server", "group", "delete", "sg1", "sg2")
    assert _json(nova_cloud, "server", "group", "list") == []
