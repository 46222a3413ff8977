"""Requests in and out: guardian requests, deletions, corrections, legal holds.

``GuardianRequest`` arrives on `ward.requests`; ``DeletionRequest`` and
``CorrectionRequest`` go out to downstream systems (`ward.deletions`).
``LegalHold`` and ``DeferredDeletion`` model MOR art 38: a hold on a subject
defers deletion until it is lifted.

Fields beyond the SPEC minimum have defaults, so a reader that only knows the
SPEC fields can still build the record:
``DeletionRequest.consent_id`` (the consent whose end caused it),
``collected_after`` (lower bound of a time range, for compensations) and
``recipient`` (a third party the data was sent to).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wardstream.domain import _coerce as c
from wardstream.domain.enums import DataCategory, DeletionReason, RequestKind


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardianRequest:
    request_id: str
    subject_id: str = field(repr=False)
    kind: RequestKind
    received_at: datetime
    scope: tuple[str, ...] = ()  # pipeline names; empty = all

    def __post_init__(self) -> None:
        r, set_ = "GuardianRequest", object.__setattr__
        set_(self, "request_id", c.text(r, "request_id", self.request_id))
        set_(self, "subject_id", c.text(r, "subject_id", self.subject_id))
        set_(self, "kind", c.member(r, "kind", RequestKind, self.kind))
        set_(self, "received_at", c.utc(r, "received_at", self.received_at))
        set_(self, "scope", c.strings(r, "scope", self.scope))

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "subject_id": self.subject_id,
            "kind": self.kind.value,
            "scope": list(self.scope),
            "received_at": self.received_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GuardianRequest:
        r = "GuardianRequest"
        return cls(
            request_id=c.required(r, data, "request_id"),
            subject_id=c.required(r, data, "subject_id"),
            kind=c.required(r, data, "kind"),
            received_at=c.required(r, data, "received_at"),
            scope=data.get("scope") or (),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletionRequest:
    deletion_id: str
    subject_id: str = field(repr=False)
    reason: DeletionReason
    collected_before: datetime
    issued_at: datetime
    deadline: datetime
    pipelines: tuple[str, ...] = ()
    data_categories: tuple[DataCategory, ...] = ()  # empty = all
    consent_id: str | None = None
    collected_after: datetime | None = None
    recipient: str | None = None

    def __post_init__(self) -> None:
        r, set_ = "DeletionRequest", object.__setattr__
        set_(self, "deletion_id", c.text(r, "deletion_id", self.deletion_id))
        set_(self, "subject_id", c.text(r, "subject_id", self.subject_id))
        set_(self, "reason", c.member(r, "reason", DeletionReason, self.reason))
        for name in ("collected_before", "issued_at", "deadline"):
            set_(self, name, c.utc(r, name, getattr(self, name)))
        set_(self, "pipelines", c.strings(r, "pipelines", self.pipelines))
        cats = c.members(r, "data_categories", DataCategory, self.data_categories)
        set_(self, "data_categories", cats)
        set_(self, "consent_id", c.opt_text(r, "consent_id", self.consent_id))
        set_(self, "collected_after", c.opt_utc(r, "collected_after", self.collected_after))
        set_(self, "recipient", c.opt_text(r, "recipient", self.recipient))

    def to_dict(self) -> dict[str, Any]:
        return {
            "deletion_id": self.deletion_id,
            "subject_id": self.subject_id,
            "reason": self.reason.value,
            "pipelines": list(self.pipelines),
            "data_categories": [cat.value for cat in self.data_categories],
            "collected_before": self.collected_before,
            "issued_at": self.issued_at,
            "deadline": self.deadline,
            "consent_id": self.consent_id,
            "collected_after": self.collected_after,
            "recipient": self.recipient,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeletionRequest:
        r = "DeletionRequest"
        return cls(
            deletion_id=c.required(r, data, "deletion_id"),
            subject_id=c.required(r, data, "subject_id"),
            reason=c.required(r, data, "reason"),
            collected_before=c.required(r, data, "collected_before"),
            issued_at=c.required(r, data, "issued_at"),
            deadline=c.required(r, data, "deadline"),
            pipelines=data.get("pipelines") or (),
            data_categories=data.get("data_categories") or (),
            consent_id=data.get("consent_id"),
            collected_after=data.get("collected_after"),
            recipient=data.get("recipient"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectionRequest:
    """A guardian's CORRECT request, forwarded to the systems fed by ``pipelines``."""

    correction_id: str
    request_id: str
    subject_id: str = field(repr=False)
    issued_at: datetime
    deadline: datetime
    pipelines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        r, set_ = "CorrectionRequest", object.__setattr__
        for name in ("correction_id", "request_id", "subject_id"):
            set_(self, name, c.text(r, name, getattr(self, name)))
        set_(self, "issued_at", c.utc(r, "issued_at", self.issued_at))
        set_(self, "deadline", c.utc(r, "deadline", self.deadline))
        set_(self, "pipelines", c.strings(r, "pipelines", self.pipelines))

    def to_dict(self) -> dict[str, Any]:
        return {
            "correction_id": self.correction_id,
            "request_id": self.request_id,
            "subject_id": self.subject_id,
            "pipelines": list(self.pipelines),
            "issued_at": self.issued_at,
            "deadline": self.deadline,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CorrectionRequest:
        r = "CorrectionRequest"
        return cls(
            correction_id=c.required(r, data, "correction_id"),
            request_id=c.required(r, data, "request_id"),
            subject_id=c.required(r, data, "subject_id"),
            issued_at=c.required(r, data, "issued_at"),
            deadline=c.required(r, data, "deadline"),
            pipelines=data.get("pipelines") or (),
        )
