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

from dataclasses import replace
from datetime import datetime

from wardstream.domain.decision import Decision, EventFacts
from wardstream.domain.enums import Action, AgeBand, MissingConsent, UnknownAge
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.reasons import ReasonCode
from wardstream.domain.subject import SubjectProfile
from wardstream.policy.age import SubjectFacts, facts_for
from wardstream.policy.compiled import CompiledPipeline, PackPlan, compiled
from wardstream.policy.context import PolicyContext
from wardstream.policy.coverage import evaluate
from wardstream.policy.errors import NaiveTimeError
from wardstream.policy.ledger import ConsentLedger

R = ReasonCode
A = Action
B = AgeBand


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
    cp = compiled(pipeline, policy)
    facts = facts_for(subject, pipeline, policy)
    plan = cp.plan(facts.pack)
    band = facts.band_at(when)
    if not event.subject_id:
        return plan.decision(A.DEADLETTER, band, band, (R.NO_SUBJECT_ID,))
    if policy.service_stopped:
        return plan.decision(A.DROP, band, band, (R.SERVICE_STOPPED,))
    if facts.deregistered_at is not None:
        return plan.decision(A.DROP, band, band, (R.DEREGISTERED,))
    if band is B.ADULT:
        return plan.decision(A.PASS, B.ADULT, B.ADULT, (R.ADULT,))
    mode = pipeline.unknown_age
    if _prohibited(plan, facts, band, mode):
        return _with_age(plan, A.DROP, band, B.CHILD, (R.PURPOSE_PROHIBITED,))
    if band is B.UNKNOWN:
        if mode is UnknownAge.QUARANTINE:
            return plan.decision(A.QUARANTINE, band, band, (R.AGE_UNKNOWN,))
        if mode is UnknownAge.ADULT:
            return plan.decision(A.PASS, band, B.ADULT, (R.AGE_UNKNOWN,))
    treated = B.CHILD if band is B.UNKNOWN else band
    return _gate(event, consents, cp, plan, band, treated, consent_at or when, policy)


def _prohibited(plan: PackPlan, facts: SubjectFacts, band: AgeBand, mode: UnknownAge) -> bool:
    if plan.vulnerable_closed and facts.vulnerable:
        return True
    return plan.operator_closed and not (band is B.UNKNOWN and mode is UnknownAge.ADULT)


def _with_age(
    plan: PackPlan,
    action: Action,
    band: AgeBand,
    treated: AgeBand,
    reasons: tuple[ReasonCode, ...],
    consent_ids: tuple[str, ...] = (),
    remove: frozenset[str] = frozenset(),
) -> Decision:
    if band is B.UNKNOWN:
        reasons = (R.AGE_UNKNOWN, *reasons)
    else:
        treated = band
    return plan.decision(action, band, treated, reasons, consent_ids, remove)


def _gate(
    event: EventFacts,
    consents: ConsentLedger | None,
    cp: CompiledPipeline,
    plan: PackPlan,
    band: AgeBand,
    treated: AgeBand,
    when: datetime,
    policy: PolicyContext,
) -> Decision:
    pack = plan.pack
    if treated is B.MINOR:
        closed, parties, joint = plan.minor_closed, pack.minor_consent_by, pack.minor_consent_joint
    else:
        closed, parties, joint = plan.child_closed, pack.child_consent_by, pack.child_consent_joint
    if closed:
        return _with_age(plan, A.DROP, band, treated, (R.MARKETING_TO_MINOR,))
    if not parties:
        return plan.decision(A.PASS, band, treated, (R.MINOR_NO_CONSENT_NEEDED,))
    blocked = (
        A.QUARANTINE if cp.pipeline.on_missing_consent is MissingConsent.QUARANTINE else A.DROP
    )
    if not cp.assessed:
        return _with_age(plan, blocked, band, treated, (R.PROCESSOR_NOT_ASSESSED,))
    shape = cp.shape(event.fields_present)
    cov = evaluate(consents, cp, parties, joint, when, shape.need, policy.accepted_evidence)
    if cov.reason is not None:
        return _with_age(plan, blocked, band, treated, (cov.reason,))
    remove = shape.remove_for(cov.covered)
    if not remove:
        return _with_age(plan, A.PASS, band, treated, (R.CONSENT_COVERS,), cov.consent_ids)
    reasons = _redaction_reasons(shape.need & ~cov.covered, bool(shape.unlisted & remove))
    if remove & cp.pipeline.fixed_fields:
        reasons = (R.REDACTION_IMPOSSIBLE, *reasons)
        return _with_age(plan, A.QUARANTINE, band, treated, reasons, cov.consent_ids, remove)
    return _with_age(plan, A.REDACT, band, treated, reasons, cov.consent_ids, remove)


def _redaction_reasons(uncovered: int, unlisted: bool) -> tuple[ReasonCode, ...]:
    reasons = [R.CATEGORY_NOT_COVERED] if uncovered else []
    if unlisted:
        reasons.append(R.MINIMISED)
    return (*reasons, R.CONSENT_COVERS)


def _plan(subject: SubjectProfile | None, pipeline: Pipeline, policy: PolicyContext) -> PackPlan:
    return compiled(pipeline, policy).plan(facts_for(subject, pipeline, policy).pack)


def deadletter(reason: ReasonCode, pipeline: Pipeline, policy: PolicyContext) -> Decision:
    """DEADLETTER for an event that cannot be decoded (DECODE_ERROR) or has no subject id."""
    plan = _plan(None, pipeline, policy)
    return plan.decision(A.DEADLETTER, B.UNKNOWN, B.UNKNOWN, (reason,))


def state_not_current(
    event: EventFacts, subject: SubjectProfile | None, pipeline: Pipeline, policy: PolicyContext
) -> Decision:
    """QUARANTINE (STATE_NOT_CURRENT): state consumers did not catch up within max_hold."""
    band = facts_for(subject, pipeline, policy).band_at(event.event_time)
    plan = _plan(subject, pipeline, policy)
    treated = B.CHILD if band is B.UNKNOWN else band
    return plan.decision(A.QUARANTINE, band, treated, (R.STATE_NOT_CURRENT,))


def redaction_impossible(decision: Decision, policy: PolicyContext) -> Decision:
    """Turn a REDACT into QUARANTINE (REDACTION_IMPOSSIBLE), for serde-time discoveries."""
    if decision.action is not A.REDACT:
        return decision
    pack = policy.packs.get(decision.jurisdiction or "", policy.strictest_pack)
    return replace(
        decision,
        action=A.QUARANTINE,
        reasons=(R.REDACTION_IMPOSSIBLE, *decision.reasons),
        rules=(pack.rule(R.REDACTION_IMPOSSIBLE), *decision.rules),
    )
