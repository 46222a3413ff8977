"""Decisions over time, in buckets that fit the period: minutes, hours or days.

A run of a few minutes drawn per day is one bar; a year drawn per minute is half a
million. :class:`Timeline` counts decisions per minute, per hour and per day at
once, drops the finer counts when they grow past ``MAX_BUCKETS`` (their period is
too long for them anyway), and ``build`` picks the unit from the period covered:
minutes up to 3 hours, hours up to 36 hours, days beyond.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

MAX_BUCKETS = 2000
UNITS = (("minute", "%Y-%m-%d %H:%M", timedelta(hours=3)),
         ("hour", "%Y-%m-%d %H:00", timedelta(hours=36)))  # fmt: skip


class Timeline:
    def __init__(self) -> None:
        self._fine: dict[str, dict[str, Counter[str]] | None] = {u: {} for u, _, _ in UNITS}

    def add(self, at: datetime, action: str, n: int) -> None:
        """``at`` in UTC (audit records' times are)."""
        for unit, pattern, _ in UNITS:
            buckets = self._fine[unit]
            if buckets is None:
                continue
            key = at.strftime(pattern)
            if key not in buckets and len(buckets) >= MAX_BUCKETS:
                self._fine[unit] = None  # too long a period for this unit
                continue
            buckets.setdefault(key, Counter())[action] += n

    def build(
        self, first: datetime | None, last: datetime | None, per_day: dict[str, dict[str, int]]
    ) -> tuple[str, dict[str, dict[str, int]]]:
        """(unit, label -> action -> decisions) for a period from ``first`` to ``last``."""
        if first is not None and last is not None:
            for unit, _, longest in UNITS:
                buckets = self._fine[unit]
                if buckets is not None and last - first <= longest:
                    return unit, {k: dict(c.most_common()) for k, c in sorted(buckets.items())}
        return "day", per_day
