"""Object storage wiring: the all-in-one ring, the cluster secret, the ring builder commands
(`overcast object ring ...`) and a storage node served alone (`overcast serve
object-storage --devices DIR`)."""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from overcast.config import Config
from overcast.object.ring import Ring, RingBuilder, RingError

__all__ = ["RingHolder", "add_ring_arguments", "hash_suffix", "load_ring", "ring_command"]

#: The all-in-one's devices: three directories in three zones, served in-process (port 0).
AIO_DEVICES = ("d1", "d2", "d3")


def hash_suffix(config: Config) -> str:
    """The cluster's path hash secret: [object] hash_path_suffix, else one generated once
    into the state directory."""
    if config.object.hash_path_suffix:
        return config.object.hash_path_suffix
    path = config.object_dir / "hash_path_suffix"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(".hash_path_suffix.tmp")
        tmp.write_text(secrets.token_hex(16))
        os.replace(tmp, path)
    return path.read_text().strip()


def ensure_aio_ring(config: Config) -> None:
    """Make the all-in-one ring on first start (unless one exists or was configured)."""
    ring_file = config.object_ring_file
    if ring_file.exists() or config.object.ring_file:
        return
    builder = RingBuilder(config.object.part_power, config.object.replicas)
    for zone, name in enumerate(AIO_DEVICES, start=1):
        builder.add_device(region=1, zone=zone, ip="local", port=0, device=name, weight=100)
    builder.rebalance()
    builder.save(config.object_dir / "object.builder")
    builder.ring().save(ring_file)
    for name in AIO_DEVICES:
        (config.object_devices / name).mkdir(parents=True, exist_ok=True)


class RingHolder:
    """The ring, reloaded when its file changes (a rebalance is picked up without a restart,
    as Swift's servers reload rings)."""

    def __init__(self, path: Path, suffix: str):
        self.path = path
        self.suffix = suffix
        self._ring: Ring | None = None
        self._mtime = 0.0

    def __call__(self) -> Ring:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError as e:
            if self._ring is not None:
                return self._ring
            raise RingError(f"no ring at {self.path}") from e
        if self._ring is None or mtime != self._mtime:
            self._ring = Ring.load(self.path).with_hash("", self.suffix)
            self._mtime = mtime
        return self._ring


def load_ring(config: Config) -> Callable[[], Ring]:
    return RingHolder(config.object_ring_file, hash_suffix(config))


# -- `overcast object ring ...` --
def add_ring_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("ring_action", choices=["create", "add", "remove", "set-weight",
                                           "rebalance", "show"])
    p.add_argument("--builder", help="builder file (default: STATE_DIR/object/object.builder)")
    p.add_argument("--part-power", type=int, default=10)
    p.add_argument("--replicas", type=int, default=3)
    p.add_argument("--region", type=int, default=1)
    p.add_argument("--zone", type=int, default=1)
    p.add_argument("--ip", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6200)
    p.add_argument("--device")
    p.add_argument("--weight", type=float, default=100.0)
    p.add_argument("--id", type=int, help="device id (remove, set-weight)")


def ring_command(config: Config, args: argparse.Namespace) -> int:
    path = Path(args.builder) if args.builder else config.object_dir / "object.builder"
    try:
        if args.ring_action == "create":
            if path.exists():
                print(f"{path} exists")
                return 1
            RingBuilder(args.part_power, args.replicas).save(path)
            print(f"created {path}: 2^{args.part_power} partitions, {args.replicas} replicas")
            return 0
        builder = RingBuilder.load(path)
        if args.ring_action == "add":
            if not args.device:
                print("--device is required")
                return 2
            dev = builder.add_device(region=args.region, zone=args.zone, ip=args.ip,
                                     port=args.port, device=args.device, weight=args.weight)
            builder.save(path)
            print(f"device d{dev.id} r{dev.region}z{dev.zone}-{dev.address}/{dev.device} "
                  f"weight {dev.weight} added")
        elif args.ring_action == "remove":
            builder.remove_device(args.id)
            builder.save(path)
            print(f"device {args.id} removed; rebalance to move its partitions")
        elif args.ring_action == "set-weight":
            builder.set_weight(args.id, args.weight)
            builder.save(path)
        elif args.ring_action == "rebalance":
            moved = builder.rebalance()
            builder.save(path)
            builder.ring().save(config.object_ring_file)
            print(f"reassigned {moved} partition-replicas; balance {builder.balance():.2f}%; "
                  f"ring written to {config.object_ring_file}")
        else:
            print(f"{path}: {builder.parts} partitions, {builder.replicas} replicas, "
                  f"{len(builder.live_devices())} devices, balance {builder.balance():.2f}%")
            counts: dict[int, int] = {}
            for row in builder.assignment:
                for dev_id in row:
                    counts[dev_id] = counts.get(dev_id, 0) + 1
            print("  id region zone address            device   weight  partitions")
            for d in builder.live_devices():
                print(f"  {d.id:>2} {d.region:>6} {d.zone:>4} {d.address:<18} {d.device:<8} "
                      f"{d.weight:>6.1f}  {counts.get(d.id, 0)}")
    except (RingError, FileNotFoundError) as e:
        print(f"error: {e}")
        return 1
    return 0


async def serve_storage(config: Config, devices: str | None, port: int | None) -> None:
    """A storage node alone: its HTTP server for the ring's devices on this port, and its
    daemons (`overcast serve object-storage --devices DIR`)."""
    import asyncio
    import signal

    import uvicorn

    from overcast.object.agent import Daemons
    from overcast.object.nodes import Nodes
    from overcast.object.storage.server import StorageServer

    if devices:
        config.object.devices = devices
    port = port or config.object.storage_port
    ring = load_ring(config)
    storage = StorageServer(config.object_devices, ring,
                            max_file_size=config.object.max_file_size)
    storage.nodes = Nodes(storage, timeout=config.object.node_timeout)
    daemons = Daemons(config, storage, ring, ports={port}) if config.object.daemons else None
    server = uvicorn.Server(uvicorn.Config(storage, host=config.default.bind_host, port=port,
                                           log_config=None, access_log=False, lifespan="off",
                                           server_header=False))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    if daemons is not None:
        daemons.start()
    try:
        await server.serve()
    finally:
        if daemons is not None:
            await daemons.stop()
        await storage.nodes.close()


async def run_daemon(config: Config, name: str, once: bool) -> int:
    """One of the daemons over this node's devices: one pass with --once, else forever."""
    import asyncio

    from overcast.object.agent import Daemons
    from overcast.object.nodes import Nodes
    from overcast.object.storage.server import StorageServer

    ensure_aio_ring(config)
    ring = load_ring(config)
    storage = StorageServer(config.object_devices, ring)
    storage.nodes = Nodes(storage, timeout=config.object.node_timeout)
    daemons = Daemons(config, storage, ring, ports={0, config.object.storage_port})
    loop = next(x for x in daemons.loops if x.name == f"object-{name}")
    try:
        if once:
            await loop.run_once()
        else:
            loop.start()
            await asyncio.Event().wait()
    finally:
        await storage.nodes.close()
    return 0
