"""Quarantine release and expiry for one pipeline's processor.

``revisit`` re-decides a subject's quarantined events when its state changes
and releases to the sink those a consent now covers (audited RELEASED, the
route observers told); ``expire`` closes the entries whose window ran out, or
whose data key was destroyed (audited EXPIRED). Both act only on the source
partitions this worker owns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from wardstream.crypto import KeyUnavailable, SealBroken
from wardstream.domain.decision import Decision
from wardstream.domain.enums import Action, AuditAction
from wardstream.domain.pipeline import Pipeline
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.datakeys import KEY_DESTROYED, KeyDestroyed
from wardstream.enforce.hooks import Routed, RouteObserver
from wardstream.enforce.quarantine import EXPIRED, RELEASED, Entry, QuarantineBook
from wardstream.enforce.records import SINK, InRecord, OutRecord
from wardstream.enforce.sink import SinkWriter
from wardstream.serde import DecodeError, Origin, RedactionImpossible, RegistryError
from wardstream.serde.lazy import Envelope


class _Processor(Protocol):
    """What releases use of ``PipelineProcessor`` (a protocol keeps the import one-way)."""

    pipeline: Pipeline
    book: QuarantineBook
    auditor: Auditor
    observers: list[RouteObserver]
    wall: Callable[[], float]
    sink: SinkWriter

    def _decode(self, rec: InRecord, origin: Origin) -> dict[str, Any]: ...
    def _decide(
        self, value: dict[str, Any] | None, env: Envelope, consent_at: datetime | None
    ) -> Decision: ...
    def _audit(
        self,
        chain: str,
        env: Envelope,
        decision: Decision,
        rec: InRecord,
        action: AuditAction | None = None,
    ) -> OutRecord: ...


class Releases:
    def __init__(self, processor: _Processor) -> None:
        self.p = processor

    def revisit(self, subject_id: str, owns: Callable[[int], bool]) -> list[OutRecord]:
        """Release this subject's quarantined events that a consent now covers."""
        outputs: list[OutRecord] = []
        now = datetime.fromtimestamp(self.p.wall(), UTC)
        for entry in self.p.book.for_subject(subject_id):
            if entry.pipeline != self.p.pipeline.name or not owns(entry.record.partition):
                continue
            outputs.extend(self._try_release(entry, now))
        return outputs

    def _try_release(self, entry: Entry, now: datetime) -> list[OutRecord]:
        try:
            entry = self.p.book.open(entry)
        except KeyDestroyed:
            return self._close(entry, KEY_DESTROYED, now)
        except (KeyUnavailable, SealBroken):
            return []  # key not read yet, or another master key: keep it held
        rec = entry.record
        origin = Origin(rec.topic, rec.partition, rec.offset)
        env = Envelope(entry.subject_id, entry.event_time or now)
        try:
            value = self.p._decode(rec, origin)
            outcome = self._preview(rec, value, env, now)
        except DecodeError:
            return []  # it decoded when it was quarantined; schema drift keeps it held
        except RegistryError:
            return []  # the schema registry cannot answer now: it stays held, asked again later
        if outcome is None:
            return []
        decision, out = outcome
        chain = f"{self.p.pipeline.name}/{rec.partition}"
        audit = self.p._audit(chain, env, decision, rec, AuditAction.RELEASED)
        routed = Routed(
            self.p.pipeline.name,
            env.subject_id,
            env.event_time,
            SINK,
            decision,
            self.p.wall(),
            True,
        )
        for observer in self.p.observers:
            out.extend(observer.routed(routed))
        return [*out, audit, self.p.book.close(entry, RELEASED, now)]

    def _preview(
        self, rec: InRecord, value: dict[str, Any], env: Envelope, now: datetime
    ) -> tuple[Decision, list[OutRecord]] | None:
        decision, sink, sid = self.p._decide(value, env, now), self.p.sink, env.subject_id
        if decision.action is Action.PASS:
            return decision, sink.record(rec, decision, sink.passed(rec, value, decision, sid))
        if decision.action is Action.REDACT:
            try:
                return decision, sink.record(rec, decision, sink.redacted(value, decision, sid))
            except RedactionImpossible:
                return None
        return None

    def expire(self, owns: Callable[[int], bool]) -> list[OutRecord]:
        now = datetime.fromtimestamp(self.p.wall(), UTC)
        outputs: list[OutRecord] = []
        for entry in self.p.book.closing(now):
            if entry.pipeline != self.p.pipeline.name or not owns(entry.record.partition):
                continue
            if self.p.book.is_shredded(entry):
                outputs.extend(self._close(entry, KEY_DESTROYED, now))
            elif entry.expires_at <= now:
                outputs.extend(self._close(entry, entry.reason, now))
        return outputs

    def _close(self, entry: Entry, reason: str, now: datetime) -> list[OutRecord]:
        """Audit EXPIRED (window over, or KEY_DESTROYED: unreadable) and close the entry."""
        audit = self.p.auditor.write(
            f"{self.p.pipeline.name}/{entry.record.partition}",
            self.p.pipeline.name,
            AuditAction.EXPIRED,
            subject_ref=entry.subject_ref,
            reason=reason,
            event_ref=entry.record.ref,
        )
        return [audit, self.p.book.close(entry, EXPIRED, now)]
