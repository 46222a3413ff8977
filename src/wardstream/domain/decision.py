"""EventFacts (the policy core's view of one event) and Decision (its outcome).

``EventFacts.fields_present`` holds every field path present (non-null) in
the event, listed in the pipeline or not: unlisted ones are what minimisation
removes. EventFacts is a NamedTuple rather than a dataclass because the stream
layer builds one per event; it is just as immutable and cheaper to create.

A Decision explains itself: ``reasons`` and ``rules`` run in parallel, the
first entry is the one that determined the action, and :meth:`explanation`
renders neutral text (no subject id, no field values, no ``vulnerable`` flag).
``age_band`` is the band determined from the profile (``UNKNOWN`` possible);
``treated_as`` is the band whose rules were applied (e.g. CHILD for an unknown
age under ``unknown_age: child``) and is what the ``ward-age-band`` header
carries (:attr:`header_band`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from wardstream.domain import _coerce as c
from wardstream.domain.enums import Action, AgeBand, AuditAction
from wardstream.domain.reasons import ReasonCode, describe


class EventFacts(NamedTuple):
    subject_id: str
    event_time: datetime
    fields_present: frozenset[str] = frozenset()

    def __repr__(self) -> str:  # the subject id stays out of logs
        fields = sorted(self.fields_present)
        return f"EventFacts(event_time={self.event_time!r}, fields_present={fields!r})"


_AUDIT = {
    Action.REDACT: AuditAction.REDACTED,
    Action.QUARANTINE: AuditAction.QUARANTINED,
    Action.DROP: AuditAction.DROPPED,
    Action.DEADLETTER: AuditAction.DEADLETTERED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    action: Action
    age_band: AgeBand
    treated_as: AgeBand
    reasons: tuple[ReasonCode, ...]
    rules: tuple[str, ...]
    consent_id: str | None = None
    consent_ids: tuple[str, ...] = ()
    remove_fields: frozenset[str] = frozenset()
    jurisdiction: str | None = None
    pipeline: str | None = None

    @property
    def reason(self) -> ReasonCode:
        """The reason that determined the action."""
        return self.reasons[0]

    @property
    def rule(self) -> str:
        """The rule id of :attr:`reason`."""
        return self.rules[0]

    @property
    def is_forwarded(self) -> bool:
        """True when the event goes to the sink (whole or redacted)."""
        return self.action is Action.PASS or self.action is Action.REDACT

    @property
    def header_band(self) -> str:
        """Value of the ``ward-age-band`` header: child, minor or adult."""
        band = self.treated_as if self.treated_as is not AgeBand.UNKNOWN else AgeBand.CHILD
        return band.value.lower()

    @property
    def audit_action(self) -> AuditAction | None:
        """The audit action for this decision (None for HOLD, which is not final).

        Adult passes are PASSED (counted in SUMMARY records); other passes are
        TAGGED (each gets its own audit record).
        """
        if self.action is Action.PASS:
            return AuditAction.PASSED if self.age_band is AgeBand.ADULT else AuditAction.TAGGED
        return _AUDIT.get(self.action)

    @property
    def needs_own_audit_record(self) -> bool:
        """False only for an adult's pass, which SUMMARY records count instead."""
        return not (self.action is Action.PASS and self.age_band is AgeBand.ADULT)

    def explanation(self) -> str:
        """Human-readable, neutral account of the decision."""
        parts = [
            f"{describe(code)} ({rule})"
            for code, rule in zip(self.reasons, self.rules, strict=True)
        ]
        text = f"{self.action.value} ({self.header_band}): " + "; ".join(parts)
        if self.remove_fields:
            text += "; removed fields: " + ", ".join(sorted(self.remove_fields))
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "age_band": self.age_band.value,
            "treated_as": self.treated_as.value,
            "reasons": [code.value for code in self.reasons],
            "rules": list(self.rules),
            "consent_id": self.consent_id,
            "consent_ids": list(self.consent_ids),
            "remove_fields": sorted(self.remove_fields),
            "jurisdiction": self.jurisdiction,
            "pipeline": self.pipeline,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        r = "Decision"
        return cls(
            action=c.member(r, "action", Action, c.required(r, data, "action")),
            age_band=c.member(r, "age_band", AgeBand, c.required(r, data, "age_band")),
            treated_as=c.member(r, "treated_as", AgeBand, data.get("treated_as", data["age_band"])),
            reasons=c.members(r, "reasons", ReasonCode, c.required(r, data, "reasons")),
            rules=c.strings(r, "rules", c.required(r, data, "rules")),
            consent_id=data.get("consent_id"),
            consent_ids=c.strings(r, "consent_ids", data.get("consent_ids")),
            remove_fields=frozenset(c.strings(r, "remove_fields", data.get("remove_fields"))),
            jurisdiction=data.get("jurisdiction"),
            pipeline=data.get("pipeline"),
        )
