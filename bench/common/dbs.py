"""Databases for benchmarks: a fresh, dedicated database per run on the local MariaDB or
PostgreSQL server (dropped and recreated), or a SQLite file. Uses the `mariadb`/`mysql` and
`psql` command-line clients, so no driver is needed in the calling interpreter.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from bench.common.proc import proc_stats

__all__ = ["KINDS", "DbServer"]

KINDS = ("sqlite", "mariadb", "postgresql")


@dataclass
class DbServer:
    kind: str
    host: str = "127.0.0.1"
    port: int = 0
    user: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"database kind must be one of {KINDS}")
        if self.kind == "mariadb":
            self.port = self.port or 3306
            self.user = self.user or "root"
        elif self.kind == "postgresql":
            self.port = self.port or 5432
            self.user = self.user or "postgres"

    # -- SQL through the command-line clients
    def _sql(self, sql: str, database: str = "") -> str:
        if self.kind == "mariadb":
            client = shutil.which("mariadb") or shutil.which("mysql")
            if not client:
                raise RuntimeError("the MariaDB client is missing (apt-get install mariadb-client)")
            cmd = [client, "-h", self.host, "-P", str(self.port), "-u", self.user, "-N", "-B", "-e", sql] + (
                [database] if database else []
            )
        elif self.kind == "postgresql":
            if not shutil.which("psql"):
                raise RuntimeError("psql is missing (apt-get install postgresql-client)")
            cmd = [
                "psql",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                database or "postgres",
                "-c",
                sql,
            ]
        else:
            raise RuntimeError("no SQL server for sqlite")
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"{self.kind} at {self.host}:{self.port}: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def version(self) -> str:
        if self.kind == "sqlite":
            import sqlite3

            return f"SQLite {sqlite3.sqlite_version} (file, WAL as each side sets it)"
        if self.kind == "mariadb":
            return "MariaDB " + self._sql("SELECT VERSION()")
        v = self._sql("SHOW server_version")
        return "PostgreSQL " + re.split(r"\s", v)[0]

    def recreate(self, name: str) -> None:
        """Drop `name` if it exists and create it empty."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"bad database name {name!r}")
        if self.kind == "mariadb":
            self._sql(
                f"DROP DATABASE IF EXISTS {name}; "
                f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            )
        elif self.kind == "postgresql":
            self._sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            self._sql(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0")

    def server_pid(self) -> int | None:
        """The local database server's main process (mariadbd, or the PostgreSQL postmaster),
        found by name in /proc, so its CPU use can be read; None for SQLite or when absent."""
        names = {"mariadb": ("mariadbd", "mysqld"), "postgresql": ("postgres", "postmaster")}
        want = names.get(self.kind)
        if not want or self.host not in ("127.0.0.1", "localhost", "::1"):
            return None
        found: dict[int, int] = {}
        for pid, stat in proc_stats():
            comm = stat[stat.find(b"(") + 1 : stat.rfind(b")")].decode(errors="replace")
            if comm in want:
                found[pid] = int(stat[stat.rfind(b")") + 2 :].split()[1])
        roots = [pid for pid, ppid in found.items() if ppid not in found]
        return min(roots) if len(roots) == 1 else None

    def drop(self, name: str) -> None:
        if self.kind == "mariadb":
            self._sql(f"DROP DATABASE IF EXISTS {name}")
        elif self.kind == "postgresql":
            self._sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def url(self, driver: str, name: str) -> str:
        """SQLAlchemy URL of database `name` with `driver` (e.g. "pymysql", "asyncpg")."""
        scheme = "mysql" if self.kind == "mariadb" else "postgresql"
        return f"{scheme}+{driver}://{self.user}@{self.host}:{self.port}/{name}"
