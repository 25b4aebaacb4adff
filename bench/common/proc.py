"""Processes for benchmarks: start a server in its own session, wait for it, measure its
memory and CPU over its whole process tree, and stop exactly what was started.

Standard library only (reads /proc), so any Python 3.11 can run it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

__all__ = [
    "Server",
    "TreeSampler",
    "free_port",
    "machine_busy_seconds",
    "run",
    "settle",
    "tree_cpu_exact",
    "tree_cpu_seconds",
    "tree_memory",
    "tree_pids",
    "uwsgi_ini",
    "wait_http",
]

_PAGE = os.sysconf("SC_PAGE_SIZE")
_HZ = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
) -> None:
    """Run a setup command; on failure raise with the tail of its output."""
    proc = subprocess.run(
        list(cmd),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
        check=False,
    )
    out = proc.stdout.decode(errors="replace")
    if log is not None:
        with log.open("a") as f:
            f.write(f"$ {' '.join(cmd)}\n{out}\n")
    if proc.returncode != 0:
        tail = "\n".join(out.splitlines()[-25:])
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")


def ensure_venv(venv: Path, needs: Sequence[str], packages: Sequence[str], *, reinstall: bool,
                say: Callable[[str], None]) -> None:
    """A peer's own virtualenv (made once, kept): `packages` from PyPI, unless every command
    in `needs` is already in its bin/."""
    if reinstall and venv.exists():
        shutil.rmtree(venv)
    if all((venv / "bin" / name).exists() for name in needs):
        return
    say(f"installing {' '.join(packages)} from PyPI into {venv} (uWSGI builds from source; "
        "a few minutes)")
    venv.parent.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    python = str(venv / "bin" / "python")
    run([base, "-m", "venv", str(venv)], timeout=300)
    run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], timeout=600)
    run([python, "-m", "pip", "install", "-q", *packages], timeout=1800)


def proc_stats() -> Iterator[tuple[int, bytes]]:
    """(pid, contents of /proc/PID/stat) of every process that is still there."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                yield int(entry), f.read()
        except OSError:
            continue


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid, stat in proc_stats():
        # the command name is in parentheses and may hold spaces: split after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(pid)
    return children


def tree_pids(root: int) -> list[int]:
    """`root` and all its descendants that are alive now."""
    children = _children_map()
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        if os.path.exists(f"/proc/{pid}"):
            pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def tree_memory(root: int, *, pss: bool = False) -> tuple[int, int]:
    """(RSS summed over the tree, PSS summed over the tree or 0) in bytes.

    Summed RSS counts pages shared between forked workers once per process (what `ps` and most
    dashboards add up); PSS divides shared pages among their sharers, so it adds up to the
    memory the tree really holds.
    """
    rss = total_pss = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/statm") as f:
                rss += int(f.read().split()[1]) * _PAGE
            if pss:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total_pss += int(line.split()[1]) * 1024
                            break
        except (OSError, ValueError, IndexError):
            continue
    return rss, total_pss


def tree_cpu_seconds(root: int) -> float:
    """User+system CPU seconds used so far by the live processes of the tree (and by their
    children that have already been waited for)."""
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        # fields[11..14] = utime stime cutime cstime (fields are 0-based after the name)
        total += sum(int(x) for x in fields[11:15])
    return total / _HZ


def tree_cpu_exact(root: int) -> float:
    """CPU seconds used so far by the live threads of the tree, to the nanosecond (the
    scheduler's run time of each thread, /proc/PID/task/TID/schedstat), where
    tree_cpu_seconds is in clock ticks (10 ms per process and field, so a difference of two
    readings is off by up to 20 ms per process). Threads that have exited are not counted:
    for a short measurement over servers whose threads live on (thread pools, workers).
    Falls back to tree_cpu_seconds without schedstat."""
    total = 0
    for pid in tree_pids(root):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except FileNotFoundError:
                if not os.path.exists("/proc/self/schedstat"):
                    return tree_cpu_seconds(root)
            except (OSError, ValueError, IndexError):
                continue
    return total / 1e9


def settle(root: int, *, idle_cores: float = 0.05, window: float = 0.5, limit: float = 60) -> float:
    """Wait until the tree uses less than `idle_cores` of CPU over `window` seconds (requests
    a load generator left in flight have drained); return the seconds waited."""
    start = time.monotonic()
    before = tree_cpu_seconds(root)
    while time.monotonic() - start < limit:
        time.sleep(window)
        now = tree_cpu_seconds(root)
        if now - before < idle_cores * window:
            break
        before = now
    return time.monotonic() - start


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores; not idle, not iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return (sum(fields[:8]) - fields[3] - fields[4]) / _HZ


class TreeSampler:
    """Samples the summed RSS of a process tree in a background thread; keeps the peak."""

    def __init__(self, root: int, interval: float = 0.25):
        self.root = root
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            rss, _ = tree_memory(self.root)
            self.peak = max(self.peak, rss)
            self._stop.wait(self.interval)

    def start(self) -> TreeSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> TreeSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_http(
    url: str, *, timeout: float = 120, proc: subprocess.Popen | None = None, log: Path | None = None
) -> None:
    """Wait until `url` answers any HTTP status (the server is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


class Server:
    """A server process started in its own session (process group), stopped by that id."""

    def __init__(
        self,
        name: str,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log: Path,
        cwd: Path | None = None,
    ):
        self.name = name
        self.cmd = list(cmd)
        self.env = dict(env) if env is not None else None
        self.log = log
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Server:
        self._logf = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.cmd,
            env=self.env,
            cwd=self.cwd,
            stdout=self._logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    def stop(self, grace: float = 15) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is the leader's pid
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                self.proc.wait(5)
        # workers that outlived their leader are still in the group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self._logf.close()
        self.proc = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def uwsgi_ini(*, port: int, module: str, venv: Path, env: str, workers: int) -> str:
    """uWSGI's settings for an OpenStack service's WSGI app, as the peers in bench/ run:
    uWSGI's HTTP router (C, event-driven) takes the keep-alive client connections and hands
    each request to a free worker, as Apache or nginx in front of uWSGI do in deployments."""
    return f"""[uwsgi]
http = 127.0.0.1:{port}
http-keepalive = 1
module = {module}
virtualenv = {venv}
env = {env}
master = true
processes = {workers}
threads = 1
enable-threads = true
lazy-apps = true
die-on-term = true
buffer-size = 65535
disable-logging = true
"""
