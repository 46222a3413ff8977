"""Subject profiles and consent ledgers as the worker knows them now.

The state topics are their own changelog: every worker reads all partitions
of ``ward.subjects`` and ``ward.consents`` from the beginning and folds them
into these mappings. ``caught_up_at`` is the latest wall-clock moment at
which the reader had consumed everything both topics held at that moment
(their end offsets, listed after the moment was taken); the consent-consistent
hold compares event times against it (SPEC, "State and time").

``subjects`` and ``consents`` are mappings by subject id (``get``, ``[]``,
``in``, ``pop``, ``values()``) that keep each subject's Avro bytes compactly
and decode on lookup, caching the objects in use (``wardstream.state``): ten
million subjects fit in well under 2 GB. Records are applied with the bytes
they came in (``put_subject(..., value)``), so nothing is encoded again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.subject import SubjectProfile
from wardstream.policy.ledger import ConsentLedger
from wardstream.serde import Origin
from wardstream.state.consent_codec import ConsentCodec
from wardstream.state.maps import LedgerMap, ProfileMap
from wardstream.state.profile_codec import ProfileCodec

Listener = Callable[[str], None]
Idle = Callable[[], bool]


@dataclass(slots=True)
class StateStore:
    subjects: ProfileMap = field(default_factory=ProfileMap)
    consents: LedgerMap = field(default_factory=LedgerMap)
    caught_up_at: float = 0.0
    listeners: list[Listener] = field(default_factory=list)
    """Called with a subject id after its profile or consents changed (``listen``)."""
    idle: list[Idle] = field(default_factory=list)
    """Per listener: whether it has nothing to do now for any subject (``quiet``)."""

    def listen(self, listener: Listener, idle: Idle) -> None:
        """Call ``listener`` after every change; ``idle()`` True means it would do nothing."""
        self.listeners.append(listener)
        self.idle.append(idle)

    def settle(self) -> None:
        """After a bulk read: room the maps reserved for it and did not use goes back."""
        self.subjects.settle()
        self.consents.settle()

    def quiet(self) -> bool:
        """True while no listener needs to hear of a change: a bulk read may skip them
        (a listener added without its idle check is never skipped)."""
        return len(self.idle) == len(self.listeners) and all(idle() for idle in self.idle)

    def put_subject(
        self, subject_id: str, profile: SubjectProfile | None, value: bytes | None = None
    ) -> SubjectProfile | None:
        """Store (None: remove) the profile, ``value`` its Avro bytes; the profile before."""
        before = self.subjects.swap(subject_id, profile, value)
        self._changed(subject_id)
        return before

    def put_consent(self, event: ConsentEvent, value: bytes | None = None) -> ConsentLedger | None:
        """Fold the event in, ``value`` its Avro bytes; the subject's ledger before, or None."""
        before = self.consents.add(event, value)
        self._changed(event.subject_id)
        return before

    def _changed(self, subject_id: str) -> None:
        for listener in self.listeners:
            listener(subject_id)


class StateDecoder:
    """Turns ``ward.subjects`` and ``ward.consents`` records into domain objects.

    Usual records are read without fastavro; anything else by the full decoder,
    which accepts and rejects exactly as before (``wardstream.state``).
    """

    def __init__(self) -> None:
        self._subjects = ProfileCodec()
        self._consents = ConsentCodec()

    def subject(
        self, key: bytes | None, value: bytes | None, origin: Origin
    ) -> tuple[str, SubjectProfile | None]:
        if value is None:  # a tombstone on the compacted topic: the profile is gone
            if not key:
                raise ValueError(f"{origin}: a tombstone without a key names no subject")
            return key.decode("utf-8"), None
        profile = self._subjects.decode(value, origin)
        return profile.subject_id, profile

    def consent(self, value: bytes, origin: Origin) -> ConsentEvent:
        return self._consents.decode(value, origin)
