"""Printing for benchmarks: the machine's conditions and side-by-side tables."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence

__all__ = ["load_average", "machine", "table"]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> dict[str, str]:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load average (1 5 15 min)": load_average(),
    }


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, align: str = "") -> str:
    """A plain-text table. `align` gives one char per column: l or r (default: first column
    left, the rest right). A row of one empty string is a separator line."""
    widths = [len(h) for h in header]
    for row in rows:
        if len(row) == len(header):
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    align = align or "l" + "r" * (len(header) - 1)

    def fmt(row: Sequence[str]) -> str:
        cells = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align, strict=True)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [fmt(header), rule]
    for row in rows:
        out.append(rule if len(row) == 1 and not row[0] else fmt(row))
    return "\n".join(out)
