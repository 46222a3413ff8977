"""What every worker knows about the lifecycle, and the one place state records are applied.

``StateApplier.apply(topic, partition, offset, key, value)`` is what both
engines' state readers call for every record of every topic in
``StateApplier.topics``: subjects, consents and quarantine (as before) plus
the lifecycle's topics - seen marks, stop markers, holds, data keys, guardian
requests, and the ids already on the deletions, notices and corrections
topics (so a restarted or newly elected issuer never issues an id twice).

Applying never sends anything. A record that cannot be applied changes nothing
(the subject stays as it was: fail closed) and is kept in ``rejects`` for the
lifecycle leader to dead-letter (``Enforcer.tick``). A record that may require a deletion (a
withdrawal, a deregistration, a guardian request) becomes a ``Trigger`` with
the wall-clock moment it was applied; the issuer resolves it only once the
reader was caught up after that moment, i.e. once every id already issued is
known here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.enums import ConsentAction, DeletionReason
from wardstream.domain.holds import DeferredDeletion, LegalHold
from wardstream.domain.requests import GuardianRequest
from wardstream.domain.subject import SubjectProfile
from wardstream.enforce.datakeys import KeyStore
from wardstream.enforce.quarantine import QuarantineBook
from wardstream.enforce.state import StateDecoder, StateStore
from wardstream.lifecycle import records as lr
from wardstream.lifecycle.breach import BreachScanner, Sighting, reported_refs
from wardstream.lifecycle.expiry_index import ExpiryIndex
from wardstream.policy.ledger import ConsentLedger
from wardstream.serde import AvroCodec, DecodeError, Origin, SchemaMismatch, record_schema
from wardstream.state.maps import Row

log = logging.getLogger(__name__)
SHREDDING = frozenset(
    {DeletionReason.DEREGISTERED, DeletionReason.GUARDIAN_REQUEST, DeletionReason.SERVICE_STOPPED}
)
"""Deletion reasons that destroy the subject's data keys (crypto-shredding)."""
TriggerBody = tuple[ConsentLedger, ConsentEvent] | SubjectProfile | GuardianRequest
MAX_REJECTS = 10_000
"""Rejected records kept for the dead-letter topic between ticks; more are only counted."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A state record that could not be applied: what the dead-letter topic gets."""

    origin: Origin
    key: bytes | None
    value: bytes | None
    error: DecodeError


@dataclass(frozen=True, slots=True)
class Trigger:
    applied_at: float
    body: TriggerBody


@dataclass(slots=True)
class LifecycleState:
    seen: dict[str, dict[str, lr.SeenMark]] = field(default_factory=dict)
    seen_changed: set[tuple[str, str]] = field(default_factory=set)
    """(subject id, pipeline) of the seen marks read since the retention sweep looked."""
    unconfirmed: dict[tuple[str, str], lr.SeenMark] = field(default_factory=dict)
    stops: dict[str, datetime] = field(default_factory=dict)
    holds: dict[str, LegalHold] = field(default_factory=dict)
    deferred: dict[str, DeferredDeletion] = field(default_factory=dict)
    keys: KeyStore = field(default_factory=KeyStore)
    shred_grace_ms: int = 300_000
    dead_lettered: set[tuple[str, int, int]] = field(default_factory=set)
    """Origins already on the dead-letter topic: a rejected state record goes there once."""
    issued: set[str] = field(default_factory=set)
    triggers: list[Trigger] = field(default_factory=list)
    on_stop: list[Callable[[str], None]] = field(default_factory=list)
    sightings: list[Sighting] = field(default_factory=list)
    reported: set[str] = field(default_factory=set)
    records: lr.LifecycleRecords | None = None
    """Keys and sealed values of ``ward.seen`` and ``ward.holds`` (set by ``wiring.attach``)."""
    legacy: dict[tuple[str, bytes], str] = field(default_factory=dict)
    """(topic, key) -> subject id of first-format records read (raw ids in the clear), for
    the leader to write again sealed and tombstone (``lifecycle.driver``)."""

    @property
    def codec(self) -> lr.LifecycleRecords:
        if self.records is None:
            raise RuntimeError("LifecycleState.records is not set (wiring.attach sets it)")
        return self.records

    def mark(self, subject_id: str, pipeline: str) -> lr.SeenMark | None:
        local = self.unconfirmed.get((subject_id, pipeline))
        return local or self.seen.get(subject_id, {}).get(pipeline)


@dataclass(frozen=True, slots=True)
class LifecycleTopics:
    subjects: str
    consents: str
    quarantine: str
    requests: str
    deletions: str
    notices: str
    corrections: str
    seen: str
    control: str
    holds: str
    keys: str
    deadletter: str = ""


class StateApplier:
    def __init__(
        self,
        topics: LifecycleTopics,
        state: StateStore,
        book: QuarantineBook,
        lifecycle: LifecycleState,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.names, self.state, self.book, self.lifecycle = topics, state, book, lifecycle
        self.wall = wall
        self.rejected = 0
        self.rejects: list[Rejected] = []
        # told of every profile (before, after) and consent (ledger before, event) applied
        self.on_subject: list[Callable[[SubjectProfile | None, SubjectProfile | None], None]] = []
        self.on_consent: list[Callable[[ConsentLedger | None, ConsentEvent], None]] = []
        self._subject_idle: list[Callable[[], bool]] = []  # per on_subject hook (watch_subjects)
        self._consent_idle: list[Callable[[], bool]] = []  # per on_consent hook (watch_consents)
        self.expiring: ExpiryIndex | None = None
        """Told of every grant with an expiry (the issuer's retention sweep reads it)."""
        self._decoder = StateDecoder()
        self._requests = AvroCodec(record_schema("GuardianRequest"))
        self._ids = {
            topics.deletions: ("deletion_id", AvroCodec(record_schema("DeletionRequest"))),
            topics.notices: ("notice_id", AvroCodec(record_schema("GuardianNotice"))),
            topics.corrections: ("correction_id", AvroCodec(record_schema("Correction"))),
        }
        t = topics
        self._handlers: dict[str, Callable[[bytes | None, bytes | None, Origin], None]] = {
            t.subjects: self._subject,
            t.consents: self._consent,
            t.quarantine: self._quarantine,
            t.requests: self._request,
            t.seen: self._seen,
            t.control: self._control,
            t.holds: self._hold,
            t.keys: self._key,
            **{name: self._issued for name in self._ids},
        }
        if t.deadletter:
            self._handlers[t.deadletter] = self._dead_letter
            self._letters = AvroCodec(record_schema("DeadLetter"))

    def watch_subjects(
        self,
        hook: Callable[[SubjectProfile | None, SubjectProfile | None], None],
        idle: Callable[[], bool],
    ) -> None:
        """Tell ``hook`` of every profile applied; ``idle()`` True means it would do nothing
        for one that is not deregistered."""
        self.on_subject.append(hook)
        self._subject_idle.append(idle)

    def watch_consents(
        self,
        hook: Callable[[ConsentLedger | None, ConsentEvent], None],
        idle: Callable[[], bool],
    ) -> None:
        """Tell ``hook`` of every consent event applied; ``idle()`` True means it would do
        nothing for a grant."""
        self.on_consent.append(hook)
        self._consent_idle.append(idle)

    def watch(self, scanner: BreachScanner, incidents_topic: str) -> None:
        """Also tail the monitored egress topics and the incidents already reported."""
        for topic in scanner.monitored:
            self._handlers[topic] = self._sighting
        self._handlers[incidents_topic] = self._reported
        self._scanner = scanner

    def _sighting(self, key: bytes | None, value: bytes | None, origin: Origin) -> None:
        self.lifecycle.sightings.append(self._scanner.sight(origin, key, value, self.wall()))

    def _reported(self, key: bytes | None, value: bytes | None, origin: Origin) -> None:
        if value is not None:
            self.lifecycle.reported.update(reported_refs(value))

    @property
    def topics(self) -> tuple[str, ...]:
        """Every topic the state readers must tail (all partitions, from the beginning)."""
        return tuple(self._handlers)

    def apply(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> None:
        origin = Origin(topic, partition, offset)
        handler = self._handlers.get(topic)
        if handler is None:
            return
        try:
            handler(key, value, origin)
        except (DecodeError, ValueError, KeyError, TypeError) as exc:
            # a bad state record changes nothing: the subject stays as it was (fail closed)
            self.rejected += 1
            log.error("state record rejected at %s: %s", origin, type(exc).__name__)
            if len(self.rejects) < MAX_REJECTS:
                error = exc if isinstance(exc, DecodeError) else _invalid(origin, exc)
                self.rejects.append(Rejected(origin, key, value, error))

    def expect(self, counts: Mapping[str, int]) -> None:
        """A read that brings about ``counts`` records of each topic starts: the state
        makes room for that many subjects at once (``StateStore.settle`` gives back what
        compacted-away or repeated keys left unused)."""
        for topic, n in counts.items():
            if topic == self.names.subjects:
                self.state.subjects.reserve(n)
            elif topic == self.names.consents:
                self.state.consents.reserve(n)

    def apply_rows(self, rows: list[Row]) -> None:
        """``apply`` each row ``(topic, partition, offset, key, value)``, in order.

        Runs of usual profiles and grants are stored natively in one call each
        (``ProfileMap.absorb``, ``LedgerMap.absorb``) while nobody is to be told of them:
        every hook of their kind and every state listener idle. Deregistrations,
        withdrawals and refusals (which trigger deletions) and anything unusual are
        applied one by one. This is what makes a full read of ten million subjects at
        start-up fast."""
        subjects, consents = self.names.subjects, self.names.consents
        i, n = 0, len(rows)
        while i < n:
            topic = rows[i][0]
            j = i
            if topic == subjects and self._nobody_listens(self.on_subject, self._subject_idle):
                j = self.state.subjects.absorb(rows, i, subjects)
            elif topic == consents and self._nobody_listens(self.on_consent, self._consent_idle):
                j, expiring = self.state.consents.absorb(rows, i, consents)
                if expiring and self.expiring is not None:
                    self.expiring.note_packed(expiring)
            if j == i:
                self.apply(*rows[i])
                j += 1
            i = j

    def _nobody_listens(self, hooks: list[Any], idle: list[Callable[[], bool]]) -> bool:
        """Every hook has an idle check and is idle, and so is every state listener."""
        return len(idle) == len(hooks) and all(q() for q in idle) and self.state.quiet()

    # -- the enforcer's state ---------------------------------------------------------
    def _subject(self, key: bytes | None, value: bytes | None, origin: Origin) -> None:
        subject_id, profile = self._decoder.subject(key, value, origin)
        before = self.state.put_subject(subject_id, profile, value)  # the profile before
        for hook in self.on_subject:
            hook(before, profile)
        if profile is not None and profile.deregistered_at is not None:
            if before is None or before.deregistered_at != profile.deregistered_at:
                self._trigger(profile)

    def _consent(self, key: bytes | None, value: bytes | None, origin: Origin) -> None:
        if value is None:
            return
        event = self._decoder.consent(value, origin)
        before = self.state.put_consent(event, value)  # the ledger before
        if self.expiring is not None:
            self.expiring.note(before, event)
        for watcher in self.on_consent:
            watcher(before, event)
        if event.action in (ConsentAction.WITHDRAWN, ConsentAction.REFUSED):
            self._trigger((before or ConsentLedger.empty(event.subject_id), event))

    def _quarantine(self, key: bytes | None, value: bytes | None, origin: Origin) -> None:
        if value is not None:
            self.book.load(value, origin)

    def _request(self, key: bytes | None, value: bytes | None, origin: Origin) -> None:
        if value is not None:
            data = self._requests.decode(value, origin=origin)
            self._trigger(GuardianRequest.from_dict(data))

    def _trigger(self, body: TriggerBody) -> None:
        self.lifecycle.triggers.append(Trigger(self.wall(), body))

    # -- the lifecycle's own topics ---------------------------------------------------
    def _seen(self, key: bytes | None, value: bytes | None, origin: Origin) -> None:
        if key is None:
            return
        if value is None:  # a first-format key the leader wrote again: migrated
            self.lifecycle.legacy.pop((origin.topic, key), None)
            return
        subject_id, pipeline, mark, legacy = self.lifecycle.codec.read_seen(key, value)
        if legacy:
            self.lifecycle.legacy[(origin.topic, key)] = subject_id
        self.lifecycle.seen.setdefault(subject_id, {})[pipeline] = mark
        self.lifecycle.seen_changed.add((subject_id, pipeline))
        if self.lifecycle.unconfirmed.get((subject_id, pipeline)) == mark:
            del self.lifecycle.unconfirmed[(subject_id, pipeline)]

    def _control(self, key: bytes | None, value: bytes | None, origin: Origin) -> None:
        if key is None or value is None:
            return
        scope, stopped_at = lr.decode_stop(key, value)
        if scope not in self.lifecycle.stops:
            self.lifecycle.stops[scope] = stopped_at
            for listener in self.lifecycle.on_stop:
                listener(scope)

    def _hold(self, key: bytes | None, value: bytes | None, origin: Origin) -> None:
        if key is None:
            return
        lifecycle = self.lifecycle
        kind, ident, record, legacy = lifecycle.codec.read_holds(key, value)
        table: dict[str, object] = (
            lifecycle.holds if kind == "hold" else lifecycle.deferred  # type: ignore[assignment]
        )
        if legacy:
            subject = record.subject_id if isinstance(record, LegalHold) else ident
            lifecycle.legacy[(origin.topic, key)] = subject
        else:  # migrated: a deferred deletion keeps its key, an old hold key is tombstoned
            lifecycle.legacy.pop((origin.topic, key), None)
        if record is None:
            if kind == "hold":  # keyed by ref: find its subject (holds are few)
                refs = lifecycle.codec.refs
                ident = next((s for s in lifecycle.holds if refs(s) == ident), "")
            table.pop(ident, None)  # a first-format key's tombstone (the migration's): none
        else:
            table[ident] = record

    def _key(self, key: bytes | None, value: bytes | None, origin: Origin) -> None:
        if key is not None:
            self.lifecycle.keys.apply(key, value)  # a tombstone destroys the data key

    def _issued(self, key: bytes | None, value: bytes | None, origin: Origin) -> None:
        if value is not None:
            field_name, codec = self._ids[origin.topic]
            datum = codec.decode(value, origin=origin)
            self.lifecycle.issued.add(str(datum[field_name]))
            if origin.topic == self.names.deletions:
                self._deleted(datum)

    def _deleted(self, datum: dict[str, object]) -> None:
        """A shredding deletion: keys of the subject created until shortly after it go too
        (a worker that had not read it yet may have made one), whoever is leader then."""
        keys = self.lifecycle.keys
        issued = datum.get("issued_at")
        if datum.get("reason") not in SHREDDING or keys.refs is None:
            return
        if not isinstance(issued, datetime):
            return
        until = int(issued.timestamp() * 1000) + self.lifecycle.shred_grace_ms
        keys.note_deleted(keys.refs(str(datum["subject_id"])), str(datum["deletion_id"]), until)

    def _dead_letter(self, key: bytes | None, value: bytes | None, origin: Origin) -> None:
        """Remember which origins are dead-lettered already; a letter that does not decode
        is not ours to judge (it is never dead-lettered again)."""
        if value is None:
            return
        try:
            d = self._letters.decode(value, origin=origin)
        except DecodeError:
            return
        self.lifecycle.dead_lettered.add(
            (d["origin_topic"], d["origin_partition"], d["origin_offset"])
        )


def _invalid(origin: Origin, exc: Exception) -> DecodeError:
    """A decoded record its domain type refuses (a bad value), as a DecodeError."""
    return SchemaMismatch(
        origin, "a value its record type does not accept", cause=type(exc).__name__
    )
