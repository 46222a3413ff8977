"""decide(): the decision for one event, following SPEC "Decision order".

1. No subject id -> DEADLETTER (decode errors never reach here; see
   :func:`deadletter`). A stopped service drops everything (SERVICE_STOPPED).
2. Deregistered -> DROP. The deregistration counts as soon as it is known,
   whatever the event's own time, like a withdrawal (SPEC "State and time"):
   the DeletionRequest it triggered cannot cover an event passed after it.
3. Age band at the event time; unknown -> the pipeline's ``unknown_age``.
4. Adult -> PASS, never redacted.
5. A purpose closed to this subject whatever the consent (DSM purposes for a
   child in difficult situations, or a purpose the operator closes to every
   child) -> DROP, PURPOSE_PROHIBITED. This check runs before the
   unknown-age dispatch so that the DSM block also holds for a flagged
   subject whose age is unknown; CN/AADC marketing and profiling -> DROP,
   MARKETING_TO_MINOR.
6. Consent gate for children, and for minors where the pack requires the
   minor's own consent: third party must be an assessed processor; then
   :mod:`coverage`. Covered -> PASS; covered but some categories (or unlisted
   fields) not -> REDACT those fields, or QUARANTINE (REDACTION_IMPOSSIBLE)
   when the sink schema cannot drop them; not covered -> ``on_missing_consent``.

Consent time. Whether a consent is active is judged at ``consent_at``, which
defaults to the event time. The quarantine-release path passes the release
time instead: a consent given *after* a quarantined event (within the
quarantine window) releases it - that is what the quarantine is for. Age and
deregistration are still judged at the event time / decision time.

For an unknown age, ``AGE_UNKNOWN`` is always the first reason, so audits
show why the child rules applied (R2).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from wardstream.domain.decision import Decision, EventFacts
from wardstream.domain.enums import Action, AgeBand, UnknownAge
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.reasons import ReasonCode
from wardstream.domain.subject import SubjectProfile
from wardstream.policy.age import SubjectFacts, facts_for
from wardstream.policy.compiled import CompiledPipeline, PackPlan, compiled
from wardstream.policy.context import PolicyContext
from wardstream.policy.coverage import Screened, evaluate, screen
from wardstream.policy.errors import NaiveTimeError
from wardstream.policy.ledger import ConsentLedger

# Enum members bound to module constants: on CPython 3.11 reading ``AgeBand.CHILD``
# costs ~0.2 us (EnumType attribute lookup), and the hot path reads a dozen.
R = ReasonCode
PASS, REDACT, QUARANTINE, DROP, DEADLETTER = (
    Action.PASS,
    Action.REDACT,
    Action.QUARANTINE,
    Action.DROP,
    Action.DEADLETTER,
)
CHILD, MINOR, ADULT, UNKNOWN = AgeBand.CHILD, AgeBand.MINOR, AgeBand.ADULT, AgeBand.UNKNOWN
AS_QUARANTINE, AS_ADULT = UnknownAge.QUARANTINE, UnknownAge.ADULT
AGE_UNKNOWN = R.AGE_UNKNOWN
R_ADULT = (R.ADULT,)
R_NO_SUBJECT, R_STOPPED, R_DEREGISTERED = (
    (R.NO_SUBJECT_ID,),
    (R.SERVICE_STOPPED,),
    (R.DEREGISTERED,),
)
R_PROHIBITED, R_MARKETING = (R.PURPOSE_PROHIBITED,), (R.MARKETING_TO_MINOR,)
R_AGE_UNKNOWN, R_MINOR_FREE = (R.AGE_UNKNOWN,), (R.MINOR_NO_CONSENT_NEEDED,)
R_PROCESSOR, R_COVERS = (R.PROCESSOR_NOT_ASSESSED,), (R.CONSENT_COVERS,)
R_CATEGORY, R_MINIMISED, R_IMPOSSIBLE = R.CATEGORY_NOT_COVERED, R.MINIMISED, R.REDACTION_IMPOSSIBLE


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything about one (profile, ledger, pipeline) that does not depend on the event."""

    subject: SubjectProfile | None = field(repr=False)
    ledger: ConsentLedger | None = field(repr=False)
    cp: CompiledPipeline = field(repr=False)
    facts: SubjectFacts
    plan: PackPlan = field(repr=False)
    child: tuple[Screened, ...]
    minor: tuple[Screened, ...]
    decisions: dict[Any, Decision] = field(default_factory=dict, compare=False, repr=False)


def prepare(
    subject: SubjectProfile | None,
    consents: ConsentLedger | None,
    pipeline: Pipeline,
    policy: PolicyContext,
) -> Prepared:
    """The event-independent part of a decision, memoised on the state objects.

    The memo lives on the ledger (or, without one, on the profile, or the
    compiled pipeline), one entry per pipeline, so it dies with the object and
    needs no global table. Keep profile and ledger objects alive between
    events (the stream layer's state maps do): a new object with equal
    content is a cache miss - correct, but some 20-30 us slower.
    """
    cp = policy.pipeline_memo.get(id(pipeline))
    if cp is None or cp.pipeline is not pipeline:
        cp = compiled(pipeline, policy)
    if consents is not None:
        memo = consents.memo
    else:
        memo = subject.policy_memo if subject is not None else cp.memo
    hit: Prepared | None = memo.get(id(cp))
    if hit is not None and hit.cp is cp and hit.subject is subject and hit.ledger is consents:
        return hit
    facts = facts_for(subject, pipeline, policy)
    plan = cp.plan(facts.pack)
    accepted = policy.accepted_evidence
    child = tuple(screen(consents, cp, g, accepted) for g in plan.child_groups)
    minor = tuple(screen(consents, cp, g, accepted) for g in plan.minor_groups)
    found = Prepared(subject, consents, cp, facts, plan, child, minor)
    memo[id(cp)] = found
    return found


def decide(
    event: EventFacts,
    subject: SubjectProfile | None,
    consents: ConsentLedger | None,
    pipeline: Pipeline,
    policy: PolicyContext,
    *,
    consent_at: datetime | None = None,
) -> Decision:
    """Decide what happens to one event. Pure and deterministic."""
    when = event.event_time
    if when.tzinfo is None or (consent_at is not None and consent_at.tzinfo is None):
        raise NaiveTimeError("decide() needs timezone-aware datetimes")
    prep = prepare(subject, consents, pipeline, policy)
    plan, facts = prep.plan, prep.facts
    band = facts.band_at(when)
    if not event.subject_id:
        return plan.decision(DEADLETTER, band, band, R_NO_SUBJECT)
    if policy.service_stopped:
        return plan.decision(DROP, band, band, R_STOPPED)
    if facts.deregistered_at is not None:
        return plan.decision(DROP, band, band, R_DEREGISTERED)
    if band is ADULT:
        found = plan.memo.get(ADULT)  # the hottest path: one lookup, no key tuple
        if found is None:
            found = plan.memo[ADULT] = plan.decision(PASS, ADULT, ADULT, R_ADULT)
        return found
    mode = pipeline.unknown_age
    if _prohibited(plan, facts, band, mode):
        return _with_age(plan, DROP, band, CHILD, R_PROHIBITED)
    if band is UNKNOWN:
        if mode is AS_QUARANTINE:
            return plan.decision(QUARANTINE, band, band, R_AGE_UNKNOWN)
        if mode is AS_ADULT:
            return plan.decision(PASS, band, ADULT, R_AGE_UNKNOWN)
    treated = CHILD if band is UNKNOWN else band
    return _gate(event.fields_present, prep, band, treated, consent_at or when)


def _prohibited(plan: PackPlan, facts: SubjectFacts, band: AgeBand, mode: UnknownAge) -> bool:
    if plan.vulnerable_closed and facts.vulnerable:
        return True
    return plan.operator_closed and not (band is UNKNOWN and mode is AS_ADULT)


def _with_age(
    plan: PackPlan,
    action: Action,
    band: AgeBand,
    treated: AgeBand,
    reasons: tuple[ReasonCode, ...],
    consent_ids: tuple[str, ...] = (),
    remove: frozenset[str] = frozenset(),
    memo: dict[Any, Decision] | None = None,
) -> Decision:
    if band is UNKNOWN:
        reasons = (AGE_UNKNOWN, *reasons)
    else:
        treated = band
    return plan.decision(action, band, treated, reasons, consent_ids, remove, memo)


def _gate(
    present: frozenset[str], prep: Prepared, band: AgeBand, treated: AgeBand, when: datetime
) -> Decision:
    plan, cp = prep.plan, prep.cp
    if treated is MINOR:
        closed, groups = plan.minor_closed, prep.minor
    else:
        closed, groups = plan.child_closed, prep.child
    if closed:
        return _with_age(plan, DROP, band, treated, R_MARKETING)
    if not groups:
        return plan.decision(PASS, band, treated, R_MINOR_FREE)
    if not cp.assessed:
        return _with_age(plan, cp.blocked, band, treated, R_PROCESSOR)
    shape = cp.shape(present)
    reason, ids, covered = evaluate(groups, when, shape.need)
    if reason is not None:
        found = prep.decisions.get((band, reason))
        if found is None:
            found = _with_age(plan, cp.blocked, band, treated, (reason,))
            prep.decisions[(band, reason)] = found
        return found
    remove = shape.remove_for(covered)
    if not remove:  # the common consented path: memoised per subject by (band, ids)
        found = prep.decisions.get((band, ids))
        if found is None:
            found = _with_age(plan, PASS, band, treated, R_COVERS, ids, memo=prep.decisions)
            prep.decisions[(band, ids)] = found
        return found
    found = prep.decisions.get((band, ids, remove))
    if found is None:
        found = _redaction(prep, band, treated, ids, remove, shape.need & ~covered, shape.unlisted)
        prep.decisions[(band, ids, remove)] = found
    return found


def _redaction(
    prep: Prepared,
    band: AgeBand,
    treated: AgeBand,
    ids: tuple[str, ...],
    remove: frozenset[str],
    uncovered: int,
    unlisted: frozenset[str],
) -> Decision:
    reasons = _redaction_reasons(uncovered, bool(unlisted & remove))
    plan, memo = prep.plan, prep.decisions  # per subject: these decisions hold consent ids
    if remove & prep.cp.pipeline.fixed_fields:
        reasons = (R_IMPOSSIBLE, *reasons)
        return _with_age(plan, QUARANTINE, band, treated, reasons, ids, remove, memo)
    return _with_age(plan, REDACT, band, treated, reasons, ids, remove, memo)


def _redaction_reasons(uncovered: int, unlisted: bool) -> tuple[ReasonCode, ...]:
    reasons = [R_CATEGORY] if uncovered else []
    if unlisted:
        reasons.append(R_MINIMISED)
    return (*reasons, *R_COVERS)


def _plan(subject: SubjectProfile | None, pipeline: Pipeline, policy: PolicyContext) -> PackPlan:
    return compiled(pipeline, policy).plan(facts_for(subject, pipeline, policy).pack)


def deadletter(reason: ReasonCode, pipeline: Pipeline, policy: PolicyContext) -> Decision:
    """DEADLETTER for an event that cannot be decoded (DECODE_ERROR) or has no subject id."""
    plan = _plan(None, pipeline, policy)
    return plan.decision(DEADLETTER, UNKNOWN, UNKNOWN, (reason,))


def treated_band_at(
    subject: SubjectProfile | None, when: datetime, pipeline: Pipeline, policy: PolicyContext
) -> AgeBand:
    """The band whose rules apply at ``when``: UNKNOWN resolved by ``unknown_age``.

    The stream layer holds an event for state unless this is ADULT. Under
    ``unknown_age: quarantine`` an unknown age stays UNKNOWN (held, then
    quarantined).
    """
    band = facts_for(subject, pipeline, policy).band_at(when)
    if band is not UNKNOWN:
        return band
    mode = pipeline.unknown_age
    return ADULT if mode is AS_ADULT else CHILD if mode is UnknownAge.CHILD else UNKNOWN


def state_not_current(
    event: EventFacts, subject: SubjectProfile | None, pipeline: Pipeline, policy: PolicyContext
) -> Decision:
    """QUARANTINE (STATE_NOT_CURRENT): state consumers did not catch up within max_hold."""
    band = facts_for(subject, pipeline, policy).band_at(event.event_time)
    plan = _plan(subject, pipeline, policy)
    treated = CHILD if band is UNKNOWN else band
    return plan.decision(QUARANTINE, band, treated, (R.STATE_NOT_CURRENT,))


def redaction_impossible(decision: Decision, policy: PolicyContext) -> Decision:
    """Turn a REDACT into QUARANTINE (REDACTION_IMPOSSIBLE), for serde-time discoveries."""
    if decision.action is not REDACT:
        return decision
    pack = policy.packs.get(decision.jurisdiction or "", policy.strictest_pack)
    return replace(
        decision,
        action=QUARANTINE,
        reasons=(R.REDACTION_IMPOSSIBLE, *decision.reasons),
        rules=(pack.rule(R.REDACTION_IMPOSSIBLE), *decision.rules),
    )
