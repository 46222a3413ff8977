"""Tail the state topics (quarantine, lifecycle too) for the fast engine, with confluent-kafka.

What each record means is the shared ``StateApplier``'s business; this module
only reads. The same contract as ``state_reader.StateReader``: no consumer group, every
partition from the beginning, and ``state.caught_up_at`` becomes T once the
records up to the end offsets listed after moment T are applied. The network
side runs in a thread of its own; it hands the raw records and each "caught
up at T" mark to the engine thread through a queue, and the engine thread
applies them in order (``apply_pending``). So the state, the quarantine book,
the lifecycle state and the enforcer's listeners are only ever touched by the
engine thread, and T is published only after everything read before it was
applied. The queue is bounded (``QUEUE_BATCHES`` batches): while the engine
thread applies a long backlog (ten million profiles at start-up), the reader
waits instead of holding the whole topic in memory as raw records.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from wardstream.enforce.hooks import StateTarget
from wardstream.enforce.state import StateStore
from wardstream.engines.health import StateProgress
from wardstream.engines.memory import first_read_begins, first_read_done
from wardstream.errors import RestartNeeded
from wardstream.kafka.tail import end_offsets, partitions_of, read_to_end, records_per_topic

log = logging.getLogger(__name__)
QUEUE_BATCHES = 32  # of up to 5,000 records each


class StateReaderFailed(RestartNeeded):
    """The state reader thread stopped; the worker stops too (its state would go stale), and
    exits with ``EXIT_RESTART``: a restart reads the state topics again."""


class StateFeed:
    def __init__(
        self,
        consumer_factory: Callable[[], Consumer],
        applier: StateTarget,
        state: StateStore,
        *,
        interval_s: float = 0.05,
        wall: Callable[[], float] = time.time,
        start: Mapping[tuple[str, int], int] | None = None,
        reached: Callable[[Mapping[tuple[str, int], int]], None] | None = None,
    ) -> None:
        """``start``: the offset to read each partition from (a snapshot's; others from the
        beginning); ``reached``: told on the engine thread the end offsets of each read round
        once everything before them is applied."""
        self._factory = consumer_factory
        self.applier = applier
        self._topics = applier.topics
        self.state, self.wall = state, wall
        self._interval = interval_s
        self._queue: queue.Queue[Any] = queue.Queue(QUEUE_BATCHES)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wardstream-state", daemon=True)
        self.ready = False
        self.records_read = 0  # applied so far (engine thread)
        self.lag: int | None = None  # records left to the end offsets (reader thread)
        self._rate = _Rate()
        self._start = dict(start or {})
        self._reached = reached

    # -- the engine thread ------------------------------------------------------------
    def read_from(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Read these partitions from these offsets (a snapshot's); call before ``start``."""
        self._start = dict(offsets)

    def start(self) -> None:
        first_read_begins()  # the collector paused until the state is caught up
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if not self.ready:
            first_read_done()
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def apply_pending(self) -> None:
        """Apply what the reader thread read; publish each catch-up moment after its records."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, float):  # a mark that names no end offsets
                item = _Mark(item, {})
            if isinstance(item, _Mark):
                if self._reached is not None and item.ends:
                    self._reached(item.ends)
                self.state.caught_up_at = item.moment
                if not self.ready:
                    self.state.settle()
                    first_read_done()
                self.ready = True
            elif isinstance(item, _Expect):
                self.applier.expect(item.counts)
            elif isinstance(item, BaseException):
                raise StateReaderFailed(
                    f"the state reader stopped ({type(item).__name__}: {item}); check that the "
                    f"state topics {', '.join(self._topics)} exist and the brokers answer"
                ) from item
            else:
                self.applier.apply_rows(item)
                self.records_read += len(item)

    def wait_ready(
        self,
        stall_s: float,
        stopping: Callable[[], bool],
        beat: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> bool:
        """Apply the state topics until caught up. No time limit while the read progresses
        (records applied, or the lag shrinks); False after ``stall_s`` without progress."""
        last, mark = clock(), self._mark()
        while not self.ready and not stopping():
            beat()
            time.sleep(0.01)
            self.apply_pending()
            now, seen = clock(), self._mark()
            if seen != mark:
                last, mark = now, seen
            elif now - last > stall_s:
                return False
        return self.ready

    def progress(self) -> StateProgress:
        return StateProgress(self.ready, self.records_read, self.lag, self._rate.per_s)

    def _mark(self) -> tuple[int, int | None]:
        """What counts as progress: more records applied, or a smaller lag."""
        self._rate.note(self.records_read)
        return self.records_read, self.lag

    @property
    def rejected(self) -> int:
        return self.applier.rejected

    # -- the reader thread ------------------------------------------------------------
    def _run(self) -> None:
        try:
            consumer = self._factory()
        except Exception as exc:  # noqa: BLE001 - handed to the engine thread, which stops
            self._put(exc)
            return
        try:
            tps = [tp for t in self._topics for tp in partitions_of(consumer, t)]
            start = self._start
            consumer.assign(
                [
                    TopicPartition(
                        tp.topic,
                        tp.partition,
                        start.get((tp.topic, tp.partition), OFFSET_BEGINNING),
                    )
                    for tp in tps
                ]
            )
            self._put(_Expect(records_per_topic(start, end_offsets(consumer, tps))))
            eof: dict[tuple[str, int], int] = {}
            while not self._stop.is_set():
                self._catch_up(consumer, tps, eof)
                self._stop.wait(self._interval)
        except Exception as exc:  # noqa: BLE001 - handed to the engine thread, which stops
            self._put(exc)
        finally:
            consumer.close()

    def _catch_up(
        self, consumer: Consumer, tps: list[TopicPartition], eof: dict[tuple[str, int], int]
    ) -> None:
        moment = self.wall()
        ends = read_to_end(consumer, tps, eof, self._put, self._stop.is_set, self._note_lag)
        if not self._stop.is_set():
            self._put(_Mark(moment, ends))

    def _note_lag(self, left: int) -> None:
        self.lag = left

    def _put(self, item: Any) -> None:
        """Hand ``item`` over, waiting while the queue is full (until stopped)."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


@dataclass(frozen=True, slots=True)
class _Expect:
    """The first read brings about this many records of each topic."""

    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class _Mark:
    """Everything up to ``ends`` was handed over, read after ``moment``."""

    moment: float
    ends: dict[tuple[str, int], int]


class _Rate:
    """Records per second over the last ten seconds or so (for the time-left estimate)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock, self.per_s = clock, 0.0
        self._since, self._count = clock(), 0

    def note(self, count: int) -> None:
        now = self.clock()
        if now - self._since >= 10.0:
            self.per_s = (count - self._count) / (now - self._since)
            self._since, self._count = now, count
