"""Record that a child's data was collected in a pipeline (the ``ward.seen`` marks).

Called by the processor for every child's or unknown-age event it passes,
redacts or quarantines. A mark is written only when it changes what the
lifecycle knows: the first collection in a pipeline, a collection older than
the oldest retained one, one after a retention deletion emptied the mark, or
one more than a retention grid step newer than the newest known. So a busy
child costs at most one write per grid step per pipeline, not one per event.
Adults' events are never marked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from wardstream.domain.enums import AgeBand
from wardstream.enforce.hooks import Routed, Spans
from wardstream.enforce.records import QUARANTINE, SINK, OutRecord
from wardstream.lifecycle import records as lr
from wardstream.lifecycle.applier import LifecycleState


class SeenTracker:
    def __init__(self, topic: str, lifecycle: LifecycleState, grid: timedelta) -> None:
        self.topic, self.lifecycle, self.grid = topic, lifecycle, grid

    def routed(self, event: Routed) -> list[OutRecord]:
        """``RouteObserver``: mark a child's (or unknown-age) event passed or quarantined;
        a release was marked when it was quarantined."""
        kept = event.destination in (SINK, QUARANTINE)
        if event.released or not kept or event.decision.age_band is AgeBand.ADULT:
            return []
        return self.collected(event.subject_id, event.pipeline, event.event_time)

    def adults_passed(self, pipeline: str, spans: Spans, wall: float) -> None:
        """``RouteObserver``: adults' events are never marked."""

    def collected(self, subject_id: str, pipeline: str, at: datetime) -> list[OutRecord]:
        mark = self.lifecycle.mark(subject_id, pipeline)
        new = _advance(mark, at, self.grid)
        if new is None:
            return []
        self.lifecycle.unconfirmed[(subject_id, pipeline)] = new
        return [OutRecord(self.topic, *self.lifecycle.codec.seen(subject_id, pipeline, new))]


def _advance(mark: lr.SeenMark | None, at: datetime, grid: timedelta) -> lr.SeenMark | None:
    if mark is None:
        return lr.SeenMark(at, at)
    if mark.first_at is None or at < mark.first_at:
        return lr.SeenMark(at, max(at, mark.last_at))
    if at > mark.last_at + grid:
        return lr.SeenMark(mark.first_at, at)
    return None
