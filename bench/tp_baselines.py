"""The baselines of `wardstream bench`, each run as its own process.

    python bench/tp_baselines.py raw|faust-count|faust-pass BOOTSTRAP SOURCE SINK MEASURE TOTAL

* ``raw``: librdkafka (confluent-kafka) consume -> produce, batches of 10,000: the limit.
* ``faust-count``: a Faust agent that only counts, tuned as in the bulletin
  (``take(2000)``, ``stream_buffer_maxsize=65536``, ``broker_max_poll_records=5000``,
  ``stream_wait_empty=False``): Faust's consume-side ceiling.
* ``faust-pass``: a Faust agent with default settings that sends every record
  on (``await topic.send``): the naive Faust passthrough.

Each prints one JSON line after its first MEASURE records (events, seconds
from first record to last, CPU seconds and peak RSS of the process), then
carries on until TOTAL records (the bench's live latency phase), then exits.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from wardstream.config.fast import FastEngineSettings


class Meter:
    def __init__(self, measure: int) -> None:
        self.measure, self.count = measure, 0
        self.t0 = self.cpu0 = 0.0

    def add(self, n: int, flush: Any = None) -> None:
        if self.count == 0 and n:
            self.t0, self.cpu0 = time.time(), cpu()
        before, self.count = self.count, self.count + n
        if before < self.measure <= self.count:
            if flush is not None:
                flush()
            report(
                events=self.count,
                seconds=time.time() - self.t0,
                cpu_s=cpu() - self.cpu0,
                rss_mb=peak_rss_mb(),
            )


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb() -> float:
    """VmHWM: unlike ru_maxrss it starts afresh at exec, not at the parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def report(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


# The fetch tuning the fast engine uses (FastEngineSettings): without it librdkafka's
# fetcher backs off for 1 s whenever its queue fills, and the raw row measured that pause,
# not the limit (bulletin, 2026-12-07).
RAW_FETCH = {"fetch.queue.backoff.ms": FastEngineSettings().fetch_queue_backoff_ms}


def raw(bootstrap: str, source: str, sink: str, measure: int, total: int) -> None:
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"raw-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            **RAW_FETCH,
        }
    )
    parts = c.list_topics(source, timeout=10).topics[source].partitions
    c.assign([TopicPartition(source, p, OFFSET_BEGINNING) for p in parts])
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.num.messages": 10000})
    meter = Meter(measure)
    while meter.count < total:
        first = c.poll(0.05)
        if first is None:
            continue
        n = 0
        for m in [first, *c.consume(9999, 0)]:
            if m.error() is None:
                p.produce(sink, m.value(), m.key(), headers=m.headers(), timestamp=m.timestamp()[1])
                n += 1
        p.poll(0)
        meter.add(n, lambda: p.flush(60))
    p.flush(60)


def faust_app(kind: str, bootstrap: str, measure: int, total: int, source: str, sink: str) -> Any:
    import faust

    tuned = kind == "faust-count"
    settings: dict[str, Any] = {
        "broker": f"kafka://{bootstrap}",
        "store": "memory://",
        "web_enabled": False,
        "datadir": os.path.join(tempfile.gettempdir(), f"wardstream-bench-{uuid.uuid4().hex[:8]}"),
        "consumer_auto_offset_reset": "earliest",
        "topic_disable_leader": True,
    }
    if tuned:
        settings |= {
            "stream_buffer_maxsize": 65536,
            "broker_max_poll_records": 5000,
            "stream_wait_empty": False,
        }
    app = faust.App(f"bench-{kind}-{uuid.uuid4().hex[:6]}", **settings)
    src = app.topic(source, key_serializer="raw", value_serializer="raw")
    out = app.topic(sink, key_serializer="raw", value_serializer="raw")
    meter = Meter(measure)

    async def done() -> None:
        if meter.count >= total:
            await app.producer.flush()
            os._exit(0)  # a baseline: no graceful Faust shutdown to wait for

    @app.agent(src)
    async def agent(stream: Any) -> None:
        if tuned:
            async for batch in stream.take(2000, within=0.2):
                meter.add(len(batch))
                await done()
            return
        async for event in stream.events():
            m = event.message
            await out.send(key=m.key, value=m.value, headers=m.headers, timestamp=m.timestamp)
            if meter.count + 1 == measure:
                await app.producer.flush()
            meter.add(1)
            await done()

    return app


def main(argv: list[str]) -> None:
    kind, bootstrap, source, sink, measure, total = argv
    if kind == "raw":
        raw(bootstrap, source, sink, int(measure), int(total))
        return
    import faust

    app = faust_app(kind, bootstrap, int(measure), int(total), source, sink)
    faust.Worker(
        app, loglevel=os.environ.get("BENCH_LOGLEVEL", "error"), quiet=True, redirect_stdouts=False
    ).execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1:])
