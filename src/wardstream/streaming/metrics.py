"""Prometheus metrics of the enforcer. Labels carry pipeline names and actions, never ids."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from wardstream.streaming.records import Outcome


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events_in = Counter(
            "wardstream_events_in", "Source events received.", ["pipeline"], registry=r
        )
        self.events_out = Counter(
            "wardstream_events_out",
            "Source events decided, by where they went (sink, quarantine, deadletter, dropped).",
            ["pipeline", "destination"],
            registry=r,
        )
        self.latency = Histogram(
            "wardstream_decision_latency_seconds",
            "From arrival to decision (includes the wait for current state).",
            ["pipeline"],
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 3, 5, 10, 30),
            registry=r,
        )
        self.held = Gauge("wardstream_events_held", "Events waiting for current state.", registry=r)
        self.quarantined = Gauge(
            "wardstream_quarantine_size", "Open quarantine entries.", registry=r
        )
        self.state_age = Gauge(
            "wardstream_state_age_seconds",
            "Seconds since the state reader was last caught up.",
            registry=r,
        )
        self.lag = Gauge(
            "wardstream_consumer_lag",
            "Records behind the source end offsets.",
            ["pipeline"],
            registry=r,
        )

        self._children: dict[tuple[str, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        # labels() costs a lock and a dict build per call: cache the children
        key = (metric._name, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def received(self, pipeline: str) -> None:
        self._child(self.events_in, pipeline).inc()

    def decided(self, pipeline: str, outcome: Outcome, now: float) -> None:
        self._child(self.events_out, pipeline, outcome.destination).inc()
        if outcome.record.arrival:
            self._child(self.latency, pipeline).observe(max(0.0, now - outcome.record.arrival))

    def gauges(self, *, held: int, quarantined: int, state_age: float) -> None:
        self.held.set(held)
        self.quarantined.set(quarantined)
        self.state_age.set(state_age)
