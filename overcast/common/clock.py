"""Time, always as aware UTC datetimes: the one helper every service uses.

A naive datetime is ambiguous: `datetime.timestamp()` reads it as *local* time, so on a host
west of UTC a naive UTC value lands hours in the future (that discarded every revocation event
once). Code here never hands out a naive datetime, and `epoch` refuses to guess.
The database keeps naive UTC (SQLite has no zone); `common.db.Timestamp` converts at the edge.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["as_utc", "epoch", "from_epoch", "parse_iso", "utcnow"]


def utcnow() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(UTC)


def as_utc(dt: datetime) -> datetime:
    """`dt` in UTC, aware. A naive value is taken to be UTC already (what the database stores)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def epoch(dt: datetime) -> float:
    """Seconds since the epoch of an aware datetime (a naive one is a bug: TypeError)."""
    if dt.tzinfo is None:
        raise TypeError("epoch() needs an aware datetime; use clock.as_utc() on database values")
    return dt.timestamp()


def from_epoch(ts: float) -> datetime:
    """The aware UTC datetime of an epoch timestamp."""
    return datetime.fromtimestamp(ts, UTC)


def parse_iso(value: str) -> datetime:
    """An ISO 8601 timestamp (`Z` or an offset; none means UTC) as aware UTC; ValueError if bad."""
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return as_utc(datetime.fromisoformat(text))
