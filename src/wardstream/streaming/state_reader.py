"""Tail the state topics (and the quarantine topic) into memory, with aiokafka.

No consumer group: every worker reads every partition from the beginning, so
a subject's profile and consents are local to whichever worker handles its
events, however the sources are keyed (no repartitioning needed). After each
fetch round the reader lists the end offsets; when its positions reach the
end offsets listed after moment T, everything produced before T is applied,
and ``state.caught_up_at`` becomes T.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from wardstream.serde import DecodeError, Origin
from wardstream.streaming.quarantine import QuarantineBook
from wardstream.streaming.state import StateDecoder, StateStore

log = logging.getLogger(__name__)


class StateReader:
    def __init__(
        self,
        consumer_factory: Callable[[], AIOKafkaConsumer],
        subjects_topic: str,
        consents_topic: str,
        quarantine_topic: str,
        partitions: dict[str, int],
        state: StateStore,
        book: QuarantineBook,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._factory = consumer_factory
        self._topics = (subjects_topic, consents_topic, quarantine_topic)
        self._partitions = partitions
        self.state, self.book, self.wall = state, book, wall
        self._decoder = StateDecoder()
        self.ready = asyncio.Event()
        self.rejected = 0

    async def run(self) -> None:
        consumer = self._factory()
        await consumer.start()
        try:
            tps = await self._assign(consumer)
            while True:
                await self._catch_up(consumer, tps)
                await asyncio.sleep(0.05)
        finally:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await consumer.stop()

    async def _assign(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        tps = [TopicPartition(t, p) for t in self._topics for p in range(self._partitions[t])]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        return tps

    async def _catch_up(self, consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> None:
        moment = self.wall()
        ends = await consumer.end_offsets(tps)
        while True:
            behind = [tp for tp in tps if await consumer.position(tp) < ends[tp]]
            if not behind:
                break
            batches = await consumer.getmany(*behind, timeout_ms=200, max_records=5000)
            for tp, messages in batches.items():
                for m in messages:
                    self._apply(tp.topic, m.partition, m.offset, m.key, m.value)
        self.state.caught_up_at = moment
        self.ready.set()

    def _apply(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> None:
        origin = Origin(topic, partition, offset)
        subjects, consents, quarantine = self._topics
        try:
            if topic == subjects:
                self.state.put_subject(*self._decoder.subject(key, value, origin))
            elif topic == consents and value is not None:
                self.state.put_consent(self._decoder.consent(value, origin))
            elif topic == quarantine and value is not None:
                self.book.load(value, origin)
        except (DecodeError, ValueError) as exc:
            # a bad state record changes nothing: the subject stays as it was (fail closed)
            self.rejected += 1
            log.error("state record rejected at %s: %s", origin, type(exc).__name__)
