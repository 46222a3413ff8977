"""Back within seconds after a crash: kill -9 a worker three times mid-stream, restart at once.

For each engine the time from each restart to the worker's first new output on the sink
is measured and reported (printed, and written as JSON to ``$WARDSTREAM_RESTART_REPORT``
when set): with static group membership a restarted worker gets its own partitions
back without waiting for its dead self's session to expire. Timing targets live in the
benchmarks; this test asserts what must hold whatever the timing: nothing lost, and no
duplicate under exactly-once. The probes are checked on the way: ``/livez`` and
``/readyz`` answer 200 once the worker decides.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from tests.integration.test_enforcer import birthday, click
from tests.integration.test_engine_equivalence import EngineWorkspace, assert_audit_chains_verify

from wardstream.serde import Origin

pytestmark = pytest.mark.integration

KILLS = 3


def probe(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:  # noqa: S310
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


class SinkWatch:
    """Tails the sink (read_committed) in a thread, noting when each record arrives."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.arrivals: list[tuple[float, bytes]] = []
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"watch-{uuid.uuid4().hex[:8]}",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
            }
        )
        meta = self._consumer.list_topics(topic, timeout=10).topics[topic]
        self._consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions])
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for m in self._consumer.consume(500, 0.1):
                if m.error() is None:
                    self.arrivals.append((time.monotonic(), m.value()))

    def quiet(self, for_s: float = 1.0, timeout: float = 30.0) -> None:
        """Wait until nothing arrived for ``for_s``: the dead worker's outputs are all in."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.arrivals[-1][0] if self.arrivals else 0.0
            if time.monotonic() - last >= for_s:
                return
            time.sleep(0.1)

    def first_after(self, t0: float, timeout: float) -> float | None:
        """Seconds from ``t0`` to the first arrival after it (arrivals are in time order)."""
        start = len(self.arrivals)
        while start and self.arrivals[start - 1][0] > t0:
            start -= 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.arrivals) > start:
                return self.arrivals[start][0] - t0
            time.sleep(0.05)
        return None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()


@pytest.mark.parametrize(
    ("engine", "guarantee"), [("fast", "exactly_once"), ("faust", "at_least_once")]
)
def test_kill_9_three_times_nothing_lost_and_back_quickly(
    kafka_bootstrap: str, tmp_path: Path, engine: str, guarantee: str
) -> None:
    project = Path(__file__).resolve().parents[2]
    ws = EngineWorkspace(
        tmp_path,
        kafka_bootstrap,
        f"rs{uuid.uuid4().hex[:8]}",
        project,
        engine=engine,
        processing_guarantee=guarantee,
        name=f"rs-{engine}-0",  # stable per replica, as static membership needs
    )
    watch: SinkWatch | None = None
    try:
        ws.start()
        adults = [f"a-{n}-{uuid.uuid4().hex[:6]}" for n in range(20)]
        for s in adults:
            ws.subject(s, birth=birthday(35))
        ws.flush()
        time.sleep(1.5)
        assert probe(ws.web_port, "/livez") == 200
        assert probe(ws.web_port, "/readyz") == 200
        watch = SinkWatch(kafka_bootstrap, ws.sink("clickstream"))
        codec = ws.codec("clickstream")
        ids: list[str] = []
        done = threading.Event()

        def stream() -> None:  # about 250 events/s until every restart has been measured
            n = 0
            while not done.is_set():
                record = click(adults[n % len(adults)])
                ids.append(record["event_id"])
                ws.event("clickstream", raw=codec.encode(record), key=adults[n % 20].encode())
                n += 1
                if n % 50 == 0:
                    ws.flush()
                    time.sleep(0.2)
            ws.flush()

        producer = threading.Thread(target=stream)
        producer.start()
        times: list[float | None] = []
        for _ in range(KILLS):
            time.sleep(3.0)
            assert ws.proc is not None and ws.proc.poll() is None, ws.log_tail()
            ws.proc.send_signal(signal.SIGKILL)
            ws.proc.wait()
            watch.quiet()
            t0 = time.monotonic()
            ws.launch()
            times.append(watch.first_after(t0, timeout=120))
        done.set()
        producer.join()
        deadline = time.monotonic() + 120
        while len({v for _, v in watch.arrivals}) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # anything still to come would be a duplicate
        got = Counter(
            codec.decode(v, origin=Origin("sink", 0, 0))["event_id"] for _, v in watch.arrivals
        )
        report = {"engine": engine, "guarantee": guarantee, "restart_to_first_output_s": times}
        print(json.dumps(report))  # noqa: T201 - the measurement this test reports
        path = os.environ.get("WARDSTREAM_RESTART_REPORT")
        if path:
            with open(path, "a") as out:
                out.write(json.dumps(report) + "\n")
        assert all(t is not None for t in times), f"no output after a restart: {times}"
        assert set(ids) <= set(got), f"{len(set(ids) - set(got))} events lost"
        if guarantee == "exactly_once":
            assert [e for e, n in got.items() if n > 1] == [], "duplicates on the sink"
        assert probe(ws.web_port, "/livez") == 200
        assert_audit_chains_verify(ws)
    finally:
        if watch is not None:
            watch.close()
        ws.close()
