"""Prometheus metrics of the enforcer. Labels carry pipeline names and actions, never ids.

The event path only bumps plain integers (prometheus_client's labelled
counters and histograms take a lock and several calls per update, about a
tenth of the core's CPU); a collector turns them into metric families when
``/metrics`` is scraped.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from wardstream.enforce.records import Outcome

BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 3, 5, 10, 30)


class _Latency:
    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)  # the last one is +Inf
        self.total = 0.0


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.events_in: dict[str, int] = {}
        self.events_out: dict[tuple[str, str], int] = {}
        self.latency: dict[str, _Latency] = {}
        self.held = self.quarantined = 0
        self.state_age = 0.0
        self.registry = registry or CollectorRegistry()
        self.registry.register(_Collector(self))

    def received(self, pipeline: str) -> None:
        self.events_in[pipeline] = self.events_in.get(pipeline, 0) + 1

    def decided(self, pipeline: str, outcome: Outcome, now: float) -> None:
        key = (pipeline, outcome.destination)
        self.events_out[key] = self.events_out.get(key, 0) + 1
        arrival = outcome.record.arrival
        if arrival:
            hist = self.latency.get(pipeline)
            if hist is None:
                hist = self.latency[pipeline] = _Latency()
            seconds = now - arrival if now > arrival else 0.0
            hist.counts[bisect_left(BUCKETS, seconds)] += 1
            hist.total += seconds

    def gauges(self, *, held: int, quarantined: int, state_age: float) -> None:
        self.held, self.quarantined, self.state_age = held, quarantined, state_age


class _Collector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.m
        events_in = CounterMetricFamily(
            "wardstream_events_in", "Source events received.", labels=["pipeline"]
        )
        for pipeline, n in sorted(m.events_in.items()):
            events_in.add_metric([pipeline], n)
        yield events_in
        events_out = CounterMetricFamily(
            "wardstream_events_out",
            "Source events decided, by where they went (sink, quarantine, deadletter, dropped).",
            labels=["pipeline", "destination"],
        )
        for (pipeline, destination), n in sorted(m.events_out.items()):
            events_out.add_metric([pipeline, destination], n)
        yield events_out
        latency = HistogramMetricFamily(
            "wardstream_decision_latency_seconds",
            "From arrival to decision (includes the wait for current state).",
            labels=["pipeline"],
        )
        for pipeline, hist in sorted(m.latency.items()):
            cumulative, buckets = 0, []
            for bound, n in zip((*map(floatToGoString, BUCKETS), "+Inf"), hist.counts, strict=True):
                cumulative += n
                buckets.append((bound, cumulative))
            latency.add_metric([pipeline], buckets, hist.total)
        yield latency
        yield GaugeMetricFamily(
            "wardstream_events_held", "Events waiting for current state.", value=m.held
        )
        yield GaugeMetricFamily(
            "wardstream_quarantine_size", "Open quarantine entries.", value=m.quarantined
        )
        yield GaugeMetricFamily(
            "wardstream_state_age_seconds",
            "Seconds since the state reader was last caught up.",
            value=m.state_age,
        )
