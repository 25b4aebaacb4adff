"""Closed-loop HTTP load generators for benchmarks: `wrk` (C, from Debian) and a tight Python
client. Both keep N persistent HTTP/1.1 connections busy for a fixed time, each connection
sending its next request as soon as the previous answer is read, and report the same figures:
completed requests, throughput, latency percentiles, errors, and their own CPU time (so a
reader can see the load generator was not the bottleneck).

Coordinated omission: a closed loop sends no request while a connection waits, so the
percentiles are the latencies of requests that the server let in at that concurrency (its
service time under N concurrent clients), not the latencies an open stream of arrivals at the
same rate would see. That is what "p50/p99 at concurrency N" means here; wrk2's constant-rate
mode answers the other question.

Run as a script (`loadgen.py --python-worker SPEC.json`) it is the Python client itself.
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["WRK_DONE", "Request", "Result", "run_load", "run_wrk_script", "wrk_version"]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass
class Result:
    tool: str
    concurrency: int
    duration_s: float
    requests: int
    errors: dict[str, int]
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    loadgen_cpu_s: float

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict:
        return asdict(self)


def wrk_version() -> str:
    if not shutil.which("wrk"):
        return ""
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"


def run_load(
    tool: str,
    base_url: str,
    requests: list[Request],
    concurrency: int,
    duration: float,
    *,
    timeout: float = 60,
    threads: int | None = None,
) -> Result:
    """Drive `requests` (cycled) against base_url with `concurrency` connections for
    `duration` seconds using `tool` ("wrk" or "python")."""
    if tool == "wrk":
        return _run_wrk(base_url, requests, concurrency, duration, timeout, threads)
    if tool == "python":
        return _run_python(base_url, requests, concurrency, duration, timeout, threads)
    raise ValueError(f"unknown load generator {tool!r}")


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# ---------------------------------------------------------------------------------------- wrk


def _lua_str(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{out}"'


def _lua_table(d: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{_lua_str(k)}] = {_lua_str(v)}" for k, v in d.items()) + "}"


WRK_DONE = _WRK_DONE = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"mean_us": %f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
"""


def _wrk_script(requests: list[Request]) -> str:
    if len(requests) == 1:  # one static request: wrk pre-builds it once
        r = requests[0]
        lines = [
            f"wrk.method = {_lua_str(r.method)}",
            f"wrk.path = {_lua_str(r.path)}",
            f"wrk.body = {_lua_str(r.body)}" if r.body else "wrk.body = nil",
        ]
        lines += [f"wrk.headers[{_lua_str(k)}] = {_lua_str(v)}" for k, v in r.headers.items()]
        return "\n".join(lines) + "\n" + _WRK_DONE
    specs = ",\n".join(
        "{" + f"m = {_lua_str(r.method)}, p = {_lua_str(r.path)}, "
        f"h = {_lua_table(r.headers)}, b = {_lua_str(r.body) if r.body else 'nil'}" + "}"
        for r in requests
    )
    return (
        f"""
local specs = {{
{specs}
}}
local reqs = {{}}
local idx = 0
function init(args)
  for k, s in ipairs(specs) do reqs[k] = wrk.format(s.m, s.p, s.h, s.b) end
  idx = math.random(#reqs) - 1
end
function request()
  idx = idx % #reqs + 1
  return reqs[idx]
end
"""
        + _WRK_DONE
    )


def _run_wrk(
    base_url: str,
    requests: list[Request],
    concurrency: int,
    duration: float,
    timeout: float,
    threads: int | None,
) -> Result:
    return run_wrk_script(base_url, _wrk_script(requests), concurrency, duration,
                          timeout=timeout, threads=threads)


def run_wrk_script(
    base_url: str,
    lua: str,
    concurrency: int,
    duration: float,
    *,
    timeout: float = 60,
    threads: int | None = None,
) -> Result:
    """wrk with a Lua script of the caller's (it must end with WRK_DONE, which reports the
    figures); the same closed loop and Result as run_load."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install wrk) — or use --loadgen python")
    threads = threads or min(concurrency, os.cpu_count() or 1)
    threads = max(1, min(threads, concurrency))  # wrk needs connections >= threads
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
        script = f.name
    try:
        cmd = [
            "wrk",
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            f"--timeout={int(timeout)}s",
            "-s",
            script,
            base_url.rstrip("/"),
        ]
        cpu0 = _children_cpu()
        proc = subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=duration + timeout + 30
        )
        cpu = _children_cpu() - cpu0
    finally:
        os.unlink(script)
    m = re.search(r"^WRKJSON (.*)$", proc.stdout, re.M)
    if proc.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    d = json.loads(m.group(1))
    secs = d["duration_us"] / 1e6
    n = d["requests"]
    return Result(
        tool="wrk",
        concurrency=concurrency,
        duration_s=secs,
        requests=n,
        errors={k: d[k] for k in ("connect", "read", "write", "status", "timeout") if d[k]},
        rps=n / secs if secs else 0.0,
        p50_ms=d["p50_us"] / 1e3,
        p90_ms=d["p90_us"] / 1e3,
        p99_ms=d["p99_us"] / 1e3,
        max_ms=d["max_us"] / 1e3,
        mean_ms=d["mean_us"] / 1e3,
        loadgen_cpu_s=cpu,
    )


# ------------------------------------------------------------------------------- Python client


def _python_for_client() -> str:
    """The project venv's interpreter (it has uvloop) when there is one, else this one."""
    venv = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _run_python(
    base_url: str,
    requests: list[Request],
    concurrency: int,
    duration: float,
    timeout: float,
    procs: int | None,
) -> Result:
    procs = max(1, min(procs or min(concurrency, os.cpu_count() or 1), concurrency))
    m = re.match(r"http://([^:/]+):(\d+)", base_url)
    if not m:
        raise ValueError(f"only http://host:port URLs: {base_url}")
    spec = {
        "host": m.group(1),
        "port": int(m.group(2)),
        "concurrency": concurrency,
        "duration": duration,
        "timeout": timeout,
        "procs": procs,
        "requests": [asdict(r) for r in requests],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
        path = f.name
    try:
        cpu0 = _children_cpu()
        proc = subprocess.run(
            [_python_for_client(), __file__, "--python-worker", path],
            capture_output=True,
            text=True,
            check=False,
            timeout=duration + timeout + 60,
        )
        cpu = _children_cpu() - cpu0
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        raise RuntimeError(f"python load generator failed: {proc.stderr[-3000:]}")
    d = json.loads(proc.stdout.strip().splitlines()[-1])
    d["loadgen_cpu_s"] = cpu
    return Result(**d)


def _raw(host: str, port: int, r: dict) -> bytes:
    body = r["body"].encode()
    head = [f"{r['method']} {r['path']} HTTP/1.1", f"Host: {host}:{port}"]
    head += [f"{k}: {v}" for k, v in r["headers"].items()]
    if body or r["method"] in ("POST", "PUT", "PATCH"):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


_CL = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.I)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:\s*chunked", re.I)
_CLOSE = re.compile(rb"\r\nconnection:\s*close", re.I)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    m = _CL.search(head)
    if m:
        await reader.readexactly(int(m.group(1)))
    elif _CHUNKED.search(head):
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, bool(_CLOSE.search(head))


async def _client(spec: dict, conns: int, offset: int) -> dict:
    host, port = spec["host"], spec["port"]
    reqs = [_raw(host, port, r) for r in spec["requests"]]
    lat: list[float] = []
    errors = {"connect": 0, "read": 0, "status": 0, "timeout": 0}
    start = time.perf_counter()
    deadline = start + spec["duration"]
    last = [start]

    async def one(k: int) -> None:
        i = offset + k
        reader = writer = None
        while time.perf_counter() < deadline:
            if writer is None:
                try:
                    reader, writer = await asyncio.open_connection(host, port)
                except OSError:
                    errors["connect"] += 1
                    await asyncio.sleep(0.05)
                    continue
            req = reqs[i % len(reqs)]
            i += 1
            t0 = time.perf_counter()
            try:
                writer.write(req)
                status, close = await asyncio.wait_for(_read_response(reader), spec["timeout"])
            except TimeoutError:
                errors["timeout"] += 1
                close = True
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors["read"] += 1
                close = True
            else:
                t1 = time.perf_counter()
                if t1 <= deadline:
                    lat.append(t1 - t0)
                    last[0] = max(last[0], t1)
                    if status >= 400:
                        errors["status"] += 1
            if close:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(one(k) for k in range(conns)))
    return {"lat": lat, "errors": errors, "start": start, "end": max(last[0], deadline)}


def _proc_main(spec: dict, conns: int, offset: int, q: multiprocessing.Queue) -> None:
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    q.put(asyncio.run(_client(spec, conns, offset)))


def _percentile(sorted_vals: list[float], p: float) -> float:
    if not sorted_vals:
        return 0.0
    k = max(0, math.ceil(p / 100 * len(sorted_vals)) - 1)
    return sorted_vals[k]


def _python_worker(path: str) -> None:
    spec = json.loads(Path(path).read_text())
    procs, c = spec["procs"], spec["concurrency"]
    split = [c // procs + (1 if i < c % procs else 0) for i in range(procs)]
    q: multiprocessing.Queue = multiprocessing.Queue()
    ps = [
        multiprocessing.Process(target=_proc_main, args=(spec, n, sum(split[:i]) * 7, q))
        for i, n in enumerate(split)
    ]
    for p in ps:
        p.start()
    parts = [q.get() for _ in ps]
    for p in ps:
        p.join()
    lat = sorted(x for part in parts for x in part["lat"])
    errors: dict[str, int] = {}
    for part in parts:
        for k, v in part["errors"].items():
            if v:
                errors[k] = errors.get(k, 0) + v
    secs = max(p["end"] for p in parts) - min(p["start"] for p in parts)
    n = len(lat)
    print(
        json.dumps(
            {
                "tool": "python",
                "concurrency": c,
                "duration_s": secs,
                "requests": n,
                "errors": errors,
                "rps": n / secs if secs else 0.0,
                "p50_ms": _percentile(lat, 50) * 1e3,
                "p90_ms": _percentile(lat, 90) * 1e3,
                "p99_ms": _percentile(lat, 99) * 1e3,
                "max_ms": (lat[-1] if lat else 0) * 1e3,
                "mean_ms": (sum(lat) / n if n else 0) * 1e3,
                "loadgen_cpu_s": 0.0,
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--python-worker":
        _python_worker(sys.argv[2])
    else:
        sys.exit("usage: loadgen.py --python-worker SPEC.json (used by run_load)")
