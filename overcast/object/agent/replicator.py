"""The replicator: every partition's replicas converge (see agent/__init__.py).

Keys are `objects/DEVICE/PART` and `accounts|containers/DEVICE/PART/HASH`. Every step is
idempotent: a file a peer already has is not sent again, a merge of rows it has changes
nothing, so a pass interrupted anywhere is simply done again at the next one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Iterable

from overcast.object.nodes import NodeError
from overcast.object.ring import Device, Ring
from overcast.object.storage.broker import AccountBroker, ContainerBroker, db_files, db_path
from overcast.object.storage.diskfile import remove_tree
from overcast.object.storage.server import StorageServer

__all__ = ["Replicator"]

log = logging.getLogger("overcast.object.replicator")


class Replicator:
    def __init__(self, storage: StorageServer, ring: Callable[[], Ring],
                 devices: Callable[[], list[str]], ports: set[int] | None = None):
        self.storage = storage
        self.ports = ports or {0}
        self.ring = ring
        self.devices = devices
        #: what the last pass did, for tests and logs
        self.pushed = 0

    async def keys(self) -> Iterable[str]:
        def scan() -> list[str]:
            keys = []
            for dev in self.devices():
                keys += [f"objects/{dev}/{p}" for p in self.storage.files.partitions(dev)]
                for kind in ("accounts", "containers"):
                    for path in db_files(self.storage.root, dev, kind):
                        # .../KIND/PART/SUFFIX/HASH/HASH.db
                        keys.append(f"{kind}/{dev}/{path.parents[2].name}/{path.stem}")
            return keys

        return await asyncio.to_thread(scan)

    async def reconcile(self, key: str) -> None:
        kind, dev, part, *rest = key.split("/")
        if kind == "objects":
            await self.replicate_partition(dev, int(part))
        else:
            await self.replicate_db(kind, dev, int(part), rest[0])

    # -- objects --
    async def replicate_partition(self, device: str, part: int) -> None:
        ring = self.ring()
        if part >= ring.partitions:
            return
        primaries = ring.part_devices(part)
        me = [d for d in primaries if d.device == device and d.port in self._ports()]
        peers = [d for d in primaries if not (d.device == device and d.port in self._ports())]
        local = await asyncio.to_thread(self.storage.files.suffix_hashes, device, part)
        ok = True
        for peer in peers:
            try:
                await self._sync_to(device, part, local, peer)
            except NodeError as e:
                log.info("replication of %s/%d to %s/%s failed: %s", device, part,
                         peer.address, peer.device, e)
                ok = False
        if not me and ok:
            # A handoff's copy reached every primary: it has done its job.
            await asyncio.to_thread(remove_tree,
                                    self.storage.files.device(device) / "objects" / str(part))

    def _ports(self) -> set[int]:
        return self.ports

    async def _sync_to(self, device: str, part: int, local: dict[str, str], peer: Device
                       ) -> None:
        nodes = self.storage.nodes
        resp = await nodes.request(peer, "GET", f"/replicate/hashes/{peer.device}/{part}")
        remote = json.loads(await resp.read()) if resp.ok else {}
        for suffix, digest in local.items():
            if remote.get(suffix) == digest:
                continue
            resp = await nodes.request(peer, "GET",
                                       f"/replicate/suffix/{peer.device}/{part}/{suffix}")
            theirs: dict[str, list[str]] = json.loads(await resp.read()) if resp.ok else {}
            mine = await asyncio.to_thread(self.storage.files.suffix_files, device, part,
                                           suffix)
            for name_hash, files in mine.items():
                have = set(theirs.get(name_hash, []))
                # The peer's newest state wins over anything older we hold.
                newest = max((f.rsplit(".", 1)[0] for f in have), default="")
                for fname in files:
                    if fname in have or fname.rsplit(".", 1)[0] < newest:
                        continue
                    await self._push_file(device, part, suffix, name_hash, fname, peer)

    async def _push_file(self, device: str, part: int, suffix: str, name_hash: str,
                         fname: str, peer: Device) -> None:
        path = (self.storage.files.device(device) / "objects" / str(part) / suffix / name_hash
                / fname)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return  # replaced meanwhile; the next pass sends what is there then
        resp = await self.storage.nodes.request(
            peer, "PUT", f"/replicate/file/{peer.device}/{part}/{name_hash}/{fname}",
            {"content-length": str(len(data))}, data)
        await resp.aclose()
        if resp.ok:
            self.pushed += 1

    # -- account and container databases --
    async def replicate_db(self, kind: str, device: str, part: int, name_hash: str) -> None:
        ring = self.ring()
        cls = AccountBroker if kind == "accounts" else ContainerBroker
        broker = cls(db_path(self.storage.root, device, kind, part, name_hash))
        info = await asyncio.to_thread(broker.raw_info)
        if info is None:
            return
        rows = await asyncio.to_thread(broker.rows)
        payload = json.dumps({"stat": info, "rows": rows}, sort_keys=True)
        mine = _digest(info, rows)
        peers = [d for d in ring.part_devices(ring.part_of_hash(name_hash))
                 if not (d.device == device and d.port in self._ports())]
        for peer in peers:
            path = f"/replicate/db/{kind}/{peer.device}/{part}/{name_hash}"
            try:
                resp = await self.storage.nodes.request(peer, "GET", path)
                if resp.ok:
                    theirs = json.loads(await resp.read())
                    if _digest(theirs["stat"], theirs["rows"]) == mine:
                        continue
                else:
                    await resp.aclose()
                resp = await self.storage.nodes.request(
                    peer, "PUT", path, {"content-type": "application/json"}, payload.encode())
                await resp.aclose()
                if resp.ok:
                    self.pushed += 1
            except NodeError as e:
                log.info("replication of %s %s to %s failed: %s", kind, name_hash,
                         peer.address, e)


def _digest(stat: dict[str, object], rows: list[dict[str, object]]) -> str:
    """What two replicas of a database must share to be the same: rows and timestamps."""
    keep = {k: stat.get(k) for k in ("put_timestamp", "delete_timestamp", "metadata")}
    body = json.dumps([keep, sorted(rows, key=lambda r: str(r["name"]))], sort_keys=True)
    return hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()

