"""Liveness apart from readiness, and a state read bounded by progress, not by a constant.

A worker with ten million subjects reads its state for minutes: it must keep going while
the read progresses and stop only when it makes none; /readyz says why it is not ready
(and how far the read got) while /livez stays 200.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from prometheus_client import CollectorRegistry

from wardstream.config.settings import Settings
from wardstream.enforce.state import StateStore
from wardstream.engines import memory
from wardstream.engines.fast.state_feed import StateFeed, _Expect
from wardstream.engines.fast.web import WebServer
from wardstream.engines.faust.clients import make_app
from wardstream.engines.health import StateProgress, liveness, readiness
from wardstream.kafka.librdkafka import consumer_config
from wardstream.kafka.tail import lag, records_per_topic


class Applier:
    topics = ("subjects",)
    rejected = 0

    def __init__(self) -> None:
        self.applied = 0
        self.expected: list[dict[str, int]] = []

    def apply(self, topic: str, partition: int, offset: int, key: Any, value: Any) -> None:
        self.applied += 1

    def expect(self, counts: dict[str, int]) -> None:
        self.expected.append(counts)

    def apply_rows(self, rows: list[Any]) -> None:
        self.applied += len(rows)


class Clock:
    """Each reading is one second later: a loop of N turns spans N seconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def feed_with(batches: int, *, then_ready: bool) -> tuple[StateFeed, Applier, Clock]:
    applier, clock = Applier(), Clock()
    feed = StateFeed(lambda: None, applier, StateStore())  # type: ignore[arg-type, return-value]
    rows = [("subjects", 0, i, b"k", b"v") for i in range(10)]
    left = [batches]

    def beat() -> None:  # the reader thread, one batch per turn while it has any
        if left[0] > 0:
            left[0] -= 1
            feed._queue.put(rows)
        elif then_ready and feed._queue.empty():
            feed._queue.put(1.0)

    feed._beat = beat  # type: ignore[attr-defined]
    return feed, applier, clock


def test_a_state_read_that_progresses_has_no_time_limit() -> None:
    feed, applier, clock = feed_with(100, then_ready=True)
    assert feed.wait_ready(5.0, lambda: False, feed._beat, clock)  # type: ignore[attr-defined]
    assert applier.applied == 1000
    assert clock.now > 5 * 20, "the read went on far longer than the stall limit"
    assert feed.progress().records_read == 1000


def test_the_collector_pauses_for_the_first_read_and_its_freed_memory_is_given_back_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    given: list[bool] = []
    monkeypatch.setattr(memory, "give_back", lambda: given.append(gc.isenabled()))
    feed, _, clock = feed_with(3, then_ready=True)
    thresholds = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)  # Python's default
        feed.start = lambda: memory.first_read_begins()  # type: ignore[method-assign]
        feed.start()
        assert not gc.isenabled()
        assert feed.wait_ready(5.0, lambda: False, feed._beat, clock)  # type: ignore[attr-defined]
        assert given == [True] and gc.isenabled()
        assert gc.get_threshold() == (700, 10, memory.FULL_COLLECTION_EVERY), "full ones rare"
        feed._queue.put(2.0)  # a later round of catching up
        feed.apply_pending()
        assert given == [True] and feed.state.caught_up_at == 2.0
    finally:
        gc.enable()
        gc.set_threshold(*thresholds)


def test_the_first_read_is_expected_at_once_and_unused_room_given_back_when_caught_up() -> None:
    feed, applier, clock = feed_with(1, then_ready=True)
    ends = {("subjects", 0): 700, ("subjects", 1): 300, ("consents", 0): 50}
    feed._queue.put(_Expect(records_per_topic({("subjects", 1): 100}, ends)))
    feed.state.subjects.reserve(100_000)  # as the applier does on that expectation
    room = feed.state.subjects.table.footprint()[2]
    assert feed.wait_ready(5.0, lambda: False, feed._beat, clock)  # type: ignore[attr-defined]
    assert applier.expected == [{"subjects": 900, "consents": 50}]
    assert feed.state.subjects.table.footprint()[2] < room / 50


def test_a_feed_stopped_before_it_was_ready_runs_the_collector_again() -> None:
    feed, _, _ = feed_with(0, then_ready=False)
    try:
        memory.first_read_begins()
        feed.stop()
        assert gc.isenabled()
    finally:
        gc.enable()


# 100 MiB in chunks below mmap's threshold, each followed by a small pin, so that freeing
# them leaves holes in the heap (which free() itself keeps), then give_back. In a process
# of its own: what else a test process loaded would share its heap.
FREE_AND_GIVE_BACK = """
import ctypes, ctypes.util, os
from wardstream.engines.memory import give_back
libc = ctypes.CDLL(ctypes.util.find_library("c"))
if not hasattr(libc, "malloc_trim"):
    raise SystemExit("not glibc")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
chunks, pins = [], []
for _ in range(1600):
    chunks.append(libc.malloc(64 * 1024))
    ctypes.memset(chunks[-1], 1, 64 * 1024)
    pins.append(libc.malloc(64))
for c in chunks:
    libc.free(c)
before = rss()
give_back()
print(before - rss())
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads Linux's /proc")
def test_give_back_returns_freed_memory_to_the_system() -> None:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", FREE_AND_GIVE_BACK], capture_output=True, text=True, check=False
    )
    if "not glibc" in done.stderr:
        pytest.skip("not glibc: give_back does nothing here")
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 50 * 2**20, "the freed 100 MiB stayed with the process"


def test_a_state_read_without_progress_gives_up_after_the_stall_limit() -> None:
    feed, applier, clock = feed_with(3, then_ready=False)
    assert not feed.wait_ready(5.0, lambda: False, feed._beat, clock)  # type: ignore[attr-defined]
    assert applier.applied == 30
    assert 5 < clock.now < 20, "it stopped soon after 5 s without progress"


def test_a_shrinking_lag_counts_as_progress() -> None:
    feed, _, clock = feed_with(0, then_ready=False)
    turns = [0]

    def beat() -> None:  # nothing applied yet, but the reader gets closer to the end
        turns[0] += 1
        feed.lag = max(0, 1000 - turns[0])
        if turns[0] == 50:
            feed._queue.put(1.0)

    assert feed.wait_ready(5.0, lambda: False, beat, clock)


def test_readiness_names_what_it_waits_for() -> None:
    reading = StateProgress(False, 1200, 800, 100.0)
    ok, body = readiness(state=reading, state_age_s=1e9, assigned=False)
    assert not ok and body["reason"] == "reading the state topics"
    assert body["state"]["records_read"] == 1200 and body["state"]["lag"] == 800
    assert body["state"]["eta_s"] == 8.0
    done = StateProgress(True, 2000, 0, 100.0)
    ok, body = readiness(state=done, state_age_s=0.5, assigned=False)
    assert not ok and "partitions" in body["reason"]
    ok, body = readiness(state=done, state_age_s=0.5, assigned=True, settled=False)
    assert not ok and "audit tails" in body["reason"]
    ok, body = readiness(state=done, state_age_s=45.0, assigned=True)
    assert not ok and "45 s old" in body["reason"]
    ok, body = readiness(state=done, state_age_s=0.5, assigned=True)
    assert ok and body["status"] == "ready" and "reason" not in body
    assert liveness(1.0)[0] and not liveness(120.0)[0]


def _get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:  # noqa: S310
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_readyz_is_503_with_a_reason_while_state_is_read_and_livez_stays_200() -> None:
    progress = [StateProgress(False, 10, 90, 0.0)]

    def readyz() -> tuple[bool, dict[str, Any]]:
        return readiness(state=progress[0], state_age_s=0.1, assigned=True)

    probes = {"/livez": lambda: liveness(0.1), "/readyz": readyz}
    web = WebServer(0, probes, CollectorRegistry())
    web.start()
    try:
        status, body = _get(web.port, "/readyz")
        assert status == 503 and body["reason"] == "reading the state topics"
        assert _get(web.port, "/livez")[0] == 200
        progress[0] = StateProgress(True, 100, 0, 0.0)
        assert _get(web.port, "/readyz") == (200, {"status": "ready", "state": {
            "records_read": 100, "lag": 0, "eta_s": None, "age_s": 0.1}})  # fmt: skip
        assert _get(web.port, "/livez")[0] == 200
    finally:
        web.stop()


def test_lag_counts_the_records_left_and_an_unseen_end() -> None:
    class Positions:
        def position(self, tps: list[TopicPartition]) -> list[TopicPartition]:
            return [TopicPartition("s", 0, 40), TopicPartition("s", 1, -1001)]

    tps = [TopicPartition("s", 0), TopicPartition("s", 1)]
    assert lag(Positions(), tps, {("s", 0): 100, ("s", 1): 30}, {}) == (True, 60 + 30)  # type: ignore[arg-type]
    assert lag(Positions(), tps, {("s", 0): 40, ("s", 1): 0}, {}) == (True, 0)  # type: ignore[arg-type]
    assert lag(Positions(), tps, {("s", 0): 40, ("s", 1): 0}, {("s", 1): 0}) == (False, 0)  # type: ignore[arg-type]


def test_static_membership_uses_the_workers_name(tmp_path: Path) -> None:
    s = Settings(worker={"name": "worker-2"})
    assert consumer_config(s, s.fast)["group.instance.id"] == "worker-2"
    off = Settings(worker={"name": "worker-2", "static_membership": False})
    assert "group.instance.id" not in consumer_config(off, off.fast)
    app = make_app(
        "app",
        "127.0.0.1:9092",
        web_port=0,
        datadir=str(tmp_path),
        guarantee="at_least_once",
        security={},
        batch_size=10,
        instance_id="worker-2",
    )
    assert app.conf.consumer_group_instance_id == "worker-2"
