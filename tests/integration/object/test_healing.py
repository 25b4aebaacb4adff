"""Faults on the three device directories of the all-in-one, and the daemons healing them:
a corrupted replica is quarantined by the auditor and restored by the replicator; a wiped
device is refilled; a device that was down during writes is caught up (objects by the
replicator, listings by the updater's async pendings); expired objects are deleted."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import time
from pathlib import Path

import pytest

from overcast.object.agent import Daemons
from overcast.object.manage import load_ring
from overcast.object.storage.diskfile import read_trailer
from overcast.object.storage.server import StorageServer
from tests.functional.object.conftest import Swift

pytestmark = pytest.mark.integration


def _daemons(swift: Swift) -> Daemons:
    """The daemons of the node, over the same devices the proxy's storage server uses (the
    storage servers keep nothing in memory that the files do not say)."""
    ring = load_ring(swift.config)
    return Daemons(swift.config, StorageServer(swift.config.object_devices, ring), ring)


async def _pass(daemons: Daemons, name: str) -> None:
    """One pass of a daemon (`overcast object NAME --once`)."""
    await next(loop for loop in daemons.loops if loop.name == f"object-{name}").run_once()


def _data_files(swift: Swift, device: str | None = None) -> list[Path]:
    root = swift.config.object_devices
    return sorted((root / device if device else root).rglob("*.data"))


def _md5_of_data(path: Path) -> str:
    _meta, length = read_trailer(path)
    with open(path, "rb") as f:
        return hashlib.md5(f.read(length)).hexdigest()


async def test_corrupted_replica_is_quarantined_and_restored(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")
    data = b"precious bytes " * 1000
    await swift.put(f"{swift.a}/c1/o", data)
    victim = _data_files(swift)[0]
    raw = bytearray(victim.read_bytes())
    raw[100] ^= 0xFF  # one flipped bit in the data, the metadata intact
    victim.write_bytes(bytes(raw))
    daemons = _daemons(swift)
    await _pass(daemons, "auditor")
    assert not victim.exists()
    assert len(daemons.auditor.quarantined) == 1
    assert daemons.auditor.quarantined[0].read_bytes() == bytes(raw)
    await _pass(daemons, "replicator")
    assert victim.exists()
    assert _md5_of_data(victim) == hashlib.md5(data).hexdigest()
    r = await swift.http.get(f"{swift.a}/c1/o", headers=swift.alice)
    assert r.content == data


async def test_a_wiped_device_is_refilled_and_reads_never_fail(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")
    objects = {f"o{i}": f"object {i}".encode() * (i + 1) for i in range(20)}
    for name, data in objects.items():
        assert (await swift.put(f"{swift.a}/c1/{name}", data)).status_code == 201
    before = {p.relative_to(swift.config.object_devices / "d2") for p in _data_files(swift, "d2")}
    assert len(before) == 20
    shutil.rmtree(swift.config.object_devices / "d2")
    for name, data in objects.items():
        r = await swift.http.get(f"{swift.a}/c1/{name}", headers=swift.alice)
        assert r.status_code == 200 and r.content == data
    daemons = _daemons(swift)
    await _pass(daemons, "replicator")
    after = {p.relative_to(swift.config.object_devices / "d2") for p in _data_files(swift, "d2")}
    assert after == before
    # The container and account databases are back on d2 too.
    assert list((swift.config.object_devices / "d2" / "containers").rglob("*.db"))
    assert list((swift.config.object_devices / "d2" / "accounts").rglob("*.db"))
    r = await swift.http.get(f"{swift.a}/c1?format=json", headers=swift.alice)
    assert sorted(o["name"] for o in r.json()) == sorted(objects)


async def test_a_device_down_during_writes_is_caught_up(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")
    d3 = swift.config.object_devices / "d3"
    shutil.move(d3, swift.config.object_devices / "d3.away")
    d3.write_bytes(b"")  # a file where the device was: every write to it fails
    try:
        for i in range(5):
            r = await swift.put(f"{swift.a}/c1/while-down-{i}", b"x" * i)
            assert r.status_code == 201  # two of three is a quorum
        # The containers report to the account in the background; one of those writes landing
        # after the device is back would make d3 a directory again and the move below would
        # nest the device inside it. Let them finish while d3 is still a file.
        await swift.account_settled(swift.a, swift.alice, "X-Account-Object-Count", "5")
    finally:
        d3.unlink()
        # rename, not shutil.move: onto a directory that reappeared it fails instead of nesting
        (swift.config.object_devices / "d3.away").rename(d3)
    assert not list(d3.rglob("*while-down*"))
    assert len(_data_files(swift, "d3")) == 0
    daemons = _daemons(swift)
    await _pass(daemons, "replicator")
    await _pass(daemons, "updater")  # the listings the down device missed
    assert len(_data_files(swift, "d3")) == 5
    # Every replica of the container database lists every object.
    from overcast.object.storage.broker import ContainerBroker

    for db in swift.config.object_devices.rglob("containers/**/*.db"):
        rows = ContainerBroker(db).listing(limit=100)
        assert [e.name for e in rows] == [f"while-down-{i}" for i in range(5)], db


async def test_expired_objects_are_deleted_by_the_expirer(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")
    await swift.put(f"{swift.a}/c1/gone", b"x", **{"X-Delete-At": str(int(time.time()) + 2)})
    await swift.put(f"{swift.a}/c1/kept", b"y")
    await asyncio.sleep(2.5)
    daemons = _daemons(swift)
    await _pass(daemons, "expirer")
    assert daemons.expirer.expired == 3
    assert len(list(swift.config.object_devices.rglob("*.ts"))) == 3
    r = await swift.http.get(f"{swift.a}/c1?format=json", headers=swift.alice)
    assert [o["name"] for o in r.json()] == ["kept"]
