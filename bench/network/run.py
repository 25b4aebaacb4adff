#!/usr/bin/env python3
"""Networking API benchmark: Overcast's network service beside neutron-server from PyPI.

Both servers run on this machine in this run, on the same database server (a database each),
with the same number of worker processes, both validating tokens against one Overcast identity
service (Neutron through keystonemiddleware, Overcast through its own remote validator; both
cache validations in process). Neutron runs ML2 with no agents: port creation allocates an
address and stores the port, as Overcast does; nothing is wired.

Cells, each run on Neutron and then on Overcast (the idle server uses no CPU):
  * port create: `POST /v2.0/ports {"port": {"network_id": N}}` (address from a /16) at
    concurrency 1 and 16 for a fixed time (wrk, keep-alive): throughput, p50/p99, errors;
  * list 10,000 ports: `GET /v2.0/ports` (all of them) and `GET /v2.0/ports?device_id=vm-7`
    (10 of them), one request at a time: p50/p90 latency and the bytes answered.

    python3 bench/network/run.py                  # MariaDB, 10 s per create cell
    python3 bench/network/run.py --db postgresql  # or sqlite
    python3 bench/network/run.py --only overcast  # no Neutron venv needed

Needs: the project venv (`.venv`), `wrk`, the MariaDB client (and server at 127.0.0.1:3306,
root without password) and, the first time, PyPI and a C compiler (uWSGI builds from source)
for Neutron's virtualenv at ~/.cache/overcast-bench/neutron-venv.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.common import proc  # noqa: E402
from bench.common.dbs import KINDS, DbServer  # noqa: E402
from bench.common.loadgen import Request, Result, run_load, wrk_version  # noqa: E402
from bench.common.report import load_average, machine, table  # noqa: E402

ADMIN_PASSWORD = "bench-Admin-pw-7f3c"
NEUTRON_PACKAGES = ["neutron", "uwsgi", "PyMySQL", "psycopg2-binary"]
OUT = REPO / "bench" / "out" / "network"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def http_json(port: int, method: str, path: str, token: str = "", body: object = None,
              timeout: float = 600) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    try:
        parsed = json.loads(data) if data else {}
    except ValueError:
        parsed = {"raw": data[:500].decode(errors="replace")}
    if method == "POST" and path == "/v3/auth/tokens":
        parsed["_token"] = r.getheader("X-Subject-Token") or ""
    return r.status, parsed


def expect(status: int, body: dict, want: int, what: str) -> dict:
    if status != want:
        raise RuntimeError(f"{what}: {status} {json.dumps(body)[:600]}")
    return body


# ------------------------------------------------------------------------- identity


class Identity:
    """Overcast's identity service alone (its own process, not counted in either side)."""

    def __init__(self, out: Path):
        self.out = out
        self.port = proc.free_port()
        self.cli = REPO / ".venv" / "bin" / "overcast"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OVERCAST_")}
        self.env.update({"OVERCAST_IDENTITY__PORT": str(self.port),
                         "OVERCAST_DEFAULT__PUBLIC_HOST": "127.0.0.1",
                         "OVERCAST_IDENTITY__PASSWORD_HASH_ROUNDS": "4"})
        self.server: proc.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        state = ["--state-dir", str(self.out)]
        proc.run([str(self.cli), "db", "upgrade", *state], env=self.env, log=self.out / "setup.log")
        proc.run([str(self.cli), "bootstrap", *state, "--admin-password", ADMIN_PASSWORD],
                 env=self.env, log=self.out / "setup.log")
        self.server = proc.Server("identity", [str(self.cli), "serve", "identity", *state, "--host",
                                               "127.0.0.1", "--port", str(self.port)],
                                  env=self.env, log=self.out / "serve.log").start()
        proc.wait_http(f"{self.url}/v3", timeout=120)

    def token(self) -> tuple[str, str]:
        """A project-scoped admin token and the admin project's id."""
        status, body = http_json(self.port, "POST", "/v3/auth/tokens", body={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}})
        expect(status, body, 201, "token issue")
        return body["_token"], body["token"]["project"]["id"]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


# ---------------------------------------------------------------------------- sides


@dataclass
class Side:
    name: str
    db: DbServer
    workers: int
    out: Path
    port: int = 0
    conditions: dict[str, str] = field(default_factory=dict)
    server: proc.Server | None = None

    def setup(self, identity: Identity) -> None: ...
    def make_server(self) -> proc.Server: ...
    def cleanup(self, keep: bool) -> None: ...


class NeutronSide(Side):
    dbname = "bench_neutron"

    def __init__(self, *a, venv: Path, spec: str, reinstall: bool, **kw):
        super().__init__("Neutron", *a, **kw)
        self.venv = venv
        self.spec = spec
        self.reinstall = reinstall

    def setup(self, identity: Identity) -> None:
        proc.ensure_venv(self.venv, ["neutron-db-manage", "uwsgi"],
                         [self.spec, *NEUTRON_PACKAGES[1:]], reinstall=self.reinstall, say=log)
        py = str(self.venv / "bin" / "python")
        code = ("import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
                "['neutron', 'neutron-lib', 'keystonemiddleware', 'uwsgi', 'SQLAlchemy', "
                "'oslo.db']}))")
        v = json.loads(subprocess.run([py, "-c", code], capture_output=True, text=True,
                                      check=True).stdout)
        if self.out.exists():
            shutil.rmtree(self.out)
        self.out.mkdir(parents=True)
        self.port = proc.free_port()
        if self.db.kind == "sqlite":
            conn = f"sqlite:///{self.out / 'neutron.sqlite'}"
            dbdesc = "SQLite file (neutron.sqlite)"
        else:
            self.db.recreate(self.dbname)
            driver = "pymysql" if self.db.kind == "mariadb" else "psycopg2"
            conn = self.db.url(driver, self.dbname)
            dbdesc = f"database {self.dbname} via {driver} (oslo.db)"
        conf = self.out / "neutron.conf"
        conf.write_text(f"""[DEFAULT]
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = fake:/
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
dhcp_agent_notification = false
api_workers = {self.workers}
rpc_workers = 0
rpc_state_report_workers = 0
debug = false
use_stderr = true
api_paste_config = {self.venv / 'etc' / 'neutron' / 'api-paste.ini'}

[database]
connection = {conn}

[keystone_authtoken]
www_authenticate_uri = {identity.url}/v3
auth_url = {identity.url}/v3
auth_type = password
username = admin
password = {ADMIN_PASSWORD}
project_name = admin
user_domain_name = Default
project_domain_name = Default
service_token_roles_required = true

[oslo_messaging_notifications]
driver = noop

[oslo_concurrency]
lock_path = {self.out / 'lock'}

[quotas]
quota_port = -1
quota_network = -1
quota_subnet = -1

[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
mechanism_drivers =
extension_drivers = port_security

[ml2_type_vxlan]
vni_ranges = 1:1000
""")
        setup_log = self.out / "setup.log"
        log(f"Neutron {v['neutron']}: neutron-db-manage upgrade heads")
        proc.run([str(self.venv / "bin" / "neutron-db-manage"), "--config-file", str(conf),
                  "upgrade", "heads"], log=setup_log, timeout=1200)
        ini = self.out / "uwsgi.ini"
        ini.write_text(proc.uwsgi_ini(
            port=self.port, module="neutron.wsgi.api:application", venv=self.venv,
            env=f"OS_NEUTRON_CONFIG_FILES={conf}", workers=self.workers))
        self._ini = ini
        self.conditions = {
            "version": f"neutron {v['neutron']} (PyPI), neutron-lib {v['neutron-lib']}, "
            f"keystonemiddleware {v['keystonemiddleware']}, SQLAlchemy {v['SQLAlchemy']}, "
            f"oslo.db {v['oslo.db']}",
            "server": f"uWSGI {v['uwsgi']}: HTTP router + {self.workers} worker processes x 1 "
            "thread (neutron.wsgi.api)",
            "plugin": "ML2 (flat, vlan, vxlan; no mechanism driver, no agents), router "
            "service plugin, oslo.messaging fake transport, no Nova notifications",
            "database": dbdesc,
            "auth": "keystonemiddleware auth_token against Overcast identity (in-process cache)",
        }

    def make_server(self) -> proc.Server:
        return proc.Server("neutron", [str(self.venv / "bin" / "uwsgi"), "--ini", str(self._ini)],
                           log=self.out / "uwsgi.log")

    def cleanup(self, keep: bool) -> None:
        if not keep and self.db.kind != "sqlite":
            with contextlib.suppress(RuntimeError):
                self.db.drop(self.dbname)


class OvercastSide(Side):
    dbname = "bench_overcast_net"

    def __init__(self, *a, **kw):
        super().__init__("Overcast", *a, **kw)
        self.cli = REPO / ".venv" / "bin" / "overcast"
        self.env: dict[str, str] = {}

    def setup(self, identity: Identity) -> None:
        py = str(REPO / ".venv" / "bin" / "python")
        code = ("import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
                "['overcast', 'uvicorn', 'SQLAlchemy']}))")
        v = json.loads(subprocess.run([py, "-c", code], capture_output=True, text=True,
                                      check=True).stdout)
        rev = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, check=False).stdout.strip()
        if self.out.exists():
            shutil.rmtree(self.out)
        self.out.mkdir(parents=True)
        self.port = proc.free_port()
        env = dict(identity.env)
        env["OVERCAST_NETWORK__PORT"] = str(self.port)
        env["OVERCAST_NETWORK__ENABLED"] = "true"
        for q in ("PORT", "NETWORK", "SUBNET"):
            env[f"OVERCAST_NETWORK__QUOTA_{q}"] = "-1"
        if self.db.kind == "sqlite":
            dbdesc = "SQLite file network.sqlite in the state dir (Overcast's default)"
        else:
            self.db.recreate(self.dbname)
            driver = "asyncmy" if self.db.kind == "mariadb" else "asyncpg"
            env["OVERCAST_NETWORK__DATABASE_URL"] = self.db.url(driver, self.dbname)
            dbdesc = f"database {self.dbname} via {driver}"
        self.env = env
        log(f"Overcast {v['overcast']} ({rev}): db upgrade network")
        proc.run([str(self.cli), "db", "upgrade", "network", "--state-dir", str(self.out)],
                 env=env, log=self.out / "setup.log")
        self.conditions = {
            "version": f"overcast {v['overcast']} ({rev}), SQLAlchemy {v['SQLAlchemy']}",
            "server": f"uvicorn {v['uvicorn']}: {self.workers} worker process(es)",
            "plugin": "the network service alone (`overcast serve network`), no data plane",
            "database": dbdesc,
            "auth": "remote validation against the same identity service (in-process cache)",
        }

    def make_server(self) -> proc.Server:
        # identity's settings (its port) so that the network service finds it
        return proc.Server("overcast", [str(self.cli), "serve", "network", "--state-dir",
                                        str(self.out), "--host", "127.0.0.1", "--port",
                                        str(self.port), "--workers", str(self.workers)],
                           env=self.env, log=self.out / "serve.log")

    def cleanup(self, keep: bool) -> None:
        if not keep and self.db.kind != "sqlite":
            with contextlib.suppress(RuntimeError):
                self.db.drop(self.dbname)


# ------------------------------------------------------------------------ measuring


@dataclass
class Prepared:
    side: Side
    token: str
    list_net: str = ""
    create_net: str = ""
    bulk_s: float = 0.0
    cells: dict[str, dict] = field(default_factory=dict)


def prepare(side: Side, token: str, project: str, n_ports: int) -> Prepared:
    """Two networks with a /16 each: one holding `n_ports` ports (bulk-created, device_id
    vm-0..vm-999 round robin: 10 ports each), one for the create cells."""
    p = Prepared(side, token)
    port = side.port
    status, body = http_json(port, "PUT", f"/v2.0/quotas/{project}", token,
                             {"quota": {"port": -1, "network": -1, "subnet": -1}})
    expect(status, body, 200, f"{side.name} quota update")
    for attr, cidr in (("list_net", "10.0.0.0/16"), ("create_net", "10.1.0.0/16")):
        status, body = http_json(port, "POST", "/v2.0/networks", token,
                                 {"network": {"name": f"bench-{attr}"}})
        net = expect(status, body, 201, f"{side.name} network create")["network"]["id"]
        status, body = http_json(port, "POST", "/v2.0/subnets", token, {"subnet": {
            "network_id": net, "ip_version": 4, "cidr": cidr, "enable_dhcp": False}})
        expect(status, body, 201, f"{side.name} subnet create")
        setattr(p, attr, net)
    t0 = time.monotonic()
    batch = 100
    for start in range(0, n_ports, batch):
        ports = [{"network_id": p.list_net, "name": f"p{i}", "device_id": f"vm-{i % 1000}",
                  "device_owner": "compute:bench"} for i in range(start, min(n_ports, start + batch))]
        status, body = http_json(port, "POST", "/v2.0/ports", token, {"ports": ports})
        expect(status, body, 201, f"{side.name} bulk port create")
    p.bulk_s = time.monotonic() - t0
    log(f"{side.name}: {n_ports} ports bulk-created in {p.bulk_s:.1f} s "
        f"({n_ports / p.bulk_s:.0f} ports/s, {batch} per request)")
    return p


def time_lists(p: Prepared, query: str, repeat: int, want: int) -> dict:
    """`repeat` sequential GETs of /v2.0/ports?query over one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", p.side.port, timeout=600)
    times, size = [], 0
    cpu0 = proc.tree_cpu_seconds(p.side.server.pid)  # type: ignore[union-attr]
    for _ in range(repeat):
        t0 = time.perf_counter()
        conn.request("GET", f"/v2.0/ports{query}", headers={"X-Auth-Token": p.token})
        r = conn.getresponse()
        data = r.read()
        times.append((time.perf_counter() - t0) * 1000)
        if r.status != 200:
            raise RuntimeError(f"{p.side.name} list {query}: {r.status} {data[:300]!r}")
        got = len(json.loads(data)["ports"])
        if got != want:
            raise RuntimeError(f"{p.side.name} list {query}: {got} ports, expected {want}")
        size = len(data)
    conn.close()
    cpu = proc.tree_cpu_seconds(p.side.server.pid) - cpu0  # type: ignore[union-attr]
    times.sort()
    return {"p50_ms": statistics.median(times),
            "p90_ms": times[max(0, math.ceil(0.9 * len(times)) - 1)],
            "min_ms": times[0], "n": repeat, "bytes": size, "server_cpu_s_per_req": cpu / repeat}


def time_creates(p: Prepared, c: int, duration: float) -> tuple[Result, float, float]:
    body = json.dumps({"port": {"network_id": p.create_net}})
    req = Request("POST", "/v2.0/ports", {"X-Auth-Token": p.token,
                                          "Content-Type": "application/json"}, body)
    pid = p.side.server.pid  # type: ignore[union-attr]
    cpu0 = proc.tree_cpu_seconds(pid)
    busy0 = proc.machine_busy_seconds()
    res = run_load("wrk", f"http://127.0.0.1:{p.side.port}", [req], c, duration)
    cpu = proc.tree_cpu_seconds(pid) - cpu0
    busy = proc.machine_busy_seconds() - busy0
    return res, cpu, busy


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=KINDS, default="mariadb")
    ap.add_argument("--mariadb", default="127.0.0.1:3306")
    ap.add_argument("--postgresql", default="127.0.0.1:5432")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per create cell")
    ap.add_argument("--concurrency", default="1,16")
    ap.add_argument("--ports", type=int, default=10000, help="ports in the listed network")
    ap.add_argument("--list-repeat", type=int, default=5, help="GETs of the full list per side")
    ap.add_argument("--filtered-repeat", type=int, default=50, help="GETs of the filtered list")
    ap.add_argument("--only", choices=["neutron", "overcast"])
    ap.add_argument("--neutron-spec", default="neutron")
    ap.add_argument("--neutron-venv", default=str(Path.home() / ".cache" / "overcast-bench" / "neutron-venv"))
    ap.add_argument("--reinstall", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the databases")
    args = ap.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is missing (apt-get install wrk)", file=sys.stderr)
        return 2
    hostport = {"mariadb": args.mariadb, "postgresql": args.postgresql}.get(args.db, "")
    host, _, port = hostport.partition(":")
    db = DbServer(args.db, host or "127.0.0.1", int(port or 0))
    OUT.mkdir(parents=True, exist_ok=True)
    sides: list[Side] = []
    if args.only != "overcast":
        sides.append(NeutronSide(db, args.workers, OUT / "neutron", venv=Path(args.neutron_venv),
                                 spec=args.neutron_spec, reinstall=args.reinstall))
    if args.only != "neutron":
        sides.append(OvercastSide(db, args.workers, OUT / "overcast"))
    identity = Identity(OUT / "identity")
    if identity.out.exists():
        shutil.rmtree(identity.out)
    identity.out.mkdir(parents=True)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    prepared: list[Prepared] = []
    try:
        log("identity: db upgrade, bootstrap, serve")
        identity.start()
        token, project = identity.token()
        for side in sides:
            side.setup(identity)
            side.server = side.make_server().start()
            proc.wait_http(f"http://127.0.0.1:{side.port}/", timeout=300)
            prepared.append(prepare(side, token, project, args.ports))
        dbpid = db.server_pid()
        for label, query, repeat, want in (
                ("list all", "", args.list_repeat, args.ports),
                ("list filtered", "?device_id=vm-7", args.filtered_repeat,
                 len(range(7, args.ports, 1000)))):
            for p in prepared:
                proc.settle(p.side.server.pid)  # type: ignore[union-attr]
                time_lists(p, query, 1, want)  # warm-up (token cache, connection pools)
                p.cells[label] = time_lists(p, query, repeat, want)
                log(f"{p.side.name} {label}: p50 {p.cells[label]['p50_ms']:.1f} ms")
        for c in concurrencies:
            for p in prepared:
                proc.settle(p.side.server.pid)  # type: ignore[union-attr]
                db_cpu0 = proc.tree_cpu_seconds(dbpid) if dbpid else 0.0
                res, cpu, busy = time_creates(p, c, args.duration)
                db_cpu = (proc.tree_cpu_seconds(dbpid) - db_cpu0) if dbpid else 0.0
                p.cells[f"create c={c}"] = {
                    "rps": res.rps, "p50_ms": res.p50_ms, "p99_ms": res.p99_ms,
                    "requests": res.requests, "errors": res.error_count,
                    "server_cores": cpu / res.duration_s, "db_cores": db_cpu / res.duration_s,
                    "server_cpu_ms_per_port": 1000 * cpu / max(res.requests, 1),
                    "others_cores": max(0.0, busy - cpu - db_cpu - res.loadgen_cpu_s) / res.duration_s}
                log(f"{p.side.name} port create c={c}: {res.rps:.1f}/s, "
                    f"{res.error_count} errors")
    finally:
        for side in sides:
            if side.server is not None:
                side.server.stop()
            side.cleanup(args.keep)
        identity.stop()
    report(prepared, args, db)
    return 0


def report(prepared: list[Prepared], args: argparse.Namespace, db: DbServer) -> None:
    m = machine()
    print()
    print("Networking API: Overcast beside Neutron " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    print(f"machine      : {m.get('cpu', '')}, {m.get('nproc')} cores, "
          f"load {load_average()}")
    print(f"database     : {db.version()}; workers: {args.workers} per server; wrk {wrk_version()}")
    for p in prepared:
        for k, v in p.side.conditions.items():
            print(f"{p.side.name:<9} {k:<9}: {v}")
    print()
    rows = []
    by = {p.side.name: p for p in prepared}
    for c in [int(x) for x in args.concurrency.split(",")]:
        key = f"create c={c}"
        for p in prepared:
            x = p.cells[key]
            rows.append([f"port create, c={c}", p.side.name, f"{x['rps']:.1f}", f"{x['p50_ms']:.1f}",
                         f"{x['p99_ms']:.1f}", f"{x['errors']}/{x['requests']}",
                         f"{x['server_cpu_ms_per_port']:.0f}", f"{x['server_cores']:.2f}",
                         f"{x['db_cores']:.2f}", f"{x['others_cores']:.2f}"])
    print(table(["cell", "server", "ports/s", "p50 ms", "p99 ms", "errors", "cpu ms/port",
                 "srv cpu", "db cpu", "others"], rows))
    print()
    rows = []
    for label in ("list all", "list filtered"):
        for p in prepared:
            x = p.cells[label]
            rows.append([f"{label} ({args.ports} ports)", p.side.name, f"{x['p50_ms']:.1f}",
                         f"{x['p90_ms']:.1f}", f"{x['min_ms']:.1f}", str(x["n"]),
                         f"{x['bytes'] / 1024:.0f}", f"{x['server_cpu_s_per_req'] * 1000:.0f}"])
    print(table(["cell", "server", "p50 ms", "p90 ms", "min ms", "n", "KiB", "srv cpu ms/req"], rows))
    print()
    print("(cpu ms/port = the server's CPU time per port created; srv cpu / db cpu / others = CPU "
          "cores busy during a create cell in the server's process tree / the database server / "
          "the rest of the machine: a cell with high 'others' ran on a busy shared machine, where "
          "CPU time per request compares better than throughput)")
    if "Neutron" in by and "Overcast" in by:
        n, o = by["Neutron"], by["Overcast"]
        print("\nAim of issue 10 (at least 5x Neutron's port create throughput; a filtered list of "
              f"{args.ports} ports under 50 ms):")
        for c in [int(x) for x in args.concurrency.split(",")]:
            key = f"create c={c}"
            ratio = o.cells[key]["rps"] / max(n.cells[key]["rps"], 1e-9)
            cpu_ratio = n.cells[key]["server_cpu_ms_per_port"] / max(
                o.cells[key]["server_cpu_ms_per_port"], 1e-9)
            print(f"  port create c={c}: {ratio:.1f}x {'met' if ratio >= 5 else 'NOT met'} "
                  f"(server CPU per port: {cpu_ratio:.1f}x less)")
        f = o.cells["list filtered"]["p50_ms"]
        print(f"  filtered list p50: {f:.1f} ms {'met' if f < 50 else 'NOT met'} "
              f"(Neutron {n.cells['list filtered']['p50_ms']:.1f} ms); full list p50 "
              f"{o.cells['list all']['p50_ms']:.0f} ms vs {n.cells['list all']['p50_ms']:.0f} ms")
    path = OUT / f"result-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({p.side.name: {"conditions": p.side.conditions, "cells": p.cells,
                                               "bulk_s": p.bulk_s} for p in prepared}, indent=2))
    print(f"\nevery figure: {path}")


if __name__ == "__main__":
    raise SystemExit(main())
