"""Settings of the state the worker keeps: ``Settings.state`` (the encrypted snapshot).

``WARDSTREAM__STATE__SNAPSHOT_DIR=/var/lib/wardstream/state`` turns the
snapshot on; ``snapshot_interval`` takes ``30d``-style text or seconds.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wardstream.domain.durations import parse_duration


class StateSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    snapshot_dir: Path | None = Field(
        default=None,
        description="Directory of the encrypted state snapshot (one file, mode 0600; give each "
        "worker its own). Unset: no snapshot, every start reads the state topics from the "
        "beginning. It needs lifecycle.master_key: the snapshot is sealed with AES-256-GCM "
        "under a key derived from it.",
    )
    snapshot_interval: timedelta = Field(
        default=timedelta(minutes=5),
        description="How often the snapshot is written (and at a clean stop); a deleted "
        "subject leaves the disk within one interval. '5m', '30s' or seconds.",
    )

    @field_validator("snapshot_interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) and value[-1:].isalpha() else value

    @field_validator("snapshot_interval")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("snapshot_interval must be positive, e.g. '5m'")
        return value
