"""Read a run's output topics from the beginning into a ``Tally``, a little at a time.

``refresh`` reads until every partition reaches the end offset it saw when the
call began (or the time budget runs out) and says whether it got there. The
audit records also go through the hash-chain verifier, so the summary can say
whether the chains the worker wrote are intact.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wardstream.audit.linkage import Position
from wardstream.audit.verify import ChainVerifier, VerifyResult
from wardstream.demo.errors import DemoError
from wardstream.demo.tally import Tally
from wardstream.domain.audit import AuditRecord
from wardstream.serde import AvroCodec, Origin, record_schema


@dataclass(frozen=True, slots=True)
class OutputTopics:
    sinks: Mapping[str, str]
    """Pipeline name -> sink topic."""
    quarantine: str
    deadletter: str
    audit: str
    deletions: str

    def all(self) -> list[str]:
        return [*self.sinks.values(), self.quarantine, self.deadletter, self.audit, self.deletions]


class OutputReader:
    def __init__(
        self, bootstrap: str, topics: OutputTopics, config: Mapping[str, Any] | None = None
    ) -> None:
        """``config``: further librdkafka properties (security: ``librdkafka_options``)."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        self.tally = Tally()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"wardstream-demo-reader-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "log_level": 3,  # errors only: warnings would tear the live view
                **(config or {}),
            }
        )
        self._tps = [
            TopicPartition(t, p, OFFSET_BEGINNING)
            for t, count in self._partitions(topics.all()).items()
            for p in range(count)
        ]
        self._consumer.assign(self._tps)
        self._next: dict[tuple[str, int], int] = {}
        self._quarantine = AvroCodec(record_schema("QuarantinedEvent"))
        self._deadletter = AvroCodec(record_schema("DeadLetter"))
        self._audit = AvroCodec(record_schema("AuditRecord"))
        self._deletion = AvroCodec(record_schema("DeletionRequest"))
        self._verifier = ChainVerifier(self._audit.encode)
        self._handlers: dict[str, Callable[[Any], None]] = {
            topics.quarantine: self._on_quarantine,
            topics.deadletter: self._on_deadletter,
            topics.audit: self._on_audit,
            topics.deletions: self._on_deletion,
        }
        for pipeline, topic in topics.sinks.items():
            self._handlers[topic] = _sink_handler(self.tally, pipeline)

    def _partitions(self, topics: list[str], timeout: float = 20.0) -> dict[str, int]:
        """Partition counts, waiting for topics created moments ago to show in the metadata."""
        deadline = time.monotonic() + timeout
        while True:
            meta = self._consumer.list_topics(timeout=5)
            counts = {t: len(meta.topics[t].partitions) if t in meta.topics else 0 for t in topics}
            missing = [t for t, n in counts.items() if n == 0]
            if not missing:
                return counts
            if time.monotonic() > deadline:
                raise DemoError(f"the topics {', '.join(missing)} do not exist on the broker")
            time.sleep(0.5)

    def refresh(self, budget: float = 1.0) -> bool:
        """Read on; True when every partition reached its end offset as of the call."""
        ends = self._ends()
        deadline = time.monotonic() + budget
        while not self._reached(ends):
            if time.monotonic() > deadline:
                return False
            for msg in self._consumer.consume(num_messages=5000, timeout=0.2):
                if not msg.error():
                    self._take(msg)
        return True

    def _take(self, msg: Any) -> None:
        topic: str = msg.topic()
        self._next[(topic, int(msg.partition()))] = int(msg.offset()) + 1
        self._handlers[topic](msg)

    def _ends(self) -> dict[tuple[str, int], int]:
        ends = {}
        for tp in self._tps:
            _low, high = self._consumer.get_watermark_offsets(tp, timeout=5, cached=False)
            ends[(tp.topic, tp.partition)] = high
        return ends

    def _reached(self, ends: dict[tuple[str, int], int]) -> bool:
        return all(self._next.get(key, 0) >= end for key, end in ends.items())

    def verify(self) -> VerifyResult:
        """The hash-chain verdict on every audit record read (call once, at the end)."""
        return self._verifier.finish()

    def close(self) -> None:
        self._consumer.close()

    # -- per topic --------------------------------------------------------------------
    def _on_quarantine(self, msg: Any) -> None:
        self.tally.on_quarantine(self._quarantine.decode(msg.value(), origin=_origin(msg)))

    def _on_deadletter(self, msg: Any) -> None:
        self.tally.on_deadletter(self._deadletter.decode(msg.value(), origin=_origin(msg)))

    def _on_audit(self, msg: Any) -> None:
        written = msg.value()
        record = AuditRecord.from_dict(self._audit.decode(written, origin=_origin(msg)))
        self._verifier.feed(Position(msg.topic(), msg.partition(), msg.offset()), record, written)
        self.tally.on_audit(record)

    def _on_deletion(self, msg: Any) -> None:
        self.tally.on_deletion(self._deletion.decode(msg.value(), origin=_origin(msg)))


def _origin(msg: Any) -> Origin:
    return Origin(msg.topic(), msg.partition(), msg.offset())


def _sink_handler(tally: Tally, pipeline: str) -> Callable[[Any], None]:
    def handle(msg: Any) -> None:
        tally.on_sink(pipeline, {k: v for k, v in (msg.headers() or ()) if v is not None})

    return handle
