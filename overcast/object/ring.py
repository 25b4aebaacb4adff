"""The ring: which devices hold the replicas of an account, a container or an object.

Swift's design (swift/common/ring/builder.py, ring.py), written anew:

- The hash space of paths is cut into 2**part_power partitions; a path's partition is the top
  `part_power` bits of md5(prefix + /account[/container[/object]] + suffix).
- `replica2part2dev[r][p]` names the device that holds replica r of partition p. A builder
  makes that table offline (`overcast object ring create|add|rebalance|show`) and writes a
  ring file; servers load the ring read-only and ask `get_nodes(account, container, obj)`.
- A rebalance gives each device its share of the partition-replicas by weight, keeps every
  assignment it can (a moved partition costs a copy), and never puts two replicas of one
  partition into one zone (then one region) while another has room: a zone can fail whole.

One ring serves accounts, containers and objects here (Swift keeps three with the same
shape); the all-in-one has three devices in three zones, so three replicas never share one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import struct
from array import array
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Device", "Ring", "RingBuilder", "RingError", "hash_path"]

NONE_DEV = 0xFFFF  # an unassigned slot in replica2part2dev


class RingError(ValueError):
    """A ring or builder request that cannot be met (bad parameters, no devices, ...)."""


def hash_path(account: str, container: str | None = None, obj: str | None = None, *,
              prefix: str = "", suffix: str = "") -> str:
    """The md5 hex digest that names a path on disk and places it in the ring; the prefix
    and suffix are the cluster's secret (Swift's swift_hash_path_prefix/suffix)."""
    parts = [account]
    if container is not None:
        parts.append(container)
        if obj is not None:
            parts.append(obj)
    path = "/" + "/".join(parts)
    return hashlib.md5((prefix + path + suffix).encode("utf-8"),
                       usedforsecurity=False).hexdigest()


@dataclass
class Device:
    """A storage device: a directory `device` under a storage node's devices root."""

    id: int
    region: int
    zone: int
    ip: str
    port: int
    device: str
    weight: float
    meta: str = ""

    @property
    def address(self) -> str:
        """Where its storage server answers (host:port); port 0 is the in-process node."""
        return f"{self.ip}:{self.port}"


@dataclass
class RingBuilder:
    """Builds the assignment table; the only writer of a ring."""

    part_power: int
    replicas: int
    devices: list[Device | None] = field(default_factory=list)
    #: replica2part2dev as lists (the builder's own file is JSON)
    assignment: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0 <= self.part_power <= 24:
            raise RingError("part power must be between 0 and 24")
        if self.replicas < 1:
            raise RingError("replicas must be at least 1")

    @property
    def parts(self) -> int:
        return 1 << self.part_power

    def live_devices(self) -> list[Device]:
        return [d for d in self.devices if d is not None]

    def add_device(self, *, region: int, zone: int, ip: str, port: int, device: str,
                   weight: float, meta: str = "") -> Device:
        if weight < 0:
            raise RingError("weight must be positive or zero")
        for d in self.live_devices():
            if (d.ip, d.port, d.device) == (ip, port, device):
                raise RingError(f"device {ip}:{port}/{device} is already in the ring")
        dev = Device(len(self.devices), region, zone, ip, port, device, float(weight), meta)
        self.devices.append(dev)
        return dev

    def remove_device(self, dev_id: int) -> None:
        if not 0 <= dev_id < len(self.devices) or self.devices[dev_id] is None:
            raise RingError(f"no device {dev_id}")
        self.devices[dev_id] = None

    def set_weight(self, dev_id: int, weight: float) -> None:
        dev = self.devices[dev_id] if 0 <= dev_id < len(self.devices) else None
        if dev is None:
            raise RingError(f"no device {dev_id}")
        dev.weight = float(weight)

    # -- rebalance --
    def rebalance(self) -> int:
        """Assign every partition-replica; returns how many assignments moved."""
        devs = [d for d in self.live_devices() if d.weight > 0]
        if not devs:
            raise RingError("no devices with weight to rebalance onto")
        if len(devs) < self.replicas:
            # Swift allows it (replicas share devices); refusing keeps every replica apart.
            raise RingError(f"{self.replicas} replicas need at least {self.replicas} devices")
        parts, reps = self.parts, self.replicas
        old = self.assignment if len(self.assignment) == reps and all(
            len(row) == parts for row in self.assignment) else [[NONE_DEV] * parts
                                                               for _ in range(reps)]
        table = [list(row) for row in old]
        total_weight = sum(d.weight for d in devs)
        want = {d.id: d.weight / total_weight * parts * reps for d in devs}
        cap = {i: math.ceil(w - 1e-9) for i, w in want.items()}
        by_id = {d.id: d for d in devs}
        zones = {(d.region, d.zone) for d in devs}
        regions = {d.region for d in devs}
        count = dict.fromkeys(by_id, 0)

        def tiers(dev_ids: list[int]) -> tuple[set[int], set[tuple[int, int]]]:
            return ({by_id[i].region for i in dev_ids},
                    {(by_id[i].region, by_id[i].zone) for i in dev_ids})

        # 1. Keep what is still valid: a live device with weight, not sharing a zone (or
        #    region) with another replica of the partition while there are enough of them.
        for p in range(parts):
            kept: list[int] = []
            for r in range(reps):
                d = table[r][p]
                ok = d in by_id and d not in kept
                if ok and kept:
                    used_regions, used_zones = tiers(kept)
                    dev = by_id[d]
                    if (dev.region, dev.zone) in used_zones and len(zones) > len(used_zones):
                        ok = False
                    elif dev.region in used_regions and len(regions) > len(used_regions):
                        ok = False
                if ok:
                    kept.append(d)
                    count[d] += 1
                else:
                    table[r][p] = NONE_DEV
        # 1b. Release the excess of devices above their share, one replica per partition per
        #     round and partitions in a fixed scattered order, so that the freed slots can go
        #     to a new device (which may hold only one replica of each partition).
        order = sorted(range(parts), key=lambda p: hashlib.md5(
            f"{p}".encode(), usedforsecurity=False).digest())
        freed: set[int] = set()
        for _round in range(reps):
            progress = False
            for p in order:
                if p in freed and _round == 0:
                    continue
                for r in range(reps):
                    d = table[r][p]
                    if d != NONE_DEV and count[d] > cap[d]:
                        table[r][p] = NONE_DEV
                        count[d] -= 1
                        freed.add(p)
                        progress = True
                        break
            if not progress:
                break
        # 2. Fill each empty slot with the device that wants parts most among those in a
        #    region, then a zone, that the partition does not use yet.
        for p in range(parts):
            for r in range(reps):
                if table[r][p] != NONE_DEV:
                    continue
                holders = [table[x][p] for x in range(reps) if table[x][p] != NONE_DEV]
                used_regions, used_zones = tiers(holders)

                choices = [d for d in devs if d.id not in holders]

                def score(d: Device, ur: set[int] = used_regions,
                          uz: set[tuple[int, int]] = used_zones) -> tuple[int, int, float, int]:
                    return (int(d.region not in ur), int((d.region, d.zone) not in uz),
                            want[d.id] - count[d.id], -d.id)

                best = max(choices, key=score)
                table[r][p] = best.id
                count[best.id] += 1
        moved = sum(1 for r in range(reps) for p in range(parts) if table[r][p] != old[r][p])
        self.assignment = table
        return moved

    def balance(self) -> float:
        """The worst device's deviation from its share, in percent (Swift's `balance`)."""
        devs = [d for d in self.live_devices() if d.weight > 0]
        if not devs or not self.assignment:
            return 0.0
        total = sum(d.weight for d in devs)
        counts = dict.fromkeys((d.id for d in devs), 0)
        for row in self.assignment:
            for dev_id in row:
                if dev_id in counts:
                    counts[dev_id] += 1
        worst = 0.0
        for d in devs:
            want = d.weight / total * self.parts * self.replicas
            worst = max(worst, abs(counts[d.id] - want) / want * 100)
        return worst

    # -- files --
    def to_dict(self) -> dict[str, Any]:
        return {"part_power": self.part_power, "replicas": self.replicas,
                "devices": [asdict(d) if d else None for d in self.devices],
                "assignment": self.assignment}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RingBuilder:
        b = cls(int(raw["part_power"]), int(raw["replicas"]))
        b.devices = [Device(**d) if d else None for d in raw["devices"]]
        b.assignment = [list(map(int, row)) for row in raw.get("assignment") or []]
        return b

    def save(self, path: Path) -> None:
        _atomic_write(path, json.dumps(self.to_dict()).encode())

    @classmethod
    def load(cls, path: Path) -> RingBuilder:
        return cls.from_dict(json.loads(path.read_bytes()))

    def ring(self) -> Ring:
        if not self.assignment:
            raise RingError("the builder has not been rebalanced")
        return Ring(self.part_power, [d for d in self.devices],
                    [array("H", row) for row in self.assignment])


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Ring:
    """The read-only ring servers use: `get_nodes`, `get_part`, `get_more_nodes`."""

    def __init__(self, part_power: int, devices: list[Device | None],
                 replica2part2dev: list[array[int]], *, hash_prefix: str = "",
                 hash_suffix: str = ""):
        self.part_power = part_power
        self.devices = devices
        self.table = replica2part2dev
        self.hash_prefix = hash_prefix
        self.hash_suffix = hash_suffix
        self._shift = 32 - part_power

    @property
    def replicas(self) -> int:
        return len(self.table)

    @property
    def partitions(self) -> int:
        return 1 << self.part_power

    def with_hash(self, prefix: str, suffix: str) -> Ring:
        return Ring(self.part_power, self.devices, self.table, hash_prefix=prefix,
                    hash_suffix=suffix)

    def hash(self, account: str, container: str | None = None, obj: str | None = None) -> str:
        return hash_path(account, container, obj, prefix=self.hash_prefix,
                         suffix=self.hash_suffix)

    def part_of_hash(self, name_hash: str) -> int:
        return int(struct.unpack_from(">I", bytes.fromhex(name_hash[:8]))[0]) >> self._shift

    def get_part(self, account: str, container: str | None = None,
                 obj: str | None = None) -> int:
        return self.part_of_hash(self.hash(account, container, obj))

    def part_devices(self, part: int) -> list[Device]:
        out: list[Device] = []
        for row in self.table:
            dev = self.devices[row[part]] if row[part] != NONE_DEV else None
            if dev is not None and dev not in out:
                out.append(dev)
        return out

    def get_nodes(self, account: str, container: str | None = None,
                  obj: str | None = None) -> tuple[int, list[Device]]:
        part = self.get_part(account, container, obj)
        return part, self.part_devices(part)

    def get_more_nodes(self, part: int) -> Iterator[Device]:
        """Handoff devices for a partition: those in zones the primaries do not use first,
        in an order fixed by the partition (so every proxy picks the same handoffs)."""
        primaries = self.part_devices(part)
        used = {(d.region, d.zone) for d in primaries}
        rest = [d for d in self.devices if d is not None and d not in primaries and d.weight > 0]
        rest.sort(key=lambda d: ((d.region, d.zone) in used,
                                 hashlib.md5(f"{part}-{d.id}".encode(),
                                             usedforsecurity=False).digest()))
        yield from rest

    # -- the ring file: gzipped JSON with the table as base64 of unsigned shorts --
    def save(self, path: Path) -> None:
        import base64

        raw = {"part_power": self.part_power,
               "devices": [asdict(d) if d else None for d in self.devices],
               "replica2part2dev": [base64.b64encode(row.tobytes()).decode()
                                    for row in self.table],
               "byteorder": "little" if array("H", [1]).tobytes()[0] else "big"}
        _atomic_write(path, gzip.compress(json.dumps(raw).encode(), mtime=0))

    @classmethod
    def load(cls, path: Path) -> Ring:
        import base64

        raw = json.loads(gzip.decompress(path.read_bytes()))
        table = []
        native = "little" if array("H", [1]).tobytes()[0] else "big"
        for row in raw["replica2part2dev"]:
            arr = array("H")
            arr.frombytes(base64.b64decode(row))
            if raw.get("byteorder", native) != native:
                arr.byteswap()
            table.append(arr)
        devices = [Device(**d) if d else None for d in raw["devices"]]
        return cls(int(raw["part_power"]), devices, table)
