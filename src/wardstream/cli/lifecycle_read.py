"""Read-backs for the lifecycle commands: children seen, deletions issued, current holds."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kafka import KafkaConsumer, TopicPartition

from wardstream.domain.holds import LegalHold
from wardstream.kafka.audit_log import reader_config

if TYPE_CHECKING:
    from wardstream.lifecycle.records import LifecycleRecords


def _consumer(config: Mapping[str, Any], topic: str) -> tuple[KafkaConsumer, list[TopicPartition]]:
    consumer = KafkaConsumer(**reader_config(config))  # committed records only
    parts = consumer.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    return consumer, tps


def read_all(config: Mapping[str, Any], topic: str) -> dict[bytes, bytes | None]:
    """The latest value per key of a compacted topic, up to its current end."""
    consumer, tps = _consumer(config, topic)
    latest: dict[bytes, bytes | None] = {}
    try:
        ends = consumer.end_offsets(tps) if tps else {}
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for messages in consumer.poll(timeout_ms=500, max_records=10000).values():
                for m in messages:
                    if m.key is not None:
                        latest[m.key] = m.value
        return latest
    finally:
        consumer.close()


def children_seen(config: Mapping[str, Any], topic: str, pipeline: str | None) -> int:
    """Subjects with a seen mark (keys ``<subject ref>|<pipeline>``: nothing is unsealed)."""
    from wardstream.lifecycle.records import parse_seen_key

    subjects = set()
    for key, value in read_all(config, topic).items():
        ref, name = parse_seen_key(key)
        if value is not None and pipeline in (None, name):
            subjects.add(ref)
    return len(subjects)


def stop_deletions(
    config: Mapping[str, Any], topic: str, stopped_at: datetime, deadline: float
) -> Iterator[int]:
    """Yield the running count of SERVICE_STOPPED deletions issued for this stop."""
    from wardstream.serde import AvroCodec, Origin, record_schema

    codec = AvroCodec(record_schema("DeletionRequest"))
    consumer, _ = _consumer(config, topic)
    ids: set[str] = set()
    try:
        while time.monotonic() < deadline:
            for tp, messages in consumer.poll(timeout_ms=300, max_records=10000).items():
                for m in messages:
                    d = codec.decode(m.value, origin=Origin(tp.topic, tp.partition, m.offset))
                    if d["reason"] == "SERVICE_STOPPED" and d["issued_at"] == stopped_at:
                        ids.add(d["deletion_id"])
            yield len(ids)
    finally:
        consumer.close()


def current_hold(
    config: Mapping[str, Any], topic: str, subject: str, records: LifecycleRecords
) -> LegalHold | None:
    """The subject's hold: keyed by its ref (or, not yet migrated, by its raw id)."""
    held = read_all(config, topic)
    for key in (records.hold_key(subject), f"hold|{subject}".encode()):
        value = held.get(key)
        if value is not None:
            record = records.read_holds(key, value)[2]
            return record if isinstance(record, LegalHold) else None
    return None
