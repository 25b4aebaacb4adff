#!/usr/bin/env python3
"""Object storage benchmark: PUT and GET throughput of 1 MiB and 64 MiB objects through
Overcast's Swift proxy (three replicas on three device directories, the all-in-one), beside
the limit of the disk measured in the same run.

    python3 bench/object/run.py [--count-1m 200] [--count-64m 8] [--concurrency 1,8]

* The limit (PUT): the same bytes written three times with `dd bs=1M conv=fsync` into the
  state directory's file system (what three fsynced replicas cost), one object at a time;
  (GET): `dd` reading one copy to /dev/null after the page cache is written back and, as
  root, dropped.
* Overcast: `overcast up` with only identity and object on free ports, a token for admin; a
  PUT streams a prepared file with Content-Length; a GET reads the whole body. Before the GET
  phase the page cache is dropped too (as root), so both sides read from the disk.

Figures are MB/s of object data (1 MB = 10^6 bytes) and objects per second. Standard library
only. The real Swift as a peer is not run here (see docs/object.md): the limit is the
yardstick this script gives.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.common.report import load_average, machine, table  # noqa: E402

MiB = 1 << 20
PASSWORD = "bench-Admin-pw-51ca"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def drop_caches() -> None:
    os.sync()
    if os.geteuid() == 0:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def dd_limit(src: Path, workdir: Path, count: int) -> tuple[float, float]:
    """Seconds to write `count` objects three times each (fsynced), and to read them back."""
    t0 = time.perf_counter()
    outs = []
    for i in range(count):
        for r in range(3):
            out = workdir / f"limit-{i}-{r}"
            subprocess.run(["dd", f"if={src}", f"of={out}", "bs=1M", "conv=fsync"],
                           check=True, capture_output=True)
            outs.append(out)
    put = time.perf_counter() - t0
    drop_caches()
    t0 = time.perf_counter()
    for out in outs[::3]:
        subprocess.run(["dd", f"if={out}", "of=/dev/null", "bs=1M"], check=True,
                       capture_output=True)
    get = time.perf_counter() - t0
    for out in outs:
        out.unlink()
    return put, get


class Cloud:
    def __init__(self, state: Path):
        self.ports = {"identity": free_port(), "object": free_port()}
        env = {**os.environ, "OVERCAST_DEFAULT__BIND_HOST": "127.0.0.1",
               "OVERCAST_IMAGE__ENABLED": "false", "OVERCAST_OBJECT__ENABLED": "true",
               "OVERCAST_IDENTITY__PORT": str(self.ports["identity"]),
               "OVERCAST_OBJECT__PORT": str(self.ports["object"]),
               "OVERCAST_DEFAULT__LOG_LEVEL": "WARNING",
               # this checkout's code, whichever venv the overcast command comes from
               "PYTHONPATH": str(REPO)}
        for name in ("compute", "network", "volume", "placement"):
            env[f"OVERCAST_{name.upper()}__ENABLED"] = "false"
        exe = Path(sys.executable).parent / "overcast"
        if not exe.exists():
            exe = REPO / ".venv" / "bin" / "overcast"
        subprocess.run([str(exe), "db", "upgrade", "--state-dir", str(state)], env=env,
                       check=True, capture_output=True)
        subprocess.run([str(exe), "bootstrap", "--state-dir", str(state),
                        "--admin-password", PASSWORD], env=env, check=True,
                       capture_output=True)
        self.log = (state.parent / "overcast.log").open("wb")
        self.proc = subprocess.Popen([str(exe), "up", "--state-dir", str(state)], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while True:
            try:
                if self.request("object", "GET", "/info")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                raise SystemExit("overcast did not start; see overcast.log")
            time.sleep(0.5)
        body = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        status, headers, raw = self.request("identity", "POST", "/v3/auth/tokens", body,
                                            {"Content-Type": "application/json"})
        assert status == 201, raw
        self.token = headers["x-subject-token"]
        catalog = json.loads(raw)["token"]["catalog"]
        url = next(e["url"] for s in catalog if s["type"] == "object-store"
                   for e in s["endpoints"] if e["interface"] == "public")
        self.account = url.split("/v1/", 1)[1]

    def request(self, service: str, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.ports[service], timeout=600)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def run_ops(cloud: Cloud, method: str, names: list[str], src: Path, concurrency: int
            ) -> float:
    """Seconds to PUT (streaming `src`) or GET every name, `concurrency` at a time."""
    queue = list(names)
    lock = threading.Lock()
    errors: list[str] = []
    size = src.stat().st_size

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", cloud.ports["object"], timeout=600)
        while True:
            with lock:
                if not queue:
                    break
                name = queue.pop()
            path = f"/v1/{cloud.account}/bench/{name}"
            if method == "PUT":
                with open(src, "rb") as f:
                    conn.request("PUT", path, body=f, headers={
                        "X-Auth-Token": cloud.token, "Content-Length": str(size)})
                    resp = conn.getresponse()
                    resp.read()
                    ok = resp.status == 201
            else:
                conn.request("GET", path, headers={"X-Auth-Token": cloud.token})
                resp = conn.getresponse()
                got = 0
                while chunk := resp.read(MiB):
                    got += len(chunk)
                ok = resp.status == 200 and got == size
            if not ok:
                errors.append(f"{method} {name}: {resp.status}")
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"errors: {errors[:5]}")
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count-1m", type=int, default=200)
    p.add_argument("--count-64m", type=int, default=8)
    p.add_argument("--concurrency", default="1,8")
    p.add_argument("--workdir", help="where the state and the limit files go "
                   "(default: a temporary directory under bench/out)")
    args = p.parse_args()
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="object-",
                                                                          dir=out))
    work.mkdir(parents=True, exist_ok=True)
    log(f"working in {work}")
    cloud = Cloud(work / "state")
    rows = []
    try:
        status = cloud.request("object", "PUT", f"/v1/{cloud.account}/bench",
                               headers={"X-Auth-Token": cloud.token, "Content-Length": "0"})[0]
        assert status in (201, 202)
        for label, size, count in (("1 MiB", MiB, args.count_1m),
                                   ("64 MiB", 64 * MiB, args.count_64m)):
            src = work / f"src-{size}"
            with open(src, "wb") as f:
                f.write(os.urandom(size))
            log(f"{label}: the limit (dd, 3 fsynced copies) x{count}")
            lim_put, lim_get = dd_limit(src, work, count)
            mb = size * count / 1e6
            rows.append([label, "limit: dd x3 fsync / dd read", "-",
                         f"{mb / lim_put:.1f}", f"{count / lim_put:.1f}",
                         f"{mb / lim_get:.1f}", f"{count / lim_get:.1f}"])
            for conc in (int(c) for c in args.concurrency.split(",")):
                names = [f"{label.replace(' ', '')}-c{conc}-{i}" for i in range(count)]
                log(f"{label}: Overcast PUT x{count} at concurrency {conc}")
                t_put = run_ops(cloud, "PUT", names, src, conc)
                drop_caches()
                log(f"{label}: Overcast GET x{count} at concurrency {conc}")
                t_get = run_ops(cloud, "GET", names, src, conc)
                rows.append([label, "Overcast (3 replicas)", str(conc),
                             f"{mb / t_put:.1f}", f"{count / t_put:.1f}",
                             f"{mb / t_get:.1f}", f"{count / t_get:.1f}"])
            src.unlink()
    finally:
        cloud.stop()
    facts = machine()
    print(f"machine: {facts}; load average {load_average()}")
    print(f"state and limit files on the same file system: {work}")
    print(table(["object", "what", "conc", "PUT MB/s", "PUT obj/s", "GET MB/s", "GET obj/s"],
                rows, align="llrrrrr"))
    shutil.rmtree(work / "state" / "object" / "devices", ignore_errors=True)


if __name__ == "__main__":
    main()
