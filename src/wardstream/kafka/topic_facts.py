"""What a state snapshot is checked against: partitions, their earliest and latest offsets,
delete.retention.ms.

Read once at start-up, with librdkafka (both engines), before the state is
read. Anything that cannot be read is left out, and the snapshot rules treat
a missing fact as a reason to read from the beginning (fail closed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from wardstream.kafka.tail import partitions_of

log = logging.getLogger(__name__)
TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class TopicFacts:
    partitions: dict[str, list[int]] = field(default_factory=dict)
    earliest: dict[tuple[str, int], int] = field(default_factory=dict)
    latest: dict[tuple[str, int], int] = field(default_factory=dict)
    delete_retention_ms: dict[str, int] = field(default_factory=dict)


def topic_facts(
    consumer_config: Mapping[str, Any], admin_config: Mapping[str, Any], topics: tuple[str, ...]
) -> TopicFacts:
    facts = TopicFacts()
    consumer = Consumer(dict(consumer_config))
    try:
        for topic in topics:
            tps = partitions_of(consumer, topic)
            facts.partitions[topic] = [tp.partition for tp in tps]
            for tp in tps:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, tp.partition), timeout=TIMEOUT_S, cached=False
                )
                facts.earliest[(topic, tp.partition)] = low
                facts.latest[(topic, tp.partition)] = high
    finally:
        consumer.close()
    facts.delete_retention_ms.update(_delete_retention(admin_config, topics))
    return facts


def _delete_retention(config: Mapping[str, Any], topics: tuple[str, ...]) -> dict[str, int]:
    admin = AdminClient(dict(config))
    found: dict[str, int] = {}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, t) for t in topics]
    for resource, future in admin.describe_configs(resources).items():
        try:
            entry = future.result(timeout=TIMEOUT_S).get("delete.retention.ms")
        except (KafkaException, TimeoutError) as exc:
            log.warning("cannot read delete.retention.ms of %s: %s", resource.name, exc)
            continue
        if entry is not None and entry.value is not None:
            found[resource.name] = int(entry.value)
    return found
