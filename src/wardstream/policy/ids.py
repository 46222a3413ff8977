"""Deterministic ids, and DeletionRequests built with them.

The same inputs always give the same id, so a replay of the same state records
issues the same deletion and notice ids and downstream systems can
de-duplicate on them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from wardstream.domain.enums import DeletionReason
from wardstream.domain.requests import DeletionRequest
from wardstream.policy.context import PolicyContext

WARD_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://wardstream.example/ids")


def stable_id(kind: str, *parts: object) -> str:
    """A UUIDv5 over ``kind`` and ``parts`` (datetimes as ISO-8601, the rest via str)."""
    text = "\x1f".join(
        [kind, *(p.isoformat() if isinstance(p, datetime) else str(p) for p in parts)]
    )
    return str(uuid.uuid5(WARD_NAMESPACE, text))


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
        deletion_id=stable_id("deletion", subject_id, reason.value, *key),
        subject_id=subject_id,
        reason=reason,
        pipelines=tuple(pipelines),
        collected_before=now if collected_before is None else collected_before,
        issued_at=now,
        deadline=now + policy.deletion_deadline,
        **extra,  # type: ignore[arg-type]
    )
