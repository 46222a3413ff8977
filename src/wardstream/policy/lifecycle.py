"""Lifecycle: the deletions, corrections and notices the law requires (pure).

Every function takes the clock as ``now`` and returns records; it never
sends, stores or reads the time. Ids are deterministic and keyed (:mod:`ids`),
so a replay issues the same ids and nobody without the key can compute them.
``pipelines`` arguments are the configured pipelines; ``seen`` arguments name
the pipelines a subject's data went through.

* Consent withdrawn (or refused after a grant) -> CONSENT_WITHDRAWN for the
  data collected under that consent: the pipelines whose purpose it covered
  (all pipelines if none matches - failing closed), its data categories, up
  to ``now``. Expired -> CONSENT_EXPIRED, collected before the expiry.
* Deregistration -> DEREGISTERED for every configured pipeline (SPEC: a whole-subject
  deletion never names fewer, seen or not).
* Guardian DELETE -> GUARDIAN_REQUEST, deadline ``received_at`` + the
  configured deletion deadline; CORRECT -> a CorrectionRequest forwarded to the
  same pipelines' consumers.

Retention, unlawful collection, processor removal and service stop are in
:mod:`wardstream.policy.sweeps`; legal holds in :mod:`wardstream.policy.holds`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.enums import ConsentAction, DeletionReason, RequestKind
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.requests import CorrectionRequest, DeletionRequest, GuardianRequest
from wardstream.domain.subject import SubjectProfile
from wardstream.policy.context import PolicyContext
from wardstream.policy.ids import deletion, stable_id
from wardstream.policy.ledger import ConsentLedger, Grant

D = DeletionReason


def _names_for(purposes: Iterable[str], pipelines: Iterable[Pipeline]) -> tuple[str, ...]:
    wanted, all_pipelines = set(purposes), tuple(pipelines)
    names = sorted(p.name for p in all_pipelines if p.purpose in wanted)
    return tuple(names or sorted(p.name for p in all_pipelines))


def _for_grant(
    grant: Grant,
    trigger: ConsentEvent,
    pipelines: Iterable[Pipeline],
    now: datetime,
    policy: PolicyContext,
) -> DeletionRequest:
    key = (grant.consent_id, trigger.consent_id, trigger.action.value, trigger.effective_at)
    return deletion(
        trigger.subject_id,
        D.CONSENT_WITHDRAWN,
        key,
        now,
        policy,
        pipelines=_names_for(grant.purposes, pipelines),
        data_categories=grant.event.data_categories,
        consent_id=grant.consent_id,
    )


def deletions_for_consent_event(
    ledger: ConsentLedger,
    event: ConsentEvent,
    pipelines: Iterable[Pipeline],
    now: datetime,
    policy: PolicyContext,
) -> tuple[DeletionRequest, ...]:
    """Deletions caused by ``event`` arriving on ``ledger`` (the state *before* it)."""
    pipelines = tuple(pipelines)
    if event.action is ConsentAction.WITHDRAWN:
        return tuple(
            _for_grant(g, event, pipelines, now, policy) for g in ledger.affected_by(event)
        )
    if event.action is not ConsentAction.REFUSED:
        return ()
    after, out = ledger.apply(event), []
    for grant in ledger.grants:
        lost = [
            p.purpose
            for p in pipelines
            if p.purpose in grant.purposes
            and _covers(ledger, grant, p, policy)
            and not _covers(after, grant, p, policy)
        ]
        if lost and grant.withdrawn_at is None:
            narrowed = replace(grant, purposes=frozenset(lost))
            out.append(_for_grant(narrowed, event, pipelines, now, policy))
    return tuple(out)


def _covers(ledger: ConsentLedger, grant: Grant, pipeline: Pipeline, policy: PolicyContext) -> bool:
    spec = policy.purpose(pipeline.purpose)
    return grant in ledger.candidates(spec.name, spec.essential).grants


def deletions_for_expiry(
    ledger: ConsentLedger,
    pipelines: Iterable[Pipeline],
    since: datetime,
    now: datetime,
    policy: PolicyContext,
) -> tuple[DeletionRequest, ...]:
    """CONSENT_EXPIRED for each open grant expiring in (since, now]."""
    pipelines = tuple(pipelines)
    return tuple(
        deletion(
            ledger.subject_id,
            D.CONSENT_EXPIRED,
            (g.consent_id, g.expires_at),
            now,
            policy,
            pipelines=_names_for(g.purposes, pipelines),
            data_categories=g.event.data_categories,
            consent_id=g.consent_id,
            collected_before=g.expires_at,
        )
        for g in ledger.grants
        if g.withdrawn_at is None and g.expires_at is not None and since < g.expires_at <= now
    )


def deletion_for_deregistration(
    profile: SubjectProfile, pipelines: Iterable[str], now: datetime, policy: PolicyContext
) -> DeletionRequest | None:
    """DEREGISTERED naming ``pipelines`` (None if registered). The lifecycle passes every
    configured pipeline: what was collected before a seen mark existed is not known."""
    if profile.deregistered_at is None:
        return None
    return deletion(
        profile.subject_id,
        D.DEREGISTERED,
        (profile.deregistered_at,),
        now,
        policy,
        pipelines=tuple(sorted(set(pipelines))),
        collected_before=max(now, profile.deregistered_at),
    )


def on_guardian_request(
    request: GuardianRequest, pipelines: Iterable[str], now: datetime, policy: PolicyContext
) -> DeletionRequest | CorrectionRequest:
    """DELETE -> DeletionRequest; CORRECT -> CorrectionRequest (empty scope = ``pipelines``,
    which the lifecycle passes as every configured pipeline)."""
    names = tuple(sorted(set(request.scope or pipelines)))
    deadline = request.received_at + policy.deletion_deadline
    if request.kind is RequestKind.CORRECT:
        return CorrectionRequest(
            correction_id=stable_id(policy, "correction", request.request_id),
            request_id=request.request_id,
            subject_id=request.subject_id,
            issued_at=now,
            deadline=deadline,
            pipelines=names,
        )
    return DeletionRequest(
        deletion_id=stable_id(
            policy, "deletion", request.subject_id, "GUARDIAN_REQUEST", request.request_id
        ),
        subject_id=request.subject_id,
        reason=D.GUARDIAN_REQUEST,
        pipelines=names,
        collected_before=max(now, request.received_at),
        issued_at=now,
        deadline=deadline,
    )
