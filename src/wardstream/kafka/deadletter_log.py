"""The dead-letter topic read for staff: letters listed without payloads, one opened.

``read_letters`` decodes every ``DeadLetter`` record; payload fields (sealed key,
value, headers) are kept only for the one origin asked for, so a listing never
holds them. ``enforce.letters.LetterSealer.open`` opens that one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wardstream.kafka.audit_log import scan_topic
from wardstream.serde import AvroCodec, DecodeError, Origin, record_schema


@dataclass(frozen=True, slots=True)
class Letter:
    """One dead letter: what an operator needs to triage it, and where it came from."""

    position: str  # where the letter sits on the dead-letter topic
    origin: str  # topic/partition/offset of the record that could not be processed
    pipeline: str | None
    error_type: str
    error_code: str | None
    error_message: str
    dead_lettered_at: datetime | None
    sealed_with: str | None  # key id; None: stored in the clear
    datum: Mapping[str, Any] | None = None  # the whole record: only for the one asked for


def read_letters(
    config: Mapping[str, Any], topic: str, *, with_payload_of: str | None = None
) -> tuple[list[Letter], int]:
    """Letters in topic order, and how many records did not decode."""
    codec = AvroCodec(record_schema("DeadLetter"))
    letters: list[Letter] = []
    unreadable = 0
    for message in scan_topic(config, topic, "deadletter"):
        if message.value is None:
            continue
        position = f"{message.topic}/{message.partition}/{message.offset}"
        try:
            d = codec.decode(message.value, origin=Origin(topic, message.partition, message.offset))
        except DecodeError:
            unreadable += 1
            continue
        origin = f"{d['origin_topic']}/{d['origin_partition']}/{d['origin_offset']}"
        letters.append(
            Letter(
                position,
                origin,
                d.get("pipeline"),
                d["error_type"],
                d.get("error_code"),
                d["error_message"],
                d.get("dead_lettered_at"),
                (d.get("encryption") or {}).get("key_id"),
                d if origin == with_payload_of else None,
            )
        )
    return letters, unreadable
