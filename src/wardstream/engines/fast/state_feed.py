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
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from wardstream.enforce.hooks import StateTarget
from wardstream.enforce.state import StateStore
from wardstream.errors import RestartNeeded
from wardstream.kafka.tail import partitions_of, read_to_end

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
    ) -> None:
        self._factory = consumer_factory
        self.applier = applier
        self._topics = applier.topics
        self.state, self.wall = state, wall
        self._interval = interval_s
        self._queue: queue.Queue[Any] = queue.Queue(QUEUE_BATCHES)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wardstream-state", daemon=True)
        self.ready = False

    # -- the engine thread ------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
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
            if isinstance(item, float):
                self.state.caught_up_at = item
                self.ready = True
            elif isinstance(item, BaseException):
                raise StateReaderFailed(
                    f"the state reader stopped ({type(item).__name__}: {item}); check that the "
                    f"state topics {', '.join(self._topics)} exist and the brokers answer"
                ) from item
            else:
                apply = self.applier.apply
                for topic, partition, offset, key, value in item:
                    apply(topic, partition, offset, key, value)

    def wait_ready(self, timeout: float, stopping: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + timeout
        while not self.ready and not stopping() and time.monotonic() < deadline:
            time.sleep(0.01)
            self.apply_pending()
        return self.ready

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
            consumer.assign(
                [TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING) for tp in tps]
            )
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
        read_to_end(consumer, tps, eof, self._put, self._stop.is_set)
        self._put(moment)

    def _put(self, item: Any) -> None:
        """Hand ``item`` over, waiting while the queue is full (until stopped)."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
