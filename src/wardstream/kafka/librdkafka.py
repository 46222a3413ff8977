"""librdkafka client configuration of the fast engine (confluent-kafka).

Its tuning is ``Settings.fast`` (``wardstream.config.fast.FastEngineSettings``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wardstream.config.fast import FastEngineSettings
from wardstream.config.settings import KafkaSettings, Settings
from wardstream.kafka.security import librdkafka_options

DeliveryCallback = Callable[[Any, Any], None]


def fast_settings(settings: Settings) -> FastEngineSettings:
    """The fast engine's tuning (``settings.fast``)."""
    return settings.fast


KEY_PARTITIONER = {"partitioner": "murmur2_random"}
"""librdkafka's default (``consistent_random``, CRC32) sends a key to another partition
than Java, aiokafka (the Faust engine) and kafka-python (the CLI) do. On the compacted
state and keys topics a key must always land in one partition, whoever writes it: a
tombstone or a newer profile in another partition than the record it replaces destroys
or replaces nothing."""


def common_config(kafka: KafkaSettings) -> dict[str, Any]:
    """librdkafka connection and security properties."""
    return librdkafka_options(kafka)


def consumer_config(settings: Settings, fast: FastEngineSettings) -> dict[str, Any]:
    """The group consumer of the pipeline sources (offsets committed by the engine only)."""
    return {
        **common_config(settings.kafka),
        "group.id": settings.worker.app_id,
        **static_member(settings),
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "fetch.wait.max.ms": fast.fetch_wait_ms,
        "fetch.queue.backoff.ms": fast.fetch_queue_backoff_ms,
        **fast.consumer_overrides,
    }


def static_member(settings: Settings) -> dict[str, Any]:
    """``group.instance.id`` (KIP-345) when static membership is on: the worker's name."""
    w = settings.worker
    return {"group.instance.id": w.name} if w.static_membership else {}


def state_consumer_config(settings: Settings, fast: FastEngineSettings) -> dict[str, Any]:
    """A consumer that is assigned partitions and never joins or commits to its group."""
    return {
        "fetch.wait.max.ms": fast.fetch_wait_ms,
        "fetch.queue.backoff.ms": fast.fetch_queue_backoff_ms,
        **common_config(settings.kafka),
        "group.id": f"{settings.worker.app_id}.state.unused",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
    }


def transactional_id(settings: Settings) -> str:
    """One per worker: ``app_id`` plus ``worker.name``, which must be unique per instance."""
    return f"{settings.worker.app_id}.{settings.worker.name}"


def producer_config(
    settings: Settings, fast: FastEngineSettings, on_error: DeliveryCallback
) -> dict[str, Any]:
    """Idempotent, acks=all; transactional under exactly_once."""
    config: dict[str, Any] = {
        **common_config(settings.kafka),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": fast.linger_ms,
        "batch.num.messages": fast.producer_batch_messages,
        "compression.type": fast.compression,
        "queue.buffering.max.messages": fast.queue_max_messages,
        "queue.buffering.max.kbytes": 1_048_576,
        "retry.backoff.ms": 10,
        "delivery.report.only.error": True,
        "on_delivery": on_error,
        **KEY_PARTITIONER,
    }
    if settings.worker.processing_guarantee == "exactly_once":
        config["transactional.id"] = transactional_id(settings)
        config["transaction.timeout.ms"] = int(fast.transaction_timeout_s * 1000)
    config.update(fast.producer_overrides)
    return config
