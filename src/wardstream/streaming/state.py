"""Subject profiles and consent ledgers as the worker knows them now.

The state topics are their own changelog: every worker reads all partitions
of ``ward.subjects`` and ``ward.consents`` from the beginning and folds them
into these dictionaries. ``caught_up_at`` is the latest wall-clock moment at
which the reader had consumed everything both topics held at that moment
(their end offsets, listed after the moment was taken); the consent-consistent
hold compares event times against it (SPEC, "State and time").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.subject import SubjectProfile
from wardstream.policy.ledger import ConsentLedger
from wardstream.serde import AvroCodec, Origin, record_schema

Listener = Callable[[str], None]


@dataclass(slots=True)
class StateStore:
    subjects: dict[str, SubjectProfile] = field(default_factory=dict)
    consents: dict[str, ConsentLedger] = field(default_factory=dict)
    caught_up_at: float = 0.0
    listeners: list[Listener] = field(default_factory=list)
    """Called with a subject id after its profile or consents changed."""

    def put_subject(self, subject_id: str, profile: SubjectProfile | None) -> None:
        if profile is None:
            self.subjects.pop(subject_id, None)
        else:
            self.subjects[subject_id] = profile
        self._changed(subject_id)

    def put_consent(self, event: ConsentEvent) -> None:
        ledger = self.consents.get(event.subject_id) or ConsentLedger.empty(event.subject_id)
        self.consents[event.subject_id] = ledger.apply(event)
        self._changed(event.subject_id)

    def _changed(self, subject_id: str) -> None:
        for listener in self.listeners:
            listener(subject_id)


class StateDecoder:
    """Turns ``ward.subjects`` and ``ward.consents`` records into domain objects."""

    def __init__(self) -> None:
        self._subjects = AvroCodec(record_schema("SubjectProfile"))
        self._consents = AvroCodec(record_schema("ConsentEvent"))

    def subject(
        self, key: bytes | None, value: bytes | None, origin: Origin
    ) -> tuple[str, SubjectProfile | None]:
        if value is None:  # a tombstone on the compacted topic: the profile is gone
            if not key:
                raise ValueError(f"{origin}: a tombstone without a key names no subject")
            return key.decode("utf-8"), None
        profile = SubjectProfile.from_dict(self._subjects.decode(value, origin=origin))
        return profile.subject_id, profile

    def consent(self, value: bytes, origin: Origin) -> ConsentEvent:
        return ConsentEvent.from_dict(self._consents.decode(value, origin=origin))
