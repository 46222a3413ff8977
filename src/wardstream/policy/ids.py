"""Deterministic keyed ids, and DeletionRequests built with them.

The same inputs always give the same id, so a replay of the same state records
issues the same deletion and notice ids and downstream systems can
de-duplicate on them. Every id is an HMAC under the policy's secret id key
(:mod:`wardstream.policy.idkey`): the inputs include raw subject ids, and an
unkeyed id could be reversed by guessing them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from wardstream.domain.enums import DeletionReason
from wardstream.domain.requests import DeletionRequest
from wardstream.policy.context import PolicyContext
from wardstream.policy.idkey import require


def stable_id(policy: PolicyContext, kind: str, *parts: object) -> str:
    """The keyed id of ``kind`` and ``parts`` under ``policy.ids`` (IdKeyError without one)."""
    return require(policy.ids).id(kind, *parts)


def deletion(
    subject_id: str,
    reason: DeletionReason,
    key: tuple[object, ...],
    now: datetime,
    policy: PolicyContext,
    *,
    pipelines: Iterable[str] = (),
    collected_before: datetime | None = None,
    **extra: object,
) -> DeletionRequest:
    """A DeletionRequest whose id is derived from subject, reason and ``key``."""
    return DeletionRequest(
        deletion_id=stable_id(policy, "deletion", subject_id, reason.value, *key),
        subject_id=subject_id,
        reason=reason,
        pipelines=tuple(pipelines),
        collected_before=now if collected_before is None else collected_before,
        issued_at=now,
        deadline=now + policy.deletion_deadline,
        **extra,  # type: ignore[arg-type]
    )
