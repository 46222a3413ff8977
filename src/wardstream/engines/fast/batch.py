"""The fast engine's batches: source records in, outputs produced.

A batch (one consume) is split by source; each source's records go through the
lane in one native call (``Enforcer.screen``), whose records are produced as they
came with the decision's headers (after the children's audit records and seen marks
it made), and the rest through ``Enforcer.submit``, in their order, except those the
lane hinted ready (blocked children's), which ``Enforcer.carry_out`` takes together
after them. A record held for state is marked in its partition's progress, so the
commit stops before it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import KafkaError, Producer

from wardstream.enforce.enforcer import Enforcer
from wardstream.enforce.lane import Hint
from wardstream.enforce.records import InRecord, Outcome, OutRecord
from wardstream.engines.fast.delivery import Delivery
from wardstream.engines.offsets import Progress
from wardstream.errors import RestartNeeded

log = logging.getLogger(__name__)
Key = tuple[str, int]


class EngineStopped(RestartNeeded):
    """The engine cannot go on; the message says why."""


class Batches:
    def __init__(
        self,
        enforcer: Enforcer,
        producer: Producer,
        delivery: Delivery,
        progress: dict[Key, Progress],
        wall: Callable[[], float],
    ) -> None:
        self.enforcer, self.producer, self.delivery = enforcer, producer, delivery
        self.progress, self.wall = progress, wall

    def handle(self, messages: list[Any]) -> None:
        # Any: a message without error has topic, partition and offset (the stubs say Optional)
        arrival = self.wall()
        progress = self.progress
        by_source: dict[str, list[Any]] = {}
        for m in messages:
            if m.error() is not None:
                self._consumer_error(m)
                continue
            topic, offset = m.topic(), m.offset()
            prog = progress.get((topic, m.partition()))
            if prog is None:
                continue  # revoked while the batch was on its way
            prog.next = offset + 1
            if offset < prog.skip_end and prog.is_done_before(offset):
                continue
            group = by_source.get(topic)
            if group is None:
                group = by_source[topic] = []
            group.append(m)
        for topic, group in by_source.items():
            self._source(topic, group, arrival)

    def _source(self, topic: str, messages: list[Any], arrival: float) -> None:
        """One source's records of a batch, in order: the lane sends its records as they
        are (one native call for the batch), the others go through ``submit`` (those it
        hinted ready through ``carry_out``, after them)."""
        values = [m.value() for m in messages]
        stamps = [ts if kind else None for kind, ts in (m.timestamp() for m in messages)]
        partitions, offsets = [m.partition() for m in messages], [m.offset() for m in messages]
        found = self.enforcer.screen(topic, values, stamps, partitions, offsets, arrival)
        codes, lane = (found[0].codes, found[1]) if found else (bytes(len(messages)), None)
        hints = found[0].hints if found else {}
        sink = lane.sink if lane is not None else ""
        if found is not None:
            self.delivery.before_produce()
            self.send(found[0].outputs)  # children's audit records and seen marks
            for i, value in found[0].redacted.items():
                values[i] = value  # what a shaped entry left of it
        produce, submit = self.producer.produce, self.enforcer.submit
        ready: list[tuple[InRecord, Hint]] = []  # blocked children's, carried out together
        for i, m in enumerate(messages):
            code = codes[i]
            if code and lane is not None:
                headers: list[Any] = lane.headers(code, m.headers())
                key, ts = m.key(), stamps[i] or 0
                try:
                    produce(sink, values[i], key, headers=headers, timestamp=ts)
                except BufferError:
                    self._produce_when_room(OutRecord(sink, key, values[i], (), ts), headers)
                continue
            original = m.headers()
            record = InRecord(
                topic,
                partitions[i],
                offsets[i],
                m.key(),
                values[i],
                stamps[i],
                tuple(original) if original else (),
                arrival,
            )
            hint = hints.get(i) if hints else None
            if hint is not None and not hint.waits:
                ready.append((record, hint))
                continue
            self._sent(record, submit(record, hint))
        if ready:
            carried = self.enforcer.carry_out(topic, ready)
            for (record, _), outcome in zip(ready, carried, strict=True):
                self._sent(record, outcome)

    def _sent(self, record: InRecord, outcome: Outcome | None) -> None:
        """Send ``record``'s outcome, or mark it held (the commit stops before it)."""
        if outcome is None:
            self.progress[(record.topic, record.partition)].held.add(record.offset)
        else:
            self.send(outcome.outputs)

    def _consumer_error(self, m: Any) -> None:
        err: KafkaError = m.error()
        log.warning("consumer error at %s[%s]: %s", m.topic(), m.partition(), err.str())
        if err.fatal():
            raise EngineStopped(f"the consumer failed: {err.str()}")

    def send(self, outputs: Iterable[OutRecord]) -> None:
        produce = self.producer.produce
        started = False
        for out in outputs:
            if not started:
                self.delivery.before_produce()
                started = True
            headers: list[Any] | None = list(out.headers) if out.headers else None
            try:
                produce(
                    out.topic, out.value, out.key, headers=headers, timestamp=out.timestamp_ms or 0
                )
            except BufferError:
                self._produce_when_room(out, headers)

    def _produce_when_room(self, out: OutRecord, headers: list[Any] | None) -> None:
        while True:
            self.producer.poll(0.05)
            try:
                self.producer.produce(
                    out.topic, out.value, out.key, headers=headers, timestamp=out.timestamp_ms or 0
                )
                return
            except BufferError:
                log.debug("producer queue full; waiting for deliveries")
