"""Kafka records as the engines hand them to the processor, and what it hands back.

Plain, frozen and engine-neutral: the Faust engine and the fast engine build
``InRecord`` from their own message types and send each ``OutRecord`` as is.

``InRecord`` is a named tuple: one is made for every record that leaves the lane, and
a named tuple is made in a third of a frozen dataclass's time (276 against 902 ns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

Headers = tuple[tuple[str, bytes | None], ...]

H_AGE_BAND = "ward-age-band"
H_CONSENT = "ward-consent-id"
H_DECISION = "ward-decision"
# where an Outcome sent its record
SINK, QUARANTINE, DEADLETTER, DROPPED = "sink", "quarantine", "deadletter", "dropped"
WARD_HEADERS = frozenset({H_AGE_BAND, H_CONSENT, H_DECISION})


class InRecord(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None
    headers: Headers = ()
    arrival: float = 0.0
    """Wall-clock seconds (time.time()) when the engine received the record."""

    @property
    def ref(self) -> str:
        """``topic/partition/offset``: how audit records point at an event."""
        return f"{self.topic}/{self.partition}/{self.offset}"


@dataclass(frozen=True, slots=True)
class OutRecord:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = ()
    timestamp_ms: int | None = None


@dataclass(slots=True)
class Outcome:
    """The final fate of one input record and every record it causes."""

    record: InRecord
    destination: str
    """One of: sink, quarantine, deadletter, dropped."""
    outputs: list[OutRecord] = field(default_factory=list)
    reason: str = ""
    """The decision's reason code (``NO_GUARDIAN_CONSENT``, ``DECODE_ERROR``...), for metrics."""


def forwarded_headers(original: Headers, ward: Headers) -> Headers:
    """The original headers minus any forged ``ward-*`` ones, then wardstream's."""
    return tuple(h for h in original if h[0] not in WARD_HEADERS) + ward
