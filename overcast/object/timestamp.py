"""Swift's timestamps: seconds since the epoch with five decimals, ordered as strings.

Every write carries one (X-Timestamp, set by the proxy); the newest wins on every replica, so
replicas that saw the writes in different orders agree once they have seen the same writes.
"""

from __future__ import annotations

import time
from email.utils import formatdate

__all__ = ["format_ts", "http_date", "normalize", "now"]

_last = 0.0


def now() -> str:
    """A new timestamp, strictly after the last one this process made."""
    global _last
    t = max(time.time(), _last + 0.00001)
    _last = t
    return format_ts(t)


def format_ts(t: float) -> str:
    return f"{t:016.5f}"


def normalize(raw: str) -> str:
    """A client's or peer's timestamp in the normal form; ValueError if it is none."""
    value = float(raw.split("_")[0])
    if value < 0 or value != value or value >= 1e10:
        raise ValueError(raw)
    return format_ts(value)


def http_date(ts: str | float) -> str:
    """Last-Modified: the timestamp rounded up to the second (as Swift does)."""
    t = float(ts)
    whole = int(t)
    return formatdate(whole + (1 if t > whole else 0), usegmt=True)
