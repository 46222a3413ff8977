"""Issue lifecycle records: deletions, corrections, notices, deferrals - from one worker.

Every worker applies every state record, so every worker can work out what
must be issued; only the *leader* sends it. The leader is whoever owns
partition 0 of the first pipeline source (engine-neutral: the enforcer's
``tick`` already receives ``owns``). Every worker keeps unsent candidates in
``pending`` until their id shows up on the output topics, so when leadership
moves the new leader issues whatever the old one had not. Ids are
deterministic and keyed (``policy.ids``): a replay or a brief double leadership during a
rebalance can only repeat an id, never invent a conflicting one.

A deletion also tombstones the sinks of pipelines with ``sink_tombstones``
when it covers all the sink holds of the subject (``policy.tombstones``); its
DELETION_ISSUED record names them in ``attrs["sink_tombstones"]``.

Every record sent is audited on the ``_control/0`` chain (DELETION_ISSUED
with the deadline, NOTICE_ISSUED, DELETION_DEFERRED when a legal hold keeps a
deletion back). A deferred deletion is stored on the holds topic and issued,
same id, when its hold lifts (REQUIREMENTS safe default 10: a hold wins).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from wardstream.domain.enums import AuditAction
from wardstream.domain.holds import DeferredDeletion
from wardstream.domain.notice import GuardianNotice
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.requests import CorrectionRequest, DeletionRequest, GuardianRequest
from wardstream.domain.subject import SubjectProfile
from wardstream.enforce.auditor import CONTROL, CONTROL_CHAIN, Auditor, worker_chain
from wardstream.enforce.records import OutRecord
from wardstream.enforce.state import StateStore
from wardstream.lifecycle import records as lr
from wardstream.lifecycle import sweeps
from wardstream.lifecycle.applier import SHREDDING, LifecycleState, LifecycleTopics, Trigger
from wardstream.lifecycle.breach import RULE, BreachScanner, Sighting, incident
from wardstream.lifecycle.expiry_index import ExpiryIndex
from wardstream.policy.context import PolicyContext
from wardstream.policy.holds import deferral_notice, hold_deletion, lift_hold
from wardstream.policy.lifecycle import (
    deletion_for_deregistration,
    deletions_for_consent_event,
    on_guardian_request,
)
from wardstream.policy.tombstones import sink_tombstones
from wardstream.serde import AvroCodec, record_schema

Candidate = sweeps.Candidate
# Reasons after which nothing of the subject may be kept: its data key is destroyed.
Shred = Callable[[str, str], list[OutRecord]]


class LifecycleIssuer:
    def __init__(
        self,
        pipelines: Sequence[Pipeline],
        policy: PolicyContext,
        state: StateStore,
        lifecycle: LifecycleState,
        auditor: Auditor,
        topics: LifecycleTopics,
        *,
        grid: timedelta = timedelta(hours=1),
        sweep_every_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.pipelines, self.policy = tuple(pipelines), policy
        self.state, self.lifecycle, self.auditor, self.topics = state, lifecycle, auditor, topics
        self.grid, self.sweep_every_s, self.clock = grid, sweep_every_s, clock
        self.pending: dict[str, Candidate] = {}
        self.sent: set[str] = set()
        self.chain = CONTROL_CHAIN
        """The audit chain ``_issue`` writes: the leader's, or this worker's own (``issue_own``)."""
        self._lifted: set[str] = set()
        self.shred: Shred | None = None
        self.scanner: BreachScanner | None = None
        self.incidents_topic = ""
        self._last_sweep = 0.0
        self.expiring = ExpiryIndex()  # fed by the StateApplier (``expiring``)
        self._retained_at: datetime | None = None
        self._deletions = AvroCodec(record_schema("DeletionRequest"))
        self._notices = AvroCodec(record_schema("GuardianNotice"))
        self._corrections = AvroCodec(record_schema("Correction"))

    def due(self, leader: bool) -> list[OutRecord]:
        """Resolve what became due; the leader gets the records to send, others an empty list."""
        wall = self.clock()
        now = datetime.fromtimestamp(wall, UTC)
        self._collect(self._ready_triggers(now))
        if wall - self._last_sweep >= self.sweep_every_s and self.state.caught_up_at > 0:
            self._last_sweep = wall
            self._collect(self._sweep(now))
        issued = self.lifecycle.issued
        self.pending = {i: c for i, c in self.pending.items() if i not in issued}
        if not leader:
            return []
        out: list[OutRecord] = []
        for ident, candidate in sorted(self.pending.items()):
            if ident not in self.sent:
                out += self._issue(candidate, now)
        out += self._lift_holds(now)
        return out + self._incidents(now)

    def issue_own(self, deletions: list[DeletionRequest], *, leader: bool) -> list[OutRecord]:
        """Issue deletions only this worker can know of (compensation), leader or not.

        A chain has one writer: the leader audits them on ``_control/0``, another worker
        on its own chain, ``_worker/<name>``."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        out: list[OutRecord] = []
        self.chain = CONTROL_CHAIN if leader else worker_chain(self.auditor.worker)
        try:
            for d in deletions:
                if d.deletion_id not in self.lifecycle.issued and d.deletion_id not in self.sent:
                    out += self._issue(Candidate(d), now)
        finally:
            self.chain = CONTROL_CHAIN
        return out

    # -- what is due ------------------------------------------------------------------
    def _ready_triggers(self, now: datetime) -> list[Candidate]:
        caught_up = self.state.caught_up_at
        ready: list[Trigger] = []
        later: list[Trigger] = []
        for t in self.lifecycle.triggers:
            (ready if t.applied_at <= caught_up else later).append(t)
        if not ready:
            return []
        self.lifecycle.triggers = later
        return [c for t in ready for c in self._resolve(t, now)]

    def _resolve(self, trigger: Trigger, now: datetime) -> list[Candidate]:
        body = trigger.body
        every = [p.name for p in self.pipelines]  # a whole-subject deletion names them all
        if isinstance(body, SubjectProfile):
            d = deletion_for_deregistration(body, every, now, self.policy)
            return [] if d is None else [Candidate(d)]
        if isinstance(body, GuardianRequest):
            return [Candidate(on_guardian_request(body, every, now, self.policy))]
        ledger, event = body
        found = deletions_for_consent_event(ledger, event, self.pipelines, now, self.policy)
        return [Candidate(d) for d in found]

    def _sweep(self, now: datetime) -> list[Candidate]:
        seen, p = self.lifecycle.seen, self.policy
        ledgers = [self.state.consents.get(s) for s in sorted(self.expiring.due(now))]
        out = sweeps.expiries([x for x in ledgers if x is not None], self.pipelines, now, p)
        # retention cut-offs move once per grid step: then every mark is swept, in
        # between only the marks read since (a mark swept before gives what it gave)
        grid_now, changed = sweeps.on_grid(now, self.grid), self.lifecycle.seen_changed
        if self._retained_at != grid_now:
            self._retained_at = grid_now
            out += sweeps.retention(seen, self.pipelines, grid_now, p)
        elif changed:
            marks: dict[str, dict[str, lr.SeenMark]] = {}
            for sid, name in changed:
                mark = seen.get(sid, {}).get(name)
                if mark is not None:
                    marks.setdefault(sid, {})[name] = mark
            out += sweeps.retention(marks, self.pipelines, grid_now, p)
        changed.clear()
        every = [pipeline.name for pipeline in self.pipelines]
        return out + sweeps.stops(self.lifecycle.stops, seen, every, p)

    def _collect(self, candidates: list[Candidate]) -> None:
        for c in candidates:
            if c.ident not in self.lifecycle.issued:
                self.pending.setdefault(c.ident, c)

    # -- sending ----------------------------------------------------------------------
    def _issue(self, candidate: Candidate, now: datetime) -> list[OutRecord]:
        record = candidate.record
        self.sent.add(candidate.ident)
        out = self._mark(candidate)
        if isinstance(record, CorrectionRequest):
            return out + self._correction(record)
        if record.deletion_id in self.lifecycle.deferred:
            return out
        held = hold_deletion(record, self.lifecycle.holds.values(), now)
        if isinstance(held, DeferredDeletion):
            return out + self._defer(held)
        out += self._deletion(record)
        if candidate.notice is not None:
            out += self._notice(candidate.notice)
        return out

    def _mark(self, candidate: Candidate) -> list[OutRecord]:
        if candidate.mark is None:
            return []
        sid, name, mark = candidate.mark
        self.lifecycle.unconfirmed[(sid, name)] = mark
        return [OutRecord(self.topics.seen, *self.lifecycle.codec.seen(sid, name, mark))]

    def _deletion(self, d: DeletionRequest) -> list[OutRecord]:
        out = [OutRecord(self.topics.deletions, d.subject_id.encode(), self._encode(d))]
        attrs = {"deletion_id": d.deletion_id, "pipelines": ",".join(d.pipelines)}
        tombstoned = self._sink_tombstones(d)
        if tombstoned:  # value null, key = the subject id (the sink is keyed by subject)
            out += [OutRecord(p.sink, d.subject_id.encode(), None) for p in tombstoned]
            attrs["sink_tombstones"] = ",".join(p.name for p in tombstoned)
        out.append(
            self.auditor.write(
                self.chain,
                CONTROL,
                AuditAction.DELETION_ISSUED,
                subject_id=d.subject_id,
                reason=d.reason.value,
                deadline=d.deadline,
                attrs=attrs,
            )
        )
        if d.reason in SHREDDING and self.shred is not None:
            out += self.shred(d.subject_id, d.deletion_id)
        return out

    def _sink_tombstones(self, d: DeletionRequest) -> tuple[Pipeline, ...]:
        """The opted-in sinks that ``d`` tombstones (rule: ``policy.tombstones``)."""
        sid, spans = d.subject_id, {}
        for name in d.pipelines:
            mark = self.lifecycle.mark(sid, name)
            if mark is not None:
                spans[name] = (mark.first_at, mark.last_at)
        return sink_tombstones(
            d,
            self.pipelines,
            profile=self.state.subjects.get(sid),
            ledger=self.state.consents.get(sid),
            spans=spans,
            grid=self.grid,
            policy=self.policy,
        )

    def _encode(self, d: DeletionRequest) -> bytes:
        return self._deletions.encode(d.to_dict())

    def _notice(self, n: GuardianNotice) -> list[OutRecord]:
        value = self._notices.encode(n.to_dict())
        return [
            OutRecord(self.topics.notices, n.subject_id.encode(), value),
            self.auditor.write(
                self.chain,
                CONTROL,
                AuditAction.NOTICE_ISSUED,
                subject_id=n.subject_id,
                reason=n.kind.value,
                attrs={"notice_id": n.notice_id},
            ),
        ]

    def _correction(self, c: CorrectionRequest) -> list[OutRecord]:
        datum = {**c.to_dict(), "corrections": {}, "note": None, "received_at": None}
        return [
            OutRecord(
                self.topics.corrections, c.subject_id.encode(), self._corrections.encode(datum)
            ),
            self.auditor.write(
                CONTROL_CHAIN,
                CONTROL,
                AuditAction.NOTICE_ISSUED,
                subject_id=c.subject_id,
                reason="CORRECTION_FORWARDED",
                deadline=c.deadline,
                attrs={"correction_id": c.correction_id},
            ),
        ]

    def _defer(self, deferred: DeferredDeletion) -> list[OutRecord]:
        d = deferred.deletion
        self.lifecycle.deferred[d.deletion_id] = deferred
        out = [
            OutRecord(self.topics.holds, *self.lifecycle.codec.deferred(deferred)),
            self.auditor.write(
                self.chain,
                CONTROL,
                AuditAction.DELETION_DEFERRED,
                subject_id=d.subject_id,
                reason=d.reason.value,
                attrs={"deletion_id": d.deletion_id, "hold_id": deferred.hold_id},
            ),
        ]
        return out + self._notice(deferral_notice(deferred, self.policy))

    def _incidents(self, now: datetime) -> list[OutRecord]:
        if self.scanner is None or not self.lifecycle.sightings:
            return []
        caught_up, lc = self.state.caught_up_at, self.lifecycle
        ready = [s for s in lc.sightings if s.applied_at <= caught_up]
        lc.sightings = [s for s in lc.sightings if s.applied_at > caught_up]
        found: dict[str, list[Sighting]] = {}
        for s in ready:
            if s.ref not in lc.reported and self.scanner.is_breach(s):
                found.setdefault(s.ref.rsplit("/", 2)[0], []).append(s)
        out: list[OutRecord] = []
        for topic, sightings in sorted(found.items()):
            refs = {s.subject_id: self.auditor.pseudonymizer.ref(s.subject_id) for s in sightings}
            ident, value, notices = incident(topic, sightings, refs, now, self.policy)
            lc.reported.update(s.ref for s in sightings)
            out.append(OutRecord(self.incidents_topic, ident.encode(), value))
            out.append(
                self.auditor.write(
                    CONTROL_CHAIN,
                    CONTROL,
                    AuditAction.INCIDENT,
                    rule=RULE,
                    reason="UNCONSENTED_CHILD_DATA_ON_EGRESS",
                    counts={"events": len(sightings), "subjects": len(refs)},
                    attrs={"incident_id": ident, "topic": topic},
                )
            )
            for n in notices:
                out += self._notice(n)
        return out

    def _lift_holds(self, now: datetime) -> list[OutRecord]:
        out: list[OutRecord] = []
        for ident, deferred in sorted(self.lifecycle.deferred.items()):
            hold = self.lifecycle.holds.get(deferred.deletion.subject_id)
            if hold is not None and hold.is_active(now):
                continue
            del self.lifecycle.deferred[ident]
            out.append(OutRecord(self.topics.holds, lr.deferred_key(ident), None))
            if ident not in self.lifecycle.issued and ident not in self._lifted:
                self._lifted.add(ident)
                out += self._deletion(lift_hold(deferred, now, self.policy))
        return out
