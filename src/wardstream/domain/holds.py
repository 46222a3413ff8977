"""Legal holds (MOR art 38): a hold on a subject defers deletion, audited.

``case_ref`` is an opaque reference to the legal matter (never its content).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wardstream.domain import _coerce as c
from wardstream.domain.requests import DeletionRequest


@dataclass(frozen=True, slots=True, kw_only=True)
class LegalHold:
    hold_id: str
    subject_id: str = field(repr=False)
    placed_at: datetime
    case_ref: str = ""
    lifted_at: datetime | None = None

    def __post_init__(self) -> None:
        r, set_ = "LegalHold", object.__setattr__
        set_(self, "hold_id", c.text(r, "hold_id", self.hold_id))
        set_(self, "subject_id", c.text(r, "subject_id", self.subject_id))
        set_(self, "placed_at", c.utc(r, "placed_at", self.placed_at))
        set_(self, "case_ref", c.opt_text(r, "case_ref", self.case_ref) or "")
        set_(self, "lifted_at", c.opt_utc(r, "lifted_at", self.lifted_at))

    def is_active(self, at: datetime) -> bool:
        """True when the hold is in force at ``at``."""
        return self.placed_at <= at and (self.lifted_at is None or at < self.lifted_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "hold_id": self.hold_id,
            "subject_id": self.subject_id,
            "placed_at": self.placed_at,
            "case_ref": self.case_ref,
            "lifted_at": self.lifted_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LegalHold:
        r = "LegalHold"
        return cls(
            hold_id=c.required(r, data, "hold_id"),
            subject_id=c.required(r, data, "subject_id"),
            placed_at=c.required(r, data, "placed_at"),
            case_ref=data.get("case_ref") or "",
            lifted_at=data.get("lifted_at"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeferredDeletion:
    """A deletion that a legal hold keeps back; issued unchanged when the hold lifts."""

    deletion: DeletionRequest
    hold_id: str
    deferred_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "deferred_at", c.utc("DeferredDeletion", "deferred_at", self.deferred_at)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "deletion": self.deletion.to_dict(),
            "hold_id": self.hold_id,
            "deferred_at": self.deferred_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeferredDeletion:
        r = "DeferredDeletion"
        return cls(
            deletion=DeletionRequest.from_dict(c.required(r, data, "deletion")),
            hold_id=c.required(r, data, "hold_id"),
            deferred_at=c.required(r, data, "deferred_at"),
        )
