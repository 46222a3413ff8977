"""Watching a bench row from outside: its output topics as they fill, its process's CPU and RSS."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, TopicPartition

from wardstream.serde import AvroCodec, Origin, record_schema

TICK = os.sysconf("SC_CLK_TCK")
QUARANTINED = AvroCodec(record_schema("QuarantinedEvent"))


class ProcProbe:
    """CPU seconds and peak RSS of a running process, from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / TICK

    def peak_rss_mb(self) -> float:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0


@dataclass
class Probe:
    """The withdrawal probe: one consented child whose consent is withdrawn mid-run."""

    key: bytes
    ref: bytes = b""
    """The subject's pseudonymous ref: what the quarantine topic is keyed by (SPEC)."""
    withdrawn_ms: int | None = None
    withdrawn_at: float | None = None
    """When the bench produced the withdrawal."""
    stored_at: float | None = None
    """When the broker confirmed it (the earliest any worker can read it)."""
    first_blocked_at: float | None = None
    first_blocked_event_ms: int | None = None
    blocked: int = 0
    passed_after: int = 0


@dataclass
class Watch:
    count: int = 0
    first_at: float | None = None
    first_count: int = 0
    first_cpu: float = 0.0
    done_at: float | None = None
    done_count: int = 0
    done_cpu: float = 0.0
    rss_mb: float = 0.0
    live_from_ms: int | None = None
    latency: dict[str, list[float]] = field(default_factory=dict)


class Observer(threading.Thread):
    """Counts records on ``sink`` (and ``quarantine``); timestamps the throughput phase."""

    def __init__(
        self,
        bootstrap: str,
        sink: str,
        quarantine: str | None,
        expected: int,
        committed: bool,
        proc: ProcProbe | None = None,
        *,
        from_end: bool = False,
    ) -> None:
        super().__init__(daemon=True)
        self.sink, self.quarantine, self.expected, self.proc = sink, quarantine, expected, proc
        self.watch = Watch()
        self.probe: Probe | None = None
        self._halt = threading.Event()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "bench-observer",
                "enable.auto.commit": False,
                "isolation.level": "read_committed" if committed else "read_uncommitted",
                "fetch.wait.max.ms": 5,
            }
        )
        topics = [t for t in (sink, quarantine) if t]
        tps = []
        for t in topics:
            parts = self._consumer.list_topics(t, timeout=10).topics[t].partitions
            start = OFFSET_END if from_end else OFFSET_BEGINNING
            tps += [TopicPartition(t, p, start) for p in parts]
        self._consumer.assign(tps)

    def stop(self) -> None:
        self._halt.set()
        self.join(10)

    def run(self) -> None:
        try:
            while not self._halt.is_set():
                first = self._consumer.poll(0.05)
                if first is None:
                    continue
                if first.error() is None:  # a row's clock starts at its first record, so
                    self._one(first, time.time())  # one that arrives in one fetch still
                    self._progress(time.time())  # measures a time (a 2,000-event row did not)
                messages = self._consumer.consume(10000, 0)
                now = time.time()
                for m in messages:
                    if m.error() is None:
                        self._one(m, now)
                self._progress(now)
        finally:
            self._consumer.close()

    def _one(self, m: Any, now: float) -> None:
        w = self.watch
        w.count += 1
        probe = self.probe
        if m.topic() != self.sink:
            if probe is not None and m.key() == probe.ref:
                probe.blocked += 1
                if probe.first_blocked_at is None:
                    probe.first_blocked_at = now
                    held = QUARANTINED.decode(m.value(), origin=Origin(m.topic(), 0, 0))
                    when = held.get("event_time")
                    probe.first_blocked_event_ms = int(when.timestamp() * 1000) if when else None
            return
        ts = m.timestamp()[1]
        if w.live_from_ms is not None and ts >= w.live_from_ms:
            band = dict(m.headers() or ()).get("ward-age-band", b"all").decode()
            w.latency.setdefault(band, []).append(now * 1000 - ts)
        if probe is not None and probe.withdrawn_ms is not None and m.key() == probe.key:
            if ts >= probe.withdrawn_ms:
                probe.passed_after += 1

    def _progress(self, now: float) -> None:
        w = self.watch
        if w.first_at is None and w.count:
            w.first_at, w.first_count = now, w.count
            w.first_cpu = self.proc.cpu() if self.proc else 0.0
        if w.done_at is None and w.count >= self.expected:
            if self.proc:
                w.done_cpu, w.rss_mb = self.proc.cpu(), self.proc.peak_rss_mb()
            # done_at last: wait_done (another thread) reads the others once it is set
            w.done_count, w.done_at = w.count, now

    def wait_done(self, timeout: float, alive: Any = None) -> bool:
        deadline = time.monotonic() + timeout
        while self.watch.done_at is None and time.monotonic() < deadline:
            if alive is not None and not alive():
                return False
            time.sleep(0.05)
        return self.watch.done_at is not None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)
