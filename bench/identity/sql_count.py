#!/usr/bin/env python3
"""Database work of one token issue: sessions, statements and round trips, in-process.

    PYTHONPATH=. .venv/bin/python bench/identity/sql_count.py [--db sqlite|mariadb|postgresql]

Bootstraps a fresh identity database, then issues project-scoped password tokens for the
admin user (`POST /v3/auth/tokens`, the body bench/identity/run.py sends) through the real app
and counts, per issue, the SQL statements sent to the database (every cursor execute, commit and
rollback is one round trip; on SQLite a transaction's BEGIN goes with its first statement,
overcast/common/sqlite.py), the connections checked out of the pool and the statements of each kind. Three
rows: the first login (bcrypt) and a repeated one (the verified-password cache), each after
the caches of roles and catalog are warm, as on a server that has been up for a while; and a
bcrypt login that comes after the cache check interval (0.1 s), so that it reads the revision.
Timings are left to bench/identity/run.py; this counts work, which does not depend on the
machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from sqlalchemy import event  # noqa: E402

ADMIN_PASSWORD = "bench-Admin-pw-7f3c"
URLS = {"mariadb": "mysql+asyncmy://root@127.0.0.1:3306/bench_sqlcount",
        "postgresql": "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_sqlcount"}


async def run(db: str, rounds: int) -> list[tuple[str, int, int, collections.Counter[str]]]:
    import httpx

    from overcast.cli import bootstrap, db_upgrade
    from overcast.common.db import ensure_database
    from overcast.config import load_config
    from overcast.identity.app import create_app

    state = Path(tempfile.mkdtemp(prefix="sqlcount-"))
    env = {"OVERCAST_IDENTITY__PASSWORD_HASH_ROUNDS": str(rounds)}
    if db != "sqlite":
        env["OVERCAST_IDENTITY__DATABASE_URL"] = URLS[db]
        await ensure_database(URLS[db])
    config = load_config(state, environ=env)
    await db_upgrade(config, ["identity"])
    await bootstrap(config, ADMIN_PASSWORD)
    app = create_app(config)
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    rows = []
    async with app.router.lifespan_context(app) as lifespan_state:
        identity = app.state.identity
        statements: list[str] = []
        checkouts = [0]
        engines = {id(e): e for e in (identity.state.db._writer, identity.state.db._reader)}
        for engine in engines.values():
            def on_execute(conn: Any, cursor: Any, statement: str, *a: Any) -> None:
                statements.append(statement.split(None, 1)[0].upper())
            def on_checkout(*a: Any) -> None:
                checkouts[0] += 1
            def on_end(conn: Any, kind: str = "") -> None:
                statements.append(kind)
            event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
            # each transaction's end is a round trip too (COMMIT or ROLLBACK)
            event.listen(engine.sync_engine, "rollback", lambda c: on_end(c, "ROLLBACK"))
            event.listen(engine.sync_engine, "commit", lambda c: on_end(c, "COMMIT"))
            event.listen(engine.sync_engine.pool, "checkout", on_checkout)

        async def with_state(scope: Any, receive: Any, send: Any) -> None:
            await app({**scope, "state": dict(lifespan_state or {})}, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for label in ("warm-up", "first login (bcrypt)", "repeated login (cache)",
                          "bcrypt login, after 0.1 s"):
                if label in ("first login (bcrypt)", "bcrypt login, after 0.1 s"):
                    identity.state.hasher._verified.clear()
                statements.clear()
                checkouts[0] = 0
                # the caches' revision check is throttled; a server under load rarely pays it,
                # but a login that comes after the interval does (the last row: every login
                # without the verified-password cache takes longer than the interval)
                identity.state._checked_at = (0.0 if label == "bcrypt login, after 0.1 s"
                                              else time.monotonic())
                r = await http.post("/v3/auth/tokens", json=body)
                assert r.status_code == 201, r.text
                if label != "warm-up":
                    rows.append((label, len(statements), checkouts[0],
                                 collections.Counter(statements)))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=["sqlite", "mariadb", "postgresql"], default="sqlite")
    p.add_argument("--hash-rounds", type=int, default=4)
    args = p.parse_args()
    rows = asyncio.run(run(args.db, args.hash_rounds))
    print(f"token issue, password method, project scope, {args.db}")
    print(f"{'login':<26}{'statements':>11}{'checkouts':>11}  by kind")
    for label, n, c, kinds in rows:
        print(f"{label:<26}{n:>11}{c:>11}  {dict(kinds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
