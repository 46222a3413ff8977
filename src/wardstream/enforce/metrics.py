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
        self.decisions: dict[tuple[str, str, str], int] = {}  # pipeline, destination, reason
        self.lag: dict[str, int] = {}  # source topic -> records behind its log end (engine)
        self.latency: dict[str, _Latency] = {}
        self.held = self.quarantined = self.waiting_for_registry = 0
        self.registry_problem = False
        self.state_age = 0.0
        self.registry = registry or CollectorRegistry()
        self.registry.register(_Collector(self))

    def received(self, pipeline: str, n: int = 1) -> None:
        self.events_in[pipeline] = self.events_in.get(pipeline, 0) + n

    def decided(self, pipeline: str, outcome: Outcome, now: float) -> None:
        arrival = outcome.record.arrival
        self.decided_many(pipeline, outcome.destination, outcome.reason, arrival, now)

    def decided_many(
        self, pipeline: str, destination: str, reason: str, arrival: float, now: float, n: int = 1
    ) -> None:
        """``n`` events that arrived at ``arrival`` decided at ``now``."""
        key = (pipeline, destination, reason)
        self.decisions[key] = self.decisions.get(key, 0) + n
        if arrival:
            hist = self.latency.get(pipeline)
            if hist is None:
                hist = self.latency[pipeline] = _Latency()
            seconds = now - arrival if now > arrival else 0.0
            hist.counts[bisect_left(BUCKETS, seconds)] += n
            hist.total += seconds * n

    def gauges(
        self,
        *,
        held: int,
        quarantined: int,
        state_age: float,
        waiting_for_registry: int = 0,
        registry_problem: bool = False,
    ) -> None:
        self.held, self.quarantined, self.state_age = held, quarantined, state_age
        self.waiting_for_registry, self.registry_problem = waiting_for_registry, registry_problem


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
        decisions = CounterMetricFamily(
            "wardstream_decisions",
            "Source events decided, by destination and the decision's reason code.",
            labels=["pipeline", "destination", "reason"],
        )
        out: dict[tuple[str, str], int] = {}
        for (pipeline, destination, reason), n in sorted(m.decisions.items()):
            decisions.add_metric([pipeline, destination, reason], n)
            out[pipeline, destination] = out.get((pipeline, destination), 0) + n
        for (pipeline, destination), n in sorted(out.items()):
            events_out.add_metric([pipeline, destination], n)
        yield events_out
        yield decisions
        lag = GaugeMetricFamily(
            "wardstream_consumer_lag",
            "Source records behind the log end, summed over this worker's partitions.",
            labels=["topic"],
        )
        for topic, n in sorted(m.lag.items()):
            lag.add_metric([topic], n)
        yield lag
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
            "wardstream_events_held",
            "Events not decided yet: waiting for current state or for the schema registry.",
            value=m.held,
        )
        yield GaugeMetricFamily(
            "wardstream_events_waiting_for_registry",
            "Events waiting because the schema registry could not give their schema.",
            value=m.waiting_for_registry,
        )
        yield GaugeMetricFamily(
            "wardstream_schema_registry_unreachable",
            "1 while events wait because the last schema-registry lookup failed, else 0.",
            value=int(m.registry_problem),
        )
        yield GaugeMetricFamily(
            "wardstream_quarantine_size", "Open quarantine entries.", value=m.quarantined
        )
        yield GaugeMetricFamily(
            "wardstream_state_age_seconds",
            "Seconds since the state reader was last caught up.",
            value=m.state_age,
        )
