"""Lifecycle: deletions, corrections, notices, legal holds (R7-R10, R14)."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.policy.test_policy_support import (
    T0,
    born,
    child,
    grant,
    ledger,
    pipeline,
    policy,
    refuse,
    subject,
    withdraw,
)

from wardstream.domain.enums import DeletionReason, NoticeKind, RequestKind
from wardstream.domain.holds import DeferredDeletion, LegalHold
from wardstream.domain.requests import CorrectionRequest, DeletionRequest, GuardianRequest
from wardstream.policy.holds import deferral_notice, hold_deletion, lift_hold
from wardstream.policy.lifecycle import (
    deletion_for_deregistration,
    deletions_for_consent_event,
    deletions_for_expiry,
    on_guardian_request,
)
from wardstream.policy.sweeps import (
    deletion_for_unlawful_collection,
    deletions_for_processor_removed,
    retention_sweep,
    service_stop,
)

DAY = timedelta(days=1)
POLICY = policy(deletion_deadline=timedelta(days=15))
PIPES = (
    pipeline(name="clicks", purpose="analytics"),
    pipeline(name="lessons", purpose="learning"),
    pipeline(name="partner", purpose="analytics", destination="third_party:partner-x"),
)


def test_r7_retention_expiry_issues_deletion_with_collected_before() -> None:
    seen = {("kid-1", "clicks"): T0}
    assert retention_sweep(seen, PIPES, T0 + 30 * DAY, POLICY) == ()
    (request,) = retention_sweep(seen, PIPES, T0 + 31 * DAY, POLICY)
    assert request.reason is DeletionReason.RETENTION_EXPIRED
    assert request.collected_before == T0 + DAY  # now - 30d
    assert request.pipelines == ("clicks",) and request.deadline == T0 + 46 * DAY
    assert retention_sweep(seen, PIPES, T0 + 31 * DAY, POLICY) == (request,)  # replay: same id
    assert retention_sweep({("kid-1", "gone"): T0}, PIPES, T0 + 99 * DAY, POLICY) == ()


def test_r8_deregistration_names_the_pipelines_it_is_given() -> None:
    profile = child(deregistered_at=T0)
    request = deletion_for_deregistration(
        profile, ["lessons", "clicks", "partner", "clicks"], T0, POLICY
    )
    assert request is not None
    assert request.reason is DeletionReason.DEREGISTERED
    assert request.pipelines == ("clicks", "lessons", "partner")
    assert deletion_for_deregistration(child(), ["clicks"], T0, POLICY) is None
    again = deletion_for_deregistration(profile, ["clicks"], T0 + DAY, POLICY)
    assert again is not None and again.deletion_id == request.deletion_id


def test_r8_withdrawal_deletes_data_collected_under_the_consent() -> None:
    state = ledger(grant("c1", purposes=["analytics"]), grant("c2", purposes=["learning"]))
    (request,) = deletions_for_consent_event(state, withdraw("c1"), PIPES, T0, POLICY)
    assert request.reason is DeletionReason.CONSENT_WITHDRAWN and request.consent_id == "c1"
    assert request.pipelines == ("clicks", "partner")
    assert request.data_categories == grant().data_categories
    assert request.collected_before == T0 and request.deadline == T0 + 15 * DAY
    again = deletions_for_consent_event(state, withdraw("c1"), PIPES, T0 + DAY, POLICY)
    assert again[0].deletion_id == request.deletion_id
    assert deletions_for_consent_event(state, grant("c3"), PIPES, T0, POLICY) == ()


def test_refusal_after_a_grant_deletes_only_the_refused_purpose() -> None:
    state = ledger(grant("c1", purposes=["analytics", "learning"]))
    (request,) = deletions_for_consent_event(state, refuse(["analytics"]), PIPES, T0, POLICY)
    assert request.pipelines == ("clicks", "partner") and request.consent_id == "c1"
    blanket = deletions_for_consent_event(state, refuse([]), PIPES, T0, POLICY)
    assert blanket[0].pipelines == ("clicks", "partner")  # learning is essential


def test_expiry_sweep_issues_each_deletion_once() -> None:
    state = ledger(grant(expires_at=T0), grant("c2", purposes=["learning"]))
    (request,) = deletions_for_expiry(state, PIPES, T0 - DAY, T0 + DAY, POLICY)
    assert request.reason is DeletionReason.CONSENT_EXPIRED
    assert request.collected_before == T0
    assert deletions_for_expiry(state, PIPES, T0 + DAY, T0 + 2 * DAY, POLICY) == ()


def test_guardian_delete_and_correct() -> None:
    delete = GuardianRequest(
        request_id="r1", subject_id="kid-1", kind=RequestKind.DELETE, received_at=T0
    )
    request = on_guardian_request(delete, ["clicks", "lessons"], T0 + DAY, POLICY)
    assert isinstance(request, DeletionRequest)
    assert request.reason is DeletionReason.GUARDIAN_REQUEST
    assert request.deadline == T0 + 15 * DAY and request.pipelines == ("clicks", "lessons")
    scoped = GuardianRequest(
        request_id="r2", subject_id="kid-1", kind="CORRECT", scope=["lessons"], received_at=T0
    )
    correction = on_guardian_request(scoped, ["clicks", "lessons"], T0, POLICY)
    assert isinstance(correction, CorrectionRequest)
    assert correction.pipelines == ("lessons",) and correction.request_id == "r2"


def test_unlawful_collection_covers_exactly_the_range() -> None:
    request = deletion_for_unlawful_collection("kid-1", ["clicks"], T0 - DAY, T0, T0 + DAY, POLICY)
    assert request.reason is DeletionReason.COLLECTED_WITHOUT_CONSENT
    assert (request.collected_after, request.collected_before) == (T0 - DAY, T0)


def test_r10_processor_removed_deletes_data_sent_to_it() -> None:
    seen = {"kid-1": ["partner", "clicks"], "kid-2": ["clicks"]}
    (request,) = deletions_for_processor_removed("partner-x", seen, PIPES, T0, POLICY)
    assert request.subject_id == "kid-1" and request.recipient == "partner-x"
    assert request.reason is DeletionReason.PROCESSOR_REMOVED and request.pipelines == ("partner",)


def test_r9_service_stop_issues_a_deletion_and_a_notice_per_child() -> None:
    seen = {f"kid-{i}": ["clicks"] for i in range(1000)}
    pairs = service_stop(seen, T0, POLICY)
    assert len(pairs) == 1000
    assert len({d.deletion_id for d, _ in pairs}) == 1000
    for deletion, notice in pairs[:5]:
        assert deletion.reason is DeletionReason.SERVICE_STOPPED
        assert notice.kind is NoticeKind.SERVICE_STOPPED
        assert notice.deletion_id == deletion.deletion_id
        assert notice.subject_id == deletion.subject_id
    assert service_stop(seen, T0, POLICY) == pairs


def test_r14_legal_hold_defers_then_issues_the_same_deletion() -> None:
    state = ledger(grant())
    (request,) = deletions_for_consent_event(state, withdraw(), PIPES, T0, POLICY)
    hold = LegalHold(hold_id="h1", subject_id="kid-1", placed_at=T0 - DAY, case_ref="case-1")
    deferred = hold_deletion(request, [hold], T0)
    assert isinstance(deferred, DeferredDeletion) and deferred.hold_id == "h1"
    notice = deferral_notice(deferred, POLICY)
    assert notice.kind is NoticeKind.DELETION_DEFERRED and "case-1" not in notice.message
    issued = lift_hold(deferred, T0 + 10 * DAY, POLICY)
    assert issued.deletion_id == request.deletion_id
    assert issued.issued_at == T0 + 10 * DAY and issued.deadline == T0 + 25 * DAY
    lifted = LegalHold(hold_id="h1", subject_id="kid-1", placed_at=T0 - DAY, lifted_at=T0)
    assert hold_deletion(request, [lifted], T0) is request
    other = LegalHold(hold_id="h2", subject_id="kid-2", placed_at=T0 - DAY)
    assert hold_deletion(request, [other], T0) is request


def test_ids_depend_on_inputs_not_on_order_of_calls() -> None:
    adult = subject(born(30), deregistered_at=T0)
    first = deletion_for_deregistration(adult, ["clicks"], T0, POLICY)
    other = deletion_for_deregistration(
        subject(born(30), deregistered_at=T0 + DAY), ["clicks"], T0, POLICY
    )
    assert first is not None and other is not None
    assert first.deletion_id != other.deletion_id
