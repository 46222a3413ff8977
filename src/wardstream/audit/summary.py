"""Adults' passes are counted, not audited one by one (SPEC decision order, step 7).

An ``AdultPassCounter`` counts passes per pipeline (and reason and rule id,
so that report totals by rule stay exact) and, when ``due`` finds the interval
elapsed on the injected clock, hands back the fields of one SUMMARY record per
pipeline, reason and rule that passed anything. ``counts`` maps AuditAction names to
decisions (``{"PASSED": 1200}``), so report totals add up whether a decision
was audited alone or inside a summary. The window's start goes in
``attrs["window_start"]``; the record's ``at`` is the window's end.

Use one counter per ChainWriter (per input partition): a summary then lands
in the chain whose events it counts. Call ``flush`` before a partition is
revoked or the worker stops, so no counted pass goes unrecorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from wardstream.audit.chain import ChainWriter
from wardstream.domain.audit import AuditRecord, to_utc_millis
from wardstream.domain.enums import AuditAction
from wardstream.domain.reasons import ReasonCode

Clock = Callable[[], datetime]

DEFAULT_REASON = ReasonCode.ADULT.value


@dataclass(frozen=True, slots=True)
class Summary:
    """The fields of one SUMMARY record."""

    pipeline: str
    window_start: datetime
    at: datetime
    counts: Mapping[str, int]
    reason: str = DEFAULT_REASON
    rule: str | None = None

    @property
    def attrs(self) -> dict[str, str]:
        return {"window_start": self.window_start.isoformat()}

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def append_to(self, writer: ChainWriter, worker: str) -> AuditRecord:
        """Write this summary as the next record of ``writer``'s chain."""
        return writer.append(
            at=self.at,
            worker=worker,
            pipeline=self.pipeline,
            action=AuditAction.SUMMARY,
            rule=self.rule,
            reason=self.reason,
            counts=self.counts,
            attrs=self.attrs,
        )


_Key = tuple[str, str, str | None]  # pipeline, reason, rule


class AdultPassCounter:
    """Counts adults' passes per pipeline (and reason, rule); emits summaries
    every ``interval`` of the injected clock."""

    __slots__ = ("_clock", "_counts", "_interval", "_start")

    def __init__(self, interval: timedelta, clock: Clock) -> None:
        if interval <= timedelta(0):
            raise ValueError("the summary interval must be positive, e.g. timedelta(seconds=60)")
        self._interval = interval
        self._clock = clock
        self._start = self._now()
        self._counts: dict[_Key, dict[str, int]] = {}

    def count(
        self,
        pipeline: str,
        action: AuditAction = AuditAction.PASSED,
        n: int = 1,
        *,
        reason: str = DEFAULT_REASON,
        rule: str | None = None,
    ) -> None:
        """Record ``n`` passes in ``pipeline`` decided for ``reason`` under ``rule``."""
        per_action = self._counts.setdefault((pipeline, reason, rule), {})
        per_action[action.value] = per_action.get(action.value, 0) + n

    @property
    def pending(self) -> int:
        """Passes counted and not yet summarised."""
        return sum(sum(c.values()) for c in self._counts.values())

    def due(self) -> list[Summary]:
        """Summaries if the interval has elapsed since the window began, else nothing."""
        now = self._now()
        if now - self._start < self._interval:
            return []
        return self._close(now)

    def flush(self) -> list[Summary]:
        """Summaries of everything counted so far, whatever the interval."""
        return self._close(self._now())

    def _close(self, now: datetime) -> list[Summary]:
        start, self._start = self._start, now
        counts, self._counts = self._counts, {}
        return [
            Summary(pipeline, start, now, dict(sorted(per_action.items())), reason, rule)
            for (pipeline, reason, rule), per_action in sorted(counts.items(), key=_order)
            if any(per_action.values())
        ]

    def _now(self) -> datetime:
        return to_utc_millis(self._clock(), "the clock's time")


def _order(item: tuple[_Key, dict[str, int]]) -> tuple[str, str, str]:
    pipeline, reason, rule = item[0]
    return pipeline, reason, rule or ""
