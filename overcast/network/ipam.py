"""Address arithmetic (pure, no I/O): default allocation pools, pool checks, the first free
address of a subnet, SLAAC addresses from a MAC, and free prefixes of a subnet pool.

Which addresses are taken is the database's answer (ip_allocations' primary key); these
functions only propose candidates.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from overcast.network import errors

__all__ = [
    "IPNetwork",
    "candidates",
    "default_pools",
    "eui64",
    "free_prefix",
    "in_pools",
    "parse_cidr",
    "parse_ip",
    "validate_pools",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(value: object, what: str = "ip_address") -> IPAddress:
    if not isinstance(value, str):
        raise errors.InvalidInput(f"'{value}' is not a valid IP address")
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise errors.InvalidInput(f"'{value}' is not a valid IP address") from None


def parse_cidr(value: object, strict: bool = True) -> IPNetwork:
    """A subnet CIDR; host bits set is an error, with Neutron's words."""
    if not isinstance(value, str) or "/" not in value:
        raise errors.InvalidInput(f"'{value}' is not a valid IP subnet")
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise errors.InvalidInput(f"'{value}' is not a valid IP subnet") from None
    if strict and str(net) != value and net.with_prefixlen != value:
        exploded = ipaddress.ip_interface(value)
        if exploded.ip != net.network_address:
            raise errors.InvalidInput(f"'{value}' isn't a recognized IP subnet cidr, '{net}' "
                                      "is recommended")
    return net


def default_pools(net: IPNetwork, gateway: str | None) -> list[dict[str, str]]:
    """Neutron's pools: the whole subnet but its first address, the IPv4 broadcast address and
    the gateway."""
    first, last = int(net.network_address), int(net.broadcast_address)
    if first == last:
        return [{"start": str(net.network_address), "end": str(net.network_address)}]
    if net.version == 4 and net.prefixlen == 31:
        return [{"start": str(net[0]), "end": str(net[1])}]
    lo, hi = first + 1, last - (1 if net.version == 4 else 0)
    if lo > hi:
        return []
    ranges = [(lo, hi)]
    if gateway is not None:
        g = int(ipaddress.ip_address(gateway))
        out = []
        for a, b in ranges:
            if a <= g <= b:
                if a < g:
                    out.append((a, g - 1))
                if g < b:
                    out.append((g + 1, b))
            else:
                out.append((a, b))
        ranges = out
    make = ipaddress.ip_address
    return [{"start": str(make(a) if net.version == 4 else ipaddress.IPv6Address(a)),
             "end": str(make(b) if net.version == 4 else ipaddress.IPv6Address(b))}
            for a, b in ranges]


def _range(pool: dict[str, Any], version: int) -> tuple[int, int]:
    start, end = parse_ip(pool.get("start")), parse_ip(pool.get("end"))
    if start.version != version or end.version != version:
        raise errors.InvalidInput(f"Invalid allocation pool {pool['start']}-{pool['end']}")
    return int(start), int(end)


def validate_pools(net: IPNetwork, pools: Sequence[Any],
                   gateway: str | None) -> list[dict[str, str]]:
    """Requested pools, checked as Neutron: inside the subnet's usable range, start <= end,
    no overlap, not holding the gateway."""
    ranges = []
    first, last = int(net.network_address), int(net.broadcast_address)
    for pool in pools:
        if not isinstance(pool, dict) or set(pool) != {"start", "end"}:
            raise errors.InvalidInput(f"Invalid data format for IP pool: '{pool}'")
        a, b = _range(pool, net.version)
        if a > b:
            raise errors.fault(400, "InvalidAllocationPool",
                               f"The allocation pool {pool['start']}-{pool['end']} is not "
                               "valid.")
        low = first + (1 if net.prefixlen < (31 if net.version == 4 else 127) else 0)
        high = last - (1 if net.version == 4 and net.prefixlen < 31 else 0)
        if a < low or b > high:
            raise errors.fault(400, "OutOfBoundsAllocationPool",
                               f"The allocation pool {pool['start']}-{pool['end']} spans "
                               f"beyond the subnet cidr {net}.")
        ranges.append((a, b, pool))
    ranges.sort(key=lambda r: r[0])
    for (_a1, b1, p1), (a2, _b2, p2) in itertools.pairwise(ranges):
        if a2 <= b1:
            raise errors.fault(400, "OverlappingAllocationPools",
                               f"Found overlapping allocation pools: "
                               f"{p1['start']}-{p1['end']} and {p2['start']}-{p2['end']}.")
    if gateway is not None:
        g = int(ipaddress.ip_address(gateway))
        for a, b, p in ranges:
            if a <= g <= b:
                raise errors.fault(409, "GatewayConflictWithAllocationPools",
                                   f"Gateway ip {gateway} conflicts with allocation pool "
                                   f"{p['start']}-{p['end']}.")
    return [{"start": str(p["start"]), "end": str(p["end"])} for p in pools]


def in_pools(address: IPAddress, pools: Iterable[dict[str, str]]) -> bool:
    a = int(address)
    return any(int(ipaddress.ip_address(p["start"])) <= a <= int(ipaddress.ip_address(p["end"]))
               for p in pools)


def candidates(pools: Iterable[dict[str, str]], used: set[str], version: int) -> Iterator[str]:
    """Free addresses of the pools, lowest first, in pool order."""
    make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    used_ints = {int(ipaddress.ip_address(u)) for u in used}
    for p in pools:
        a, b = int(ipaddress.ip_address(p["start"])), int(ipaddress.ip_address(p["end"]))
        i = a
        while i <= b:
            if i not in used_ints:
                yield str(make(i))
            i += 1


def eui64(net: IPNetwork, mac: str) -> str:
    """The SLAAC address of `mac` in a /64 (RFC 4291's modified EUI-64)."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    eui = [*octets[:3], 255, 254, *octets[3:]]
    suffix = int.from_bytes(bytes(eui), "big")
    return str(ipaddress.IPv6Address(int(net.network_address) | suffix))


def free_prefix(pool_prefixes: Sequence[str], taken: Sequence[str],
                prefixlen: int) -> IPNetwork | None:
    """The first prefix of length `prefixlen` inside the pool that overlaps nothing taken."""
    used = [ipaddress.ip_network(t) for t in taken]
    for raw in pool_prefixes:
        prefix = ipaddress.ip_network(raw)
        if prefixlen < prefix.prefixlen:
            continue
        step = 1 << (prefix.max_prefixlen - prefixlen)
        start, end = int(prefix.network_address), int(prefix.broadcast_address)
        cand = start
        while cand + step - 1 <= end:
            net = ipaddress.ip_network((cand, prefixlen))
            clash = next((u for u in used if u.overlaps(net)), None)
            if clash is None:
                return net
            # jump past the clashing prefix (aligned to our step)
            nxt = int(clash.broadcast_address) + 1
            cand = max(cand + step, ((nxt + step - 1) // step) * step)
    return None
