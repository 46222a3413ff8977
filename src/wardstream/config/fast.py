"""Settings of the fast engine (`wardstream worker --engine fast`): ``Settings.fast``.

Overridable like every setting: ``WARDSTREAM__FAST__COMMIT_INTERVAL_S=0.05``.
The librdkafka client configuration built from them is in
``wardstream.kafka.librdkafka``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FastEngineSettings(BaseModel):
    """Tuning of `wardstream worker --engine fast`; the defaults suit most deployments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consume_batch: int = Field(
        default=2000,
        ge=1,
        le=100_000,
        description="Most records taken from the consumer per batch.",
    )
    poll_timeout_s: float = Field(
        default=0.02, gt=0, le=1, description="Longest wait for the first record of a batch."
    )
    commit_interval_s: float = Field(
        default=0.1,
        gt=0,
        le=60,
        description="Seconds between commits: transactions under exactly_once (outputs become "
        "visible to read_committed readers at each commit), offset commits under at_least_once.",
    )
    idle_commit_s: float = Field(
        default=0.02,
        ge=0,
        le=60,
        description="Under exactly_once, an engine that has caught up with its sources commits "
        "once this long has passed since the last commit, instead of waiting for "
        "commit_interval_s: read_committed readers see outputs sooner when there is room.",
    )
    tick_interval_s: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="Seconds between enforcer ticks (held events, releases).",
    )
    state_poll_interval_s: float = Field(
        default=0.05, gt=0, le=5, description="Pause between catch-up rounds of the state reader."
    )
    fetch_wait_ms: int = Field(
        default=10,
        ge=0,
        le=5000,
        description="Consumers' fetch.wait.max.ms. librdkafka's 500 ms default let a record "
        "wait up to half a second at the broker on an idle topic (measured on the state "
        "topics), which delays both decisions and the consent-consistent hold.",
    )
    fetch_queue_backoff_ms: int = Field(
        default=10,
        ge=0,
        le=300_000,
        description="Consumers' fetch.queue.backoff.ms. librdkafka's 1000 ms default makes "
        "its fetcher pause whenever its queue thresholds are reached, which capped every "
        "consume->produce loop near 165,000 events/s at a third of a core (bulletin, "
        "2026-12-07); 10 ms lets a busy worker use its core.",
    )
    linger_ms: float = Field(default=5, ge=0, le=1000, description="Producer linger.ms.")
    producer_batch_messages: int = Field(
        default=10_000,
        ge=1,
        description="Producer batch.num.messages (records per produce request).",
    )
    compression: Literal["none", "lz4", "zstd", "snappy", "gzip"] = Field(
        default="none", description="Compression of the records the engine produces."
    )
    queue_max_messages: int = Field(
        default=1_000_000, ge=1000, description="Producer queue.buffering.max.messages."
    )
    transaction_timeout_s: float = Field(
        default=60,
        gt=0,
        description="transaction.timeout.ms of the transactional producer (seconds).",
    )
    max_commit_metadata_bytes: int = Field(
        default=4000,
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
