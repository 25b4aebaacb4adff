#!/usr/bin/env python3
"""Object storage benchmark: Overcast's Swift proxy side by side with the real OpenStack Swift
from PyPI, both as an all-in-one on this machine (three replicas on three device directories,
one proxy worker), beside the limit of the disk, in one run.

    python3 bench/object/run.py [--duration 8] [--list-objects 100000] [--swift-auth tempauth]

Cells, each run on Swift and then on Overcast (so that a change in the shared machine's load
falls on both alike): PUT and GET of 4 KiB objects (a fixed time per cell, wrk, a new name per
PUT) and of 64 MiB objects (a fixed count, streamed from a file), at concurrency 1 and 16; the
time to list a container of 100,000 objects in pages of 10,000 (JSON, as swiftclient asks);
and the limit: the same bytes written to new files three times, each fsynced (dd conv=fsync for
64 MiB; the same write + fsync in process for 4 KiB, where a dd process per object would time
fork and exec), and read back once. See bench/README.md. Standard library only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.common import proc  # noqa: E402
from bench.common.loadgen import WRK_DONE, Request, Result, run_load, run_wrk_script  # noqa: E402
from bench.common.report import load_average, machine, table  # noqa: E402

KiB, MiB = 1 << 10, 1 << 20
PASSWORD = "bench-Admin-pw-51ca"
DEFAULT_VENV = Path.home() / ".cache" / "overcast-bench" / "swift-venv"
PART_POWER = 8  # Overcast's all-in-one default ([object] part_power); the same for Swift
PAGE = 10000  # Swift's container_listing_limit: the largest page


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def drop_caches() -> None:
    os.sync()
    if os.geteuid() == 0:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def xattr_ok(directory: Path) -> bool:
    """Swift keeps object metadata in user xattrs, in pieces of 254 bytes."""
    probe = directory / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.swift.metadata", b"x" * 254)
        os.setxattr(probe, "user.swift.metadata1", b"x" * 254)
        return os.getxattr(probe, "user.swift.metadata1") == b"x" * 254
    except OSError:
        return False
    finally:
        probe.unlink()


# ------------------------------------------------------------------------------------ sides


@dataclass
class Side:
    name: str
    port: int = 0
    account: str = ""  # AUTH_...
    headers: dict[str, str] = field(default_factory=dict)  # what authenticates a request
    servers: list[proc.Server] = field(default_factory=list)
    auth: str = ""
    conditions: list[str] = field(default_factory=list)
    devices: Path = Path()
    python: str = ""  # the interpreter that has this side's own code (for the rows fill)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def path(self, container: str, obj: str = "") -> str:
        return f"/v1/{self.account}/{container}" + (f"/{obj}" if obj else "")

    def cpu(self) -> float:
        return sum(proc.tree_cpu_seconds(s.pid) for s in self.servers)

    def settle(self) -> None:
        for s in self.servers:
            proc.settle(s.pid, limit=30)

    def stop(self) -> None:
        for s in reversed(self.servers):
            s.stop()


class OvercastSide(Side):
    def __init__(self, work: Path):
        super().__init__("Overcast")
        state = work / "overcast"
        self.devices = state / "object" / "devices"
        id_port, self.port = proc.free_port(), proc.free_port()
        env = {**os.environ, "OVERCAST_DEFAULT__BIND_HOST": "127.0.0.1",
               "OVERCAST_IDENTITY__PORT": str(id_port), "OVERCAST_OBJECT__PORT": str(self.port),
               "OVERCAST_OBJECT__ENABLED": "true", "OVERCAST_OBJECT__DAEMONS": "false",
               "OVERCAST_OBJECT__PART_POWER": str(PART_POWER),
               "OVERCAST_DEFAULT__LOG_LEVEL": "WARNING",
               "PYTHONPATH": str(REPO)}  # this checkout's code, whichever venv runs it
        for name in ("image", "compute", "network", "volume", "placement"):
            env[f"OVERCAST_{name.upper()}__ENABLED"] = "false"
        exe = Path(sys.executable).parent / "overcast"
        if not exe.exists():
            exe = REPO / ".venv" / "bin" / "overcast"
        self.python = str(exe.parent / "python")
        logf = work / "overcast.log"
        proc.run([str(exe), "db", "upgrade", "--state-dir", str(state)], env=env, log=logf)
        proc.run([str(exe), "bootstrap", "--state-dir", str(state), "--admin-password",
                  PASSWORD], env=env, log=logf)
        server = proc.Server("overcast", [str(exe), "up", "--state-dir", str(state)], env=env,
                             log=logf).start()
        self.servers = [server]
        proc.wait_http(f"http://127.0.0.1:{self.port}/healthcheck", proc=server.proc, log=logf)
        body = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        conn = http.client.HTTPConnection("127.0.0.1", id_port, timeout=60)
        conn.request("POST", "/v3/auth/tokens", body=body,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
        if resp.status != 201:
            raise RuntimeError(f"token issue answered {resp.status}: {raw[:300]!r}")
        token = resp.getheader("X-Subject-Token") or ""
        catalog = json.loads(raw)["token"]["catalog"]
        url = next(e["url"] for s in catalog if s["type"] == "object-store"
                   for e in s["endpoints"] if e["interface"] == "public")
        self.account = url.split("/v1/", 1)[1]
        self.headers = {"X-Auth-Token": token}
        self.auth = ("Keystone token issued before the cells, validated from Overcast's "
                     "in-process token cache on every request (no network hop)")
        version = subprocess.run(
            [str(exe.parent / "python"), "-c",
             "import importlib.metadata as m; print(m.version('overcast'))"],
            capture_output=True, text=True, check=False).stdout.strip()
        self.conditions = [
            f"Overcast {version or '?'} (this checkout): `overcast up` with identity and object "
            "only; the proxy and its storage node in one process (one asyncio worker; the "
            "object API has no workers option); SQLite listings on the devices",
            f"ring: part power {PART_POWER}, 3 replicas, devices d1-d3 in zones 1-3 under "
            f"{self.devices}; daemons (replicator, auditor, expirer, updater) off, as on the "
            "Swift side where only the servers run",
        ]


SWIFT_PIPELINE = ("catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk "
                  "tempurl formpost {auth} copy container-quotas account-quotas slo dlo "
                  "versioned_writes proxy-logging proxy-server")


class SwiftSide(Side):
    def __init__(self, work: Path, venv: Path, auth: str, spec: str, reinstall: bool):
        super().__init__("Swift")
        proc.ensure_venv(venv, ["swift-proxy-server", "swift-ring-builder"], [spec],
                         reinstall=reinstall, say=log)
        bin_ = venv / "bin"
        self.python = str(bin_ / "python")
        version = subprocess.run(
            [str(bin_ / "python"), "-c", "import importlib.metadata as m, json; print(json.dumps("
             "{p: m.version(p) for p in ['swift', 'eventlet', 'greenlet', 'PyECLib']}))"],
            capture_output=True, text=True, check=True).stdout
        versions = json.loads(version)
        root = work / "swift"
        etc, self.devices, run = root / "etc", root / "devices", root / "run"
        for d in (etc, run, *(self.devices / f"d{i}" for i in (1, 2, 3))):
            d.mkdir(parents=True, exist_ok=True)
        where = f"{self.devices} ({_fstype(self.devices)})"
        if not xattr_ok(self.devices):
            where = self._xattr_mount(root)
        user = "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody")
        logf = work / "swift.log"
        (etc / "swift.conf").write_text(
            "[swift-hash]\nswift_hash_path_suffix = overcast-bench\n\n"
            "[storage-policy:0]\nname = Policy-0\ndefault = yes\npolicy_type = replication\n")
        ports = {"object": proc.free_port(), "container": proc.free_port(),
                 "account": proc.free_port()}
        for kind, port in ports.items():
            builder = str(etc / f"{kind}.builder")
            proc.run([str(bin_ / "swift-ring-builder"), builder, "create", str(PART_POWER), "3",
                      "1"], log=logf)
            for i in (1, 2, 3):
                proc.run([str(bin_ / "swift-ring-builder"), builder, "add",
                          f"r1z{i}-127.0.0.1:{port}/d{i}", "1"], log=logf)
            with contextlib.suppress(RuntimeError):  # exit 1 = "warnings", the ring is written
                proc.run([str(bin_ / "swift-ring-builder"), builder, "rebalance"], log=logf)
            if not (etc / f"{kind}.ring.gz").exists():
                raise RuntimeError(f"swift-ring-builder made no {kind} ring; see {logf}")
            common = (f"[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = {port}\nworkers = 1\n"
                      f"user = {user}\nswift_dir = {etc}\ndevices = {self.devices}\n"
                      f"mount_check = false\nlog_level = WARNING\nrecon_cache_path = {run}\n"
                      "log_address = /nonexistent\n\n"
                      f"[pipeline:main]\npipeline = {kind}-server\n\n"
                      f"[app:{kind}-server]\nuse = egg:swift#{kind}\n")
            (etc / f"{kind}-server.conf").write_text(common)
        self.memcached = proc.Server("memcached", [
            "memcached", "-l", "127.0.0.1", "-p", str(mport := proc.free_port()), "-U", "0",
            "-m", "64", "-u", user], log=work / "memcached.log")
        self.port = proc.free_port()
        if auth == "tempauth":
            auth_filter = ("[filter:tempauth]\nuse = egg:swift#tempauth\n"
                           "user_bench_tester = testing .admin\n")
        else:
            auth_filter = ""
        (etc / "proxy-server.conf").write_text(
            f"[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = {self.port}\nworkers = 1\n"
            f"user = {user}\nswift_dir = {etc}\nlog_level = WARNING\n"
            "log_address = /nonexistent\n\n"
            "[pipeline:main]\npipeline = "
            + SWIFT_PIPELINE.format(auth="tempauth" if auth == "tempauth" else "") + "\n\n"
            "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n\n"
            + auth_filter
            + f"[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:{mport}\n"
            + "".join(f"[filter:{m}]\nuse = egg:swift#{m.replace('-', '_')}\n" for m in (
                "catch_errors", "gatekeeper", "healthcheck", "proxy-logging", "listing_formats",
                "bulk", "tempurl", "formpost", "copy", "container-quotas", "account-quotas",
                "slo", "dlo", "versioned_writes")))
        self.servers = [self.memcached.start()]
        for kind in ("account", "container", "object", "proxy"):
            self.servers.append(proc.Server(
                f"swift-{kind}", [str(bin_ / f"swift-{kind}-server"),
                                  str(etc / f"{kind}-server.conf")], log=logf).start())
        for kind, port in [*ports.items(), ("proxy", self.port)]:
            server = next(s for s in self.servers if s.name == f"swift-{kind}")
            proc.wait_http(f"http://127.0.0.1:{port}/healthcheck", proc=server.proc, log=logf)
        if auth == "tempauth":
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            conn.request("GET", "/auth/v1.0", headers={"X-Auth-User": "bench:tester",
                                                       "X-Auth-Key": "testing"})
            resp = conn.getresponse()
            resp.read()
            if resp.status // 100 != 2:
                raise RuntimeError(f"tempauth answered {resp.status}")
            self.headers = {"X-Auth-Token": resp.getheader("X-Auth-Token") or ""}
            self.account = (resp.getheader("X-Storage-Url") or "").split("/v1/", 1)[1]
            self.auth = ("tempauth token issued before the cells (GET /auth/v1.0), validated "
                         "on every request from memcached (one loopback round trip)")
        else:
            self.account = "AUTH_bench"
            self.auth = "no auth middleware in the pipeline: every request allowed, no token"
        self.conditions = [
            f"Swift {versions['swift']} from PyPI (eventlet {versions['eventlet']}, greenlet "
            f"{versions['greenlet']}) in {venv}: swift-proxy-server with workers = 1, and one "
            "account, container and object server (workers = 1 each: a parent and one worker), "
            f"memcached for the proxy's cache; no daemons",
            f"ring: part power {PART_POWER}, 3 replicas, devices d1-d3 in zones 1-3 on {where}, "
            "mount_check = false, replication policy",
            "proxy pipeline: " + SWIFT_PIPELINE.format(
                auth=auth if auth == "tempauth" else "").replace("  ", " ")
            + " (the features Overcast's proxy has in its request path too)",
        ]

    def _xattr_mount(self, root: Path) -> str:
        """The file system here refuses user xattrs: a loop-mounted ext4 image instead."""
        if os.geteuid() != 0:
            raise SystemExit(f"{self.devices} has no user xattrs (Swift needs them) and only "
                             "root can mount a file system that has")
        image = root / "devices.img"
        with image.open("wb") as f:
            f.truncate(64 << 30)
        proc.run(["mkfs.ext4", "-q", "-F", str(image)])
        shutil.rmtree(self.devices)
        self.devices.mkdir()
        proc.run(["mount", "-o", "loop", str(image), str(self.devices)])
        self.mounted = True
        for i in (1, 2, 3):
            (self.devices / f"d{i}").mkdir()
        return f"{self.devices} (a loop-mounted ext4 image: the work dir's file system refuses " \
            "user xattrs)"

    def stop(self) -> None:
        super().stop()
        if getattr(self, "mounted", False):
            subprocess.run(["umount", str(self.devices)], check=False)


def _fstype(path: Path) -> str:
    out = subprocess.run(["df", "--output=fstype", str(path)], capture_output=True, text=True,
                         check=False).stdout.split()
    return out[-1] if out else "?"


# ------------------------------------------------------------------------------------ cells

PUT_LUA = """
local counter = 0
local nthreads = 0
function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end
function init(args)
  body = string.rep("{fill}", {reps})
end
function request()
  counter = counter + 1
  return wrk.format("PUT", "{prefix}" .. tid .. "-" .. counter, {headers}, body)
end
"""


def _lua_headers(h: dict[str, str]) -> str:
    return "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in h.items()) + "}"


def small_put(side: Side, container: str, conc: int, duration: float) -> Result:
    lua = PUT_LUA.format(fill="0123456789abcdef", reps=4 * KiB // 16,
                         prefix=side.path(container, f"c{conc}-"),
                         headers=_lua_headers({**side.headers,
                                               "Content-Type": "application/octet-stream"}))
    return run_wrk_script(f"http://127.0.0.1:{side.port}", lua + WRK_DONE, conc, duration)


def names_in(side: Side, container: str, limit: int) -> list[str]:
    status, _, body = side.request("GET", side.path(container) + f"?limit={limit}")
    if status != 200:
        raise RuntimeError(f"{side.name}: listing {container} answered {status}")
    return body.decode().split()


def small_get(side: Side, container: str, conc: int, duration: float) -> Result:
    names = names_in(side, container, 2000)
    reqs = [Request("GET", side.path(container, n), dict(side.headers)) for n in names]
    return run_load("wrk", f"http://127.0.0.1:{side.port}", reqs, conc, duration)


def big_ops(side: Side, method: str, container: str, names: list[str], src: Path,
            conc: int) -> float:
    """Seconds to PUT (streaming `src`) or GET every name, `conc` at a time."""
    size = src.stat().st_size
    queue = list(names)
    lock = threading.Lock()
    errors: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", side.port, timeout=600, blocksize=MiB)
        while True:
            with lock:
                if not queue:
                    break
                name = queue.pop()
            path = side.path(container, name)
            if method == "PUT":
                with open(src, "rb") as f:
                    conn.request("PUT", path, body=f, headers={
                        **side.headers, "Content-Length": str(size),
                        "Content-Type": "application/octet-stream"})
                    resp = conn.getresponse()
                    resp.read()
                    ok = resp.status == 201
            else:
                conn.request("GET", path, headers=side.headers)
                resp = conn.getresponse()
                got = 0
                while chunk := resp.read(MiB):
                    got += len(chunk)
                ok = resp.status == 200 and got == size
            if not ok:
                errors.append(f"{method} {name}: {resp.status}")
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{side.name}: {len(errors)} errors: {errors[:3]}")
    return time.perf_counter() - t0


def fill(side: Side, container: str, count: int, conc: int) -> float:
    """PUT `count` 1-byte objects (a bounded loop, `conc` connections); seconds taken."""
    nxt = iter(range(count))
    lock = threading.Lock()
    errors: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", side.port, timeout=120)
        while True:
            with lock:
                i = next(nxt, None)
            if i is None or len(errors) > 10:
                break
            conn.request("PUT", side.path(container, f"obj-{i:07d}"), body=b"x",
                         headers={**side.headers, "Content-Type": "text/plain"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 201:
                errors.append(f"obj-{i}: {resp.status}")
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{side.name}: fill errors: {errors[:3]}")
    return time.perf_counter() - t0


# The rows fill: each side's own broker code merges the rows into every replica of the
# container database, as its replicator merges a peer's rows. argv: devices container count
ROWS_FILL = {
    "Swift": """
import glob, sys
from swift.common.utils import Timestamp
from swift.container.backend import ContainerBroker
devices, container, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
done = 0
for db in glob.glob(devices + "/*/containers/**/*.db", recursive=True):
    broker = ContainerBroker(db)
    if broker.get_info()["container"] != container:
        continue
    ts = Timestamp.now().internal
    for start in range(0, count, 10000):
        broker.merge_items([{"name": "obj-%07d" % i, "created_at": ts, "size": 1,
            "content_type": "text/plain", "etag": "9dd4e461268c8034f5c8564e155c67a6",
            "deleted": 0, "storage_policy_index": 0, "ctype_timestamp": ts,
            "meta_timestamp": ts} for i in range(start, min(count, start + 10000))])
    done += 1
print(done)
""",
    "Overcast": """
import sys, time
from pathlib import Path
from overcast.object.storage.broker import ContainerBroker
devices, container, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
done = 0
for db in devices.glob("*/containers/**/*.db"):
    broker = ContainerBroker(db)
    if (broker.raw_info() or {}).get("container") != container:
        continue
    ts = f"{time.time():016.5f}"
    broker.merge({"name": "obj-%07d" % i, "created_at": ts, "size": 1,
                  "content_type": "text/plain", "etag": "9dd4e461268c8034f5c8564e155c67a6",
                  "deleted": 0} for i in range(count))
    done += 1
print(done)
""",
}


def fill_rows(side: Side, container: str, count: int) -> float:
    t0 = time.perf_counter()
    out = subprocess.run([side.python, "-c", ROWS_FILL[side.name], str(side.devices), container,
                          str(count)], capture_output=True, text=True, check=False,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    if out.returncode != 0 or out.stdout.strip() != "3":
        raise RuntimeError(f"{side.name}: rows fill failed ({out.stdout.strip()} replicas): "
                           f"{out.stderr[-2000:]}")
    return time.perf_counter() - t0


def list_all(side: Side, container: str) -> tuple[float, int]:
    """Seconds to read the whole listing in pages of PAGE (JSON), and the objects seen."""
    conn = http.client.HTTPConnection("127.0.0.1", side.port, timeout=600)
    seen, marker = 0, ""
    t0 = time.perf_counter()
    while True:
        conn.request("GET", side.path(container) + f"?format=json&limit={PAGE}"
                     + (f"&marker={marker}" if marker else ""), headers=side.headers)
        resp = conn.getresponse()
        page = json.loads(resp.read() or b"[]")
        if resp.status // 100 != 2:
            raise RuntimeError(f"{side.name}: listing answered {resp.status}")
        if not page:
            break
        seen += len(page)
        marker = page[-1]["name"]
        if len(page) < PAGE:
            break
    secs = time.perf_counter() - t0
    conn.close()
    return secs, seen


def limit_write(work: Path, src: Path, conc: int, *, duration: float = 0, count: int = 0
                ) -> tuple[float, int]:
    """The limit: each object's bytes written to three new files, each fsynced, `conc`
    writers at a time; for a duration (small objects, in process) or `count` objects (dd)."""
    size = src.stat().st_size
    data = src.read_bytes() if size <= MiB else b""
    out = work / "limit"
    out.mkdir(exist_ok=True)
    done = [0]
    lock = threading.Lock()
    left = [count]
    deadline = time.perf_counter() + duration

    def worker(k: int) -> None:
        i = 0
        while True:
            if count:
                with lock:
                    if left[0] == 0:
                        return
                    left[0] -= 1
            elif time.perf_counter() >= deadline:
                return
            for r in range(3):
                path = out / f"{k}-{i}-{r}"
                if data:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    try:
                        os.write(fd, data)
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                else:
                    subprocess.run(["dd", f"if={src}", f"of={path}", "bs=1M", "conv=fsync"],
                                   check=True, capture_output=True)
            i += 1
            with lock:
                done[0] += 1

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(conc) as pool:
        list(pool.map(worker, range(conc)))
    return time.perf_counter() - t0, done[0]


def limit_read(work: Path, conc: int, duration: float = 0) -> tuple[float, int, int]:
    """dd-like reads of one copy of each object written by limit_write, page cache dropped."""
    files = sorted((work / "limit").glob("*-0"))
    drop_caches()
    queue = list(files)
    lock = threading.Lock()
    nbytes = [0]

    def worker(_: int) -> None:
        while True:
            with lock:
                if not queue:
                    return
                path = queue.pop()
            with open(path, "rb", buffering=0) as f:
                while chunk := f.read(MiB):
                    with lock:
                        nbytes[0] += len(chunk)

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(conc) as pool:
        list(pool.map(worker, range(conc)))
    secs = time.perf_counter() - t0
    shutil.rmtree(work / "limit")
    return secs, len(files), nbytes[0]


# ------------------------------------------------------------------------------------- main


@dataclass
class Cell:
    label: str
    op: str
    conc: str
    limit: tuple[float, float] | None = None  # MB/s, ops/s
    figures: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # side: MB/s, ops/s, cpu
    extra: dict[str, str] = field(default_factory=dict)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=8, help="seconds per 4 KiB cell and side")
    p.add_argument("--big-count", type=int, default=3,
                   help="64 MiB objects per cell at concurrency 1 (at c: max(this, c))")
    p.add_argument("--big-repeat", type=int, default=2,
                   help="trials of each 64 MiB cell (limit, Swift, Overcast interleaved; the "
                   "best is shown, every trial printed)")
    p.add_argument("--concurrency", default="1,16")
    p.add_argument("--list-objects", type=int, default=100000)
    p.add_argument("--fill", choices=["rows", "put"], default="rows",
                   help="rows (default): PUT --fill-puts objects, then each side's own broker "
                   "code merges the rows of all --list-objects into the 3 container replicas; "
                   "put: PUT every object (at ~50 PUT/s here, 100,000 take over half an hour "
                   "per side)")
    p.add_argument("--fill-puts", type=int, default=500)
    p.add_argument("--list-trials", type=int, default=3)
    p.add_argument("--fill-concurrency", type=int, default=16)
    p.add_argument("--only", choices=["swift", "overcast"])
    p.add_argument("--swift-auth", choices=["tempauth", "noauth"], default="tempauth")
    p.add_argument("--swift-spec", default="swift", help="pip requirement for Swift")
    p.add_argument("--swift-venv", type=Path, default=DEFAULT_VENV)
    p.add_argument("--reinstall", action="store_true")
    p.add_argument("--skip", default="", help="comma list of small,big,list,limit to skip")
    p.add_argument("--workdir", help="where the state and the limit files go "
                   "(default: a temporary directory under bench/out)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    concs = [int(c) for c in args.concurrency.split(",")]
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="object-",
                                                                          dir=out))
    work.mkdir(parents=True, exist_ok=True)
    log(f"working in {work}; load average {load_average()}")
    started = time.time()
    load_start = load_average()
    sides: list[Side] = []
    cells: list[Cell] = []
    try:
        if args.only != "overcast":
            log("starting Swift")
            sides.append(SwiftSide(work, args.swift_venv, args.swift_auth, args.swift_spec,
                                   args.reinstall))
        if args.only != "swift":
            log("starting Overcast")
            sides.append(OvercastSide(work))
        for side in sides:
            for c in ("small", "big", "list"):
                status = side.request("PUT", side.path(c), headers={"Content-Length": "0"})[0]
                if status not in (201, 202):
                    raise RuntimeError(f"{side.name}: PUT container answered {status}")
        size = 4 * KiB
        src = work / "src-4k"
        src.write_bytes(os.urandom(size))
        if "small" not in skip:
            for conc in concs:
                put, get = Cell("4 KiB", "PUT", str(conc)), Cell("4 KiB", "GET", str(conc))
                if "limit" not in skip:
                    secs, n = limit_write(work, src, conc, duration=args.duration / 2)
                    put.limit = (n * size / 1e6 / secs, n / secs)
                    secs, n, nb = limit_read(work, conc)
                    get.limit = (nb / 1e6 / secs, n / secs)
                for side in sides:
                    side.settle()
                    log(f"4 KiB PUT c={conc} {side.name}")
                    cpu0 = side.cpu()
                    r = small_put(side, "small", conc, args.duration)
                    _check(side, r)
                    put.figures[side.name] = (r.rps * size / 1e6, r.rps, side.cpu() - cpu0)
                    put.extra[side.name] = f"p50 {r.p50_ms:.1f} ms"
                for side in sides:
                    side.settle()
                drop_caches()
                for side in sides:
                    log(f"4 KiB GET c={conc} {side.name}")
                    cpu0 = side.cpu()
                    r = small_get(side, "small", conc, args.duration)
                    _check(side, r)
                    get.figures[side.name] = (r.rps * size / 1e6, r.rps, side.cpu() - cpu0)
                    get.extra[side.name] = f"p50 {r.p50_ms:.1f} ms"
                cells += [put, get]
        if "big" not in skip:
            size = 64 * MiB
            src = work / "src-64m"
            with src.open("wb") as f:
                for _ in range(64):
                    f.write(os.urandom(MiB))
            for conc in concs:
                count = max(args.big_count, conc)
                put, get = Cell("64 MiB", "PUT", str(conc)), Cell("64 MiB", "GET", str(conc))
                mb = size * count / 1e6
                trials: dict[str, list[str]] = {}
                for trial in range(args.big_repeat):
                    # interleaved trials, the best kept: others only slow a trial down
                    if "limit" not in skip:
                        drop_caches()
                        log(f"64 MiB limit c={conc}: dd x3 conv=fsync x{count} (trial {trial + 1})")
                        secs, n = limit_write(work, src, conc, count=count)
                        if put.limit is None or mb / secs > put.limit[0]:
                            put.limit = (mb / secs, count / secs)
                        trials.setdefault("limit PUT", []).append(f"{mb / secs:.1f}")
                        secs, n, nb = limit_read(work, conc)
                        if get.limit is None or nb / 1e6 / secs > get.limit[0]:
                            get.limit = (nb / 1e6 / secs, n / secs)
                    names = [f"c{conc}-t{trial}-{i}" for i in range(count)]
                    for op, cell in (("PUT", put), ("GET", get)):
                        for side in sides:
                            side.settle()
                            drop_caches()
                            log(f"64 MiB {op} c={conc} x{count} {side.name} (trial {trial + 1})")
                            cpu0 = side.cpu()
                            secs = big_ops(side, op, "big", names, src, conc)
                            fig = (mb / secs, count / secs, side.cpu() - cpu0)
                            trials.setdefault(f"{side.name} {op}", []).append(f"{fig[0]:.1f}")
                            if side.name not in cell.figures or fig[0] > cell.figures[side.name][0]:
                                cell.figures[side.name] = fig
                for key, values in trials.items():
                    cell = put if key.endswith("PUT") else get
                    cell.extra[key.rsplit(" ", 1)[0]] = "trials MB/s " + ", ".join(values)
                cells += [put, get]
        if "list" not in skip and args.list_objects:
            cell = Cell(f"{args.list_objects:,} objects", "list", "1")
            for side in sides:
                side.settle()
                n_put = args.list_objects if args.fill == "put" else args.fill_puts
                log(f"filling a container with {n_put} objects on {side.name} "
                    f"({args.fill_concurrency} concurrent PUTs)")
                secs = fill(side, "list", n_put, args.fill_concurrency)
                cell.extra[side.name] = f"fill {n_put / secs:.0f} PUT/s"
                log(f"  {secs:.0f} s ({n_put / secs:.0f} PUT/s)")
                if args.fill == "rows":
                    secs = fill_rows(side, "list", args.list_objects)
                    log(f"  rows of {args.list_objects} objects merged into the 3 replicas of "
                        f"the container database in {secs:.1f} s")
            for side in sides:
                side.settle()
            best: dict[str, tuple[float, float]] = {}
            for _ in range(args.list_trials):  # interleaved; the best (others only slow one down)
                for side in sides:
                    cpu0 = side.cpu()
                    secs, seen = list_all(side, "list")
                    if seen != args.list_objects:
                        raise RuntimeError(f"{side.name} listed {seen} objects")
                    cpu = side.cpu() - cpu0
                    if side.name not in best or secs < best[side.name][0]:
                        best[side.name] = (secs, cpu)
            for name, (secs, cpu) in best.items():
                cell.figures[name] = (secs, args.list_objects / secs, cpu)
            cells.append(cell)
        load_end = load_average()
        report(args, sides, cells, work, load_start, load_end, time.time() - started)
    finally:
        for side in sides:
            side.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _check(side: Side, r: Result) -> None:
    if r.error_count or not r.requests:
        raise RuntimeError(f"{side.name}: {r.requests} requests, errors {r.errors}")


def report(args: argparse.Namespace, sides: list[Side], cells: list[Cell], work: Path,
           load_start: str, load_end: str, elapsed: float) -> None:
    names = [s.name for s in sides]
    print(f"machine: {machine()}")
    print(f"load average (1 5 15 min) at the start {load_start}, at the end {load_end}: other "
          "work shares this machine, so the figures are indicative; each cell runs on one "
          "side right after the other")
    for side in sides:
        print(f"{side.name}: auth: {side.auth}")
        for c in side.conditions:
            print(f"  {c}")
    print("both: 127.0.0.1, keep-alive connections, the page cache dropped before every GET "
          "cell and every 64 MiB PUT (as root), objects in containers that exist already; "
          f"4 KiB cells: wrk for {args.duration:g} s each, a new name per PUT, GETs cycling over "
          "up to 2,000 of the objects just PUT; 64 MiB cells: a file streamed with "
          "Content-Length (1 MiB writes), read back whole, best of "
          f"{args.big_repeat} interleaved trials (limit, Swift, Overcast); listing: GET ?format=json&limit="
          f"{PAGE} then marker=... until the end, best of {args.list_trials}")
    if args.fill == "rows":
        print(f"listing fill: {args.fill_puts} 1-byte objects PUT ({args.fill_concurrency} at a "
              f"time; the PUT/s below), then the rows of all {args.list_objects:,} objects "
              "(1 byte, text/plain) merged into the three replicas of the container database by "
              "each side's own broker code (swift.container.backend.ContainerBroker.merge_items, "
              "overcast.object.storage.broker.ContainerBroker.merge), as their replicators "
              "merge a peer's rows: at the PUT rate of this machine 100,000 PUTs would take "
              "over half an hour per side (`--fill put` does it)")
    else:
        print(f"listing fill: {args.list_objects:,} 1-byte objects PUT, "
              f"{args.fill_concurrency} at a time")
    print("limit: 4 KiB: write + fsync of three new files per object, in process (dd conv=fsync "
          "without a process per object); 64 MiB: `dd bs=1M conv=fsync` three times per object; "
          "GET: one copy read back after the page cache is dropped; concurrent writers = the "
          "cell's concurrency")
    header = ["object", "op", "conc", "limit MB/s", "limit op/s"]
    for n in names:
        header += [f"{n} MB/s", f"{n} op/s", f"{n} CPU s"]
    if len(names) == 2:
        header += ["Overcast/Swift"]
    rows = []
    for c in cells:
        if c.op == "list":
            row = [c.label, "list: s, obj/s", "1", "-", "-"]
            for n in names:
                secs, ops, cpu = c.figures[n]
                row += [f"{secs:.2f} s", f"{ops:,.0f} obj/s", f"{cpu:.1f}"]
            if len(names) == 2:
                row.append(f"{c.figures['Overcast'][1] / c.figures['Swift'][1]:.2f}x")
        else:
            row = [c.label, c.op, c.conc]
            row += [f"{c.limit[0]:.1f}", f"{c.limit[1]:.1f}"] if c.limit else ["-", "-"]
            for n in names:
                mbs, ops, cpu = c.figures[n]
                row += [f"{mbs:.1f}", f"{ops:.1f}", f"{cpu:.1f}"]
            if len(names) == 2:
                row.append(f"{c.figures['Overcast'][1] / c.figures['Swift'][1]:.2f}x")
        rows.append(row)
    print(table(header, rows, align="lll" + "r" * (len(header) - 3)))
    notes = []
    for c in cells:
        for n, e in c.extra.items():
            notes.append(f"{c.label} {c.op} c={c.conc} {n}: {e}")
    if notes:
        print("; ".join(notes))
    if len(names) == 2:
        print("aim (issue 13): at least Swift's figures everywhere, and 64 MiB PUT at 80% of "
              "the limit")
        behind = [f"{c.label} {c.op} c={c.conc} ({c.figures['Overcast'][1] / c.figures['Swift'][1]:.2f}x)"
                  for c in cells if c.figures["Overcast"][1] < c.figures["Swift"][1]]
        print("  Overcast >= Swift: " + ("every cell" if not behind else
                                        "not in " + ", ".join(behind)))
    for c in cells:
        if c.label == "64 MiB" and c.op == "PUT" and c.limit and "Overcast" in c.figures:
            share = c.figures["Overcast"][0] / c.limit[0]
            print(f"  64 MiB PUT c={c.conc}: Overcast at {share:.0%} of the limit "
                  f"({'met' if share >= 0.8 else 'not met'})")
    print(f"run time {elapsed:.0f} s; work dir {work}")
    data = {"cells": [c.__dict__ for c in cells], "load": [load_start, load_end],
            "sides": {s.name: {"auth": s.auth, "conditions": s.conditions} for s in sides}}
    path = REPO / "bench" / "out" / f"object-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(data, indent=1, default=str))
    print(f"figures: {path}")


if __name__ == "__main__":
    main()
