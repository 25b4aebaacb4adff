"""The ring builder and the ring: balance by weight, zone dispersion, least movement, files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from overcast.object.ring import Ring, RingBuilder, RingError


def _builder(zones: list[int], weights: list[float] | None = None, part_power: int = 8
             ) -> RingBuilder:
    b = RingBuilder(part_power, 3)
    for i, zone in enumerate(zones):
        b.add_device(region=1, zone=zone, ip=f"10.0.0.{i}", port=6200, device=f"sd{i}",
                     weight=(weights or [100.0] * len(zones))[i])
    return b


def _counts(b: RingBuilder) -> Counter[int]:
    return Counter(d for row in b.assignment for d in row)


def _zones_of(b: RingBuilder, part: int) -> list[int]:
    devs = [b.devices[row[part]] for row in b.assignment]
    return [d.zone for d in devs if d is not None]


def test_every_partition_has_three_replicas_in_three_zones() -> None:
    b = _builder([1, 2, 3, 1, 2, 3])
    b.rebalance()
    assert b.balance() < 1.0
    for p in range(b.parts):
        assert len(set(_zones_of(b, p))) == 3


def test_two_zones_never_hold_all_three_replicas_in_one() -> None:
    b = _builder([1, 1, 2, 2])
    b.rebalance()
    for p in range(b.parts):
        assert set(_zones_of(b, p)) == {1, 2}


def test_weights_decide_the_shares() -> None:
    b = _builder([1, 2, 3, 4, 5, 6], [100, 100, 100, 100, 100, 200])
    b.rebalance()
    counts = _counts(b)
    assert abs(counts[5] - 2 * counts[0]) <= 3


def test_adding_a_device_moves_about_its_share_only() -> None:
    b = _builder([1, 2, 3, 4])
    b.rebalance()
    before = [list(row) for row in b.assignment]
    b.add_device(region=1, zone=5, ip="10.0.0.9", port=6200, device="sd9", weight=100)
    moved = b.rebalance()
    share = b.parts * 3 / 5
    assert moved <= share + 2
    assert _counts(b)[4] >= share - 2
    changed = sum(1 for r in range(3) for p in range(b.parts) if before[r][p] !=
                  b.assignment[r][p])
    assert changed == moved
    assert b.rebalance() == 0  # a second rebalance has nothing to do


def test_removing_a_device_moves_only_its_partitions() -> None:
    b = _builder([1, 2, 3, 4])
    b.rebalance()
    held = _counts(b)[2]
    b.remove_device(2)
    assert b.rebalance() == held
    assert 2 not in _counts(b)


def test_refusals() -> None:
    with pytest.raises(RingError):
        RingBuilder(30, 3)
    b = _builder([1, 2])
    with pytest.raises(RingError):
        b.rebalance()  # three replicas need three devices
    with pytest.raises(RingError):
        b.add_device(region=1, zone=1, ip="10.0.0.0", port=6200, device="sd0", weight=1)


def test_ring_file_round_trip_gives_the_same_nodes(tmp_path: Path) -> None:
    b = _builder([1, 2, 3])
    b.rebalance()
    b.ring().save(tmp_path / "object.ring.gz")
    ring = Ring.load(tmp_path / "object.ring.gz").with_hash("", "secret")
    same = b.ring().with_hash("", "secret")
    for name in ("a", "b", "c/d"):
        assert ring.get_nodes("AUTH_x", "c", name) == same.get_nodes("AUTH_x", "c", name)
        part, devs = ring.get_nodes("AUTH_x", "c", name)
        assert len({d.device for d in devs}) == 3 and 0 <= part < 256
    # The secret changes placement (a path's partition is not guessable without it).
    other = Ring.load(tmp_path / "object.ring.gz").with_hash("", "other")
    assert any(ring.get_part("AUTH_x", "c", f"o{i}") != other.get_part("AUTH_x", "c", f"o{i}")
               for i in range(20))
    handoffs = list(ring.get_more_nodes(0))
    assert handoffs == []  # three devices, three primaries: no handoff
