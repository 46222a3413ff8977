"""SubjectProfile: what wardstream knows about one data subject (`ward.subjects`).

The profile carries either a ``birth_date`` (preferred: the age band is then
computed at each event's time) or, when only a verified band is known, an
``age_band`` with the ``verification`` method that established it. A band
without a verification method does not count (the age is then unknown).

``vulnerable`` marks a child in difficult situations (DSM). It is deliberately
left out of ``repr`` so that it never reaches a log line; the same holds for the
subject id and the birth date.

``policy_memo`` is not part of the record (not compared, hashed, printed or
serialised): the policy core keeps what it compiled from this profile there,
so that the cache lives and dies with the profile object instead of growing
in a global table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from wardstream.domain import _coerce as c
from wardstream.domain.enums import AgeBand

_R = "SubjectProfile"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectProfile:
    subject_id: str = field(repr=False)
    updated_at: datetime
    birth_date: date | None = field(default=None, repr=False)
    age_band: AgeBand | None = None
    jurisdiction: str | None = None
    verification: str = ""
    vulnerable: bool = field(default=False, repr=False)
    deregistered_at: datetime | None = None
    policy_memo: dict[Any, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "subject_id", c.text(_R, "subject_id", self.subject_id))
        set_(self, "updated_at", c.utc(_R, "updated_at", self.updated_at))
        set_(self, "birth_date", c.opt_date(_R, "birth_date", self.birth_date))
        set_(self, "age_band", c.opt_member(_R, "age_band", AgeBand, self.age_band))
        if self.age_band is AgeBand.UNKNOWN:
            set_(self, "age_band", None)
        code = c.opt_text(_R, "jurisdiction", self.jurisdiction)
        set_(self, "jurisdiction", (code.strip().upper() or None) if code else None)
        set_(self, "verification", c.opt_text(_R, "verification", self.verification) or "")
        set_(self, "vulnerable", bool(self.vulnerable))
        set_(self, "deregistered_at", c.opt_utc(_R, "deregistered_at", self.deregistered_at))

    @property
    def has_verified_band(self) -> bool:
        """True when ``age_band`` counts: set and backed by a verification method."""
        return self.age_band is not None and bool(self.verification.strip())

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id,
            "birth_date": self.birth_date,
            "age_band": None if self.age_band is None else self.age_band.value,
            "jurisdiction": self.jurisdiction,
            "verification": self.verification,
            "vulnerable": self.vulnerable,
            "deregistered_at": self.deregistered_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubjectProfile:
        return cls(
            subject_id=c.required(_R, data, "subject_id"),
            updated_at=c.required(_R, data, "updated_at"),
            birth_date=data.get("birth_date"),
            age_band=data.get("age_band"),
            jurisdiction=data.get("jurisdiction"),
            verification=data.get("verification") or "",
            vulnerable=bool(data.get("vulnerable", False)),
            deregistered_at=data.get("deregistered_at"),
        )
