"""GuardianNotice: a message for a subject's guardian (`ward.notices`).

``message`` is written for the guardian and is neutral: it never mentions the
``vulnerable`` flag, a birth date or event contents. ``deletion_id`` links the
notice to the deletion it announces, when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wardstream.domain import _coerce as c
from wardstream.domain.enums import NoticeKind


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardianNotice:
    notice_id: str
    subject_id: str = field(repr=False)
    kind: NoticeKind
    issued_at: datetime
    message: str = ""
    deletion_id: str | None = None
    pipelines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        r, set_ = "GuardianNotice", object.__setattr__
        set_(self, "notice_id", c.text(r, "notice_id", self.notice_id))
        set_(self, "subject_id", c.text(r, "subject_id", self.subject_id))
        set_(self, "kind", c.member(r, "kind", NoticeKind, self.kind))
        set_(self, "issued_at", c.utc(r, "issued_at", self.issued_at))
        set_(self, "message", c.opt_text(r, "message", self.message) or "")
        set_(self, "deletion_id", c.opt_text(r, "deletion_id", self.deletion_id))
        set_(self, "pipelines", c.strings(r, "pipelines", self.pipelines))

    def to_dict(self) -> dict[str, Any]:
        return {
            "notice_id": self.notice_id,
            "subject_id": self.subject_id,
            "kind": self.kind.value,
            "issued_at": self.issued_at,
            "message": self.message,
            "deletion_id": self.deletion_id,
            "pipelines": list(self.pipelines),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GuardianNotice:
        r = "GuardianNotice"
        return cls(
            notice_id=c.required(r, data, "notice_id"),
            subject_id=c.required(r, data, "subject_id"),
            kind=c.required(r, data, "kind"),
            issued_at=c.required(r, data, "issued_at"),
            message=data.get("message") or "",
            deletion_id=data.get("deletion_id"),
            pipelines=data.get("pipelines") or (),
        )
