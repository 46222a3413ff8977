"""The worker's Prometheus /metrics as a small snapshot for the dashboard."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: float
    events_in: float = 0.0
    out: Counter[str] = field(default_factory=Counter)
    """Decided events by destination: sink, quarantine, deadletter, dropped."""
    decided_by_pipeline: Counter[str] = field(default_factory=Counter)
    held: float = 0.0
    quarantine_size: float = 0.0
    state_age: float = 0.0

    @property
    def decided(self) -> float:
        return sum(self.out.values())


def parse(text: str, at: float) -> Snapshot:
    """A snapshot of the wardstream_* metrics in ``text`` (Prometheus exposition format)."""
    events_in, held, size, age = 0.0, 0.0, 0.0, 0.0
    out: Counter[str] = Counter()
    by_pipeline: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "wardstream_events_in_total":
                events_in += s.value
            elif s.name == "wardstream_events_out_total":
                out[s.labels.get("destination", "?")] += int(s.value)
                by_pipeline[s.labels.get("pipeline", "?")] += int(s.value)
            elif s.name == "wardstream_events_held":
                held = s.value
            elif s.name == "wardstream_quarantine_size":
                size = s.value
            elif s.name == "wardstream_state_age_seconds":
                age = s.value
    return Snapshot(at, events_in, out, by_pipeline, held, size, age)


def rate(newer: Snapshot, older: Snapshot | None) -> float:
    """Events decided per second between two snapshots."""
    if older is None or newer.at <= older.at:
        return 0.0
    return max(0.0, (newer.decided - older.decided) / (newer.at - older.at))
