"""Compute benchmark: servers to ACTIVE per second with simulated hosts (the fake driver).

    .venv/bin/python bench/compute/run.py [--servers 1000] [--hosts 50] [--concurrency 10]
                                          [--database sqlite|mariadb|postgresql]

One process, as `overcast up` runs it: Identity, Image and Compute apps in-process (ASGI,
no sockets), the memory bus, the conductor, the scheduler and N simulated compute agents.
`--servers` creates go out `--concurrency` at a time (POST /servers, one server each); a
poller reads GET /servers?status=ACTIVE every 50 ms and notes when each server first
shows ACTIVE. Prints boot-to-ACTIVE p50/p99 (from the POST's start), the create call's own
p50, and servers-to-ACTIVE per second (servers / time from the first POST to the last
ACTIVE). Rally's published boot-and-delete median on Nova is 5.1 s per server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common.report import load_average, machine
from overcast.cli import bootstrap, db_upgrade
from overcast.compute.app import create_app as compute_app
from overcast.config import load_config
from overcast.identity.app import create_app as identity_app
from overcast.image.app import create_app as image_app

PASSWORD = "bench-admin"


def _asgi(app: Any, state: Any) -> httpx.ASGITransport:
    async def call(scope: Any, receive: Any, send: Any) -> None:
        await app({**scope, "state": dict(state or {})}, receive, send)

    return httpx.ASGITransport(app=call)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(servers: int, hosts: int, concurrency: int, database: str | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-compute-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVERCAST_", "OS_"))}
    env.update({
        "OVERCAST_COMPUTE__ENABLED": "true", "OVERCAST_COMPUTE__DRIVER": "fake",
        "OVERCAST_COMPUTE__SIMULATED_HOSTS": str(hosts),
        "OVERCAST_COMPUTE__QUOTA_INSTANCES": "-1", "OVERCAST_COMPUTE__QUOTA_CORES": "-1",
        "OVERCAST_COMPUTE__QUOTA_RAM": "-1", "OVERCAST_IDENTITY__PASSWORD_HASH_ROUNDS": "4",
        "OVERCAST_COMPUTE__RESYNC_INTERVAL": "300",
    })
    if database:
        env["OVERCAST_COMPUTE__DATABASE_URL"] = database
    config = load_config(tmp / "state", environ=env)
    await db_upgrade(config, ["identity", "image", "compute"])
    await bootstrap(config, PASSWORD)
    ident = identity_app(config)

    def local() -> Any:
        return getattr(ident.state, "identity", None)

    img = image_app(config, local)
    async with ident.router.lifespan_context(ident) as ident_state, \
            img.router.lifespan_context(img) as img_state:
        ks = httpx.AsyncClient(transport=_asgi(ident, ident_state), base_url="http://ks")
        r = await ks.post("/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "password": PASSWORD, "domain": {"name": "Default"}}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}})
        token = {"X-Auth-Token": r.headers["X-Subject-Token"]}
        glance = httpx.AsyncClient(transport=_asgi(img, img_state), base_url="http://glance")
        r = await glance.post("/v2/images", headers=token, json={
            "name": "cirros", "disk_format": "raw", "container_format": "bare"})
        image = r.json()["id"]
        await glance.put(f"/v2/images/{image}/file", content=b"\0" * 4096,
                         headers={**token, "Content-Type": "application/octet-stream"})
        app = compute_app(config, local)
        app.state.image_transport = _asgi(img, img_state)
        async with app.router.lifespan_context(app) as state:
            nova = httpx.AsyncClient(transport=_asgi(app, state), base_url="http://nova",
                                     timeout=120)
            headers = {**token, "OpenStack-API-Version": "compute 2.96"}
            started: dict[str, float] = {}
            active: dict[str, float] = {}
            create_times: list[float] = []
            queue = list(range(servers))

            async def creator() -> None:
                while queue:
                    i = queue.pop()
                    t0 = time.perf_counter()
                    r = await nova.post("/v2.1/servers", headers=headers, json={"server": {
                        "name": f"b{i}", "imageRef": image, "flavorRef": "1",
                        "networks": "none"}})
                    if r.status_code != 202:
                        raise SystemExit(f"create failed: {r.status_code} {r.text}")
                    create_times.append(time.perf_counter() - t0)
                    started[r.json()["server"]["id"]] = t0

            async def poller() -> None:
                while len(active) < servers:
                    # The basic list: the poller must not be what the cloud spends its time on.
                    r = await nova.get("/v2.1/servers?status=ACTIVE&limit=1000000",
                                       headers=headers)
                    now = time.perf_counter()
                    for s in r.json()["servers"]:
                        active.setdefault(s["id"], now)
                    r = await nova.get("/v2.1/servers?status=ERROR", headers=headers)
                    if r.json()["servers"]:
                        raise SystemExit(f"{len(r.json()['servers'])} servers went to ERROR")
                    await asyncio.sleep(0.05)

            t_start = time.perf_counter()
            poll = asyncio.create_task(poller())
            await asyncio.gather(*(creator() for _ in range(concurrency)))
            await asyncio.wait_for(poll, timeout=600)
            t_end = max(active.values())
            latencies = [active[u] - started[u] for u in started]
            print(f"machine: {machine()}  load: {load_average()}")
            print(f"{servers} servers, {hosts} simulated hosts, concurrency {concurrency}, "
                  f"database {database or 'sqlite'}")
            print(f"{'figure':44} {'Overcast':>12} {'Nova (Rally, published)':>24}")
            print(f"{'boot-to-ACTIVE p50':44} {statistics.median(latencies) * 1000:>10.0f}ms "
                  f"{'5.1 s (boot+delete)':>24}")
            print(f"{'boot-to-ACTIVE p99':44} {_pct(latencies, 99) * 1000:>10.0f}ms")
            print(f"{'POST /servers p50':44} {statistics.median(create_times) * 1000:>10.1f}ms")
            print(f"{'servers to ACTIVE per second':44} "
                  f"{servers / (t_end - t_start):>12.1f}")
            await nova.aclose()
        await glance.aclose()
        await ks.aclose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--servers", type=int, default=1000)
    p.add_argument("--hosts", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=10)
    p.add_argument("--database", help="compute database URL (default: SQLite in a temp dir)")
    args = p.parse_args()
    asyncio.run(run(args.servers, args.hosts, args.concurrency, args.database))


if __name__ == "__main__":
    main()
