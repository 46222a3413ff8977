"""Read whole partitions to their current end with librdkafka (confluent-kafka).

Shared by the fast engine's state feed and the start-up readers of
``engines.bootstrap``: list a topic's partitions, list their end offsets (the
last stable offsets under read_committed) and hand over every record up to
them in batches of rows ``(topic, partition, offset, key, value)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from wardstream.enforce.hooks import Row

LIST_OFFSETS_PATIENCE_S = 30.0
OFFSET_END = -1  # the ListOffsets timestamp that asks for the end (LSO under read_committed)


def partitions_of(consumer: Consumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions, waiting while a new topic's metadata settles."""
    deadline = time.monotonic() + LIST_OFFSETS_PATIENCE_S
    while True:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is not None and meta.error is None and meta.partitions:
            return [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        if time.monotonic() > deadline:
            raise RuntimeError(f"topic {topic} has no partitions; create it or fix its name")
        time.sleep(0.2)


def end_offsets(consumer: Consumer, tps: list[TopicPartition]) -> dict[tuple[str, int], int]:
    """Log end offsets (the last stable offsets under read_committed), in one request.

    Retried while the cluster settles (a new topic's leader is not known yet).
    """
    asked = [TopicPartition(tp.topic, tp.partition, OFFSET_END) for tp in tps]
    deadline = time.monotonic() + LIST_OFFSETS_PATIENCE_S
    while True:
        try:
            found = consumer.offsets_for_times(asked, 10)
        except KafkaException as exc:
            if exc.args[0].fatal() or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            continue
        return {(e.topic, e.partition): e.offset for e in found}


def read_to_end(
    consumer: Consumer,
    tps: list[TopicPartition],
    eof: dict[tuple[str, int], int],
    on_rows: Callable[[list[Row]], None],
    stop: Callable[[], bool] = lambda: False,
    on_lag: Callable[[int], None] | None = None,
) -> dict[tuple[str, int], int]:
    """Hand over every record up to the end offsets listed now (``eof``: seen ends);
    ``on_lag`` is told the records left before each fetch. Returns those end offsets."""
    ends = end_offsets(consumer, tps)
    while not stop():
        behind, left = lag(consumer, tps, ends, eof)
        if on_lag is not None:
            on_lag(left)
        if not behind:
            return ends
        first = consumer.poll(0.2)
        if first is None:
            continue
        messages: list[Any] = [first, *consumer.consume(5000, 0)]
        rows: list[Row] = [
            (m.topic(), m.partition(), m.offset(), m.key(), m.value())
            for m in messages
            if m.error() is None
        ]
        if len(rows) < len(messages):  # end-of-partition events (and errors)
            for m in messages:
                err = m.error()
                if err is None:
                    continue
                if err.code() == KafkaError._PARTITION_EOF:
                    eof[(m.topic(), m.partition())] = m.offset()
                elif err.fatal():
                    raise RuntimeError(err.str())
        if rows:
            on_rows(rows)
    return ends


def records_per_topic(
    start: Mapping[tuple[str, int], int], ends: Mapping[tuple[str, int], int]
) -> dict[str, int]:
    """Records per topic from ``start`` (a partition not in it: from offset 0, an
    estimate from above) to ``ends``."""
    counts: dict[str, int] = {}
    for (topic, partition), end in ends.items():
        counts[topic] = counts.get(topic, 0) + max(0, end - start.get((topic, partition), 0))
    return counts


def lag(
    consumer: Consumer,
    tps: list[TopicPartition],
    ends: dict[tuple[str, int], int],
    eof: dict[tuple[str, int], int],
) -> tuple[bool, int]:
    """Whether any partition is short of its end (its end-of-partition event not seen
    yet counts), and about how many records are left (from offset 0 where none was
    fetched yet)."""
    behind, left = False, 0
    for tp in consumer.position(tps):
        key = (tp.topic, tp.partition)
        at, end = max(tp.offset, eof.get(key, -1)), ends.get(key, -1)
        if at < end:
            behind, left = True, left + end - max(at, 0)
    return behind, left
