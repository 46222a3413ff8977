"""Breach detection (R13; CP art 21, MOR art 35): scan egress topics for children's data.

Monitored topics (``WARDSTREAM__LIFECYCLE__MONITORED_TOPICS``, each with the
pipeline whose format and subject path its events carry) are tailed by the
state readers like any state topic: read, never written. Each record becomes
a ``Sighting``; the issuer judges it once the state is current (so a consent
read a moment after the event is not mistaken for a breach), with consent
judged at the event's own time. A child's (or unknown-age) event that the
pipeline's rules would not pass as it stands is a breach. Breaches found in
one issuer round on one topic form an incident on ``ward.incidents``: JSON with
count, severity, pseudonymous subject refs and event refs (topic/partition/
offset, never contents), audited as INCIDENT; every affected subject's
guardian gets a GuardianNotice (REQUIREMENTS safe default 8: every detection
raises an incident, severity is a field). Event refs already reported (read
back from the incidents topic) are never reported again, so replays are quiet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from wardstream.domain.decision import EventFacts
from wardstream.domain.enums import Action, AgeBand, NoticeKind
from wardstream.domain.notice import GuardianNotice
from wardstream.enforce.state import StateStore
from wardstream.policy.context import PolicyContext
from wardstream.policy.decide import decide
from wardstream.policy.ids import stable_id
from wardstream.serde import Origin

if TYPE_CHECKING:
    from wardstream.enforce.processor import PipelineProcessor

RULE = "CN-CPI-2019/art21"
HIGH_AT = 10
NOTICE = (
    "Information about your child was found where it should not have been. We have "
    "recorded the incident and are taking steps to contain it."
)


@dataclass(frozen=True, slots=True)
class Sighting:
    applied_at: float
    ref: str
    subject_id: str
    facts: EventFacts
    like: str


class BreachScanner:
    """Turns monitored records into sightings and judges them (no I/O)."""

    def __init__(
        self, monitored: dict[str, PipelineProcessor], state: StateStore, policy: PolicyContext
    ) -> None:
        self.monitored, self.state, self.policy = monitored, state, policy

    def sight(self, origin: Origin, key: bytes | None, value: bytes | None, at: float) -> Sighting:
        p = self.monitored[origin.topic]
        record = p.codec.decode(value, origin=origin) if value is not None else None
        env = p.locator.locate(key=key, timestamp_ms=None, record=record, origin=origin)
        facts = p._facts(record, env)  # noqa: SLF001 - the processor's own view of the fields
        ref = f"{origin.topic}/{origin.partition}/{origin.offset}"
        return Sighting(at, ref, env.subject_id, facts, p.pipeline.name)

    def is_breach(self, s: Sighting) -> bool:
        p = next(p for p in self.monitored.values() if p.pipeline.name == s.like)
        sid, when = s.subject_id, s.facts.event_time
        profile = self.state.subjects.get(sid)
        if profile is not None and profile.deregistered_at is not None:
            # judged with today's profile, a lawful pre-deregistration event would look
            # unlawful on a replay; its data is already under a DEREGISTERED deletion
            return False
        d = decide(
            s.facts,
            profile,
            self.state.consents.get(sid),
            p.pipeline,
            self.policy,  # the configured policy: a service stop does not make history a breach
            consent_at=when,
        )
        return d.treated_as is not AgeBand.ADULT and d.action is not Action.PASS


def incident(
    topic: str,
    found: list[Sighting],
    refs: dict[str, str],
    now: datetime,
    policy: PolicyContext,
) -> tuple[str, bytes, list[GuardianNotice]]:
    """The incident id, its JSON value and one notice per affected subject (ids keyed)."""
    event_refs = sorted(s.ref for s in found)
    ident = stable_id(policy, "incident", topic, *event_refs)
    subjects = sorted({s.subject_id for s in found})
    value = {
        "incident_id": ident,
        "detected_at": now.isoformat(),
        "topic": topic,
        "count": len(found),
        "subjects": len(subjects),
        "severity": "HIGH" if len(found) >= HIGH_AT else "MEDIUM",
        "rule": RULE,
        "subject_refs": sorted(refs[s] for s in subjects),
        "event_refs": event_refs,
    }
    notices = [
        GuardianNotice(
            notice_id=stable_id(policy, "notice", ident, sid),
            subject_id=sid,
            kind=NoticeKind.INCIDENT,
            issued_at=now,
            message=NOTICE,
        )
        for sid in subjects
    ]
    return ident, json.dumps(value).encode(), notices


def reported_refs(value: bytes) -> list[str]:
    return [str(r) for r in json.loads(value).get("event_refs", [])]
