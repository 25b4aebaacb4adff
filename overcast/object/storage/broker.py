"""Account and container databases: one SQLite file each, on the devices the ring names, as
Swift keeps them (swift/container/backend.py, swift/account/backend.py; written anew).

A container database lists its objects (name, timestamp, size, type, etag, deleted); an
account database lists its containers with their counts. Rows merge last-write-wins by
timestamp, so replicas that received the same updates in any order agree, and a replica
that missed some is caught up by merging a peer's rows (the replicator). Each database
holds one `stat` row: its name, its put/delete timestamps and metadata as
{name: [value, timestamp]} so metadata merges per key too.

These databases are many small files made by the storage servers, so their schema is
created here (versioned by `schema`), not by Alembic, as Swift does.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["AccountBroker", "Broker", "ContainerBroker", "Listing"]

SCHEMA = 1


class Listing(NamedTuple):
    """One listing entry: a row, or a `subdir` when a delimiter folds names together (a
    tuple: a listing makes up to 10,000 of them per request)."""

    name: str
    row: dict[str, Any] | None = None

    @property
    def subdir(self) -> bool:
        return self.row is None


class _Pool:
    """Connections kept open per database file, one user at a time each.

    The databases are in WAL mode with synchronous=NORMAL: a commit appends to the log
    without an fsync (the log is synced at checkpoints), so a killed process loses no
    committed update and a crash of the machine may lose the last ones but never corrupts
    the file; Swift's container server is no stricter (it appends updates to a `.pending`
    file without an fsync). The object data itself is fsynced before the 201. Closing the
    last connection to a WAL database checkpoints it (an fsync), so connections stay open
    here, up to `size`; one whose file was replaced or removed (a wiped device, a database
    pushed by the replicator) is closed and opened anew.
    """

    def __init__(self, size: int = 64):
        self.size = size
        self._idle: OrderedDict[Path, tuple[sqlite3.Connection, tuple[int, int]]] = (
            OrderedDict())
        self._lock = threading.Lock()

    def get(self, path: Path) -> _Pooled:
        with self._lock:
            entry = self._idle.pop(path, None)
        if entry is not None:
            conn, ident = entry
            try:
                st = os.stat(path)
                if (st.st_dev, st.st_ino) == ident:
                    return _Pooled(self, path, conn, ident)
            except OSError:
                pass
            conn.close()
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            st = os.stat(path)
        except BaseException:
            conn.close()
            raise
        return _Pooled(self, path, conn, (st.st_dev, st.st_ino))

    def put(self, path: Path, conn: sqlite3.Connection, ident: tuple[int, int]) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            conn.close()
            return
        extra = []
        with self._lock:
            if path in self._idle:
                extra.append(conn)  # another user's connection is kept: this one closes
            else:
                self._idle[path] = (conn, ident)
            while len(self._idle) > self.size:
                extra.append(self._idle.popitem(last=False)[1][0])
        for c in extra:
            c.close()


class _Pooled:
    """A pooled connection: `close()` gives it back."""

    __slots__ = ("_conn", "_ident", "_path", "_pool")

    def __init__(self, pool: _Pool, path: Path, conn: sqlite3.Connection,
                 ident: tuple[int, int]):
        self._pool, self._path, self._conn, self._ident = pool, path, conn, ident

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def close(self) -> None:
        self._pool.put(self._path, self._conn, self._ident)


_POOL = _Pool()


class Broker:
    """A database of one account or container; every method blocks (run it in a thread)."""

    table = ""
    columns: tuple[str, ...] = ()

    def __init__(self, path: Path):
        self.path = path

    def exists(self) -> bool:
        return self.path.exists()

    def _connect(self) -> sqlite3.Connection:
        return _POOL.get(self.path)  # type: ignore[return-value]  # duck-typed: close() returns it

    def _schema(self) -> str:
        raise NotImplementedError

    def initialize(self, account: str, container: str | None, timestamp: str) -> bool:
        """Create the database (or revive a deleted one); True if it did not exist."""
        created = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            if created:
                conn.executescript(self._schema())  # executescript commits: before BEGIN
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT put_timestamp, delete_timestamp FROM stat").fetchone()
            if row is None:
                conn.execute("INSERT INTO stat (account, container, created_at, put_timestamp,"
                             " delete_timestamp, metadata, schema) VALUES (?,?,?,?,?,?,?)",
                             (account, container, timestamp, timestamp, "0", "{}", SCHEMA))
                fresh = True
            else:
                fresh = row["delete_timestamp"] > row["put_timestamp"]
                if timestamp > row["put_timestamp"]:
                    conn.execute("UPDATE stat SET put_timestamp=?", (timestamp,))
                    if fresh:
                        conn.execute("UPDATE stat SET created_at=?", (timestamp,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
        return created or fresh

    def info(self) -> dict[str, Any] | None:
        """The stat row with counts and metadata; None when absent or deleted."""
        raw = self.raw_info()
        if raw is None or raw["deleted"]:
            return None
        return raw

    def raw_info(self) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        conn = self._connect()
        try:
            row = conn.execute("SELECT * FROM stat").fetchone()
            if row is None:
                return None
            info = dict(row)
            info.update(self._counts(conn))
            info["metadata"] = json.loads(info["metadata"] or "{}")
            info["deleted"] = info["delete_timestamp"] > info["put_timestamp"]
            return info
        except sqlite3.DatabaseError:
            return None
        finally:
            conn.close()

    def _counts(self, conn: sqlite3.Connection) -> dict[str, int]:
        raise NotImplementedError

    def update_metadata(self, updates: dict[str, tuple[str, str]]) -> None:
        """Set {name: (value, timestamp)}; an empty value deletes (kept as a marker)."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            meta = json.loads(conn.execute("SELECT metadata FROM stat").fetchone()[0] or "{}")
            for key, (value, ts) in updates.items():
                if key not in meta or meta[key][1] < ts:
                    meta[key] = [value, ts]
            conn.execute("UPDATE stat SET metadata=?", (json.dumps(meta),))
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()

    def mark_deleted(self, timestamp: str) -> None:
        conn = self._connect()
        try:
            conn.execute("UPDATE stat SET delete_timestamp=? WHERE delete_timestamp < ?",
                         (timestamp, timestamp))
        finally:
            conn.close()

    def is_empty(self) -> bool:
        conn = self._connect()
        try:
            return conn.execute(f"SELECT 1 FROM {self.table} WHERE deleted=0 LIMIT 1"
                                ).fetchone() is None
        finally:
            conn.close()

    def merge(self, rows: Iterable[dict[str, Any]]) -> None:
        """Insert or replace rows whose timestamp is newer than the row kept (a replica's
        rows, or one update)."""
        ts_col = self.columns[1]
        cols = ", ".join(self.columns)
        marks = ", ".join("?" for _ in self.columns)
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for row in rows:
                old = conn.execute(f"SELECT {ts_col} FROM {self.table} WHERE name=?",
                                   (row["name"],)).fetchone()
                if old is not None and old[0] >= row[ts_col]:
                    continue
                conn.execute(f"INSERT OR REPLACE INTO {self.table} ({cols}) VALUES ({marks})",
                             [row[c] for c in self.columns])
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()

    def merge_stat(self, stat: dict[str, Any]) -> None:
        """A replica's timestamps and metadata, newest of each kept."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            mine = conn.execute("SELECT * FROM stat").fetchone()
            if mine is None:
                conn.execute(
                    "INSERT INTO stat (account, container, created_at, put_timestamp,"
                    " delete_timestamp, metadata, schema) VALUES (?,?,?,?,?,?,?)",
                    (stat["account"], stat["container"], stat["created_at"],
                     stat["put_timestamp"], stat["delete_timestamp"],
                     json.dumps(stat["metadata"]), SCHEMA))
            else:
                meta = json.loads(mine["metadata"] or "{}")
                for key, (value, ts) in stat["metadata"].items():
                    if key not in meta or meta[key][1] < ts:
                        meta[key] = [value, ts]
                conn.execute("UPDATE stat SET put_timestamp=max(put_timestamp, ?), "
                             "delete_timestamp=max(delete_timestamp, ?), metadata=?",
                             (stat["put_timestamp"], stat["delete_timestamp"],
                              json.dumps(meta)))
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()

    def rows(self) -> list[dict[str, Any]]:
        conn = self._connect()
        try:
            return [dict(r) for r in conn.execute(
                f"SELECT {', '.join(self.columns)} FROM {self.table}")]
        finally:
            conn.close()

    def listing(self, *, limit: int, marker: str = "", end_marker: str = "", prefix: str = "",
                delimiter: str = "", reverse: bool = False) -> list[Listing]:
        """Names in order after `marker` and before `end_marker` (the other way round with
        `reverse`), starting with `prefix`; with `delimiter`, names that go on past it after
        the prefix fold into one `subdir` entry (Swift's list_objects_iter)."""
        conn = self._connect()
        try:
            return _listing(conn, self.table, self.columns, limit, marker, end_marker, prefix,
                            delimiter, reverse)
        finally:
            conn.close()


def _listing(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], limit: int,
             marker: str, end_marker: str, prefix: str, delimiter: str,
             reverse: bool) -> list[Listing]:
    out: list[Listing] = []
    cols = ", ".join(columns)
    lo, hi = (end_marker, marker) if reverse else (marker, end_marker)
    while len(out) < limit:
        where, args = ["deleted=0"], []
        if lo:
            where.append("name > ?")
            args.append(lo)
        if hi:
            where.append("name < ?")
            args.append(hi)
        if prefix:
            where.append("name >= ?")
            args.append(prefix)
            where.append("name < ?")
            args.append(prefix[:-1] + chr(ord(prefix[-1]) + 1))
        order = "DESC" if reverse else "ASC"
        rows = conn.execute(f"SELECT {cols} FROM {table} WHERE {' AND '.join(where)} "
                            f"ORDER BY name {order} LIMIT ?", [*args, limit - len(out)]
                            ).fetchall()
        if not rows:
            break
        folded = False
        for row in rows:
            name = row["name"]
            if delimiter:
                end = name.find(delimiter, len(prefix))
                if end >= 0:
                    sub = name[:end + len(delimiter)]
                    out.append(Listing(sub))
                    # Skip every name under this subdir, then query again.
                    if reverse:
                        hi = sub
                    else:
                        lo = sub + "\U0010ffff"  # after every name under the subdir
                    folded = True
                    break
            out.append(Listing(name, dict(row)))
            if reverse:
                hi = name
            else:
                lo = name
            if len(out) >= limit:
                break
        if not folded and len(rows) < limit:
            break
    return out[:limit]


class ContainerBroker(Broker):
    table = "object"
    columns = ("name", "created_at", "size", "content_type", "etag", "deleted")

    def _schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS object (name TEXT PRIMARY KEY, created_at TEXT NOT NULL,
            size INTEGER NOT NULL DEFAULT 0, content_type TEXT NOT NULL DEFAULT '',
            etag TEXT NOT NULL DEFAULT '', deleted INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX IF NOT EXISTS ix_object_deleted_name ON object (deleted, name);
        CREATE TABLE IF NOT EXISTS stat (account TEXT, container TEXT, created_at TEXT,
            put_timestamp TEXT, delete_timestamp TEXT, metadata TEXT, schema INTEGER);
        """

    def _counts(self, conn: sqlite3.Connection) -> dict[str, int]:
        row = conn.execute("SELECT count(*), coalesce(sum(size), 0) FROM object "
                           "WHERE deleted=0").fetchone()
        return {"object_count": int(row[0]), "bytes_used": int(row[1])}


class AccountBroker(Broker):
    table = "container"
    columns = ("name", "put_timestamp", "delete_timestamp", "object_count", "bytes_used",
               "deleted")

    def _schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS container (name TEXT PRIMARY KEY,
            put_timestamp TEXT NOT NULL, delete_timestamp TEXT NOT NULL DEFAULT '0',
            object_count INTEGER NOT NULL DEFAULT 0, bytes_used INTEGER NOT NULL DEFAULT 0,
            deleted INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX IF NOT EXISTS ix_container_deleted_name ON container (deleted, name);
        CREATE TABLE IF NOT EXISTS stat (account TEXT, container TEXT, created_at TEXT,
            put_timestamp TEXT, delete_timestamp TEXT, metadata TEXT, schema INTEGER);
        """

    def _counts(self, conn: sqlite3.Connection) -> dict[str, int]:
        row = conn.execute("SELECT count(*), coalesce(sum(object_count), 0), "
                           "coalesce(sum(bytes_used), 0) FROM container WHERE deleted=0"
                           ).fetchone()
        return {"container_count": int(row[0]), "object_count": int(row[1]),
                "bytes_used": int(row[2])}

    def merge_container(self, name: str, put_ts: str, delete_ts: str, objects: int,
                        bytes_used: int) -> None:
        """A container's report: its latest timestamps and counts (a stat update carries
        the same put timestamp with new counts, so it is compared on both)."""
        deleted = 1 if delete_ts > put_ts else 0
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            old = conn.execute("SELECT put_timestamp, delete_timestamp FROM container "
                               "WHERE name=?", (name,)).fetchone()
            if old is not None:
                put_ts = max(put_ts, old[0])
                delete_ts = max(delete_ts, old[1])
                deleted = 1 if delete_ts > put_ts else 0
            conn.execute("INSERT OR REPLACE INTO container (name, put_timestamp, "
                         "delete_timestamp, object_count, bytes_used, deleted) "
                         "VALUES (?,?,?,?,?,?)",
                         (name, put_ts, delete_ts, 0 if deleted else objects,
                          0 if deleted else bytes_used, deleted))
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()


def db_path(root: Path, device: str, kind: str, part: int, name_hash: str) -> Path:
    return root / device / kind / str(part) / name_hash[-3:] / name_hash / f"{name_hash}.db"


def db_files(root: Path, device: str, kind: str) -> list[Path]:
    out = []
    for dirpath, _dirs, files in os.walk(root / device / kind):
        out += [Path(dirpath) / f for f in files if f.endswith(".db")]
    return out
