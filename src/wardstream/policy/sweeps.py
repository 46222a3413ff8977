"""Sweeps and operator actions: retention, unlawful collection, processor removal, service stop.

See :mod:`wardstream.policy.lifecycle` for the rules; these are its
sweep-style and operator-triggered halves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from wardstream.domain.enums import DeletionReason, NoticeKind
from wardstream.domain.notice import GuardianNotice
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.requests import DeletionRequest
from wardstream.policy.context import PolicyContext
from wardstream.policy.ids import deletion, stable_id

D = DeletionReason
STOP_MESSAGE = (
    "The service has stopped. The personal information it held about your child is "
    "being deleted and no further information will be collected."
)


def retention_sweep(
    first_collected: Mapping[tuple[str, str], datetime],
    pipelines: Iterable[Pipeline],
    now: datetime,
    policy: PolicyContext,
) -> tuple[DeletionRequest, ...]:
    """RETENTION_EXPIRED per (subject_id, pipeline name) whose oldest data outlived retention.

    ``collected_before`` is ``now - retention``: everything collected before it
    must go. The caller then moves its first-collected mark to that instant.
    """
    by_name = {p.name: p for p in pipelines}
    out = []
    for (subject_id, name), first in sorted(first_collected.items()):
        pipeline = by_name.get(name)
        if pipeline is None:
            continue
        cutoff = now - pipeline.retention
        if first < cutoff:
            key = (name, cutoff)
            out.append(
                deletion(
                    subject_id,
                    D.RETENTION_EXPIRED,
                    key,
                    now,
                    policy,
                    pipelines=(name,),
                    collected_before=cutoff,
                )
            )
    return tuple(out)


def deletion_for_unlawful_collection(
    subject_id: str,
    pipelines: Iterable[str],
    collected_after: datetime,
    collected_before: datetime,
    now: datetime,
    policy: PolicyContext,
) -> DeletionRequest:
    """COLLECTED_WITHOUT_CONSENT for exactly the events in [collected_after, collected_before)."""
    names = tuple(sorted(set(pipelines)))
    return deletion(
        subject_id,
        D.COLLECTED_WITHOUT_CONSENT,
        (",".join(names), collected_after, collected_before),
        now,
        policy,
        pipelines=names,
        collected_before=collected_before,
        collected_after=collected_after,
    )


def deletions_for_processor_removed(
    recipient: str,
    seen: Mapping[str, Iterable[str]],
    pipelines: Iterable[Pipeline],
    now: datetime,
    policy: PolicyContext,
) -> tuple[DeletionRequest, ...]:
    """PROCESSOR_REMOVED for every subject whose data went to ``recipient`` (CP art 16-18)."""
    feeding = {p.name for p in pipelines if p.recipient == recipient}
    out = []
    for subject_id in sorted(seen):
        names = tuple(sorted(feeding.intersection(seen[subject_id])))
        if names:
            key = (recipient, now)
            out.append(
                deletion(
                    subject_id,
                    D.PROCESSOR_REMOVED,
                    key,
                    now,
                    policy,
                    pipelines=names,
                    recipient=recipient,
                )
            )
    return tuple(out)


def service_stop(
    children_seen: Mapping[str, Iterable[str]], now: datetime, policy: PolicyContext
) -> tuple[tuple[DeletionRequest, GuardianNotice], ...]:
    """A SERVICE_STOPPED deletion and a GuardianNotice for every child seen (CP art 23)."""
    out = []
    for subject_id in sorted(children_seen):
        names = tuple(sorted(set(children_seen[subject_id])))
        request = deletion(subject_id, D.SERVICE_STOPPED, (now,), now, policy, pipelines=names)
        notice = GuardianNotice(
            notice_id=stable_id(policy, "notice", request.deletion_id),
            subject_id=subject_id,
            kind=NoticeKind.SERVICE_STOPPED,
            issued_at=now,
            message=STOP_MESSAGE,
            deletion_id=request.deletion_id,
            pipelines=names,
        )
        out.append((request, notice))
    return tuple(out)
