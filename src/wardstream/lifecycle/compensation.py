"""Compensation: delete what passed before a late state record said it should not have.

SPEC "State and time": a consent or profile record that reaches the worker
after events it would have blocked were already passed triggers a
DeletionRequest (COLLECTED_WITHOUT_CONSENT) for exactly those events, by
pipeline and event-time range, and an audit record (DELETION_ISSUED on the
``_control/0`` chain when the lifecycle leader issues it, else on the worker's own
``_worker/<name>`` chain: a chain has one writer).

``PassLog`` remembers, per subject, pipeline and consent, the first and last
event time this worker passed to a sink (adults too: they are never held, so
a late profile can turn them into children). It is in memory and bounded by
``horizon_s`` of wall-clock inactivity; a state record later than that, or one
that arrives after a restart, finds nothing to compensate (the normal
lifecycle deletions still cover the subject's data).

Triggers, all evaluated when the state record is applied:

* a withdrawal of consent C effective at T: the passes under C with event
  time >= T;
* a refusal effective at T: the consented passes at or after T in pipelines
  whose purpose it names (every pipeline when it names none);
* a deregistration at D: every pass at or after D;
* any other profile change (birth date, band, jurisdiction, vulnerability):
  the passes made without a consent (adults, unknown age treated as adult,
  minors who need none) are decided again with the new profile at their first
  and last event time; if either is no longer a pass, the whole range is
  compensated - over-deleting an adult's data at a birthday boundary rather
  than keeping a child's.

Each compensated range is then forgotten: the next late record cannot issue it
again, and the deletion id is derived from subject, pipeline and range, so a
replay repeats the id rather than inventing another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.decision import Decision, EventFacts
from wardstream.domain.enums import Action, ConsentAction
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.requests import DeletionRequest
from wardstream.domain.subject import SubjectProfile
from wardstream.enforce.hooks import Routed, Spans
from wardstream.enforce.records import SINK, OutRecord
from wardstream.enforce.state import StateStore
from wardstream.policy.context import PolicyContext
from wardstream.policy.decide import decide
from wardstream.policy.ledger import ConsentLedger
from wardstream.policy.sweeps import deletion_for_unlawful_collection
from wardstream.serde.lazy import EPOCH

MS = timedelta(milliseconds=1)
PRUNE_EVERY_S = 60.0


@dataclass(slots=True)
class Span:
    """Event times of the passes of one subject in one pipeline under one consent (or none)."""

    first: datetime
    last: datetime
    touched: float  # wall clock of the newest pass, for pruning


@dataclass(frozen=True, slots=True)
class Owed:
    subject_id: str
    pipeline: str
    collected_after: datetime
    collected_before: datetime  # exclusive


class PassLog:
    def __init__(
        self,
        pipelines: Mapping[str, Pipeline],
        policy: PolicyContext,
        state: StateStore,
        *,
        horizon_s: float = 3600.0,
    ) -> None:
        self.pipelines, self.policy, self.state = pipelines, policy, state
        self.horizon_s = horizon_s
        # subject -> (pipeline, consent id or None) -> span
        self.spans: dict[str, dict[tuple[str, str | None], Span]] = {}
        self.owed: list[Owed] = []
        self._last_prune = 0.0

    # -- the event path ---------------------------------------------------------------
    def routed(self, event: Routed) -> list[OutRecord]:
        """``RouteObserver``: remember every event passed to a sink (adults' too)."""
        if event.destination == SINK:
            d = event.decision
            self.passed(
                event.subject_id, event.pipeline, event.event_time, d.consent_id, event.wall
            )
        return []

    def adults_passed(self, pipeline: str, spans: Spans, wall: float) -> None:
        """``RouteObserver``: the lane passed these adults' events (without a consent)."""
        passed = self.passed
        for subject_id, first, last in spans:
            at = EPOCH + timedelta(microseconds=first)
            passed(subject_id, pipeline, at, None, wall)
            if last != first:
                passed(subject_id, pipeline, EPOCH + timedelta(microseconds=last), None, wall)

    def passed(
        self, subject_id: str, pipeline: str, at: datetime, consent: str | None, wall: float
    ) -> None:
        mine = self.spans.get(subject_id)
        if mine is None:
            mine = self.spans[subject_id] = {}
        span = mine.get((pipeline, consent))
        if span is None:
            mine[(pipeline, consent)] = Span(at, at, wall)
            return
        if at < span.first:
            span.first = at
        elif at > span.last:
            span.last = at
        span.touched = wall

    # -- state records ----------------------------------------------------------------
    def on_consent(self, before: ConsentLedger | None, event: ConsentEvent) -> None:
        mine = self.spans.get(event.subject_id)
        if not mine:
            return
        since = event.effective_at
        if event.action is ConsentAction.WITHDRAWN:
            closed = {g.consent_id for g in (before or ConsentLedger.empty("")).affected_by(event)}
            hit = [k for k in mine if k[1] in closed]
        elif event.action is ConsentAction.REFUSED:
            named = set(event.purposes)
            hit = [
                k
                for k in mine
                if k[1] is not None and (not named or self.pipelines[k[0]].purpose in named)
            ]
        else:
            return
        for key in hit:
            self._owe_from(event.subject_id, key, since)

    def idle(self) -> bool:
        """No pass logged: ``on_subject`` would do nothing for a profile not deregistered."""
        return not self.spans

    def on_subject(self, before: SubjectProfile | None, after: SubjectProfile | None) -> None:
        if after is None:
            return  # a tombstone: nothing is known, later events are held and fail closed
        mine = self.spans.get(after.subject_id)
        if not mine:
            return
        gone = after.deregistered_at
        if gone is not None:
            if before is None or before.deregistered_at != gone:
                for key in list(mine):
                    self._owe_from(after.subject_id, key, gone)
            return
        for key in [k for k in mine if k[1] is None]:
            span = mine[key]
            if not (
                self._passes(after, key[0], span.first) and self._passes(after, key[0], span.last)
            ):
                self._owe_from(after.subject_id, key, span.first)

    def _passes(self, profile: SubjectProfile, pipeline: str, at: datetime) -> bool:
        p = self.pipelines[pipeline]
        facts = EventFacts(profile.subject_id, at, frozenset(p.fields))
        ledger = self.state.consents.get(profile.subject_id)
        decision: Decision = decide(facts, profile, ledger, p, self.policy)
        return decision.action is Action.PASS

    def _owe_from(self, subject_id: str, key: tuple[str, str | None], since: datetime) -> None:
        """Owe a deletion for the passes of ``key`` at or after ``since``; forget them."""
        mine = self.spans[subject_id]
        span = mine[key]
        if span.last < since:
            return
        self.owed.append(Owed(subject_id, key[0], max(span.first, since), span.last + MS))
        if span.first >= since:
            del mine[key]
            if not mine:
                del self.spans[subject_id]
        else:
            span.last = since - MS  # what passed before ``since`` stays lawful

    # -- the issuer's side ------------------------------------------------------------
    def take(self, now: datetime, wall: float) -> list[DeletionRequest]:
        """The deletions owed so far (COLLECTED_WITHOUT_CONSENT), and prune idle spans."""
        if wall - self._last_prune >= PRUNE_EVERY_S:
            self._last_prune = wall
            self.prune(wall)
        if not self.owed:
            return []
        owed, self.owed = self.owed, []
        return [
            deletion_for_unlawful_collection(
                o.subject_id, (o.pipeline,), o.collected_after, o.collected_before, now, self.policy
            )
            for o in owed
        ]

    def prune(self, wall: float) -> None:
        cutoff = wall - self.horizon_s
        for subject_id in list(self.spans):
            mine = self.spans[subject_id]
            for key in [k for k, s in mine.items() if s.touched < cutoff]:
                del mine[key]
            if not mine:
                del self.spans[subject_id]

    def __len__(self) -> int:
        return sum(len(m) for m in self.spans.values())
