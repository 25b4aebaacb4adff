#!/usr/bin/env python3
"""Identity benchmark: Overcast's Keystone v3 API side by side with the real Keystone.

    python bench/identity/run.py [--db sqlite|mariadb|postgresql] [--duration S] [--workers N]

Both servers run on this machine in this run, and each cell runs on one and then the other:
token issue (password auth, project-scoped, `POST /v3/auth/tokens`) and token validation
(`GET /v3/auth/tokens` with X-Auth-Token + X-Subject-Token) at concurrency 1 and 16, for a
fixed time per cell:
throughput, p50/p99 latency, errors, CPU, and the server's memory (RSS summed over its
processes, peak during the load and after it). Then one table, side by side, with the ratio
and the conditions (database, workers, password-hash cost, caching, machine, versions).

The peer is Keystone from PyPI in its own virtualenv (default ~/.cache/overcast-bench/
keystone-venv, created on first use), Fernet tokens, served by uWSGI with the same number of
worker processes as Overcast, on a fresh database of the same kind. See bench/README.md.
Standard library only; run it with any Python 3.11+.
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
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.common import proc  # noqa: E402
from bench.common.dbs import KINDS, DbServer  # noqa: E402
from bench.common.loadgen import Request, Result, run_load, wrk_version  # noqa: E402
from bench.common.report import load_average, machine, table  # noqa: E402

ADMIN_PASSWORD = "bench-Admin-pw-7f3c"  # same on both sides; < 54 bytes (Keystone's bcrypt cap)
KEYSTONE_DEFAULT_ROUNDS = 12  # keystone.conf [identity] password_hash_rounds, bcrypt default
DEFAULT_VENV = Path.home() / ".cache" / "overcast-bench" / "keystone-venv"
KEYSTONE_PACKAGES = ["keystone", "uwsgi", "PyMySQL", "psycopg2-binary", "python-memcached"]
ISSUE_BODY = json.dumps(
    {
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
)
AIM_RATIO = 5.0
AIM_P50_MS = 5.0
AIM_ISSUE_P50_MS = 5.0  # issue 14: token issue p50 at c=1 with the verified-password cache
AIM_LOGIN_OVERHEAD_MS = 5.0  # issue 14: CPU per login without the cache minus bcrypt alone


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- HTTP helpers


def _http(
    port: int, method: str, path: str, headers: dict[str, str], body: str = ""
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body.encode() or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def issue_token(port: int) -> str:
    status, headers, body = _http(
        port, "POST", "/v3/auth/tokens", {"Content-Type": "application/json"}, ISSUE_BODY
    )
    if status != 201 or "x-subject-token" not in headers:
        raise RuntimeError(f"token issue answered {status}: {body[:300]!r}")
    token = json.loads(body)["token"]
    if token.get("project", {}).get("name") != "admin":
        raise RuntimeError("token issue did not return a project-scoped token")
    return headers["x-subject-token"]


def check_validate(port: int, admin: str, subject: str) -> None:
    status, _, body = _http(
        port, "GET", "/v3/auth/tokens", {"X-Auth-Token": admin, "X-Subject-Token": subject}
    )
    if status != 200:
        raise RuntimeError(f"token validation answered {status}: {body[:300]!r}")


# ----------------------------------------------------------------------------------- sides


@dataclass
class Side:
    """One server under test: how to set it up, start it and describe it."""

    name: str
    db: DbServer
    workers: int
    rounds: int
    out: Path
    port: int = 0
    version: str = ""
    conditions: dict[str, str] = field(default_factory=dict)

    def setup(self) -> None: ...
    def server(self) -> proc.Server: ...
    def cleanup(self, keep: bool) -> None: ...
    def extra_memory(self) -> tuple[str, int]:
        return "", 0


class KeystonePeer(Side):
    dbname = "bench_keystone"

    def __init__(self, *a, venv: Path, cache: str, reinstall: bool, spec: str, **kw):
        super().__init__("Keystone", *a, **kw)
        self.venv = venv
        self.cache = cache
        self.reinstall = reinstall
        self.spec = spec
        self.memcached: proc.Server | None = None

    def _py(self) -> str:
        return str(self.venv / "bin" / "python")

    def ensure_venv(self) -> None:
        proc.ensure_venv(self.venv, ["keystone-manage", "uwsgi"], [self.spec, *KEYSTONE_PACKAGES[1:]],
                         reinstall=self.reinstall, say=log)

    def _versions(self) -> dict[str, str]:
        code = (
            "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p "
            "in ['keystone', 'uwsgi', 'SQLAlchemy', 'oslo.db', 'bcrypt', 'cryptography']}))"
        )
        out = subprocess.run([self._py(), "-c", code], capture_output=True, text=True, check=True).stdout
        return json.loads(out)

    def setup(self) -> None:
        self.ensure_venv()
        v = self._versions()
        self.version = v["keystone"]
        if self.out.exists():
            shutil.rmtree(self.out)
        self.out.mkdir(parents=True)
        self.port = proc.free_port()
        if self.db.kind == "sqlite":
            url = f"sqlite:///{self.out / 'keystone.db'}"
            dbdesc = "SQLite file keystone.db"
        else:
            self.db.recreate(self.dbname)
            driver = "pymysql" if self.db.kind == "mariadb" else "psycopg2"
            url = self.db.url(driver, self.dbname)
            if self.db.kind == "mariadb":
                url += "?charset=utf8mb4"
            dbdesc = f"database {self.dbname} via {driver}"
        cache_conf = "[cache]\nenabled = false\n"
        cache_desc = "off (keystone.conf default)"
        if self.cache == "memcached":
            if not shutil.which("memcached"):
                raise RuntimeError(
                    "memcached is missing (apt-get install memcached) — or run with --keystone-cache off"
                )
            mport = proc.free_port()
            self.memcached = proc.Server(
                "memcached",
                [
                    "memcached",
                    "-l",
                    "127.0.0.1",
                    "-p",
                    str(mport),
                    "-U",
                    "0",
                    "-m",
                    "64",
                    "-u",
                    "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody"),
                ],
                log=self.out / "memcached.log",
            ).start()
            cache_conf = (
                "[cache]\nenabled = true\nbackend = oslo_cache.memcache_pool\n"
                f"memcache_servers = 127.0.0.1:{mport}\n"
            )
            cache_desc = (
                "memcached (oslo_cache.memcache_pool, [token] caching on: how "
                "kolla-ansible and OpenStack-Ansible deploy it)"
            )
        conf = self.out / "keystone.conf"
        conf.write_text(f"""[DEFAULT]
log_file = {self.out / "keystone.log"}
[database]
connection = {url}
[token]
provider = fernet
[fernet_tokens]
key_repository = {self.out / "fernet-keys"}
[credential]
key_repository = {self.out / "credential-keys"}
[identity]
password_hash_algorithm = bcrypt
password_hash_rounds = {self.rounds}
{cache_conf}""")
        (self.out / "fernet-keys").mkdir()
        (self.out / "credential-keys").mkdir()
        manage = [str(self.venv / "bin" / "keystone-manage"), "--config-file", str(conf)]
        user = ["--keystone-user", str(os.geteuid()), "--keystone-group", str(os.getegid())]
        setup_log = self.out / "setup.log"
        log(f"Keystone {self.version}: db_sync, fernet_setup, credential_setup, bootstrap")
        proc.run([*manage, "db_sync"], log=setup_log)
        proc.run([*manage, "fernet_setup", *user], log=setup_log)
        proc.run([*manage, "credential_setup", *user], log=setup_log)
        public = f"http://127.0.0.1:{self.port}/v3"
        proc.run(
            [
                *manage,
                "bootstrap",
                "--bootstrap-password",
                ADMIN_PASSWORD,
                "--bootstrap-admin-url",
                public,
                "--bootstrap-internal-url",
                public,
                "--bootstrap-public-url",
                public,
                "--bootstrap-region-id",
                "RegionOne",
            ],
            log=setup_log,
        )
        ini = self.out / "uwsgi.ini"
        ini.write_text(proc.uwsgi_ini(
            port=self.port, module="keystone.wsgi.api:application", venv=self.venv,
            env=f"OS_KEYSTONE_CONFIG_FILES={conf}", workers=self.workers))
        self._ini = ini
        self.conditions = {
            "version": f"keystone {v['keystone']} (PyPI), SQLAlchemy {v['SQLAlchemy']}, "
            f"oslo.db {v['oslo.db']}, bcrypt {v['bcrypt']}",
            "server": f"uWSGI {v['uwsgi']}: HTTP router + {self.workers} worker processes "
            "x 1 thread (lazy-apps)",
            "database": dbdesc,
            "tokens": "Fernet",
            "password hash": f"bcrypt cost {self.rounds}",
            "caching": cache_desc,
        }

    def server(self) -> proc.Server:
        return proc.Server(
            "keystone",
            [str(self.venv / "bin" / "uwsgi"), "--ini", str(self._ini)],
            log=self.out / "uwsgi.log",
        )

    def extra_memory(self) -> tuple[str, int]:
        if self.memcached is None:
            return "", 0
        rss, _ = proc.tree_memory(self.memcached.pid)
        return "memcached", rss

    def cleanup(self, keep: bool) -> None:
        if self.memcached is not None:
            self.memcached.stop()
            self.memcached = None
        if not keep and self.db.kind != "sqlite":
            with contextlib.suppress(RuntimeError):
                self.db.drop(self.dbname)


class OvercastSide(Side):
    dbname = "bench_overcast"

    def __init__(self, *a, password_cache: int | None, **kw):
        super().__init__("Overcast", *a, **kw)
        self.password_cache = password_cache
        self.cli = REPO / ".venv" / "bin" / "overcast"
        self.env: dict[str, str] = {}

    def setup(self) -> None:
        if not self.cli.exists():
            raise RuntimeError(f"{self.cli} is missing: install the project (.venv) first")
        py = str(REPO / ".venv" / "bin" / "python")
        code = (
            "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p "
            "in ['overcast', 'uvicorn', 'SQLAlchemy', 'bcrypt', 'cryptography']}))"
        )
        v = json.loads(subprocess.run([py, "-c", code], capture_output=True, text=True, check=True).stdout)
        rev = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        self.version = v["overcast"] + (f" ({rev})" if rev else "")
        if self.out.exists():
            shutil.rmtree(self.out)
        self.out.mkdir(parents=True)
        self.port = proc.free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OVERCAST_")}
        env["OVERCAST_IDENTITY__PASSWORD_HASH_ROUNDS"] = str(self.rounds)
        env["OVERCAST_IDENTITY__PORT"] = str(self.port)
        env["OVERCAST_DEFAULT__PUBLIC_HOST"] = "127.0.0.1"
        if self.password_cache is not None:
            env["OVERCAST_IDENTITY__PASSWORD_CACHE_SIZE"] = str(self.password_cache)
        if self.db.kind == "sqlite":
            dbdesc = "SQLite file identity.sqlite in the state dir (Overcast's default)"
        else:
            self.db.recreate(self.dbname)
            driver = "asyncmy" if self.db.kind == "mariadb" else "asyncpg"
            env["OVERCAST_IDENTITY__DATABASE_URL"] = self.db.url(driver, self.dbname)
            dbdesc = f"database {self.dbname} via {driver}"
        self.env = env
        state = ["--state-dir", str(self.out)]
        setup_log = self.out / "setup.log"
        log(f"Overcast {self.version}: db upgrade, bootstrap")
        proc.run([str(self.cli), "db", "upgrade", *state], env=env, log=setup_log)
        proc.run(
            [str(self.cli), "bootstrap", *state, "--admin-password", ADMIN_PASSWORD], env=env, log=setup_log
        )
        cache = (
            "verified-login cache "
            + (f"size {self.password_cache}" if self.password_cache is not None else "(default size)")
            + " — a repeated correct login skips bcrypt; Keystone has no such cache"
            if self.password_cache != 0
            else "verified-login cache off (size 0)"
        )
        self.conditions = {
            "version": f"overcast {self.version}, SQLAlchemy {v['SQLAlchemy']}, bcrypt {v['bcrypt']}",
            "server": f"uvicorn {v['uvicorn']}: {self.workers} worker process(es)",
            "database": dbdesc,
            "tokens": "Fernet",
            "password hash": f"bcrypt cost {self.rounds}",
            "caching": f"in-process (token validation); password: {cache}",
        }

    def server(self) -> proc.Server:
        return proc.Server(
            "overcast",
            [
                str(self.cli),
                "serve",
                "identity",
                "--state-dir",
                str(self.out),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            log=self.out / "serve.log",
        )

    def cleanup(self, keep: bool) -> None:
        if not keep and self.db.kind != "sqlite":
            with contextlib.suppress(RuntimeError):
                self.db.drop(self.dbname)


# ------------------------------------------------------------------------------ measuring


@dataclass
class Cell:
    op: str
    concurrency: int
    result: Result
    server_cpu_s: float
    db_cpu_s: float | None = None
    others_cpu_s: float = 0.0  # the rest of the machine: other users of this shared host
    trials_rps: list[float] = field(default_factory=list)


@dataclass
class Measured:
    side: Side
    cells: list[Cell]
    rss_idle: int
    rss_peak: int
    rss_after: int
    pss_after: int
    extra: tuple[str, int]
    loadavg_before: str
    loadgen_compare: list[Result] = field(default_factory=list)


@dataclass
class Running:
    """A side whose server is up, with its token pool and request templates."""

    side: Side
    srv: proc.Server
    issue: list[Request]
    validate: list[Request]
    sampler: proc.TreeSampler
    cells: list[Cell] = field(default_factory=list)
    rss_idle: int = 0
    loadavg_before: str = ""
    compare: list[Result] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.side.port}"


@dataclass
class LoginCost:
    """CPU of one password login, from `n` logins one after another on an idle server."""

    name: str
    n: int
    server_cpu_ms: float  # the server's process tree, per login
    db_cpu_ms: float | None  # the database server's, per login (None for SQLite)
    p50_ms: float  # wall time of one login, client side
    others_cores: float  # the rest of the machine meanwhile (all targets' and bcrypt's run)
    idle_ms_per_s: float  # the server's CPU when idle, taken off


@dataclass
class BcryptCost:
    """CPU of one bcrypt.checkpw alone at the benchmark's cost, in a plain Python process,
    interleaved with the logins of the same trial."""

    version: str
    n: int
    cpu_ms: float
    others_cores: float


# A child process that checks the admin password against its bcrypt hash once per line read,
# and answers with the CPU seconds (process_time) of that check alone.
BCRYPT_ALONE = """
import sys, time, bcrypt
pw, rounds = sys.argv[1].encode(), int(sys.argv[2])
stored = bcrypt.hashpw(pw, bcrypt.gensalt(rounds))
bcrypt.checkpw(pw, stored)
print(bcrypt.__version__, flush=True)
for _ in sys.stdin:
    t = time.process_time()
    assert bcrypt.checkpw(pw, stored)
    print(time.process_time() - t, flush=True)
"""


@dataclass
class LoginTarget:
    name: str
    port: int
    pid: int


def _post_issue(conn: http.client.HTTPConnection) -> tuple[http.client.HTTPResponse, bytes]:
    conn.request("POST", "/v3/auth/tokens", body=ISSUE_BODY.encode(),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp, resp.read()


def login_costs(
    targets: list[LoginTarget], dbpid: int | None, n: int, python: str, rounds: int
) -> tuple[list[LoginCost], BcryptCost]:
    """`n` rounds of: one password login (the benchmark's issue request) on each target, then
    one bcrypt.checkpw alone in a plain process of `python` at cost `rounds`; interleaved one
    by one, so that the load other users put on this shared machine falls on all alike.

    Each server's CPU is read over the whole run, from idle (settled) before the first login
    to idle after the last, so it is the CPU of exactly its `n` logins (work after the
    response included), plus what it burns when idle (timers: uvicorn wakes every 0.1 s, uWSGI's
    master every second): that idle rate is measured over 2 s before and taken off for the
    run's wall time. CPU to the nanosecond (schedstat). The database server's CPU is read
    around each login (its work is done when the answer comes)."""
    for t in targets:
        proc.settle(t.pid)
    child = subprocess.Popen(
        [python, "-c", BCRYPT_ALONE, ADMIN_PASSWORD, str(rounds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    conns: list[http.client.HTTPConnection] = []
    try:
        version = child.stdout.readline().strip()
        if not version:
            raise RuntimeError(f"{python}: bcrypt did not start")
        idle0 = [proc.tree_cpu_exact(t.pid) for t in targets]
        t_idle = time.monotonic()
        time.sleep(2)
        span = time.monotonic() - t_idle
        idle = [(proc.tree_cpu_exact(t.pid) - c) / span for t, c in zip(targets, idle0, strict=True)]
        cpu0 = [proc.tree_cpu_exact(t.pid) for t in targets]
        busy0 = proc.machine_busy_seconds()
        own0 = time.process_time()
        t0 = time.monotonic()
        conns = [http.client.HTTPConnection("127.0.0.1", t.port, timeout=120) for t in targets]
        walls: list[list[float]] = [[] for _ in targets]
        dbs = [0.0 for _ in targets]
        checks: list[float] = []
        for _ in range(n):
            for i, t in enumerate(targets):
                db0 = proc.tree_cpu_exact(dbpid) if dbpid else 0.0
                start_t = time.perf_counter()
                try:
                    resp, body = _post_issue(conns[i])
                except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                    # The server closed the idle keep-alive connection (uvicorn after 5 s: a
                    # round takes longer on a loaded machine); the request was not served.
                    conns[i].close()
                    conns[i] = http.client.HTTPConnection("127.0.0.1", t.port, timeout=120)
                    resp, body = _post_issue(conns[i])
                walls[i].append(time.perf_counter() - start_t)
                if dbpid:
                    dbs[i] += proc.tree_cpu_exact(dbpid) - db0
                if resp.status != 201:
                    raise RuntimeError(f"{t.name}: token issue answered {resp.status}: {body[:300]!r}")
            child.stdin.write("\n")
            child.stdin.flush()
            checks.append(float(child.stdout.readline()))
        for t in targets:
            proc.settle(t.pid, window=0.3)
        wall = time.monotonic() - t0
        srv = [proc.tree_cpu_exact(t.pid) - c - r * wall
               for t, c, r in zip(targets, cpu0, idle, strict=True)]
    finally:
        for c in conns:
            c.close()
        child.stdin.close()
        child.wait(timeout=30)
    own = time.process_time() - own0
    others = max(0.0, proc.machine_busy_seconds() - busy0 - sum(srv) - sum(dbs) - sum(checks) - own) / wall
    out = []
    for i, t in enumerate(targets):
        w = sorted(walls[i])
        out.append(LoginCost(t.name, n, srv[i] / n * 1000, dbs[i] / n * 1000 if dbpid else None,
                             w[(n - 1) // 2] * 1000, others, idle[i] * 1000))
    return out, BcryptCost(version, n, sum(checks) / n * 1000, others)


def start(side: Side, args: argparse.Namespace) -> Running:
    side.setup()
    srv = side.server()
    srv.start()
    try:
        proc.wait_http(f"http://127.0.0.1:{side.port}/v3", proc=srv.proc, log=srv.log)
        log(
            f"{side.name} up on 127.0.0.1:{side.port} (pid {srv.pid}); issuing a pool of "
            f"{args.token_pool} tokens"
        )
        admin = issue_token(side.port)
        with concurrent.futures.ThreadPoolExecutor(max(2, side.workers * 2)) as ex:
            pool = list(ex.map(lambda _: issue_token(side.port), range(args.token_pool)))
        check_validate(side.port, admin, pool[0])
    except BaseException:
        srv.stop()  # not yet in the caller's hands: stop it here (a failure, ^C)
        raise
    issue = [Request("POST", "/v3/auth/tokens", {"Content-Type": "application/json"}, ISSUE_BODY)]
    validate = [
        Request("GET", "/v3/auth/tokens", {"X-Auth-Token": admin, "X-Subject-Token": t}) for t in pool
    ]
    return Running(side, srv, issue, validate, proc.TreeSampler(srv.pid))


def run_cell(r: Running, op: str, c: int, dbpid: int | None, args: argparse.Namespace) -> Cell:
    """One measurement: `op` at concurrency `c` on one server, with the CPU it, the database
    server and the rest of the machine used meanwhile."""
    cpu0 = proc.tree_cpu_seconds(r.srv.pid)
    db0 = proc.tree_cpu_seconds(dbpid) if dbpid else 0.0
    busy0 = proc.machine_busy_seconds()
    res = run_load(args.loadgen, r.base, getattr(r, op), c, args.duration, timeout=args.timeout)
    busy = proc.machine_busy_seconds() - busy0
    srv_cpu = proc.tree_cpu_seconds(r.srv.pid) - cpu0
    db_cpu = proc.tree_cpu_seconds(dbpid) - db0 if dbpid else None
    others = max(0.0, busy - srv_cpu - (db_cpu or 0.0) - res.loadgen_cpu_s)
    return Cell(op, c, res, srv_cpu, db_cpu, others)


def settle_all(running: list[Running]) -> None:
    for r in running:
        proc.settle(r.srv.pid)


@dataclass
class LoginPhase:
    """Issue 14's CPU figure: CPU per login with no password cache against bcrypt alone."""

    bcrypt: list[BcryptCost] = field(default_factory=list)  # Overcast's interpreter and bcrypt
    keystone_bcrypt: str = ""  # the bcrypt version in Keystone's venv
    logins: dict[str, list[LoginCost]] = field(default_factory=dict)
    overcast_conditions: str = ""


def measure_login_cost(running: list[Running], args: argparse.Namespace,
                       dbpid: int | None) -> LoginPhase:
    """`--login-cpu` rounds of one login on Keystone, one on an Overcast without its
    verified-password cache (the benchmark's own if --overcast-password-cache 0, else a second
    Overcast server started for this on a fresh database) and one bcrypt.checkpw alone in a
    plain process of Overcast's Python; --repeat trials."""
    phase = LoginPhase()
    targets: list[LoginTarget] = []
    extra: Running | None = None
    for r in running:
        if isinstance(r.side, KeystonePeer):
            targets.append(LoginTarget("Keystone", r.side.port, r.srv.pid))
            kv = subprocess.run([r.side._py(), "-c", "import bcrypt; print(bcrypt.__version__)"],
                                capture_output=True, text=True, check=True).stdout.strip()
            phase.keystone_bcrypt = kv
        elif isinstance(r.side, OvercastSide):
            if r.side.password_cache == 0:
                targets.append(LoginTarget("Overcast", r.side.port, r.srv.pid))
                phase.overcast_conditions = "the benchmark's Overcast (password cache size 0)"
            else:
                side = OvercastSide(out=r.side.out.with_name(r.side.out.name + "-nocache"),
                                    password_cache=0, db=r.side.db, workers=r.side.workers,
                                    rounds=r.side.rounds)
                side.dbname = "bench_overcast_nocache"
                log("Overcast with the password cache off (size 0), for the CPU per login")
                extra = start(side, argparse.Namespace(**{**vars(args), "token_pool": 2 * side.workers}))
                targets.append(LoginTarget("Overcast", side.port, extra.srv.pid))
                phase.overcast_conditions = (
                    "a second Overcast server, same build and settings, password cache size 0, "
                    + (f"database {side.dbname}" if side.db.kind != "sqlite" else "its own SQLite file")
                )
    py = str(REPO / ".venv" / "bin" / "python")
    try:
        for rep in range(args.repeat):
            trial = f" (trial {rep + 1})" if args.repeat > 1 else ""
            log(f"{args.login_cpu} rounds of one login on each of {', '.join(t.name for t in targets)} "
                f"(password cache off) and one bcrypt.checkpw alone at cost {args.hash_rounds}{trial}")
            costs, b = login_costs(targets, dbpid, args.login_cpu, py, args.hash_rounds)
            phase.bcrypt.append(b)
            for lc in costs:
                phase.logins.setdefault(lc.name, []).append(lc)
            log("  " + ", ".join(f"{lc.name} {lc.server_cpu_ms:.1f}" for lc in costs)
                + f", bcrypt alone {b.cpu_ms:.1f} ms CPU (bcrypt {b.version})")
    finally:
        if extra is not None:
            extra.srv.stop()
            extra.side.cleanup(args.keep)
    return phase


def measure(sides: list[Side], args: argparse.Namespace) -> tuple[list[Measured], LoginPhase | None]:
    """Start every side, then run each cell on each side in turn (Keystone, Overcast,
    Keystone, ...), so that a change in the machine's background load during the run falls
    on both sides alike. Only the side under load uses CPU; the other idles."""
    running: list[Running] = []
    dbpid = sides[0].db.server_pid() if sides else None
    try:
        for side in sides:
            running.append(start(side, args))
        for r in running:
            log(f"{r.side.name}: warming up ({args.warmup:.0f} s of validation at c=16)")
            run_load(args.loadgen, r.base, r.validate, 16, args.warmup)
        settle_all(running)
        for r in running:
            r.rss_idle, _ = proc.tree_memory(r.srv.pid)
            r.sampler.start()
        trials: dict[tuple[str, str, int], list[Cell]] = {}
        for rep in range(args.repeat):
            for op in ("issue", "validate"):
                for c in args.concurrency:
                    for r in running:
                        settle_all(running)
                        r.loadavg_before = r.loadavg_before or load_average()
                        log(
                            f"{r.side.name}: token {op} at concurrency {c} for "
                            f"{args.duration:.0f} s" + (f" (trial {rep + 1})" if args.repeat > 1 else "")
                        )
                        cell = run_cell(r, op, c, dbpid, args)
                        trials.setdefault((r.side.name, op, c), []).append(cell)
                        res = cell.result
                        log(
                            f"  {res.rps:.1f} req/s, p50 {res.p50_ms:.2f} ms, p99 "
                            f"{res.p99_ms:.2f} ms, {res.error_count} errors / {res.requests}; "
                            f"other load on the machine {cell.others_cpu_s / res.duration_s:.2f} cores"
                        )
        for r in running:
            for op in ("issue", "validate"):
                for c in args.concurrency:
                    cells = sorted(trials[(r.side.name, op, c)], key=lambda x: x.result.rps)
                    pick = cells[-1] if args.pick == "best" else cells[(len(cells) - 1) // 2]
                    pick.trials_rps = [x.result.rps for x in trials[(r.side.name, op, c)]]
                    r.cells.append(pick)
        if args.compare_loadgens:
            for tool in ("wrk", "python"):
                for r in running:
                    settle_all(running)
                    log(f"{r.side.name}: validation c=16 with {tool} (load generator comparison)")
                    r.compare.append(
                        run_load(tool, r.base, r.validate, 16, args.duration, timeout=args.timeout)
                    )
        settle_all(running)
        time.sleep(1)
        results = []
        for r in running:
            r.sampler.stop()
            rss_after, pss_after = proc.tree_memory(r.srv.pid, pss=True)
            results.append(
                Measured(
                    r.side,
                    r.cells,
                    r.rss_idle,
                    r.sampler.peak,
                    rss_after,
                    pss_after,
                    r.side.extra_memory(),
                    r.loadavg_before,
                    r.compare,
                )
            )
        phase = None
        if args.login_cpu and any(isinstance(r.side, OvercastSide) for r in running):
            phase = measure_login_cost(running, args, dbpid)
        return results, phase
    finally:
        for r in running:
            r.sampler.stop()
            r.srv.stop()
        for side in sides:
            side.cleanup(args.keep)


# ------------------------------------------------------------------------------- printing


def _mib(b: int) -> str:
    return f"{b / 1048576:.0f}"


def _ratio(x: float, y: float) -> str:
    return f"{x / y:.2f}x" if y else "-"


def _fmt_ms(v: float) -> str:
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def issue14_report(results: list[Measured], args: argparse.Namespace,
                   phase: LoginPhase | None) -> list[str]:
    """Issue 14's figures, each with its aim and Keystone beside it."""
    k = next((m for m in results if m.side.name == "Keystone"), None)
    o = next((m for m in results if m.side.name == "Overcast"), None)
    out: list[str] = []
    w = out.append
    w(f"aims of issue 14 (Identity), bcrypt cost {args.hash_rounds} on both sides:")
    w(f"  (a) token issue p50 at concurrency 1 with Overcast's verified-password cache, aim < "
      f"{AIM_ISSUE_P50_MS:.0f} ms")

    def c1(m: Measured | None) -> Result | None:
        if m is None:
            return None
        return next((c.result for c in m.cells if c.op == "issue" and c.concurrency == 1), None)

    ro, rk = c1(o), c1(k)
    cache = getattr(o.side, "password_cache", None) if o is not None else None
    if o is None or cache == 0:
        w("      not measured: this run's Overcast has the cache off (--overcast-password-cache 0)")
    elif ro is None:
        w("      not measured: no concurrency 1 in --concurrency")
    else:
        size = cache if cache is not None else "default"
        ok = "met" if ro.p50_ms < AIM_ISSUE_P50_MS and ro.error_count == 0 else "NOT met"
        w(f"      Overcast (cache size {size}): p50 {_fmt_ms(ro.p50_ms)} ms, p99 "
          f"{_fmt_ms(ro.p99_ms)} ms, {ro.rps:.1f} req/s, {ro.error_count} errors -> {ok}")
        if rk is not None:
            w(f"      Keystone: p50 {_fmt_ms(rk.p50_ms)} ms, p99 {_fmt_ms(rk.p99_ms)} ms, "
              f"{rk.rps:.1f} req/s, {rk.error_count} errors (Keystone has no such cache: "
              "every login runs bcrypt)")
    w(f"  (b) server CPU per login with no password cache, minus one bcrypt.checkpw alone at the "
      f"same cost, aim <= {AIM_LOGIN_OVERHEAD_MS:.0f} ms")
    if phase is None or not phase.bcrypt or "Overcast" not in phase.logins:
        w("      not measured (--login-cpu 0, or no Overcast in this run)")
        return out
    n = phase.bcrypt[0].n
    trials = len(phase.bcrypt)
    # each trial pairs the logins with the bcrypt checks interleaved with them: the overhead is
    # taken within a trial, and the trial shown is the median (or lowest) Overcast overhead
    over = [o.server_cpu_ms - b.cpu_ms for o, b in zip(phase.logins["Overcast"], phase.bcrypt, strict=True)]
    order = sorted(range(trials), key=lambda i: over[i])
    pick = order[0] if args.pick == "best" else order[(trials - 1) // 2]
    w(f"      {n} rounds of: one login on each server (one keep-alive connection each), then one "
      "bcrypt.checkpw alone in a plain process of Overcast's Python; CPU of each server's "
      "process tree from idle before the first login to idle after the last.")
    w(f"      Overcast: {phase.overcast_conditions}.")
    if trials > 1:
        w(f"      {trials} trials; shown: the one with the "
          f"{'median' if args.pick == 'median' else 'lowest'} Overcast overhead (every trial on the right).")
    b = phase.bcrypt[pick]
    rows = []

    def row(label: str, cpu: float, every: list[float], base: list[float] | None, db: str,
            p50: str, idle: str, aim: str) -> None:
        r = [label, f"{cpu:.1f}", "-" if base is None else f"{cpu - base[pick]:+.1f}", db, p50, idle, aim]
        if trials > 1:
            r.append(" ".join(f"{x:.1f}" if base is None else f"{x:.1f} ({x - y:+.1f})"
                              for x, y in zip(every, base or every, strict=True)))
        rows.append(r)

    checks = [x.cpu_ms for x in phase.bcrypt]
    row(f"bcrypt.checkpw alone (bcrypt {b.version})", b.cpu_ms, checks, None, "-", "-", "-", "")
    for name in ("Overcast", "Keystone"):
        costs = phase.logins.get(name)
        if not costs:
            continue
        lc = costs[pick]
        aim = ""
        if name == "Overcast":
            aim = "met" if lc.server_cpu_ms - b.cpu_ms <= AIM_LOGIN_OVERHEAD_MS else "NOT met"
        row(f"{name} login, no password cache", lc.server_cpu_ms, [x.server_cpu_ms for x in costs],
            checks, "-" if lc.db_cpu_ms is None else f"{lc.db_cpu_ms:.1f}", _fmt_ms(lc.p50_ms),
            f"{lc.idle_ms_per_s:.1f}", aim)
    header = ["", "CPU ms", "over bcrypt", "db CPU ms", "p50 ms", "idle ms/s", "aim"]
    if trials > 1:
        header.append("CPU ms (over bcrypt) of each trial")
    w(table(header, rows, align="lrrrrrl" + ("l" if trials > 1 else "")))
    w(f"      other load on the machine meanwhile: {b.others_cores:.2f} cores (of "
      f"{os.cpu_count()}); should be near 0 for clean figures")
    w("      (CPU ms: per login (server process tree, every thread, scheduler run time) or per "
      "check (process_time); over bcrypt: minus bcrypt alone in the same trial; db CPU: the "
      "database server's, not in the server's; p50: wall time of one login; idle ms/s: the "
      "server's CPU per second when idle, measured for 2 s before and taken off for the run's "
      "wall time)")
    if "Keystone" in phase.logins:
        kb = f"bcrypt {phase.keystone_bcrypt}" if phase.keystone_bcrypt else "its bcrypt"
        w(f"      Keystone's venv has {kb}; its memcached is not in its figure. With SQLite the "
          "database work is in the server's process on both sides.")
    return out


def print_report(results: list[Measured], args: argparse.Namespace, db: DbServer,
                 phase: LoginPhase | None = None) -> None:
    k = next((m for m in results if m.side.name == "Keystone"), None)
    o = next((m for m in results if m.side.name == "Overcast"), None)
    out: list[str] = []
    w = out.append
    w("")
    w("Identity benchmark: token issue and validation, Keystone v3 API")
    w("=" * 64)
    mach = machine()
    w(f"machine      : {mach['nproc']} cores ({mach['cpu']}), {mach['memory']}, Linux {mach['kernel']}")
    w(
        f"load average : {results[0].loadavg_before} before the first cell; {load_average()} "
        "at the end (includes this benchmark's own load)"
    )
    w(
        f"database     : {db.version()}"
        + ("" if db.kind == "sqlite" else f" at {db.host}:{db.port}, a fresh database per side")
    )
    w(
        f"workers      : {args.workers} per server; both servers on 127.0.0.1, each cell run on "
        "one server then the other (the idle one uses no CPU)"
    )
    w(
        f"password hash: bcrypt cost {args.hash_rounds} on both sides (Keystone's default "
        f"password_hash_rounds is {KEYSTONE_DEFAULT_ROUNDS})"
    )
    lg = (
        (wrk_version() + ", threads = min(concurrency, nproc)")
        if args.loadgen == "wrk"
        else "Python asyncio client (uvloop), processes = min(concurrency, nproc)"
    )
    w(
        f"load         : {lg}; closed loop, keep-alive, {args.duration:.0f} s per cell after "
        f"{args.warmup:.0f} s warm-up; validation cycles {args.token_pool} subject tokens"
    )
    for m in results:
        w(f"{m.side.name}:")
        for key, val in m.side.conditions.items():
            w(f"  {key:<13}: {val}")
    w("")
    sides = [m for m in (k, o) if m is not None]
    has_db = all(c.db_cpu_s is not None for m in sides for c in m.cells)
    header = ["operation", "conc"]
    for m in sides:
        header += [f"{m.side.name} req/s", "p50 ms", "p99 ms", "err/n", "srv cpu"]
        if has_db:
            header.append("db cpu")
    if k and o:
        header += ["req/s O/K", "p50 K/O"]
    rows = []
    for i, cell in enumerate(sides[0].cells):
        row = [f"token {cell.op}", str(cell.concurrency)]
        for m in sides:
            c = m.cells[i]
            r = c.result
            row += [
                f"{r.rps:.1f}",
                _fmt_ms(r.p50_ms),
                _fmt_ms(r.p99_ms),
                f"{r.error_count}/{r.requests}",
                f"{c.server_cpu_s / r.duration_s:.2f}",
            ]
            if has_db:
                row.append(f"{(c.db_cpu_s or 0) / r.duration_s:.2f}")
        if k and o:
            rk, ro = k.cells[i].result, o.cells[i].result
            row += [_ratio(ro.rps, rk.rps), _ratio(rk.p50_ms, ro.p50_ms)]
        rows.append(row)
    w(table(header, rows))
    w(
        "(srv cpu / db cpu = CPU cores busy during the cell in the server's processes / in the "
        "database server; "
        "err/n = non-2xx/3xx, socket errors and timeouts / completed requests)"
    )
    w("")
    mh = ["memory (MiB)"] + [m.side.name for m in sides] + (["K/O"] if k and o else [])
    mrows = []
    for label, attr in (
        ("RSS idle, after warm-up", "rss_idle"),
        ("RSS peak under load", "rss_peak"),
        ("RSS after the load", "rss_after"),
        ("PSS after the load", "pss_after"),
    ):
        vals = [getattr(m, attr) for m in sides]
        mrows.append([label, *[_mib(v) for v in vals]] + ([_ratio(vals[0], vals[1])] if k and o else []))
    w(table(mh, mrows))
    for m in sides:
        if m.extra[0]:
            w(f"(plus {m.side.name}'s {m.extra[0]}: RSS {_mib(m.extra[1])} MiB, not counted above)")
    w(
        "RSS is summed over the server's process tree (master/router and workers); PSS "
        "shares pages among the processes that map them."
    )
    w("")
    w(
        "where the CPU went (cores busy during each cell; 'others' = the rest of this shared "
        "machine, which should be near 0 for clean figures)"
    )
    lh = ["server", "operation", "conc", "server", "ms/req", "database", "load gen", "others"]
    if args.repeat > 1:
        lh.append(f"req/s of each trial ({args.pick} shown)")
    lrows = []
    for m in sides:
        for c in m.cells:
            r = c.result
            row = [
                m.side.name,
                f"token {c.op}",
                str(c.concurrency),
                f"{c.server_cpu_s / r.duration_s:.2f}",
                f"{c.server_cpu_s * 1000 / r.requests:.1f}" if r.requests else "-",
                "-" if c.db_cpu_s is None else f"{c.db_cpu_s / r.duration_s:.2f}",
                f"{r.loadgen_cpu_s / r.duration_s:.2f}",
                f"{c.others_cpu_s / r.duration_s:.2f}",
            ]
            if args.repeat > 1:
                row.append(" ".join(f"{x:.1f}" for x in c.trials_rps))
            lrows.append(row)
    w(table(lh, lrows, align="lllrrrrrr"[: len(lh)]))
    w(
        "(ms/req = the server's CPU milliseconds per completed request: approximate, since "
        "requests in flight when a cell ends are not counted; issue 14's figure below is exact)"
    )
    crows = [
        [
            m.side.name,
            r.tool,
            f"{r.rps:.1f}",
            _fmt_ms(r.p50_ms),
            _fmt_ms(r.p99_ms),
            f"{r.loadgen_cpu_s / r.duration_s:.2f}",
        ]
        for m in sides
        for r in m.loadgen_compare
    ]
    if crows:
        w("")
        w("load generators compared on token validation at c=16:")
        w(table(["server", "load generator", "req/s", "p50 ms", "p99 ms", "its cpu cores"], crows))
    if k and o:
        w("")
        w(
            f"aim (issue 2): >= {AIM_RATIO:.0f}x Keystone's throughput on both operations, "
            f"p50 < {AIM_P50_MS:.0f} ms, no errors. In a closed loop p50 at concurrency c is "
            "about c / throughput (Little's law): p50 < 5 ms at c=16 means > 3200 req/s."
        )
        if o.side.conditions.get("caching", "").find("skips bcrypt") >= 0:
            w(
                "  NB: Overcast's verified-login cache is on, so its token issue skips bcrypt "
                "on repeated logins and Keystone's does not; --overcast-password-cache 0 "
                "compares the hash work like with like."
            )
        for i, cell in enumerate(o.cells):
            rk, ro = k.cells[i].result, o.cells[i].result
            ratio = ro.rps / rk.rps if rk.rps else 0
            t_ok = "met" if ratio >= AIM_RATIO else "NOT met"
            l_ok = "met" if ro.p50_ms < AIM_P50_MS else "NOT met"
            e_ok = "" if ro.error_count == 0 else f", {ro.error_count} ERRORS"
            w(
                f"  token {cell.op:<8} c={cell.concurrency:<3} throughput {ratio:6.2f}x "
                f"({t_ok}), p50 {_fmt_ms(ro.p50_ms)} ms ({l_ok}){e_ok}"
            )
    if o is not None:
        w("")
        out.extend(issue14_report(results, args, phase))
    print("\n".join(out), flush=True)


def to_json(results: list[Measured], args: argparse.Namespace, phase: LoginPhase | None) -> dict:
    return {
        "login_cpu": None if phase is None else asdict(phase),
        "args": {k: v for k, v in vars(args).items() if k != "keystone_venv"},
        "machine": machine(),
        "sides": [
            {
                "name": m.side.name,
                "version": m.side.version,
                "conditions": m.side.conditions,
                "rss_idle": m.rss_idle,
                "rss_peak": m.rss_peak,
                "rss_after": m.rss_after,
                "pss_after": m.pss_after,
                "loadavg_before": m.loadavg_before,
                "cells": [
                    {
                        "op": c.op,
                        "concurrency": c.concurrency,
                        "server_cpu_s": c.server_cpu_s,
                        "db_cpu_s": c.db_cpu_s,
                        **c.result.as_dict(),
                    }
                    for c in m.cells
                ],
                "loadgen_compare": [r.as_dict() for r in m.loadgen_compare],
            }
            for m in results
        ],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--db", choices=KINDS, default="sqlite", help="database kind for both")
    p.add_argument("--duration", type=float, default=10, help="seconds per cell")
    p.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="worker processes for each server"
    )
    p.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 16],
        help="comma-separated client concurrencies",
    )
    p.add_argument("--only", choices=["both", "keystone", "overcast"], default="both")
    p.add_argument(
        "--hash-rounds",
        type=int,
        default=KEYSTONE_DEFAULT_ROUNDS,
        help="bcrypt cost for both sides (Keystone's default is 12)",
    )
    p.add_argument(
        "--keystone-cache",
        choices=["memcached", "off"],
        default="memcached",
        help="Keystone's [cache]: memcached as deployments run it, or off",
    )
    p.add_argument(
        "--overcast-password-cache",
        type=int,
        default=None,
        metavar="N",
        help="Overcast's verified-login cache size (0 = off, as Keystone); default: Overcast's own default",
    )
    p.add_argument(
        "--login-cpu",
        type=int,
        default=20,
        metavar="N",
        help="logins one after another per trial for the CPU per login with the password cache "
        "off, against bcrypt.checkpw alone (issue 14); 0 = skip",
    )
    p.add_argument("--loadgen", choices=["wrk", "python"], default="wrk")
    p.add_argument(
        "--compare-loadgens",
        action="store_true",
        help="also run validation at c=16 with both load generators",
    )
    p.add_argument(
        "--token-pool", type=int, default=32, help="distinct subject tokens cycled by the validation load"
    )
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="trials per cell, interleaved across servers; --pick chooses the one shown",
    )
    p.add_argument(
        "--pick",
        choices=["best", "median"],
        default="best",
        help="with --repeat: the trial of highest throughput (other users of a shared machine "
        "only slow a trial down, as timeit takes the minimum) or the median",
    )
    p.add_argument("--timeout", type=float, default=60, help="per-request timeout (s)")
    p.add_argument("--keystone-venv", type=Path, default=DEFAULT_VENV)
    p.add_argument(
        "--keystone-spec", default="keystone", help="pip requirement for Keystone, e.g. keystone==30.0.0"
    )
    p.add_argument("--reinstall", action="store_true", help="rebuild the Keystone venv")
    p.add_argument("--mariadb", default="127.0.0.1:3306", metavar="HOST:PORT")
    p.add_argument("--postgresql", default="127.0.0.1:5432", metavar="HOST:PORT")
    p.add_argument(
        "--out",
        type=Path,
        default=REPO / "bench" / "out" / "identity",
        help="state directories, logs and the JSON result",
    )
    p.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    args = p.parse_args(argv)
    if args.duration > 120 or args.duration <= 0:
        p.error("--duration must be in (0, 120] seconds")
    if not all(1 <= c <= 256 for c in args.concurrency):
        p.error("--concurrency values must be in 1..256")

    hostport = args.mariadb if args.db == "mariadb" else args.postgresql
    host, _, port = hostport.rpartition(":")
    db = DbServer(args.db, host=host, port=int(port)) if args.db != "sqlite" else DbServer("sqlite")
    if db.kind != "sqlite":
        db.version()  # fail early when the server is not there
    common = dict(db=db, workers=args.workers, rounds=args.hash_rounds)
    sides: list[Side] = []
    if args.only in ("both", "keystone"):
        sides.append(
            KeystonePeer(
                out=args.out / "keystone",
                venv=args.keystone_venv,
                cache=args.keystone_cache,
                reinstall=args.reinstall,
                spec=args.keystone_spec,
                **common,
            )
        )
    if args.only in ("both", "overcast"):
        sides.append(
            OvercastSide(out=args.out / "overcast", password_cache=args.overcast_password_cache, **common)
        )
    results, phase = measure(sides, args)
    print_report(results, args, db, phase)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = args.out / f"result-{args.db}-{stamp}.json"
    path.write_text(json.dumps(to_json(results, args, phase), indent=2, default=str))
    print(f"\n(JSON: {path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
