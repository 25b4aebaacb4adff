"""Re-record the parity snapshots against the real Keystone 30 and Glance 33.

    .venv/bin/python tests/parity/record.py                # both services
    .venv/bin/python tests/parity/record.py identity       # tests/parity/identity only
    .venv/bin/python tests/parity/record.py image -- -k members   # extra pytest arguments

It starts keystone==30.0.0 and glance==33.0.0 (glance-store==5.7.0) from PyPI, each in the
virtualenv that bench/ uses (~/.cache/overcast-bench/{keystone,glance}-venv, made on first use
by bench.common.proc.ensure_venv), each under uWSGI on a free loopback port with a SQLite
database in a fresh directory (tests/parity/out/, ignored), Glance authenticating through
keystonemiddleware against that Keystone; then it runs `pytest tests/parity` with
OVERCAST_TEST_TARGET=openstack SNAPSHOT_UPDATE=1 and the services' URLs, which rewrites the
`*.snapshot.json` files beside the tests. Never run in CI. The same start-up is used when
pytest itself is run with OVERCAST_TEST_TARGET=openstack and no URLs.

The configuration follows Overcast's defaults where the two could differ: one file store
with id `file` (Glance's multi-store `enabled_backends`, as Overcast always reports store ids),
`glance-direct` as the only import method (Overcast's with one store and no web-download
hosts), Keystone's image service and endpoints in the catalog as Overcast's bootstrap
registers them, bcrypt cost 4 on both sides (a cost changes no answer, only the time).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import peers, proc  # noqa: E402

KEYSTONE_SPEC = "keystone==30.0.0"
GLANCE_SPECS = ["glance==33.0.0", "glance-store==5.7.0"]
VENVS = Path.home() / ".cache" / "overcast-bench"
# bench/identity/run.py's package list, so that the venv serves both
KEYSTONE_PACKAGES = [KEYSTONE_SPEC, "uwsgi", "PyMySQL", "psycopg2-binary", "python-memcached"]
ADMIN_PASSWORD = "parity-Admin-pw-4c1e"
OUT = REPO / "tests" / "parity" / "out"


def log(msg: str) -> None:
    print(f"[parity {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _versions(python: Path, names: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        f"print(json.dumps({{p: m.version(p) for p in {names!r}}}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


def _call(port: int, method: str, path: str, body: dict | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, json.dumps(body) if body is not None else None, hdrs)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def admin_token(port: int, password: str) -> str:
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    status, headers, body = _call(port, "POST", "/v3/auth/tokens", auth)
    if status != 201:
        raise RuntimeError(f"keystone: token issue answered {status}: {body[:300]!r}")
    return headers["x-subject-token"]


@dataclass
class RealCloud:
    """Keystone and Glance from PyPI, running."""

    out: Path
    reinstall: bool = False
    identity_port: int = 0
    image_port: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    servers: list[proc.Server] = field(default_factory=list)

    @property
    def identity_url(self) -> str:
        return f"http://127.0.0.1:{self.identity_port}"

    @property
    def image_url(self) -> str:
        return f"http://127.0.0.1:{self.image_port}"

    def env(self) -> dict[str, str]:
        """What the parity tests read to reach these services."""
        return {
            "OVERCAST_TEST_TARGET": "openstack",
            "PARITY_IDENTITY_URL": self.identity_url,
            "PARITY_IMAGE_URL": self.image_url,
            "PARITY_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "PARITY_RECORDED_AGAINST": json.dumps(self.versions, sort_keys=True),
        }

    def start(self) -> None:
        if self.out.exists():
            shutil.rmtree(self.out)
        self.out.mkdir(parents=True)
        kvenv, gvenv = VENVS / "keystone-venv", VENVS / "glance-venv"
        proc.ensure_venv(kvenv, ["keystone-manage", "uwsgi"], KEYSTONE_PACKAGES,
                         reinstall=self.reinstall, say=log)
        proc.ensure_venv(gvenv, ["glance-manage", "uwsgi"], [*GLANCE_SPECS, "uwsgi"],
                         reinstall=self.reinstall, say=log)
        kv = _versions(kvenv / "bin" / "python", ["keystone", "uwsgi"])
        gv = _versions(gvenv / "bin" / "python", ["glance", "glance_store", "keystonemiddleware"])
        want = {"keystone": KEYSTONE_SPEC, "glance": GLANCE_SPECS[0], "glance_store": GLANCE_SPECS[1]}
        for name, spec in want.items():
            have = {**kv, **gv}[name]
            if f"{name.replace('_', '-')}=={have}" != spec.replace("_", "-"):
                raise RuntimeError(f"{name} {have} is installed, the recording needs {spec}: run with "
                                   "--reinstall (the venvs are bench/'s too)")
        self.versions = {"keystone": kv["keystone"], "glance": gv["glance"],
                         "glance_store": gv["glance_store"],
                         "keystonemiddleware": gv["keystonemiddleware"]}
        self._keystone(kvenv)
        self._glance(gvenv)

    def _keystone(self, venv: Path) -> None:
        d = self.out / "keystone"
        (d / "fernet-keys").mkdir(parents=True)
        (d / "credential-keys").mkdir()
        self.identity_port = proc.free_port()
        conf = d / "keystone.conf"
        conf.write_text(f"""[DEFAULT]
log_file = {d / "keystone.log"}
[database]
connection = sqlite:///{d / "keystone.db"}
[token]
provider = fernet
[fernet_tokens]
key_repository = {d / "fernet-keys"}
[credential]
key_repository = {d / "credential-keys"}
[identity]
password_hash_algorithm = bcrypt
password_hash_rounds = 4
""")
        manage = [str(venv / "bin" / "keystone-manage"), "--config-file", str(conf)]
        user = ["--keystone-user", str(os.geteuid()), "--keystone-group", str(os.getegid())]
        setup = d / "setup.log"
        log(f"keystone {self.versions['keystone']}: db_sync, fernet_setup, credential_setup, bootstrap")
        proc.run([*manage, "db_sync"], log=setup)
        proc.run([*manage, "fernet_setup", *user], log=setup)
        proc.run([*manage, "credential_setup", *user], log=setup)
        public = f"{self.identity_url}/v3"
        proc.run([*manage, "bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
                  "--bootstrap-admin-url", public, "--bootstrap-internal-url", public,
                  "--bootstrap-public-url", public, "--bootstrap-region-id", "RegionOne"], log=setup)
        ini = d / "uwsgi.ini"
        ini.write_text(f"""[uwsgi]
http-socket = 127.0.0.1:{self.identity_port}
; http-socket closes the connection after each answer: say so, or a keep-alive client reuses it
add-header = Connection: close
module = keystone.wsgi.api:application
virtualenv = {venv}
env = OS_KEYSTONE_CONFIG_FILES={conf}
master = true
processes = 1
threads = 1
lazy-apps = true
die-on-term = true
buffer-size = 65535
""")
        srv = proc.Server("keystone", [str(venv / "bin" / "uwsgi"), "--ini", str(ini)],
                          log=d / "uwsgi.log").start()
        self.servers.append(srv)
        proc.wait_http(f"{self.identity_url}/v3", proc=srv.proc, log=srv.log)
        log(f"keystone up at {self.identity_url}")

    def _register_image_service(self, token: str) -> None:
        """The image service in Keystone's catalog, as Overcast's bootstrap registers it."""
        h = {"X-Auth-Token": token}
        status, _, body = _call(self.identity_port, "POST", "/v3/services",
                                {"service": {"type": "image", "name": "glance",
                                             "description": "OpenStack Image"}}, h)
        if status != 201:
            raise RuntimeError(f"keystone: POST /v3/services answered {status}: {body[:300]!r}")
        sid = json.loads(body)["service"]["id"]
        for interface in ("public", "internal", "admin"):
            status, _, body = _call(self.identity_port, "POST", "/v3/endpoints", {"endpoint": {
                "service_id": sid, "interface": interface, "url": self.image_url,
                "region_id": "RegionOne"}}, h)
            if status != 201:
                raise RuntimeError(f"keystone: POST /v3/endpoints answered {status}: {body[:300]!r}")

    def _glance(self, venv: Path) -> None:
        d = self.out / "glance"
        for sub in ("images", "staging", "tasks"):
            (d / sub).mkdir(parents=True)
        self.image_port = proc.free_port()
        self._register_image_service(admin_token(self.identity_port, ADMIN_PASSWORD))
        shutil.copy(venv / "etc" / "glance" / "glance-api-paste.ini", d / "glance-api-paste.ini")
        (d / "glance-api.conf").write_text(f"""[DEFAULT]
log_file = {d / "glance-api.log"}
enabled_backends = file:file
enabled_import_methods = [glance-direct]
[database]
connection = sqlite:///{d / "glance.sqlite"}
[paste_deploy]
config_file = {d / "glance-api-paste.ini"}
flavor = keystone
[keystone_authtoken]
www_authenticate_uri = {self.identity_url}
auth_url = {self.identity_url}
auth_type = password
username = admin
password = {ADMIN_PASSWORD}
project_name = admin
user_domain_name = Default
project_domain_name = Default
[glance_store]
default_backend = file
[file]
filesystem_store_datadir = {d / "images"}
[os_glance_staging_store]
filesystem_store_datadir = {d / "staging"}
[os_glance_tasks_store]
filesystem_store_datadir = {d / "tasks"}
""")
        log(f"glance {self.versions['glance']}: db_sync")
        proc.run([str(venv / "bin" / "glance-manage"), "--config-file", str(d / "glance-api.conf"),
                  "db_sync"], log=d / "setup.log")
        ini = d / "uwsgi.ini"
        ini.write_text(peers.glance_uwsgi_ini(self.image_port, venv, d))
        srv = proc.Server("glance", [str(venv / "bin" / "uwsgi"), "--ini", str(ini)],
                          log=d / "uwsgi.log", cwd=d).start()
        self.servers.append(srv)
        proc.wait_http(f"{self.image_url}/versions", proc=srv.proc, log=srv.log)
        log(f"glance up at {self.image_url}")

    def stop(self) -> None:
        for srv in reversed(self.servers):
            srv.stop()
        self.servers.clear()


@contextmanager
def real_cloud(out: Path = OUT, reinstall: bool = False) -> Iterator[RealCloud]:
    cloud = RealCloud(out, reinstall)
    try:
        cloud.start()
        yield cloud
    finally:
        cloud.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("service", nargs="?", choices=["identity", "image"], help="only this service's tests")
    p.add_argument("--reinstall", action="store_true", help="rebuild the Keystone and Glance venvs")
    p.add_argument("--out", type=Path, default=OUT, help="state and logs of the real services")
    p.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments")
    args = p.parse_args(argv)
    target = REPO / "tests" / "parity" / (args.service or "")
    with real_cloud(args.out, args.reinstall) as cloud:
        env = {**os.environ, **cloud.env(), "SNAPSHOT_UPDATE": "1"}
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(target),
               *args.pytest_args]
        log(" ".join(cmd))
        rc = subprocess.run(cmd, env=env, cwd=REPO, check=False).returncode
    log(f"recorded against {json.dumps(cloud.versions)}; logs in {args.out}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
