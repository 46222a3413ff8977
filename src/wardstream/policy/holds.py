"""Legal holds (MOR art 38): a hold on a subject defers its deletions, audited.

A deferred deletion keeps its id; when the hold lifts it is issued unchanged
except for a fresh ``issued_at`` and deadline, so downstream de-duplication
still works. The audit layer records DELETION_DEFERRED for the deferral.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from wardstream.domain.enums import NoticeKind
from wardstream.domain.holds import DeferredDeletion, LegalHold
from wardstream.domain.notice import GuardianNotice
from wardstream.domain.requests import DeletionRequest
from wardstream.policy.context import PolicyContext
from wardstream.policy.idkey import IdKey
from wardstream.policy.ids import stable_id

DEFER_MESSAGE = (
    "A deletion you are entitled to is deferred by a legal hold; it will be carried "
    "out when the hold is lifted."
)


def hold_id(ids: IdKey, subject_id: str, case_ref: str) -> str:
    """The id of a legal hold: keyed (the case ref and the audit's hold id would otherwise
    let anyone guess the subject), the same for the same subject and case."""
    return ids.id("hold", subject_id, case_ref)


def hold_deletion(
    request: DeletionRequest, holds: Iterable[LegalHold], at: datetime
) -> DeletionRequest | DeferredDeletion:
    """The request itself, or a DeferredDeletion if a hold on its subject is active at ``at``."""
    for hold in sorted(holds, key=lambda h: h.hold_id):
        if hold.subject_id == request.subject_id and hold.is_active(at):
            return DeferredDeletion(deletion=request, hold_id=hold.hold_id, deferred_at=at)
    return request


def lift_hold(
    deferred: DeferredDeletion, lifted_at: datetime, policy: PolicyContext
) -> DeletionRequest:
    """Issue a deferred deletion when its hold lifts: same id, fresh issue time and deadline."""
    return replace(
        deferred.deletion,
        issued_at=lifted_at,
        deadline=lifted_at + policy.deletion_deadline,
    )


def deferral_notice(deferred: DeferredDeletion, policy: PolicyContext) -> GuardianNotice:
    """Tell the guardian that a deletion is deferred (no case details)."""
    request = deferred.deletion
    return GuardianNotice(
        notice_id=stable_id(policy, "notice", request.deletion_id, deferred.hold_id),
        subject_id=request.subject_id,
        kind=NoticeKind.DELETION_DEFERRED,
        issued_at=deferred.deferred_at,
        message=DEFER_MESSAGE,
        deletion_id=request.deletion_id,
        pipelines=request.pipelines,
    )
