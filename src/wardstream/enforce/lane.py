"""The adults' lane: a batch's adult events decided and routed in one native call.

Most events of a stream are adults'; their decision depends only on the subject's
profile and the policy, never on consents, fields or holds (``policy.decide``,
steps 1-4). The Python policy compiles that into one table entry per subject:
:func:`~wardstream.policy.decide.adult_pass_from` says from which event time on
``decide`` passes the subject's events as an adult's, and with which decision. The
native side (``wardstream._native.AdultLane``) only evaluates the table: for a batch
of schemaless Avro values it validates every record completely, finds subject and
event time, and says which records pass; for those the engine produces the original
bytes with the decision's headers, and the lane accounts for them in bulk (the audit
SUMMARY counters, the compensation pass log, metrics). Everything else (children,
unknown ages, undecodable bytes, subjects not in the table) takes the Python path,
unchanged.

Entries are learnt from the Python path's own adult decisions and dropped whenever
the subject's state changes (a state listener) or the policy object is replaced (a
stop marker): a table entry is never older than the state it was compiled from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import wardstream._native as _native
from wardstream.domain.decision import Decision
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.subject import SubjectProfile
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.hooks import RouteObserver
from wardstream.enforce.records import Headers, forwarded_headers
from wardstream.enforce.schema_wait import SchemaWait
from wardstream.enforce.sink import ward_headers
from wardstream.enforce.state import StateStore
from wardstream.policy.age import NEVER
from wardstream.policy.context import PolicyContext
from wardstream.policy.decide import adult_pass_from
from wardstream.serde import AvroCodec, AvroSchema, Codec, UnsupportedFormat
from wardstream.serde.lazy import EPOCH, SUBJECT_FROM_KEY
from wardstream.serde.native import NativeLocator

MAX_CODES = 255
I64_MIN = -(2**63)
MICROSECOND = timedelta(microseconds=1)


class Host(Protocol):
    """What the lane reads of its pipeline processor."""

    pipeline: Pipeline
    policy: PolicyContext  # replaced, not mutated, when it changes
    schema: AvroSchema
    auditor: Auditor
    observers: list[RouteObserver]
    schema_wait: SchemaWait
    state: StateStore

    @property
    def codec(self) -> Codec: ...


@dataclass(frozen=True, slots=True)
class Screened:
    """A batch screened: ``codes[i]`` is non-zero for a record in the lane, and
    ``by_reason`` counts them by the reason of their decision (for metrics)."""

    codes: bytes
    by_reason: dict[str, int]


class AdultLane:
    """The lane of one pipeline processor; see the module doc."""

    def __init__(self, processor: Host, locator: NativeLocator) -> None:
        self.p, self.locator = processor, locator
        self.sink = processor.pipeline.sink
        self.table = _native.AdultLane()
        self.policy = processor.policy
        self.decisions: list[Decision] = []  # code - 1 -> the decision
        self.ward: list[Headers] = []  # code - 1 -> its ward-* headers
        self._codes: dict[Decision, int] = {}
        processor.state.listeners.append(self.forget)

    @classmethod
    def of(cls, processor: Host) -> AdultLane | None:
        """The lane for ``processor``, or None where the native path cannot read its
        events as the Python path does: JSON, Confluent framing, a reader schema, a
        subject taken from the key (such adults are never decoded at all)."""
        codec, pipeline = processor.codec, processor.pipeline
        if type(codec) is not AvroCodec or codec.reader is not None:
            return None
        if pipeline.subject == SUBJECT_FROM_KEY:
            return None
        try:
            locator = NativeLocator(
                processor.schema, pipeline.subject, pipeline.event_time, canonical=codec.canonical
            )
        except UnsupportedFormat:
            return None
        return cls(processor, locator)

    # -- the table ------------------------------------------------------------------
    def learn(self, subject_id: str, profile: SubjectProfile | None) -> None:
        """Compile ``profile`` into the table (after the Python path passed an adult)."""
        self._current()
        found = adult_pass_from(profile, self.p.pipeline, self.policy)
        if found is None:
            return
        since, decision = found
        code = self._codes.get(decision)
        if code is None:
            if len(self.decisions) >= MAX_CODES:
                return
            self.decisions.append(decision)
            self.ward.append(ward_headers(decision))
            code = self._codes[decision] = len(self.decisions)
        self.table.set(subject_id, _micros(since), code)

    def forget(self, subject_id: str) -> None:
        """A state listener: the subject's profile or consents changed."""
        self.table.discard(subject_id)

    def _current(self) -> None:
        if self.p.policy is not self.policy:  # e.g. a stop marker replaced it
            self.table.clear()
            self.policy = self.p.policy

    def __len__(self) -> int:
        return len(self.table)

    # -- a batch --------------------------------------------------------------------
    def screen(
        self,
        values: Sequence[bytes | None],
        timestamps: Sequence[int | None],
        partitions: Sequence[int],
        arrival: float,
    ) -> Screened | None:
        """Which records of a batch pass as adults' (None: none, take the Python path),
        with their audit counts and pass-log spans recorded (``Enforcer.screen`` records
        the metrics). The caller must then send each one's value unchanged to the sink,
        with :meth:`headers`."""
        self._current()
        if not len(self.table) or self.p.schema_wait.queues:
            return None  # nothing compiled yet, or partitions wait behind the registry
        codes, counts, spans = self.locator.screen(values, timestamps, partitions, self.table)
        if not counts:
            return None
        name, auditor = self.p.pipeline.name, self.p.auditor
        by_reason: dict[str, int] = {}
        for partition, code, n in counts:
            decision = self.decisions[code - 1]
            auditor.count_adult(f"{name}/{partition}", name, decision.rule, n)
            reason = decision.reason.value
            by_reason[reason] = by_reason.get(reason, 0) + n
        for observer in self.p.observers:
            observer.adults_passed(name, spans, arrival)
        return Screened(codes, by_reason)

    def headers(self, code: int, original: Headers | None) -> list[tuple[str, bytes | None]]:
        """The sink record's headers for a record of ``code`` (``original``: the
        source record's)."""
        ward = self.ward[code - 1]
        return list(forwarded_headers(original, ward) if original else ward)


def _micros(when: datetime) -> int:
    return I64_MIN if when == NEVER else (when - EPOCH) // MICROSECOND
