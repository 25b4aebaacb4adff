"""The image service through the real clients: the `openstack` CLI, openstacksdk and glance."""

from __future__ import annotations

import hashlib
import html
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compat.conftest import Cloud
from tests.conftest import require_binary

pytestmark = pytest.mark.compat


def _qcow2(tmp_path: Path, name: str = "cirros.qcow2") -> Path:
    """A real small qcow2 with some data in it, made by qemu-img."""
    qemu_img = require_binary("qemu-img")
    raw = tmp_path / "disk.raw"
    raw.write_bytes(b"overcast" * 65536 + bytes(range(256)) * 1024)  # 768 KiB of data
    img = tmp_path / name
    subprocess.run([qemu_img, "convert", "-f", "raw", "-O", "qcow2", str(raw), str(img)],
                   check=True)
    subprocess.run([qemu_img, "resize", str(img), "64M"], check=True, capture_output=True)
    return img


def _user_env(cloud: Cloud, user: str, password: str, project: str) -> dict[str, str]:
    return {"OS_AUTH_URL": cloud.auth_url, "OS_USERNAME": user, "OS_PASSWORD": password,
            "OS_PROJECT_NAME": project, "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default", "OS_IDENTITY_API_VERSION": "3",
            "OS_CLIENT_CONFIG_FILE": "/dev/null"}


def test_openstack_cli_image_walkthrough(cloud: Cloud, tmp_path: Path) -> None:
    img = _qcow2(tmp_path)
    created = cloud.openstack_json("image", "create", "cirros", "--file", str(img),
                                   "--disk-format", "qcow2", "--container-format", "bare",
                                   "--public")
    image_id = created["id"]  # type: ignore[index]
    shown = cloud.openstack_json("image", "show", image_id)
    assert shown["status"] == "active" and shown["visibility"] == "public"  # type: ignore[index]
    assert shown["checksum"] == hashlib.md5(img.read_bytes()).hexdigest()  # type: ignore[index]
    assert shown["virtual_size"] == 64 * 1024 * 1024  # type: ignore[index]
    listed = cloud.openstack_json("image", "list")
    assert "cirros" in [i["Name"] for i in listed]  # type: ignore[union-attr,index]

    cloud.openstack("image", "set", "--property", "k=v", "--min-disk", "1", "--min-ram", "128",
                    "--protected", image_id)
    shown = cloud.openstack_json("image", "show", image_id)
    assert shown["min_disk"] == 1 and shown["min_ram"] == 128  # type: ignore[index]
    assert shown["protected"] is True and shown["properties"]["k"] == "v"  # type: ignore[index]

    out = tmp_path / "saved.qcow2"
    cloud.openstack("image", "save", "--file", str(out), image_id)
    assert out.read_bytes() == img.read_bytes()

    r = cloud.openstack("image", "delete", image_id, check=False)
    assert r.returncode != 0  # protected
    cloud.openstack("image", "unset", "--property", "k", image_id)
    shown = cloud.openstack_json("image", "show", image_id)
    assert "k" not in shown.get("properties", {})  # type: ignore[union-attr]
    cloud.openstack("image", "set", "--unprotected", image_id)
    cloud.openstack("image", "delete", image_id)
    r = cloud.openstack("image", "show", image_id, check=False)
    assert r.returncode != 0


def test_sharing_between_projects(cloud: Cloud, tmp_path: Path) -> None:
    cloud.openstack("project", "create", "--domain", "default", "img-guest")
    cloud.openstack("user", "create", "--domain", "default", "--password", "guest-pw", "guest")
    cloud.openstack("role", "add", "--project", "img-guest", "--user", "guest", "member")
    guest = _user_env(cloud, "guest", "guest-pw", "img-guest")
    img = _qcow2(tmp_path, "shared.qcow2")
    created = cloud.openstack_json("image", "create", "shared-img", "--file", str(img),
                                   "--disk-format", "qcow2", "--container-format", "bare",
                                   "--shared")
    image_id = created["id"]  # type: ignore[index]
    r = cloud.openstack("image", "show", image_id, cloud="", env=guest, check=False)
    assert r.returncode != 0  # not shared with the guest yet

    cloud.openstack("image", "add", "project", image_id, "img-guest")
    listed = cloud.openstack_json("image", "list", cloud="", env=guest)
    assert image_id not in [i["ID"] for i in listed]  # type: ignore[union-attr,index]
    cloud.openstack("image", "set", "--accept", image_id, cloud="", env=guest)
    listed = cloud.openstack_json("image", "list", cloud="", env=guest)
    assert image_id in [i["ID"] for i in listed]  # type: ignore[union-attr,index]
    out = tmp_path / "guest.qcow2"
    cloud.openstack("image", "save", "--file", str(out), image_id, cloud="", env=guest)
    assert out.read_bytes() == img.read_bytes()

    cloud.openstack("image", "remove", "project", image_id, "img-guest")
    r = cloud.openstack("image", "show", image_id, cloud="", env=guest, check=False)
    assert r.returncode != 0
    cloud.openstack("image", "delete", image_id)


def test_openstacksdk_image(cloud: Cloud, tmp_path: Path) -> None:
    import openstack

    img = _qcow2(tmp_path, "sdk.qcow2")
    conn = openstack.connect(auth_url=cloud.auth_url, username="admin",
                             password=cloud.admin_password, project_name="admin",
                             user_domain_name="Default", project_domain_name="Default")
    image = conn.image.create_image(name="sdk-img", filename=str(img), disk_format="qcow2",
                                    container_format="bare", wait=True, allow_duplicates=True,
                                    meta={"os_distro": "cirros"})
    got = conn.image.get_image(image.id)
    assert got.status == "active" and got.checksum == hashlib.md5(img.read_bytes()).hexdigest()
    assert got.properties.get("os_distro") == "cirros" or got.os_distro == "cirros"
    data = conn.image.download_image(got)
    assert data.content == img.read_bytes()
    conn.image.update_image(got, min_ram=256)
    assert conn.image.get_image(got.id).min_ram == 256
    assert conn.image.find_image("sdk-img").id == got.id
    conn.image.delete_image(got)
    assert conn.image.find_image("sdk-img") is None
    # Errors reach the SDK as its exceptions, with Glance's message.
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.image.get_image("00000000-0000-0000-0000-000000000000")
    # A body the image schema refuses: jsonschema's words, as Glance's (this call gets webob's
    # HTML page, escaped, as from Glance).
    with pytest.raises(openstack.exceptions.BadRequestException) as refused:
        conn.image.create_image(name="bad", disk_format="floppy", container_format="bare",
                                allow_duplicates=True)
    said = html.unescape(str(refused.value))
    assert "Provided object does not match schema 'image': 'floppy' is not one of [None, 'ami'" \
        in said and "Failed validating 'enum' in schema['properties']['disk_format']" in said


def test_glance_cli(cloud: Cloud, tmp_path: Path) -> None:
    glance = shutil.which("glance", path=str(Path(sys.executable).parent))
    assert glance, "python-glanceclient is a test dependency"
    img = _qcow2(tmp_path, "glance.qcow2")
    env = {**cloud.env, **_user_env(cloud, "admin", cloud.admin_password, "admin")}
    r = subprocess.run([glance, "image-create", "--name", "via-glance", "--disk-format", "qcow2",
                        "--container-format", "bare", "--file", str(img), "--progress"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "active" in r.stdout and "via-glance" in r.stdout
    r = subprocess.run([glance, "image-list"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "via-glance" in r.stdout


def test_glance_cli_error_paths(cloud: Cloud, tmp_path: Path) -> None:
    """glanceclient sends Accept: */* and parses Glance's HTML error page (issue 8, #16: a flat
    JSON body crashed it with AttributeError on every error)."""
    glance = shutil.which("glance", path=str(Path(sys.executable).parent))
    assert glance, "python-glanceclient is a test dependency"
    env = {**cloud.env, **_user_env(cloud, "admin", cloud.admin_password, "admin")}

    def fails(*args: str) -> str:
        r = subprocess.run([glance, *args], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode != 0, r.stdout
        assert "Traceback" not in r.stderr and "AttributeError" not in r.stderr, r.stderr
        return r.stderr.strip()

    missing = "00000000-0000-0000-0000-000000000000"
    assert fails("image-show", missing) == f"HTTP 404 Not Found: No image found with ID {missing}"
    # glanceclient looks the image up first and says it in its own words, as against Glance.
    assert fails("image-delete", missing) == f"No image with an ID of '{missing}' exists."
    qcow2 = _qcow2(tmp_path)
    assert fails("image-create", "--name", "disguised", "--disk-format", "raw",
                 "--container-format", "bare", "--file", str(qcow2)) == (
        "HTTP 400 Bad Request: Image disk_format is raw but its content is qcow2.")
    r = subprocess.run([glance, "image-create", "--name", "errors", "--disk-format", "qcow2",
                        "--container-format", "bare", "--file", str(qcow2)],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    image_id = next(line.split("|")[2].strip() for line in r.stdout.splitlines()
                    if line.startswith("| id "))
    # webob escapes the message in its HTML page and glanceclient prints it as it is.
    assert fails("image-update", "--property", "checksum=x", image_id) == (
        "HTTP 403 Forbidden: Attribute &#x27;checksum&#x27; is read-only.")
    assert fails("image-upload", "--file", str(qcow2), image_id) == (
        "HTTP 409 Conflict: Image status transition from active to saving is not allowed")
    # A page with webob's explanation above Glance's detail (HTTPForbidden(detail)): glanceclient
    # joins the page's lines with colons, as against Glance.
    assert fails("image-create", "--name", "reserved", "--disk-format", "raw", "--container-format",
                 "bare", "--property", "os_glance_x=1") == (
        "HTTP 403 Forbidden: Access was denied to this resource.: Attribute &#x27;os_glance_x&#x27; "
        "is reserved.")
    subprocess.run([glance, "image-delete", image_id], env=env, check=True, timeout=60,
                   capture_output=True)
