"""Tail the state topics (and the quarantine and lifecycle topics) into memory, with aiokafka.

What each record means is the ``StateApplier``'s business (shared with the
fast engine); this module only reads.

No consumer group: every worker reads every partition from the beginning, so
a subject's profile and consents are local to whichever worker handles its
events, however the sources are keyed (no repartitioning needed). After each
fetch round the reader lists the end offsets; when its positions reach the
end offsets listed after moment T, everything produced before T is applied,
and ``state.caught_up_at`` becomes T.

A broker that does not answer (a timeout, a node not ready, a leader moving) is
waited out: the round starts again after ``RETRY_S``. Meanwhile ``caught_up_at``
stands still, so children's events are held and, past ``max_hold``, quarantined
(fail closed); /health turns degraded after 30 s. Other errors stop the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError, KafkaTimeoutError

from wardstream.enforce.hooks import StateTarget
from wardstream.enforce.state import StateStore
from wardstream.engines.health import StateProgress
from wardstream.engines.memory import first_read_begins, first_read_done
from wardstream.kafka.tail import records_per_topic

log = logging.getLogger(__name__)
RETRY_S = 1.0


class StateReader:
    def __init__(
        self,
        consumer_factory: Callable[[], AIOKafkaConsumer],
        applier: StateTarget,
        partitions: dict[str, int],
        state: StateStore,
        wall: Callable[[], float] = time.time,
        start: Mapping[tuple[str, int], int] | None = None,
        reached: Callable[[Mapping[tuple[str, int], int]], None] | None = None,
    ) -> None:
        """``start``: the offset to read each partition from (a snapshot's; others from the
        beginning); ``reached``: told the end offsets of each round once all before is applied."""
        self._factory = consumer_factory
        self.applier = applier
        self._topics = applier.topics
        self._partitions = partitions
        self.state, self.wall = state, wall
        self.ready = asyncio.Event()
        self.records_read = 0
        self.lag: int | None = None  # records left to the end offsets of the current round
        self._start = dict(start or {})
        self._reached = reached

    def progress(self) -> StateProgress:
        return StateProgress(self.ready.is_set(), self.records_read, self.lag, 0.0)

    @property
    def rejected(self) -> int:
        return self.applier.rejected

    async def run(self) -> None:
        first_read_begins()  # the collector paused until the state is caught up
        consumer = self._factory()
        await consumer.start()
        try:
            tps = await self._assign(consumer)
            while True:
                try:
                    await self._catch_up(consumer, tps)
                except KafkaError as exc:
                    if not (exc.retriable or isinstance(exc, KafkaTimeoutError)):
                        raise
                    log.warning("state topics unreachable (%s); retrying", type(exc).__name__)
                    await asyncio.sleep(RETRY_S)
                    continue
                await asyncio.sleep(0.05)
        finally:
            if not self.ready.is_set():
                first_read_done()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await consumer.stop()

    async def _assign(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        tps = [TopicPartition(t, p) for t in self._topics for p in range(self._partitions[t])]
        consumer.assign(tps)
        fresh = [tp for tp in tps if (tp.topic, tp.partition) not in self._start]
        if fresh:
            await consumer.seek_to_beginning(*fresh)
        for tp in tps:
            if (tp.topic, tp.partition) in self._start:
                consumer.seek(tp, self._start[(tp.topic, tp.partition)])
        return tps

    async def _catch_up(self, consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> None:
        moment = self.wall()
        ends = await consumer.end_offsets(tps)
        if not self.ready.is_set():  # the first read: room for it at once
            at = {(tp.topic, tp.partition): await consumer.position(tp) for tp in tps}
            till = {(tp.topic, tp.partition): end for tp, end in ends.items()}
            self.applier.expect(records_per_topic(at, till))
        while True:
            positions = {tp: await consumer.position(tp) for tp in tps}
            behind = [tp for tp in tps if positions[tp] < ends[tp]]
            self.lag = sum(ends[tp] - positions[tp] for tp in behind)
            if not behind:
                break
            batches = await consumer.getmany(*behind, timeout_ms=200, max_records=5000)
            for tp, messages in batches.items():
                topic, partition = tp.topic, tp.partition
                self.applier.apply_rows(
                    [(topic, partition, m.offset, m.key, m.value) for m in messages]
                )
                self.records_read += len(messages)
        if self._reached is not None:
            self._reached({(tp.topic, tp.partition): end for tp, end in ends.items()})
        self.state.caught_up_at = moment
        if not self.ready.is_set():
            self.state.settle()
            first_read_done()
        self.ready.set()
