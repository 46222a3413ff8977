"""The dead-letter branch: an event that cannot be processed is kept, never lost.

An undecodable event, or one without a subject id, goes to the dead-letter
topic as a ``DeadLetter`` record (the original key, value and headers sealed:
``enforce.letters``; the error that says what was wrong and how to fix it, the
pipeline and the origin in the clear), with no record key and no headers, and is
audited DEADLETTERED on its pipeline partition's chain. Nothing of it reaches a sink.
"""

from __future__ import annotations

from datetime import datetime

from wardstream.domain.enums import AuditAction
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.reasons import ReasonCode
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.datakeys import KeyRing
from wardstream.enforce.letters import LetterSealer
from wardstream.enforce.records import DEADLETTER, InRecord, Outcome, OutRecord
from wardstream.policy.context import PolicyContext
from wardstream.policy.decide import deadletter
from wardstream.serde import (
    AvroCodec,
    DecodeError,
    MissingSubject,
    record_schema,
)


class NoValue(DecodeError):
    code = "NO_VALUE"
    problem = "the record has no value (a tombstone)"
    fix = "send events with a value; tombstones do not belong on a source topic"


class DeadLetters:
    def __init__(self, topic: str, auditor: Auditor, ring: KeyRing | None = None) -> None:
        self.topic, self.auditor = topic, auditor
        self.sealer = LetterSealer(ring)
        self._codec = AvroCodec(record_schema("DeadLetter"))

    def send(
        self,
        rec: InRecord,
        exc: DecodeError,
        pipeline: Pipeline,
        policy: PolicyContext,
        at: datetime,
    ) -> Outcome:
        datum = self.sealer.record(
            exc,
            key=rec.key,
            value=rec.value,
            headers=rec.headers,
            timestamp_ms=rec.timestamp_ms,
            pipeline=pipeline.name,
            at=at,
        )
        decision = deadletter(_reason(exc), pipeline, policy)
        audit = self.auditor.write(
            f"{pipeline.name}/{rec.partition}",
            pipeline.name,
            AuditAction.DEADLETTERED,
            rule=decision.rule,
            reason=decision.reason.value,
            event_ref=rec.ref,
        )
        out = OutRecord(self.topic, None, self._codec.encode(datum))
        return Outcome(rec, DEADLETTER, [out, audit])


def _reason(exc: DecodeError) -> ReasonCode:
    return ReasonCode.NO_SUBJECT_ID if isinstance(exc, MissingSubject) else ReasonCode.DECODE_ERROR
