"""os-instance_usage_audit_log: how the periodic instance usage audit went on each compute host
for the last completed audit period (a month, Nova's `instance_usage_audit_period` default).

The audit itself does not run here, as in Nova by default (`instance_usage_audit = False`):
no host has a task log, so every compute host, disabled ones too, is reported as not run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from overcast.common import clock
from overcast.common.db import Database
from overcast.compute.models import Service

__all__ = ["AuditLog", "last_completed_month"]


def last_completed_month(before: datetime | None = None) -> tuple[datetime, datetime]:
    """The last whole month ending at or before `before` (now): [first of that month, first
    of the next)."""
    now = before or clock.utcnow().replace(tzinfo=None)
    end = datetime(now.year, now.month, 1)
    begin = datetime(end.year - 1, 12, 1) if end.month == 1 else datetime(end.year,
                                                                           end.month - 1, 1)
    return begin, end


class AuditLog:
    def __init__(self, db: Database):
        self.db = db

    async def report(self, before: datetime | None = None) -> dict[str, Any]:
        begin, end = last_completed_month(before)
        async with self.db.read() as s:
            hosts = sorted(set((await s.scalars(select(Service.host).where(
                Service.topic == "compute"))).all()))
        done = 0
        return {
            "period_beginning": str(begin), "period_ending": str(end),
            "num_hosts": len(hosts), "num_hosts_done": done, "num_hosts_running": 0,
            "num_hosts_not_run": len(hosts), "hosts_not_run": hosts,
            "total_instances": 0, "total_errors": 0,
            "overall_status": f"{'ALL' if done == len(hosts) else f'{done} of {len(hosts)}'} "
                              "hosts done. 0 errors.",
            "log": {},
        }
