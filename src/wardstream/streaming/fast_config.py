"""Settings and librdkafka client configuration of the fast engine (confluent-kafka).

``FastEngineSettings`` is meant to become ``Settings.fast``; until it is there,
``fast_settings`` reads it from ``WARDSTREAM__FAST__*`` environment variables
(``WARDSTREAM__FAST__COMMIT_INTERVAL_S=0.05``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wardstream.config.settings import KafkaSettings, Settings
from wardstream.kafka.security import librdkafka_options

ENV_PREFIX = "WARDSTREAM__FAST__"
DeliveryCallback = Callable[[Any, Any], None]


class FastEngineSettings(BaseModel):
    """Tuning of `wardstream worker --engine fast`; the defaults suit most deployments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consume_batch: int = Field(
        2000, ge=1, le=100_000, description="Most records taken from the consumer per batch."
    )
    poll_timeout_s: float = Field(
        0.02, gt=0, le=1, description="Longest wait for the first record of a batch."
    )
    commit_interval_s: float = Field(
        0.1,
        gt=0,
        le=60,
        description="Seconds between commits: transactions under exactly_once (outputs become "
        "visible to read_committed readers at each commit), offset commits under at_least_once.",
    )
    idle_commit_s: float = Field(
        0.02,
        ge=0,
        le=60,
        description="Under exactly_once, an engine that has caught up with its sources commits "
        "once this long has passed since the last commit, instead of waiting for "
        "commit_interval_s: read_committed readers see outputs sooner when there is room.",
    )
    tick_interval_s: float = Field(
        0.1, gt=0, le=1, description="Seconds between enforcer ticks (held events, releases)."
    )
    state_poll_interval_s: float = Field(
        0.05, gt=0, le=5, description="Pause between catch-up rounds of the state reader."
    )
    fetch_wait_ms: int = Field(
        10,
        ge=0,
        le=5000,
        description="Consumers' fetch.wait.max.ms. librdkafka's 500 ms default let a record "
        "wait up to half a second at the broker on an idle topic (measured on the state "
        "topics), which delays both decisions and the consent-consistent hold.",
    )
    linger_ms: float = Field(5, ge=0, le=1000, description="Producer linger.ms.")
    producer_batch_messages: int = Field(
        10_000, ge=1, description="Producer batch.num.messages (records per produce request)."
    )
    compression: Literal["none", "lz4", "zstd", "snappy", "gzip"] = Field(
        "none", description="Compression of the records the engine produces."
    )
    queue_max_messages: int = Field(
        1_000_000, ge=1000, description="Producer queue.buffering.max.messages."
    )
    transaction_timeout_s: float = Field(
        60, gt=0, description="transaction.timeout.ms of the transactional producer (seconds)."
    )
    max_commit_metadata_bytes: int = Field(
        4000,
        ge=0,
        le=1_000_000,
        description="Largest offset-commit metadata written (the broker's "
        "offset.metadata.max.bytes, 4096 by default); a partition whose list of decided "
        "records past a held one would not fit is paused until its held events are decided.",
    )
    consumer_overrides: dict[str, str] = Field(
        default_factory=dict, description="Extra librdkafka consumer properties."
    )
    producer_overrides: dict[str, str] = Field(
        default_factory=dict, description="Extra librdkafka producer properties."
    )


def fast_settings(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> FastEngineSettings:
    """``settings.fast`` when Settings has it, else the ``WARDSTREAM__FAST__*`` variables."""
    found = getattr(settings, "fast", None)
    if isinstance(found, FastEngineSettings):
        return found
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    for name, value in env.items():
        if name.upper().startswith(ENV_PREFIX):
            key = name[len(ENV_PREFIX) :].lower()
            data[key] = json.loads(value) if value.lstrip().startswith("{") else value
    return FastEngineSettings.model_validate(data)


def common_config(kafka: KafkaSettings) -> dict[str, Any]:
    """librdkafka connection and security properties."""
    return librdkafka_options(kafka)


def consumer_config(settings: Settings, fast: FastEngineSettings) -> dict[str, Any]:
    """The group consumer of the pipeline sources (offsets committed by the engine only)."""
    return {
        **common_config(settings.kafka),
        "group.id": settings.worker.app_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "fetch.wait.max.ms": fast.fetch_wait_ms,
        **fast.consumer_overrides,
    }


def state_consumer_config(settings: Settings, fast: FastEngineSettings) -> dict[str, Any]:
    """A consumer that is assigned partitions and never joins or commits to its group."""
    return {
        "fetch.wait.max.ms": fast.fetch_wait_ms,
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
    }
    if settings.worker.processing_guarantee == "exactly_once":
        config["transactional.id"] = transactional_id(settings)
        config["transaction.timeout.ms"] = int(fast.transaction_timeout_s * 1000)
    config.update(fast.producer_overrides)
    return config
