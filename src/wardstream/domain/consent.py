"""ConsentEvent: one statement of consent about one subject (`ward.consents`).

GRANTED opens (or replaces) the consent ``consent_id`` with its scope;
WITHDRAWN closes it; REFUSED declines the listed purposes (an empty list
declines every non-essential purpose). How events fold into the state used for
decisions is described in :mod:`wardstream.policy.ledger`.

``evidence`` names the verification method (``method`` or ``method:reference``,
e.g. ``payment_card:txn-1``); consent counts only when the method is on the
operator's accepted list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wardstream.domain import _coerce as c
from wardstream.domain.enums import ConsentAction, DataCategory, GrantedBy
from wardstream.domain.errors import InvalidRecordError

_R = "ConsentEvent"


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentEvent:
    consent_id: str
    subject_id: str = field(repr=False)
    granted_by: GrantedBy
    action: ConsentAction
    effective_at: datetime
    guardian_ref: str | None = field(default=None, repr=False)
    purposes: tuple[str, ...] = ()
    data_categories: tuple[DataCategory, ...] = ()
    third_party_recipients: tuple[str, ...] = ()
    public_disclosure: bool = False
    policy_version: int = 1
    expires_at: datetime | None = None
    evidence: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "consent_id", c.text(_R, "consent_id", self.consent_id))
        set_(self, "subject_id", c.text(_R, "subject_id", self.subject_id))
        set_(self, "granted_by", c.member(_R, "granted_by", GrantedBy, self.granted_by))
        set_(self, "action", c.member(_R, "action", ConsentAction, self.action))
        set_(self, "effective_at", c.utc(_R, "effective_at", self.effective_at))
        set_(self, "guardian_ref", c.opt_text(_R, "guardian_ref", self.guardian_ref))
        set_(self, "purposes", c.strings(_R, "purposes", self.purposes))
        cats = c.members(_R, "data_categories", DataCategory, self.data_categories)
        set_(self, "data_categories", cats)
        recipients = c.strings(_R, "third_party_recipients", self.third_party_recipients)
        set_(self, "third_party_recipients", recipients)
        set_(self, "public_disclosure", bool(self.public_disclosure))
        if isinstance(self.policy_version, bool) or not isinstance(self.policy_version, int):
            raise InvalidRecordError(_R, "policy_version", "expected an integer")
        set_(self, "expires_at", c.opt_utc(_R, "expires_at", self.expires_at))
        set_(self, "evidence", c.opt_text(_R, "evidence", self.evidence))

    @property
    def evidence_method(self) -> str:
        """The verification method named by ``evidence`` (lower case; '' if none)."""
        return (self.evidence or "").split(":", 1)[0].strip().lower()

    def to_dict(self) -> dict[str, Any]:
        return {
            "consent_id": self.consent_id,
            "subject_id": self.subject_id,
            "granted_by": self.granted_by.value,
            "guardian_ref": self.guardian_ref,
            "action": self.action.value,
            "purposes": list(self.purposes),
            "data_categories": [cat.value for cat in self.data_categories],
            "third_party_recipients": list(self.third_party_recipients),
            "public_disclosure": self.public_disclosure,
            "policy_version": self.policy_version,
            "effective_at": self.effective_at,
            "expires_at": self.expires_at,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConsentEvent:
        def req(name: str) -> Any:
            return c.required(_R, data, name)

        return cls(
            consent_id=req("consent_id"),
            subject_id=req("subject_id"),
            granted_by=req("granted_by"),
            action=req("action"),
            effective_at=req("effective_at"),
            guardian_ref=data.get("guardian_ref"),
            purposes=data.get("purposes") or (),
            data_categories=data.get("data_categories") or (),
            third_party_recipients=data.get("third_party_recipients") or (),
            public_disclosure=bool(data.get("public_disclosure", False)),
            policy_version=data.get("policy_version", 1),
            expires_at=data.get("expires_at"),
            evidence=data.get("evidence"),
        )
