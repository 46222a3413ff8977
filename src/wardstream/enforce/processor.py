"""Decode -> decide -> route for one pipeline, with no Kafka in it.

An engine feeds ``submit`` every source record and sends the outputs of each
``Outcome`` before it acknowledges the record. Adults' events are decided at
once. A child's or unknown-age event waits until the state reader was caught
up at a wall-clock moment at or after ``min(event time, arrival) +
state_lateness`` (SPEC, "State and time"); ``poll`` hands back the events that
became decidable, and quarantines with STATE_NOT_CURRENT those that waited
``max_hold``; a subject's later event waits behind its earlier one of the partition
(``enforce.waiting``). ``releases`` re-decide quarantined events on state changes and
close expired ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from wardstream.domain.decision import Decision, EventFacts
from wardstream.domain.enums import Action, AgeBand, AuditAction
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.subject import SubjectProfile
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.deadletters import DeadLetters, NoValue
from wardstream.enforce.hinted import Hinted, sends
from wardstream.enforce.hooks import Routed, RouteObserver
from wardstream.enforce.lane import Hint, Lane
from wardstream.enforce.quarantine import Entry, QuarantineBook, quarantine_id
from wardstream.enforce.records import (
    DROPPED,
    QUARANTINE,
    SINK,
    InRecord,
    Outcome,
    OutRecord,
)
from wardstream.enforce.releases import Releases
from wardstream.enforce.schema_wait import SchemaWait
from wardstream.enforce.sink import SinkWriter
from wardstream.enforce.sink_fields import field_sealer
from wardstream.enforce.state import StateStore
from wardstream.enforce.waiting import Queue, Waiting
from wardstream.policy.age import age_band_at
from wardstream.policy.context import PolicyContext
from wardstream.policy.decide import decide, redaction_impossible, state_not_current
from wardstream.serde import (
    AvroSchema,
    Codec,
    DecodeError,
    EventLocator,
    MissingSubject,
    Origin,
    RedactionImpossible,
    RegistryError,
    presence_probe,
)
from wardstream.serde.lazy import Envelope

_BLOCKS = (Action.QUARANTINE, Action.DROP)


@dataclass(frozen=True, slots=True)
class Timing:
    state_lateness: float = 2.0
    max_hold: float = 10.0
    quarantine_window: timedelta = timedelta(days=7)


class PipelineProcessor:
    def __init__(
        self,
        pipeline: Pipeline,
        policy: PolicyContext,
        codec: Codec,
        schema: AvroSchema,
        state: StateStore,
        auditor: Auditor,
        book: QuarantineBook,
        deadletter_topic: str,
        timing: Timing = Timing(),
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.pipeline, self.policy, self.schema = pipeline, policy, schema
        self.state, self.auditor, self.book = state, auditor, book
        self.deadletter_topic = deadletter_topic
        self.timing, self.wall = timing, wall
        self.locator = EventLocator(pipeline.subject, pipeline.event_time)
        self._present = presence_probe(pipeline.fields)
        self.waiting = Queue()
        self.dead_letters = DeadLetters(deadletter_topic, auditor, book.ring)
        self.sink = SinkWriter(pipeline, codec, schema, field_sealer(pipeline, book.ring))
        # told of every routed event (the lifecycle's pass log and seen marks)
        self.observers: list[RouteObserver] = []
        self.releases = Releases(self)
        self.schema_wait = SchemaWait()
        self.lane = Lane.of(self)  # adults' and consented children's events, per batch

    @property
    def codec(self) -> Codec:
        return self.sink.codec

    @codec.setter
    def codec(self, codec: Codec) -> None:  # decodes the source, encodes what leaves
        self.sink.codec = codec
        self.lane = Lane.of(self)

    @property
    def seals_fields(self) -> bool:
        return self.sink.sealer is not None

    # -- the event path -------------------------------------------------------------
    def submit(self, rec: InRecord, hint: Hint | None = None) -> Outcome | None:
        """The outcome of ``rec``, or None while it waits (for current state, or for the
        schema registry: see ``schema_wait``). ``hint``: the lane's decision for it
        (``enforce.lane``), taken at once unless it or an earlier event of the subject
        waits, else when it is past the hold."""
        if self.schema_wait.blocks(rec.partition):
            self.schema_wait.add(rec)  # behind an earlier event of its partition
            return None
        if hint is not None:
            env = hint.envelope
            if hint.waits or self.waiting.holds((rec.partition, env.subject_id)):
                self._wait(rec, None, env, hint)
                return None
            decision = self._hinted(hint)
            if decision is not None:
                return self._route(rec, None, env, decision, learn=False)
        try:
            return self._submit(rec)
        except RegistryError as exc:  # cannot decode now: wait, never decide blind
            self.schema_wait.add(rec, exc)
            return None

    def _submit(self, rec: InRecord) -> Outcome | None:
        origin = Origin(rec.topic, rec.partition, rec.offset)
        value: dict[str, Any] | None = None
        try:
            if self.locator.needs_value:
                value = self._decode(rec, origin)
            env = self.locator.locate(
                key=rec.key, timestamp_ms=rec.timestamp_ms, record=value, origin=origin
            )
            profile = self.state.subjects.get(env.subject_id)
            if age_band_at(profile, env.event_time, self.pipeline, self.policy) is AgeBand.ADULT:
                return self._adult(rec, env, profile)
            if value is None:
                value = self._decode(rec, origin)
        except DecodeError as exc:
            return self._dead_letter(rec, exc)
        held = self.waiting.holds((rec.partition, env.subject_id))
        if self.state.caught_up_at >= self._ready_at(rec, env) and not held:
            return self._decide_and_route(rec, value, env)
        self._wait(rec, value, env)
        return None

    def _wait(
        self, rec: InRecord, value: dict[str, Any] | None, env: Envelope, hint: Hint | None = None
    ) -> None:
        give_up_at = rec.arrival + self.timing.max_hold
        held = (rec.partition, env.subject_id)
        ready_at = self._ready_at(rec, env)
        self.waiting.add(Waiting(rec, value, env, ready_at, give_up_at, hint, held))
        if self.lane is not None:
            self.lane.wait(env.subject_id)  # nor do they pass in the lane

    def _ready_at(self, rec: InRecord, env: Envelope) -> float:
        """When the state must have been caught up for ``rec`` to be decided (SPEC)."""
        return min(env.event_time.timestamp(), rec.arrival) + self.timing.state_lateness

    def poll(self) -> list[Outcome]:
        """Outcomes of waiting events that can now be decided or waited too long."""
        done = self.schema_wait.drain(self._submit) if self.schema_wait.queues else []
        hinted = Hinted(self.sink)
        left = self.waiting.release(
            self.wall(),
            self.state.caught_up_at,
            lambda w: self._decided(w, done, hinted),
            lambda w: done.append(self._stale(w)),
        )
        if hinted.events:
            hinted.account(self.auditor, self.observers, done[-1])
        if left and self.lane is not None:
            self.lane.settle(self.waiting.subjects)
        return done

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop the waiting events of revoked ``partitions`` (unacknowledged: their new
        owner reads them again)."""
        self.waiting.forget(partitions)
        if self.lane is not None:
            self.lane.settle(self.waiting.subjects)

    def carry_out(self, items: list[tuple[InRecord, Hint]]) -> list[Outcome | None]:
        """``submit`` for a batch's records the lane hinted ready (blocked children's,
        none waiting), their audit records sealed together: what ``submit`` gives each.
        The lane hints every event of a subject with one waiting to wait, so these
        precede any of their subjects' events that wait."""
        hinted = Hinted(self.sink)
        out: list[Outcome | None] = []
        for rec, hint in items:
            decision = self._hinted(hint)
            if decision is not None and decision.action in _BLOCKS:
                out.append(self._blocked(rec, hint, decision, hinted))
            else:
                out.append(self.submit(rec))
        if hinted.events:
            last = next(o for o in reversed(out) if o is not None)  # a hinted one, at least
            hinted.account(self.auditor, self.observers, last)
        return out

    def _blocked(self, rec: InRecord, hint: Hint, decision: Decision, hinted: Hinted) -> Outcome:
        """A quarantine or a drop on ``hint``: its audit record comes with ``hinted``."""
        if decision.action is Action.QUARANTINE:
            held = self._quarantine(rec, hint.envelope, decision)
            return hinted.add(Outcome(rec, QUARANTINE, held, decision.reason.value), hint, decision)
        return hinted.add(Outcome(rec, DROPPED, [], decision.reason.value), hint, decision)

    def _decided(self, w: Waiting, done: list[Outcome], hinted: Hinted) -> bool:
        """Decide ``w`` into ``done`` (a hint that still stands as it said, accounted
        with ``hinted``); False (it keeps waiting) when the registry cannot register the
        sink's schema for a re-encoded event just now."""
        rec, env, hint = w.record, w.envelope, w.hint
        try:
            decision = None if hint is None else self._hinted(hint)
            if decision is not None and hint is not None:
                if sends(decision, hint):
                    done.append(hinted.send(rec, hint, decision))
                    return True
                if decision.action in _BLOCKS:
                    done.append(self._blocked(rec, hint, decision, hinted))
                    return True
            origin = Origin(rec.topic, rec.partition, rec.offset)
            value = w.value if w.value is not None else self._decode(rec, origin)
            done.append(self._decide_and_route(rec, value, env))
        except DecodeError as exc:  # a hint's record, decoded only now
            done.append(self._dead_letter(rec, exc))
        except RegistryError as exc:
            self.schema_wait.problem = exc.message
            return False
        return True

    def _hinted(self, hint: Hint) -> Decision | None:
        """The lane's decision for a hinted event while it stands."""
        return None if self.lane is None else self.lane.decision(hint)

    def _decode(self, rec: InRecord, origin: Origin) -> dict[str, Any]:
        if rec.value is None:
            raise NoValue(origin)
        return self.codec.decode(rec.value, origin=origin)

    def _facts(self, value: dict[str, Any] | None, env: Envelope) -> EventFacts:
        # listed fields plus unlisted top-level ones, so minimisation sees them
        present = self._present(value) if value is not None else frozenset()
        return EventFacts(env.subject_id, env.event_time, present)

    def _adult(self, rec: InRecord, env: Envelope, profile: SubjectProfile | None) -> Outcome:
        """An adult's event: the profile just read decides it; consents and fields never
        matter to an adult's decision (``decide`` returns before it looks at them)."""
        facts = EventFacts(env.subject_id, env.event_time)
        decision = decide(facts, profile, None, self.pipeline, self.policy)
        if self.lane is not None:
            self.lane.learn(env.subject_id, profile)  # its next events take the lane
        return self._route(rec, None, env, decision)

    def _decide_and_route(
        self,
        rec: InRecord,
        value: dict[str, Any] | None,
        env: Envelope,
        consent_at: datetime | None = None,
    ) -> Outcome:
        return self._route(rec, value, env, self._decide(value, env, consent_at))

    def _decide(
        self, value: dict[str, Any] | None, env: Envelope, consent_at: datetime | None
    ) -> Decision:
        sid = env.subject_id
        subject, consents = self.state.subjects.get(sid), self.state.consents.get(sid)
        facts = self._facts(value, env)
        return decide(facts, subject, consents, self.pipeline, self.policy, consent_at=consent_at)

    def _route(
        self,
        rec: InRecord,
        value: dict[str, Any] | None,
        env: Envelope,
        decision: Decision,
        *,
        learn: bool = True,
    ) -> Outcome:
        """``learn``: the lane may compile the subject's entry from this decision (not
        for a decision the lane gave)."""
        outcome = self._routed(rec, value, env, decision, learn)
        if self.observers:
            routed = Routed(
                self.pipeline.name,
                env.subject_id,
                env.event_time,
                outcome.destination,
                decision,
                rec.arrival,
            )
            for observer in self.observers:
                outcome.outputs.extend(observer.routed(routed))
        return outcome

    def _routed(
        self,
        rec: InRecord,
        value: dict[str, Any] | None,
        env: Envelope,
        decision: Decision,
        learn: bool,
    ) -> Outcome:
        chain, sink, sid = f"{self.pipeline.name}/{rec.partition}", self.sink, env.subject_id
        if decision.action is Action.REDACT:
            try:
                out = sink.record(rec, decision, sink.redacted(value, decision, sid))
            except RedactionImpossible:
                decision = redaction_impossible(decision, self.policy)
            else:
                audit = self._audit(chain, env, decision, rec)
                if learn:
                    self._learn_child(sid, env)
                return Outcome(rec, SINK, [*out, audit], decision.reason.value)
        if decision.action is Action.PASS:
            outputs = sink.record(rec, decision, sink.passed(rec, value, decision, sid))
            if decision.needs_own_audit_record:
                outputs.append(self._audit(chain, env, decision, rec))
                if learn:
                    self._learn_child(sid, env)
            else:
                self.auditor.count_adult(chain, self.pipeline.name, decision.rule)
            return Outcome(rec, SINK, outputs, decision.reason.value)
        if decision.action is Action.QUARANTINE:
            held = self._quarantine(rec, env, decision)
            audit = self._audit(chain, env, decision, rec)
            if learn:
                self._learn_blocked(sid, env)
            return Outcome(rec, QUARANTINE, [*held, audit], decision.reason.value)
        if decision.action is Action.DEADLETTER:
            return self._dead_letter(
                rec, MissingSubject(Origin(rec.topic, rec.partition, rec.offset))
            )
        audit = self._audit(chain, env, decision, rec)
        if learn:
            self._learn_blocked(sid, env)
        return Outcome(rec, DROPPED, [audit], decision.reason.value)

    def _learn_child(self, sid: str, env: Envelope) -> None:
        """A child's event passed or redacted: its next events may take the lane."""
        if self.lane is not None:
            profile, consents = self.state.subjects.get(sid), self.state.consents.get(sid)
            self.lane.learn_child(sid, profile, consents, env.event_time)

    def _learn_blocked(self, sid: str, env: Envelope) -> None:
        """A child's event quarantined or dropped: its next events may be hinted."""
        if self.lane is not None:
            profile, consents = self.state.subjects.get(sid), self.state.consents.get(sid)
            self.lane.learn_blocked(sid, profile, consents, env.event_time)

    def _audit(
        self,
        chain: str,
        env: Envelope,
        decision: Decision,
        rec: InRecord,
        action: AuditAction | None = None,
    ) -> OutRecord:
        return self.auditor.decision(
            chain, self.pipeline.name, env.subject_id, decision, rec.ref, action
        )

    def _quarantine(self, rec: InRecord, env: Envelope, decision: Decision) -> list[OutRecord]:
        now = datetime.fromtimestamp(self.wall(), UTC)
        entry = Entry(
            quarantine_id(rec),
            self.pipeline.name,
            env.subject_id,
            decision.reason.value,
            rec,
            env.event_time,
            now + self.timing.quarantine_window,
        )
        return self.book.hold(entry, rule=decision.rule, now=now)

    def _stale(self, w: Waiting) -> Outcome:
        env, profile = w.envelope, self.state.subjects.get(w.envelope.subject_id)
        facts = EventFacts(env.subject_id, env.event_time)
        decision = state_not_current(facts, profile, self.pipeline, self.policy)
        return self._route(w.record, w.value, env, decision)

    def _dead_letter(self, rec: InRecord, exc: DecodeError) -> Outcome:
        at = datetime.fromtimestamp(self.wall(), UTC)
        return self.dead_letters.send(rec, exc, self.pipeline, self.policy, at)
