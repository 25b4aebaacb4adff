#!/usr/bin/env python3
"""Image benchmark: upload and download of one large image through Overcast's image service
and the real Glance, beside a plain file copy on the same disk.

    python3 bench/image/run.py [--size 1G] [--repeat 5] [--skip-glance] [--quick]

Three paths, in the same run, on the same file system, one after the other:

* plain copy (the limit): `dd bs=1M conv=fsync` from the source file to a new file (upload),
  and from that file to another new file (download);
* Overcast (`overcast serve image`, Glance v2 API, its file store in a fresh state dir; a
  token from `overcast serve identity`);
* Glance from PyPI (default glance==33.0.0, glance-store==5.7.0) under uWSGI, in its own
  virtualenv (default ~/.cache/overcast-bench/glance-venv, made on first use), SQLite, file
  store, keystonemiddleware against Overcast's identity (or, --glance-auth none, no auth).

Upload is `PUT /v2/images/{id}/file` with curl streaming the source file; download is `GET
/v2/images/{id}/file` with curl writing a file that is then fsync'ed. Before every phase the
page cache is written back and, as root, dropped (`echo 3 > /proc/sys/vm/drop_caches`), so the
source and the stored image are read from the disk. Each server's memory (RSS summed over its
process tree) is sampled every 50 ms; a smaller image goes through each server first so that
the peak for two sizes shows whether memory grows with the image. See bench/README.md.
Standard library only; run it with any Python 3.11+.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.common import peers, proc  # noqa: E402
from bench.common.report import load_average, machine, table  # noqa: E402

MiB = 1 << 20
CHUNK = MiB
ADMIN_PASSWORD = "bench-Admin-pw-7f3c"
DEFAULT_VENV = Path.home() / ".cache" / "overcast-bench" / "glance-venv"
GLANCE_SPEC = "glance==33.0.0"
GLANCE_STORE_SPEC = "glance-store==5.7.0"
IMAGE_BODY = {"disk_format": "raw", "container_format": "bare"}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_size(text: str) -> int:
    """'1G', '256M', '1GiB', '1048576' -> bytes (binary units)."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if t and t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(t)


def human(n: int) -> str:
    if n >= 1 << 30 and n % (1 << 30) == 0:
        return f"{n >> 30} GiB"
    if n % MiB == 0:
        return f"{n >> 20} MiB"
    return f"{n} bytes"


def mbps(size: int, seconds: float) -> float:
    return size / seconds / 1e6 if seconds > 0 else 0.0


# ------------------------------------------------------------------------------ the disk


def mount_of(path: Path) -> tuple[str, str, str]:
    """(mount point, device, file system type) of the file system holding `path`."""
    path = path.resolve()
    best = ("/", "?", "?")
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            mnt = mnt.replace("\\040", " ")
            if (str(path) == mnt or str(path).startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best[0]):
                best = (mnt, dev, fstype)
    return best


def can_drop_caches() -> bool:
    return os.geteuid() == 0 and os.access("/proc/sys/vm/drop_caches", os.W_OK)


class Cache:
    """Before each phase: write dirty pages back, and drop the page cache when allowed."""

    def __init__(self, drop: bool):
        self.drop = drop and can_drop_caches()

    def reset(self) -> None:
        os.sync()
        if self.drop:
            try:
                with open("/proc/sys/vm/drop_caches", "w") as f:
                    f.write("3\n")
            except OSError as e:  # e.g. a container's read-only /proc/sys
                log(f"cannot drop the page cache ({e}); syncing only from now on")
                self.drop = False

    def describe(self) -> str:
        if self.drop:
            return (
                "before every phase: sync, then echo 3 > /proc/sys/vm/drop_caches (run as root), "
                "so the source and the stored image are read from the disk"
            )
        return (
            "before every phase: sync only (page cache NOT dropped: not root or --no-drop-caches), "
            "so reads may come from memory and figures can exceed the disk's"
        )


#: md5 and sha512 of each source file, to check the checksum and os_hash_value servers report
SOURCE_HASHES: dict[Path, tuple[str, str]] = {}


def make_source(path: Path, size: int) -> float:
    """A file of `size` random bytes (raw: no image format magic), fsync'ed; returns seconds."""
    t0 = time.monotonic()
    md5, sha512 = hashlib.md5(usedforsecurity=False), hashlib.sha512()
    with open(path, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(CHUNK, left))
            f.write(block)
            md5.update(block)
            sha512.update(block)
            left -= len(block)
        f.flush()
        os.fsync(f.fileno())
    SOURCE_HASHES[path] = (md5.hexdigest(), sha512.hexdigest())
    return time.monotonic() - t0


def hash_speeds() -> dict[str, float]:
    """MB/s of md5 and sha512 on one core (256 MiB each, from memory)."""
    block = os.urandom(CHUNK)
    rates = {}
    for name in ("md5", "sha512"):
        h = hashlib.new(name)
        t0 = time.perf_counter()
        for _ in range(256):
            h.update(block)
        rates[name] = 256 * CHUNK / (time.perf_counter() - t0) / 1e6
    return rates


def files_equal(a: Path, b: Path) -> bool:
    return subprocess.run(["cmp", "-s", str(a), str(b)], check=False).returncode == 0


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- memory sampler


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class RssSampler:
    """Peak RSS summed over a process tree, sampled every `interval` s in a thread. The tree's
    pids are looked up once a second (a full /proc scan), the RSS of each every interval."""

    def __init__(self, root: int, interval: float = 0.05):
        self.root = root
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        pids: list[int] = []
        refreshed = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now - refreshed >= 1.0:
                pids = proc.tree_pids(self.root)
                refreshed = now
            self.peak = max(self.peak, sum(_rss(p) for p in pids))
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def tree_rss(root: int) -> int:
    return sum(_rss(p) for p in proc.tree_pids(root))


# ------------------------------------------------------------------------------ measuring


@dataclass
class Phase:
    """One upload or download of one image through one path."""

    op: str  # upload | download
    size: int
    seconds: float  # until the client had its answer (upload) / the file fsync'ed (download)
    sync_seconds: float = 0.0  # upload: a sync(2) right after, flushing what the server left dirty
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    rss_peak: int = 0
    rss_samples: int = 0
    others_cpu_s: float = 0.0  # the rest of the machine (other users of this shared host)

    @property
    def mbps(self) -> float:
        return mbps(self.size, self.seconds)

    @property
    def synced_mbps(self) -> float:
        return mbps(self.size, self.seconds + self.sync_seconds)


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Run `cmd`; (wall seconds, its CPU seconds, its stdout). Raises on failure."""
    cpu0 = _children_cpu()
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed ({p.returncode}): {p.stderr.strip()[:500]}")
    return wall, _children_cpu() - cpu0, p.stdout


class Meter:
    """CPU seconds over a block: the server tree's, the client's (children of this script),
    and the rest of the machine's busy time (other users of the host, kernel threads)."""

    def __init__(self, server_pid: int | None):
        self.pid = server_pid
        self.server = self.client = self.others = 0.0

    def _now(self) -> tuple[float, float, float, float]:
        me = resource.getrusage(resource.RUSAGE_SELF)
        return (
            proc.machine_busy_seconds(),
            proc.tree_cpu_seconds(self.pid) if self.pid else 0.0,
            _children_cpu(),
            me.ru_utime + me.ru_stime,
        )

    def __enter__(self) -> Meter:
        self._start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        busy, srv, cli, me = (b - a for a, b in zip(self._start, self._now(), strict=True))
        self.server, self.client = srv, cli
        self.others = max(0.0, busy - srv - cli - me)


class Side:
    """One of the three paths: sets up, then uploads and downloads an image of a given size."""

    name = ""
    version = ""
    conditions: dict[str, str]
    server: proc.Server | None = None

    def setup(self) -> None: ...

    def upload(self, src: Path, size: int, cache: Cache) -> Phase:
        raise NotImplementedError

    def download(self, dst: Path, size: int, cache: Cache) -> Phase:
        raise NotImplementedError

    def forget(self) -> None:
        """Delete the stored image (space for the next trial)."""

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def idle_rss(self) -> int:
        return tree_rss(self.server.pid) if self.server is not None else 0


class PlainCopy(Side):
    name = "plain copy (limit)"

    def __init__(self, data: Path):
        self.data = data
        self.stored = data / "copy-store.raw"
        dd = subprocess.run(["dd", "--version"], capture_output=True, text=True, check=False)
        self.version = dd.stdout.splitlines()[0] if dd.stdout else "dd"
        self.conditions = {
            "how": "dd if=SRC of=NEW bs=1M conv=fsync (read/write of 1 MiB blocks through the page "
            "cache, one fsync at the end; no copy_file_range/reflink); upload = source -> new "
            "file, download = that file -> another new file",
            "version": self.version,
        }

    def _dd(self, a: Path, b: Path, size: int, op: str, cache: Cache) -> Phase:
        cache.reset()
        with Meter(None) as m:
            wall, _, _ = timed(["dd", f"if={a}", f"of={b}", "bs=1M", "conv=fsync", "status=none"])
            t0 = time.monotonic()
            os.sync()
            sync = time.monotonic() - t0 if op == "upload" else 0.0
        return Phase(op, size, wall, sync, 0.0, m.client, others_cpu_s=m.others)

    def upload(self, src: Path, size: int, cache: Cache) -> Phase:
        return self._dd(src, self.stored, size, "upload", cache)

    def download(self, dst: Path, size: int, cache: Cache) -> Phase:
        return self._dd(self.stored, dst, size, "download", cache)

    def forget(self) -> None:
        self.stored.unlink(missing_ok=True)


class GlanceV2(Side):
    """A server speaking the Glance v2 image API on 127.0.0.1:port."""

    port = 0
    out: Path  # the server's own directory: config, state, logs
    headers: dict[str, str]
    image_id = ""

    def _http(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            hdrs = dict(self.headers)
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def _curl(self, *args: str) -> list[str]:
        hdr = [a for k, v in self.headers.items() for a in ("-H", f"{k}: {v}")]
        return ["curl", "-sS", "-w", "%{http_code}", *hdr, *args]

    def create(self, size: int) -> str:
        status, body = self._http("POST", "/v2/images", {"name": f"bench-{human(size)}", **IMAGE_BODY})
        if status != 201:
            raise RuntimeError(f"{self.name}: POST /v2/images answered {status}: {body[:500]!r}")
        return json.loads(body)["id"]

    def upload(self, src: Path, size: int, cache: Cache) -> Phase:
        assert self.server is not None
        self.image_id = self.create(size)
        url = f"http://127.0.0.1:{self.port}/v2/images/{self.image_id}/file"
        # "Expect:" off: curl would otherwise wait up to 1 s for a "100 Continue" that a server
        # need not send; both servers get the same request.
        resp = self.out / "last-response.txt"
        cmd = self._curl(
            "-T", str(src), "-H", "Content-Type: application/octet-stream", "-H", "Expect:",
            "-o", str(resp), url,
        )  # fmt: skip
        cache.reset()
        with RssSampler(self.server.pid) as s, Meter(self.server.pid) as m:
            wall, _, out = timed(cmd)
            t0 = time.monotonic()
            os.sync()
            sync = time.monotonic() - t0
        if out.strip() not in ("204", "200", "201"):
            body = resp.read_bytes()[:500] if resp.exists() else b""
            raise RuntimeError(f"{self.name}: PUT {url} answered {out}: {body!r}")
        status, body = self._http("GET", f"/v2/images/{self.image_id}")
        img = json.loads(body) if status == 200 else {}
        if img.get("status") != "active" or img.get("size") != size:
            raise RuntimeError(
                f"{self.name}: after upload the image is {img.get('status')!r}, size "
                f"{img.get('size')!r} (want active, {size}): {body[:500]!r}"
            )
        md5, sha512 = SOURCE_HASHES[src]
        algo = img.get("os_hash_algo")
        if img.get("checksum") != md5 or algo != "sha512" or img.get("os_hash_value") != sha512:
            raise RuntimeError(
                f"{self.name}: checksum {img.get('checksum')!r}, {algo} {img.get('os_hash_value')!r} "
                f"do not match the source's md5 {md5}, sha512 {sha512}"
            )
        self.conditions["hashes"] = (
            "checksum (md5) and os_hash_value (sha512) computed during upload; both match the source"
        )
        return Phase("upload", size, wall, sync, m.server, m.client, s.peak, s.samples, m.others)

    def download(self, dst: Path, size: int, cache: Cache) -> Phase:
        assert self.server is not None
        url = f"http://127.0.0.1:{self.port}/v2/images/{self.image_id}/file"
        cmd = self._curl("-o", str(dst), url)
        cache.reset()
        with RssSampler(self.server.pid) as s, Meter(self.server.pid) as m:
            t0 = time.monotonic()
            _, _, out = timed(cmd)
            fsync_path(dst)
            wall = time.monotonic() - t0
        if out.strip() != "200":
            body = dst.read_bytes()[:500] if dst.exists() else b""
            raise RuntimeError(f"{self.name}: GET {url} answered {out}: {body!r}")
        got = dst.stat().st_size
        if got != size:
            raise RuntimeError(f"{self.name}: download gave {got} bytes, want {size}")
        return Phase("download", size, wall, 0.0, m.server, m.client, s.peak, s.samples, m.others)

    def forget(self) -> None:
        if self.image_id:
            image_id, self.image_id = self.image_id, ""
            try:
                status, body = self._http("DELETE", f"/v2/images/{image_id}")
            except OSError as e:
                log(f"{self.name}: DELETE image: {e}")
                return
            if status not in (204, 200):
                log(f"{self.name}: DELETE image answered {status}: {body[:200]!r}")


def _versions(python: str, names: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "def v(p):\n"
        "    try: return m.version(p)\n"
        "    except m.PackageNotFoundError: return '?'\n"
        f"print(json.dumps({{p: v(p) for p in {names!r}}}))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


class Glance(GlanceV2):
    def __init__(
        self, out: Path, venv: Path, specs: list[str], reinstall: bool, identity: OvercastIdentity | None
    ):
        self.name = "glance"
        self.out = out
        self.identity = identity
        self.venv = venv
        self.specs = specs
        self.reinstall = reinstall
        self.headers = {}
        self.conditions = {}

    def _py(self) -> str:
        return str(self.venv / "bin" / "python")

    def ensure_venv(self) -> None:
        proc.ensure_venv(self.venv, ["glance-manage", "uwsgi"], [*self.specs, "uwsgi"],
                         reinstall=self.reinstall, say=log)

    def setup(self) -> None:
        self.ensure_venv()
        v = _versions(self._py(), ["glance", "glance_store", "uwsgi", "SQLAlchemy", "oslo.db", "WebOb"])
        self.version = v["glance"]
        self.name = f"glance {v['glance']}"
        if self.out.exists():
            shutil.rmtree(self.out)
        for d in ("images", "staging", "tasks", "cache"):
            (self.out / d).mkdir(parents=True)
        self.port = proc.free_port()
        # pip puts Glance's data_files (etc/glance/*) under the venv
        shutil.copy(self.venv / "etc" / "glance" / "glance-api-paste.ini", self.out / "glance-api-paste.ini")
        ident = self.identity
        if ident is not None and ident.server is not None:
            # keystonemiddleware's auth_token against Overcast's Keystone API; Glance's policy
            # defaults as shipped (the admin token has the admin role)
            auth_conf = f"""flavor = keystone
[keystone_authtoken]
www_authenticate_uri = {ident.url}
auth_url = {ident.url}
auth_type = password
username = admin
password = {ADMIN_PASSWORD}
project_name = admin
user_domain_name = Default
project_domain_name = Default
"""
            auth_desc = (
                f"Keystone: [paste_deploy] flavor = keystone, keystonemiddleware auth_token "
                f"validating the same kind of admin token against Overcast's identity API "
                f"({ident.url}; token cache in process, the default)"
            )
        else:
            # the default pipeline, with unauthenticated-context: every request is an admin
            # context without roles, which the new RBAC defaults refuse, hence the policy switch
            auth_conf = """flavor =
[oslo_policy]
enforce_new_defaults = False
enforce_scope = False
"""
            auth_desc = (
                "none: [paste_deploy] flavor empty (unauthenticated-context, every request "
                "admin), [oslo_policy] enforce_new_defaults = enforce_scope = False"
            )
        conf = self.out / "glance-api.conf"
        conf.write_text(f"""[DEFAULT]
log_file = {self.out / "glance-api.log"}
# interoperable image import (and with it the conversion plugins) off: upload is PUT .../file
enabled_import_methods = []
image_cache_dir = {self.out / "cache"}
[database]
connection = sqlite:///{self.out / "glance.sqlite"}
[paste_deploy]
config_file = {self.out / "glance-api-paste.ini"}
{auth_conf}[glance_store]
stores = file
default_store = file
filesystem_store_datadir = {self.out / "images"}
[os_glance_staging_store]
filesystem_store_datadir = {self.out / "staging"}
[os_glance_tasks_store]
filesystem_store_datadir = {self.out / "tasks"}
""")
        setup_log = self.out / "setup.log"
        log(f"Glance {self.version}: db_sync")
        proc.run(
            [str(self.venv / "bin" / "glance-manage"), "--config-file", str(conf), "db_sync"], log=setup_log
        )
        ini = self.out / "uwsgi.ini"
        ini.write_text(peers.glance_uwsgi_ini(self.port, self.venv, self.out, quiet=True))
        self.conditions = {
            "version": f"glance {v['glance']}, glance_store {v['glance_store']} (PyPI), "
            f"SQLAlchemy {v['SQLAlchemy']}, oslo.db {v['oslo.db']}, WebOb {v['WebOb']}",
            "server": f"uWSGI {v['uwsgi']} http-socket, 1 worker process x 1 thread + master "
            "(glance.wsgi.api:application; standalone glance-api was removed from Glance)",
            "database": "SQLite file glance.sqlite (glance-manage db_sync)",
            "store": f"[glance_store] stores = file, filesystem_store_datadir = {self.out / 'images'} "
            "(default 64 KiB chunks, no fsync)",
            "auth": auth_desc,
            "import": "enabled_import_methods = [] (image import and its conversion off), no image cache",
        }
        self.server = proc.Server(
            "glance",
            [str(self.venv / "bin" / "uwsgi"), "--ini", str(ini)],
            log=self.out / "uwsgi.log",
            cwd=self.out,
        ).start()
        proc.wait_http(f"http://127.0.0.1:{self.port}/versions", proc=self.server.proc, log=self.server.log)
        if ident is not None and ident.server is not None:
            self.headers = {"X-Auth-Token": ident.token()}
        status, body = self._http("GET", "/v2/images")
        if status != 200:
            raise RuntimeError(f"glance: GET /v2/images answered {status}: {body[:500]!r}")
        log(f"{self.name} up on 127.0.0.1:{self.port} (pid {self.server.pid})")


class OvercastIdentity:
    """`overcast serve identity` in a fresh state dir: the tokens for Overcast's image service,
    and the Keystone Glance's auth_token middleware validates them against."""

    def __init__(self, out: Path):
        self.out = out
        self.cli = REPO / ".venv" / "bin" / "overcast"
        self.port = 0
        self.env: dict[str, str] = {}
        self.server: proc.Server | None = None
        self.version = ""
        self.versions: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not self.cli.exists():
            raise RuntimeError(f"{self.cli} is missing: install the project (.venv) first")
        py = str(REPO / ".venv" / "bin" / "python")
        self.versions = _versions(py, ["overcast", "uvicorn", "starlette", "SQLAlchemy"])
        rev = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        self.version = self.versions["overcast"] + (f" ({rev})" if rev else "")
        if self.out.exists():
            shutil.rmtree(self.out)
        self.out.mkdir(parents=True)
        self.port = proc.free_port()
        env = {k: val for k, val in os.environ.items() if not k.startswith("OVERCAST_")}
        env.update(
            OVERCAST_IDENTITY__PORT=str(self.port),
            OVERCAST_IMAGE__PORT=str(proc.free_port()),
            OVERCAST_DEFAULT__PUBLIC_HOST="127.0.0.1",
            OVERCAST_DEFAULT__BIND_HOST="127.0.0.1",
        )
        self.env = env
        log(f"Overcast {self.version}: db upgrade identity, bootstrap, serve identity")
        setup_log = self.out / "setup.log"
        proc.run([str(self.cli), "db", "upgrade", "identity", *self.state], env=env, log=setup_log)
        proc.run(
            [str(self.cli), "bootstrap", *self.state, "--admin-password", ADMIN_PASSWORD],
            env=env,
            log=setup_log,
        )
        self.server = proc.Server(
            "overcast-identity",
            [str(self.cli), "serve", "identity", *self.state, "--workers", "1"],
            env=env,
            log=self.out / "identity.log",
        ).start()
        proc.wait_http(f"{self.url}/v3", proc=self.server.proc, log=self.server.log)

    @property
    def state(self) -> list[str]:
        return ["--state-dir", str(self.out)]

    def token(self) -> str:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}
                    },
                },
                "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
            }
        }
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("POST", "/v3/auth/tokens", json.dumps(body), {"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            token = resp.getheader("X-Subject-Token")
        finally:
            conn.close()
        if resp.status != 201 or not token:
            raise RuntimeError(f"overcast identity: token issue answered {resp.status}: {data[:300]!r}")
        return token

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


class Overcast(GlanceV2):
    def __init__(self, identity: OvercastIdentity | None):
        self.name = "overcast"
        self.identity = identity
        self.headers = {}
        self.conditions = {}

    def setup(self) -> None:
        ident = self.identity
        if ident is None or ident.server is None:
            raise RuntimeError("overcast identity did not start (see above)")
        self.out = ident.out
        self.version = ident.version
        self.port = int(ident.env["OVERCAST_IMAGE__PORT"])
        log("Overcast: db upgrade image, serve image")
        setup_log = self.out / "setup.log"
        proc.run([str(ident.cli), "db", "upgrade", "image", *ident.state], env=ident.env, log=setup_log)
        # its own process (not `overcast up`, which serves every service from one process), so
        # that the memory measured is the image service's alone
        self.server = proc.Server(
            "overcast-image",
            [str(ident.cli), "serve", "image", *ident.state, "--workers", "1"],
            env=ident.env,
            log=self.out / "image.log",
        ).start()
        proc.wait_http(f"http://127.0.0.1:{self.port}/", proc=self.server.proc, log=self.server.log)
        self.headers = {"X-Auth-Token": ident.token()}
        status, body = self._http("GET", "/v2/images")
        if status != 200:
            raise RuntimeError(f"overcast: GET /v2/images with a token answered {status}: {body[:500]!r}")
        v = ident.versions
        self.conditions = {
            "version": f"overcast {self.version}, uvicorn {v['uvicorn']}, starlette {v['starlette']}, "
            f"SQLAlchemy {v['SQLAlchemy']}",
            "server": "overcast serve image --workers 1 (uvicorn, one process)",
            "database": "SQLite image.sqlite in the state dir (the default)",
            "store": f"its file store, {self.out / 'images'} (the default)",
            "auth": "Keystone token (X-Auth-Token) issued by overcast serve identity, a separate "
            "process not counted in the memory",
        }
        log(f"overcast image up on 127.0.0.1:{self.port} (pid {self.server.pid})")


# ------------------------------------------------------------------------------- the run


@dataclass
class Measured:
    name: str
    version: str
    conditions: dict[str, str]
    rss_idle: int = 0
    small: list[Phase] = field(default_factory=list)  # the smaller image, first, for memory
    trials: list[tuple[Phase, Phase]] = field(default_factory=list)  # (upload, download) per trial
    error: str = ""

    def pick(self, op: int, attr: str, how: str = "median") -> float:
        values = [getattr(t[op], attr) for t in self.trials]
        return max(values) if how == "best" else statistics.median(values)

    def peak(self, phases: list[Phase]) -> int:
        return max((p.rss_peak for p in phases), default=0)


def one_trial(path: Side, src: Path, dl: Path, size: int, cache: Cache) -> tuple[Phase, Phase]:
    try:
        log(f"{path.name}: upload {human(size)}")
        up = path.upload(src, size, cache)
        log(f"  {up.mbps:.0f} MB/s ({up.seconds:.2f} s, then sync {up.sync_seconds:.2f} s)")
        log(f"{path.name}: download {human(size)}")
        down = path.download(dl, size, cache)
        log(f"  {down.mbps:.0f} MB/s ({down.seconds:.2f} s)")
        if not files_equal(src, dl):
            raise RuntimeError(f"{path.name}: the downloaded file differs from the source")
        return up, down
    finally:
        dl.unlink(missing_ok=True)
        path.forget()


def run(args: argparse.Namespace) -> tuple[list[Measured], dict[str, str]]:
    out: Path = args.out
    data = out / "data"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    cache = Cache(not args.no_drop_caches)
    identity: OvercastIdentity | None = None
    if not args.skip_overcast or args.glance_auth == "keystone":
        identity = OvercastIdentity(out / "overcast")
    paths: list[Side] = [PlainCopy(data)]
    if not args.skip_overcast:
        paths.append(Overcast(identity))
    if not args.skip_glance:
        specs = [args.glance_spec, args.glance_store_spec]
        auth = identity if args.glance_auth == "keystone" else None
        paths.append(Glance(out / "glance", args.glance_venv, specs, args.reinstall, auth))
    src, small_src, dl = data / "source.raw", data / "source-small.raw", data / "download.raw"
    log(f"writing {human(args.size)} of random bytes to {src}")
    gen_s = make_source(src, args.size)
    if args.small_size:
        make_source(small_src, args.small_size)
    hash_rates = hash_speeds()
    results: list[Measured] = []
    live: list[tuple[Side, Measured]] = []
    try:
        if identity is not None:
            try:
                identity.start()
            except Exception as e:
                log(f"overcast identity: {e}")
                identity.stop()
        for p in paths:
            try:
                p.setup()
            except Exception as e:  # a peer that cannot start is reported, the rest still runs
                log(f"{p.name}: setup failed: {e}")
                results.append(Measured(p.name, p.version, p.conditions, error=str(e).splitlines()[0][:300]))
                p.stop()
                continue
            m = Measured(p.name, p.version, p.conditions)
            results.append(m)
            live.append((p, m))
        # the smaller image first, on each server's first use, so that a peak that grows with
        # the image shows in the larger run (RSS a process has reached seldom goes down)
        for p, m in live:
            if p.server is None:
                continue
            time.sleep(0.5)
            m.rss_idle = p.idle_rss()
            if args.small_size:
                try:
                    m.small = list(one_trial(p, small_src, dl, args.small_size, cache))
                except Exception as e:
                    m.error = str(e)[:500]
                    log(f"{p.name}: {e}")
        for rep in range(args.repeat):
            if args.repeat > 1:
                log(f"trial {rep + 1} of {args.repeat}")
            for p, m in live:
                if m.error:
                    continue
                try:
                    m.trials.append(one_trial(p, src, dl, args.size, cache))
                except Exception as e:
                    m.error = str(e)[:500]
                    log(f"{p.name}: {e}")
    finally:
        for p in paths:
            p.stop()
        if identity is not None:
            identity.stop()
        if not args.keep_files:
            shutil.rmtree(data, ignore_errors=True)
    mnt, dev, fstype = mount_of(data)
    facts = {
        "data": str(data),
        "mount": mnt,
        "device": dev,
        "fstype": fstype,
        "cache": cache.describe(),
        "source": f"{human(args.size)} from os.urandom (raw, no format header), written and "
        f"fsync'ed in {gen_s:.1f} s before the run",
        "hashing": f"this CPU hashes md5 at {hash_rates['md5']:.0f} MB/s and sha512 at "
        f"{hash_rates['sha512']:.0f} MB/s on one core: the checksum + os_hash_value the Glance API "
        f"reports cost {human(args.size)} x (1/md5 + 1/sha512) = "
        f"{args.size / 1e6 * (1 / hash_rates['md5'] + 1 / hash_rates['sha512']):.1f} CPU-s per "
        "upload, on a machine of "
        f"{os.cpu_count()} cores shared with the client and the kernel",
    }
    return results, facts


# ------------------------------------------------------------------------------- printing


def _mib(b: int) -> str:
    return f"{b / MiB:.0f}"


def print_report(results: list[Measured], facts: dict[str, str], args: argparse.Namespace) -> None:
    w = print
    mach = machine()
    limit = next((m for m in results if m.name.startswith("plain copy") and m.trials), None)
    w("")
    w(
        f"image transfer, {human(args.size)}, same disk ({facts['data']}: {facts['device']} "
        f"{facts['fstype']} on {facts['mount']}), 1 worker each, sqlite, file store"
    )
    w("=" * 78)
    w(f"machine : {mach['nproc']} cores ({mach['cpu']}), {mach['memory']}, Linux {mach['kernel']}")
    w(f"load avg: {load_average()} at the end (includes this benchmark)")
    w(f"source  : {facts['source']}")
    w(f"cache   : {facts['cache']}")
    w(f"hashing : {facts['hashing']}")
    w(
        "client  : curl -T SRC (PUT, Content-Type application/octet-stream, no Expect: "
        "100-continue) / curl -o FILE then fsync(FILE); one connection, 127.0.0.1"
    )
    w(
        f"figures : MB/s = 10^6 bytes/s; {args.pick} of {args.repeat} trial(s), the paths "
        "interleaved trial by trial; every download is compared byte for byte with the source"
    )
    for m in results:
        w(f"{m.name}:")
        for k, v in m.conditions.items():
            w(f"  {k:<9}: {v}")
        if m.error:
            w(f"  FAILED   : {m.error}")
    w("")
    header = ["path", "upload MB/s", "upload+sync", "download MB/s", "server peak RSS MiB"]
    rows = []
    for m in results:
        if not m.trials:
            rows.append([m.name, "-", "-", "-", "failed" if m.error else "-"])
            continue
        how = args.pick
        up, up_s, down = m.pick(0, "mbps", how), m.pick(0, "synced_mbps", how), m.pick(1, "mbps", how)
        if limit is not None and m is not limit:
            lu, lus, ld = (
                limit.pick(0, "mbps", how),
                limit.pick(0, "synced_mbps", how),
                limit.pick(1, "mbps", how),
            )
            cells = [
                f"{up:.0f} ({up / lu:.0%})",
                f"{up_s:.0f} ({up_s / lus:.0%})",
                f"{down:.0f} ({down / ld:.0%})",
            ]
        else:
            cells = [f"{up:.0f}", f"{up_s:.0f}", f"{down:.0f}"]
        if m.name.startswith("plain copy"):
            mem = "-"
        else:
            big = m.peak([p for t in m.trials for p in t])
            mem = f"{_mib(big)} (idle {_mib(m.rss_idle)}"
            if m.small:
                mem += f"; {human(args.small_size)} image: {_mib(m.peak(m.small))}"
            mem += ")"
        rows.append([m.name, *cells, mem])
    w(table(header, rows))
    w(
        "(upload MB/s: until the server's answer; upload+sync: plus a sync(2) right after it, i.e. "
        "until the image is on the disk - Glance's file store does not fsync; download MB/s: until "
        "the client's file is fsync'ed; (x%) = of the plain copy; RSS summed over the server's "
        "process tree, sampled every 50 ms during each transfer)"
    )
    servers = [m for m in results if m.trials and not m.name.startswith("plain copy")]
    if servers and args.small_size:
        w("")
        w("memory flat in image size? peak RSS during upload / download, MiB (smaller image run first):")
        mrows = []
        for m in servers:
            up_small = m.small[0].rss_peak if m.small else 0
            down_small = m.small[1].rss_peak if len(m.small) > 1 else 0
            up_big = max(t[0].rss_peak for t in m.trials)
            down_big = max(t[1].rss_peak for t in m.trials)
            mrows.append(
                [
                    m.name,
                    _mib(m.rss_idle),
                    f"{_mib(up_small)} / {_mib(down_small)}",
                    f"{_mib(up_big)} / {_mib(down_big)}",
                    f"{(max(up_big, down_big) - max(up_small, down_small)) / MiB:+.0f}",
                ]
            )
        w(
            table(
                ["server", "idle", f"{human(args.small_size)} image", f"{human(args.size)} image", "growth"],
                mrows,
            )
        )
        w(
            f"(growth = peak with the {human(args.size)} image minus peak with the "
            f"{human(args.small_size)} one; a server holding the image in memory would grow by "
            f"about {human(args.size - args.small_size)})"
        )
    w("")
    w(
        "every trial (s = seconds; cpu = CPU seconds of the server tree / the client (curl or dd) "
        "/ the rest of the machine: other users of this shared host and kernel threads):"
    )
    drows = []
    for m in results:
        for i, (up, down) in enumerate(m.trials):
            drows.append(
                [
                    m.name,
                    str(i + 1),
                    f"{up.mbps:.0f}",
                    f"{up.seconds:.2f}+{up.sync_seconds:.2f}",
                    f"{up.server_cpu_s:.1f}/{up.client_cpu_s:.1f}/{up.others_cpu_s:.1f}",
                    f"{down.mbps:.0f}",
                    f"{down.seconds:.2f}",
                    f"{down.server_cpu_s:.1f}/{down.client_cpu_s:.1f}/{down.others_cpu_s:.1f}",
                    _mib(max(up.rss_peak, down.rss_peak)) if up.rss_samples else "-",
                ]
            )
    header = ["path", "trial", "up MB/s", "up s+sync", "up cpu s/c/o", "down MB/s", "down s"]
    w(table([*header, "down cpu s/c/o", "peak MiB"], drows))
    phases = [p for m in results for t in m.trials for p in t]
    if phases:
        load = [p.others_cpu_s / (p.seconds + p.sync_seconds) for p in phases]
        w(
            f"rest of the machine during the timed phases: median {statistics.median(load):.2f} "
            f"cores busy, max {max(load):.2f} (of {os.cpu_count()}); it includes the kernel's writeback "
            "of these very files, so it is never 0: a trial with much more than the others was "
            "disturbed"
        )


def to_json(results: list[Measured], facts: dict[str, str], args: argparse.Namespace) -> dict:
    return {
        "args": {k: str(v) for k, v in vars(args).items()},
        "machine": machine(),
        "facts": facts,
        "paths": [
            {
                "name": m.name,
                "version": m.version,
                "conditions": m.conditions,
                "error": m.error,
                "rss_idle": m.rss_idle,
                "small": [asdict(p) for p in m.small],
                "trials": [[asdict(up), asdict(down)] for up, down in m.trials],
            }
            for m in results
        ],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--size", type=parse_size, default="1G", help="image size (e.g. 1G, 256M)")
    p.add_argument(
        "--small-size",
        type=parse_size,
        default="256M",
        help="smaller image sent through each server first, to show memory does not grow with size (0: skip)",
    )
    p.add_argument(
        "--quick", action="store_true", help="--size 128M --small-size 32M, one trial unless --repeat"
    )
    p.add_argument("--repeat", type=int, default=5, help="trials per path")
    p.add_argument(
        "--pick",
        choices=["median", "best"],
        default="median",
        help="which trial fills the table (best: other users of a shared machine only slow a "
        "trial down; every trial is printed either way)",
    )
    p.add_argument("--skip-glance", action="store_true", help="no Glance (no venv needed)")
    p.add_argument("--skip-overcast", action="store_true", help="no Overcast")
    p.add_argument(
        "--glance-auth",
        choices=["keystone", "none"],
        default="keystone",
        help="Glance's auth: keystonemiddleware against Overcast's identity, or no auth",
    )
    p.add_argument("--glance-venv", type=Path, default=DEFAULT_VENV)
    p.add_argument("--glance-spec", default=GLANCE_SPEC)
    p.add_argument("--glance-store-spec", default=GLANCE_STORE_SPEC)
    p.add_argument("--reinstall", action="store_true", help="rebuild the Glance venv")
    p.add_argument(
        "--no-drop-caches", action="store_true", help="only sync before each phase (also when not root)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=REPO / "bench" / "out" / "image",
        help="state dirs, data files, logs and the JSON result (all data on this file system)",
    )
    p.add_argument("--keep-files", action="store_true", help="keep the source and stored images")
    args = p.parse_args(argv)
    if args.quick:
        args.size, args.small_size = 128 * MiB, 32 * MiB
        if not any(a.startswith("--repeat") for a in (sys.argv[1:] if argv is None else argv)):
            args.repeat = 1
    if args.size <= 0 or args.repeat < 1:
        p.error("--size and --repeat must be positive")
    if args.small_size >= args.size:
        p.error("--small-size must be smaller than --size")
    for tool in ("curl", "dd", "cmp"):
        if not shutil.which(tool):
            p.error(f"{tool} is missing")
    args.out = args.out.resolve()
    need = args.size * 3 + args.small_size
    args.out.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.out).free
    if free < need + (1 << 30):
        p.error(f"{args.out}: {free / (1 << 30):.1f} GiB free, need about {(need >> 30) + 1} GiB")
    results, facts = run(args)
    print_report(results, facts, args)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = args.out / f"result-{stamp}.json"
    path.write_text(json.dumps(to_json(results, facts, args), indent=2, default=str))
    print(f"\n(JSON: {path}; server logs under {args.out})")
    return 0 if all(not m.error for m in results) else 1


if __name__ == "__main__":
    sys.exit(main())
