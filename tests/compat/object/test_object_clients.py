"""Object storage through the real clients: the `swift` CLI (python-swiftclient) in the guides'
flows, the `openstack container/object` commands, and openstacksdk."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.compat.conftest import Cloud
from tests.conftest import require

pytestmark = pytest.mark.compat


def _swift_exe() -> str:
    exe = shutil.which("swift", path=str(Path(sys.executable).parent))
    require("swift CLI", exe is not None, "pip install python-swiftclient")
    assert exe is not None
    return exe


def _new_user(cloud: Cloud) -> dict[str, str]:
    """A fresh project with a member: an account nobody has used."""
    suffix = uuid.uuid4().hex[:8]
    project, user, password = f"p-{suffix}", f"u-{suffix}", f"pw-{suffix}"
    cloud.openstack("project", "create", "--domain", "default", project)
    cloud.openstack("user", "create", "--domain", "default", "--password", password, user)
    cloud.openstack("role", "add", "--project", project, "--user", user, "member")
    return {"OS_AUTH_URL": cloud.auth_url, "OS_USERNAME": user, "OS_PASSWORD": password,
            "OS_PROJECT_NAME": project, "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default", "OS_IDENTITY_API_VERSION": "3",
            "OS_CLIENT_CONFIG_FILE": "/dev/null"}


def _swift(cloud: Cloud, env: dict[str, str], *args: str, cwd: Path | None = None
           ) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([_swift_exe(), *args], env={**cloud.env, **env}, capture_output=True,
                       text=True, timeout=300, cwd=cwd)
    assert r.returncode == 0, f"swift {' '.join(args)}: {r.stderr}"
    return r


def _stat(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def test_swift_cli_guide_flow(object_cloud: Cloud, tmp_path: Path) -> None:
    env = _new_user(object_cloud)
    stat = _stat(_swift(object_cloud, env, "stat").stdout)
    assert stat["Account"].startswith("AUTH_")
    assert (stat["Containers"], stat["Objects"], stat["Bytes"]) == ("0", "0", "0")
    account = stat["Account"]
    (tmp_path / "test.txt").write_text("first file\n")
    (tmp_path / "test2.txt").write_text("second file\n")
    _swift(object_cloud, env, "upload", "myfiles", "test.txt", cwd=tmp_path)
    _swift(object_cloud, env, "upload", "myfiles", "test2.txt", cwd=tmp_path)
    assert _swift(object_cloud, env, "list").stdout.split() == ["myfiles"]
    assert _swift(object_cloud, env, "list", "myfiles").stdout.split() == ["test.txt",
                                                                          "test2.txt"]
    out = tmp_path / "down"
    out.mkdir()
    _swift(object_cloud, env, "download", "myfiles", cwd=out)
    assert (out / "test.txt").read_bytes() == (tmp_path / "test.txt").read_bytes()
    assert (out / "test2.txt").read_bytes() == (tmp_path / "test2.txt").read_bytes()

    # Large objects: dynamic (segments under big_segments), then static.
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024 + 12345))
    digest = hashlib.md5(big.read_bytes()).hexdigest()
    for flags in (["--use-dlo"], ["--use-slo"]):
        _swift(object_cloud, env, "upload", "--segment-size", "1M", *flags, "big", "big.bin",
               cwd=tmp_path)
        got = tmp_path / "got.bin"
        _swift(object_cloud, env, "download", "big", "big.bin", "-o", str(got))
        assert hashlib.md5(got.read_bytes()).hexdigest() == digest, flags
        head = _stat(_swift(object_cloud, env, "stat", "big", "big.bin").stdout)
        assert head["Content Length"] == str(big.stat().st_size)
        # A DLO shows its manifest, an SLO says it is one.
        assert ("Manifest" in head) == (flags == ["--use-dlo"])
        assert (head.get("X-Static-Large-Object") == "True") == (flags == ["--use-slo"])

    # A public container: anyone reads it without a token.
    base = f"http://127.0.0.1:{object_cloud.ports['object']}/v1/{account}"
    assert httpx.get(f"{base}/myfiles/test.txt").status_code == 401
    _swift(object_cloud, env, "post", "-r", ".r:*", "myfiles")
    assert httpx.get(f"{base}/myfiles/test.txt").text == "first file\n"

    # A temporary URL: a GET without a token, until it expires.
    _swift(object_cloud, env, "post", "-m", "Temp-URL-Key:sekrit")
    path = _swift(object_cloud, env, "tempurl", "GET", "3600", f"/v1/{account}/big/big.bin",
                  "sekrit").stdout.strip()
    r = httpx.get(f"http://127.0.0.1:{object_cloud.ports['object']}{path}")
    assert r.status_code == 200 and hashlib.md5(r.content).hexdigest() == digest
    bad = path.replace("temp_url_sig=", "temp_url_sig=0")
    assert httpx.get(f"http://127.0.0.1:{object_cloud.ports['object']}{bad}").status_code == 401

    # Swift's v1.0 auth, in front of Keystone.
    v1 = {"OS_AUTH_URL": "", "OS_USERNAME": "", "OS_PASSWORD": ""}
    listed = subprocess.run(
        [_swift_exe(), "-A", f"http://127.0.0.1:{object_cloud.ports['object']}/auth/v1.0",
         "-U", f"{env['OS_PROJECT_NAME']}:{env['OS_USERNAME']}", "-K", env["OS_PASSWORD"],
         "list"], env={**object_cloud.env, **v1}, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "myfiles" in listed.stdout.split()

    _swift(object_cloud, env, "delete", "myfiles")
    assert _swift(object_cloud, env, "list").stdout.split() == ["big", "big_segments"]


def test_openstack_cli_containers_and_objects(object_cloud: Cloud, tmp_path: Path) -> None:
    env = _new_user(object_cloud)
    run = object_cloud.openstack
    rows = object_cloud.openstack_json("container", "create", "docs", cloud="", env=env)
    assert isinstance(rows, list) and rows[0]["container"] == "docs"
    listed = object_cloud.openstack_json("container", "list", cloud="", env=env)
    assert isinstance(listed, list)
    names = [c["Name"] for c in listed]
    assert names == ["docs"]
    src = tmp_path / "report.txt"
    src.write_text("quarterly numbers\n")
    run("object", "create", "docs", str(src), "--name", "report.txt", cloud="", env=env)
    objs = object_cloud.openstack_json("object", "list", "docs", cloud="", env=env)
    assert isinstance(objs, list) and [o["Name"] for o in objs] == ["report.txt"]
    show = object_cloud.openstack_json("container", "show", "docs", cloud="", env=env)
    assert isinstance(show, dict) and show["object_count"] == "1"
    saved = tmp_path / "saved.txt"
    run("object", "save", "docs", "report.txt", "--file", str(saved), cloud="", env=env)
    assert saved.read_text() == "quarterly numbers\n"
    r = run("container", "delete", "docs", cloud="", env=env, check=False)
    assert r.returncode != 0  # not empty: Swift's 409
    run("object", "delete", "docs", "report.txt", cloud="", env=env)
    run("container", "delete", "docs", cloud="", env=env)
    assert object_cloud.openstack_json("container", "list", cloud="", env=env) == []


def test_openstacksdk_object_store(object_cloud: Cloud) -> None:
    import openstack

    env = _new_user(object_cloud)
    conn = openstack.connect(auth_url=env["OS_AUTH_URL"], username=env["OS_USERNAME"],
                             password=env["OS_PASSWORD"], project_name=env["OS_PROJECT_NAME"],
                             user_domain_name="Default", project_domain_name="Default",
                             load_yaml_config=False, load_envvars=False)
    store = conn.object_store
    store.create_container(name="sdk")
    store.upload_object(container="sdk", name="a/b.txt", data=b"from the sdk")
    assert store.download_object("a/b.txt", container="sdk") == b"from the sdk"
    assert [o.name for o in store.objects("sdk")] == ["a/b.txt"]
    store.set_object_metadata("a/b.txt", container="sdk", color="green")
    assert store.get_object_metadata("a/b.txt", container="sdk").metadata["color"] == "green"
    store.delete_object("a/b.txt", container="sdk")
    store.delete_container("sdk")
    assert [c.name for c in store.containers()] == []
    conn.close()
