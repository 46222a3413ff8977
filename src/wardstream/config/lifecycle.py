"""Lifecycle settings: the topics, sweeps and keys of deletions, holds, breach scans and shredding.

The ``lifecycle:`` section of ``wardstream.yaml`` (``Settings.lifecycle``),
overridable like every setting: ``WARDSTREAM__LIFECYCLE__SWEEP_EVERY_S=5``.
Topic names left empty are derived from ``topics.subjects`` by replacing its
last dotted part: ``ward.subjects`` -> ``ward.seen``, ``ward.control``,
``ward.holds``, ``ward.keys``. All four are compacted operational state.
``ward.keys`` holds each subject's data keys wrapped by ``master_key`` (or by the
sink key, for ``encrypt: true`` sink fields), keyed by the subject ref: with
``encrypt_quarantine`` on (the default) a worker without a master key does not
start. The ``keys_*`` settings bound how long a destroyed (tombstoned) data key
stays readable in the keys topic's log (``lifecycle.shredding.ShredBound``); the
worker creates the topic with them and refuses an existing one that exceeds them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class MonitoredTopic(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str = Field(description="An egress topic to scan (read only, never written).")
    like: str = Field(description="Pipeline whose format, schema and subject path it carries.")


class LifecycleSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seen_topic: str = Field(default="", description="Who was seen in which pipeline, and when.")
    control_topic: str = Field(default="", description="Service-stop markers (compacted).")
    holds_topic: str = Field(default="", description="Legal holds and deferred deletions.")
    keys_topic: str = Field(default="", description="Wrapped per-subject data keys.")
    sweep_every_s: float = Field(default=1.0, gt=0, description="Seconds between sweeps.")
    retention_grid_s: float = Field(
        default=3600.0,
        gt=0,
        description="Retention cut-offs are rounded down to this grid, so replays match.",
    )
    compensation_horizon_s: float = Field(
        default=3600.0,
        gt=0,
        description=(
            "How long a worker remembers what it passed, per subject and pipeline, so a late "
            "consent or profile record can delete exactly those events (COLLECTED_WITHOUT_CONSENT)."
        ),
    )
    clock_offset_s: float = Field(
        default=0.0, description="Added to the wall clock of sweeps (tests move time forward)."
    )
    monitored_topics: tuple[MonitoredTopic, ...] = Field(
        default=(), description="Egress topics scanned for breaches (R13)."
    )
    encrypt_quarantine: bool = Field(
        default=True,
        description=(
            "Seal quarantined payloads with per-subject data keys (AES-256-GCM) so deleting a "
            "subject crypto-shreds them. On: the worker will not start without a master key."
        ),
    )
    master_key: SecretStr | None = Field(
        default=None,
        description=(
            "Key-wrapping key, 32 random bytes as hex or base64 (`openssl rand -hex 32`); "
            "prefer WARDSTREAM__LIFECYCLE__MASTER_KEY or master_key_file."
        ),
    )
    master_key_file: Path | None = Field(default=None, description="File holding master_key.")
    retired_master_key: SecretStr | None = Field(
        default=None,
        description=(
            "During a master key rotation only: the previous master key, which still unwraps "
            "(never wraps) until `wardstream keys rotate` re-wrapped every data key."
        ),
    )
    retired_master_key_file: Path | None = Field(
        default=None, description="File holding retired_master_key."
    )
    sink_key: SecretStr | None = Field(
        default=None,
        description=(
            "Wraps the data keys of encrypt: true sink fields: what downstream holders get "
            "(never the master key). 32 random bytes, hex or base64. Unset: derived from the "
            "master key (HKDF, label sink-key/v1; `wardstream keys sink-key` writes it out)."
        ),
    )
    sink_key_file: Path | None = Field(default=None, description="File holding sink_key.")
    keys_segment_ms: int = Field(
        default=3_600_000,
        gt=0,
        description="segment.ms of the keys topic: the active segment, never compacted, rolls.",
    )
    keys_max_compaction_lag_ms: int = Field(
        default=3_600_000,
        gt=0,
        description=(
            "max.compaction.lag.ms of the keys topic: a tombstoned key is compacted by then."
        ),
    )
    keys_delete_retention_ms: int = Field(
        default=86_400_000,
        gt=0,
        description=(
            "delete.retention.ms of the keys topic: how long tombstones stay, so a restarted "
            "worker still learns which keys were destroyed."
        ),
    )
    keys_file_delete_delay_ms: int = Field(
        default=60_000,
        ge=0,
        description="file.delete.delay.ms of the keys topic: a compacted segment's old file goes.",
    )
    keys_min_cleanable_dirty_ratio: float = Field(
        default=0.1, gt=0, le=1, description="min.cleanable.dirty.ratio of the keys topic."
    )
    shred_grace_s: float = Field(
        default=300.0,
        ge=0,
        description=(
            "A data key of a deleted subject created up to this long after the deletion was "
            "issued (by a worker that had not read it yet) is destroyed too."
        ),
    )
    deadletter_retention_ms: int = Field(
        default=7 * 24 * 3600 * 1000,
        gt=0,
        description=(
            "retention.ms the dead-letter topic is created with (default 7 days): sealed "
            "dead letters leave the log after it. An existing topic is not altered."
        ),
    )
