"""The quarantine book: events held back until a covering consent or expiry.

``ward.quarantine`` is the durable store, keyed by the subject ref (the audit's
keyed HMAC), never the raw id. A QUARANTINED record carries the original bytes; a
RELEASED or EXPIRED marker with the same ``quarantine_id`` closes the entry. With
a ``KeyRing`` (the default: ``lifecycle.encrypt_quarantine``) the payload - key,
value and header values - and the subject id with the event's timestamps
(``sealed``) are sealed with the subject's data key before they are written
(``enforce.datakeys``); ``open`` gives them back, or raises once the key was
destroyed. In the clear stay what the worker needs without a key and the audit
already shows: the ref, pipeline, reason, the origin topic/partition/offset (the
EXPIRED audit record names it even after the key was destroyed), the window.
Without a ring (encryption turned off) the subject id is written in the clear.

Records of the first format (key and ``subject_id`` the raw id, no
``subject_ref``) are still read: the ref is computed from the id. A worker
rebuilds the open entries by reading the topic at
start-up (``load``), and acts only on entries whose source partition it owns,
so two workers never release the same event.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import wardstream._native as _native
from wardstream.crypto import ALGORITHM, KeyUnavailable, open_sealed
from wardstream.domain.audit import epoch_millis
from wardstream.enforce.datakeys import KeyRing
from wardstream.enforce.records import Headers, InRecord, OutRecord
from wardstream.errors import WardstreamError
from wardstream.serde import AvroCodec, Origin, record_schema

QUARANTINED, RELEASED, EXPIRED = "QUARANTINED", "RELEASED", "EXPIRED"
MAX_UNREAD = 100_000
"""Own QUARANTINED records remembered until read back (see ``QuarantineBook.load``)."""


def quarantine_id(record: InRecord) -> str:
    """Deterministic: a replay quarantines the same event under the same id."""
    return "q-" + hashlib.sha256(record.ref.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Entry:
    quarantine_id: str
    pipeline: str
    subject_id: str
    reason: str
    record: InRecord
    event_time: datetime | None
    expires_at: datetime
    key_id: str | None = None
    """The data key the payload is sealed with; None: stored in the clear."""
    subject_ref: str = ""
    sealed: bytes | None = None
    """Subject id, origin timestamp and event time, sealed (``subject_id`` is "" then)."""


def _meta_aad(quarantine_id: str) -> bytes:
    return f"{quarantine_id}|subject".encode()


def seal_natively(data_key: bytes, entry: Entry) -> tuple[InRecord, bytes]:
    """``entry``'s record with key, value and header values sealed (as
    ``datakeys.seal_record`` seals them), and its subject id and times sealed as JSON
    (what ``open_meta`` reads): one native call (``_native.seal_quarantined``)."""
    rec, et = entry.record, entry.event_time
    key, value, headers, sealed = _native.seal_quarantined(
        data_key,
        entry.quarantine_id,
        rec.key,
        rec.value,
        list(rec.headers),
        entry.subject_id,
        rec.timestamp_ms,
        None if et is None else _millis(et),
    )
    record = InRecord(rec.topic, rec.partition, rec.offset, key, value, rec.timestamp_ms,
                      tuple(headers), rec.arrival)  # fmt: skip
    return record, sealed


def open_meta(data_key: bytes, entry: Entry) -> Entry:
    """``entry`` with subject id and times from its sealed part (``SealBroken`` if altered)."""
    if entry.sealed is None:
        return entry
    meta = json.loads(open_sealed(data_key, _meta_aad(entry.quarantine_id), entry.sealed))
    ts, et = meta.get("origin_timestamp"), meta.get("event_time")
    return replace(
        entry,
        subject_id=str(meta["subject_id"]),
        record=entry.record._replace(timestamp_ms=ts),
        event_time=None if et is None else _time(et),
    )


def _millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class QuarantineBook:
    def __init__(
        self, topic: str, ring: KeyRing | None = None, *, refs: Callable[[str], str]
    ) -> None:
        self.topic, self.ring, self.refs = topic, ring, refs
        self._codec = AvroCodec(record_schema("QuarantinedEvent"))
        self._open: dict[str, Entry] = {}
        self._by_subject: dict[str, set[str]] = {}  # subject ref -> quarantine ids
        # QUARANTINED records this book wrote and has not read back yet, by quarantine id:
        # reading one back changes nothing (``hold`` opened the entry), so it is not decoded
        self._written: dict[str, bytes] = {}
        # what ``closing`` looks at instead of every entry
        self._due: list[tuple[datetime, str]] = []  # (expires_at, quarantine id): a heap
        self._overdue: set[str] = set()  # past their window and still open
        self._by_key: dict[str, set[str]] = {}  # data key id -> quarantine ids

    def __len__(self) -> int:
        return len(self._open)

    # -- records out ----------------------------------------------------------------
    def hold(self, entry: Entry, *, rule: str, now: datetime) -> list[OutRecord]:
        """The QUARANTINED record, after the key record of a data key created for it."""
        keys: list[OutRecord] = []
        ref, rec = self.refs(entry.subject_id), entry.record
        key_id, sealed = None, None
        if self.ring is not None:
            key_id, data_key, keys = self.ring.data_key(entry.subject_id)
            rec, sealed = seal_natively(data_key, entry)
        e = entry  # the entry as kept: payload sealed, subject id and times in the clear
        entry = Entry(e.quarantine_id, e.pipeline, e.subject_id, e.reason, rec, e.event_time,
                      e.expires_at, key_id, ref, sealed)  # fmt: skip
        self._add(entry)
        written = self._encode(entry, QUARANTINED, now, rule)
        if len(self._written) >= MAX_UNREAD:
            self._written.clear()  # never read back (another worker's state topic?)
        self._written[entry.quarantine_id] = written
        return [*keys, OutRecord(self.topic, ref.encode(), written)]

    def _encode(self, entry: Entry, status: str, now: datetime, rule: str | None = None) -> bytes:
        """The record of ``entry``: with ``rule`` a QUARANTINED one with its payload (and
        times in the clear unless sealed), without a RELEASED or EXPIRED marker. Encoded
        natively: fastavro's bytes for the same datum (``test_quarantine_encode.py``)."""
        rec, full = entry.record, rule is not None
        clear = full and not entry.sealed
        et = entry.event_time
        return _native.encode_quarantined(
            entry.quarantine_id,
            entry.pipeline,
            "" if self.ring is not None else entry.subject_id,
            entry.reason,
            rule,
            rec.key if full else None,
            rec.value if full else None,
            list(rec.headers) if full else [],
            rec.topic,
            rec.partition,
            rec.offset,
            rec.timestamp_ms if clear else None,
            epoch_millis(et) if clear and et is not None else None,
            epoch_millis(now),
            epoch_millis(entry.expires_at),
            status,
            entry.key_id if full else None,
            ALGORITHM,
            entry.subject_ref,
            entry.sealed if full else None,
        )

    def open(self, entry: Entry) -> Entry:
        """The entry in the clear (payload, subject id, times); ``KeyUnavailable``
        (``KeyDestroyed`` once shredded) or ``SealBroken`` if it cannot be read."""
        if entry.key_id is None:
            return entry
        if self.ring is None:
            raise KeyUnavailable("the payload is sealed and no master key is configured")
        data_key = self.ring.data_key_by_id(entry.key_id)
        record = self.ring.open(entry.key_id, entry.quarantine_id, entry.record)
        return open_meta(data_key, replace(entry, record=record))

    def subject_of(self, entry: Entry) -> str | None:
        """The entry's subject id, unsealed when needed; None while it cannot be."""
        if entry.subject_id or self.ring is None or entry.key_id is None:
            return entry.subject_id or None
        try:
            subject_id = open_meta(self.ring.data_key_by_id(entry.key_id), entry).subject_id
        except (WardstreamError, ValueError):  # not readable (yet), destroyed, or altered
            return None
        self._open[entry.quarantine_id] = replace(entry, subject_id=subject_id)
        return subject_id

    def is_shredded(self, entry: Entry) -> bool:
        return self.ring is not None and self.ring.is_destroyed(entry.key_id)

    def close(self, entry: Entry, status: str, now: datetime) -> OutRecord:
        self._remove(entry.quarantine_id)
        return OutRecord(self.topic, entry.subject_ref.encode(), self._encode(entry, status, now))

    # -- state ----------------------------------------------------------------------
    def load(self, value: bytes, origin: Origin) -> None:
        """Fold one record of the quarantine topic into the open entries."""
        mine = self._written.pop(_leading_string(value), None)
        if mine == value:
            return  # this book's own QUARANTINED record: opened when it was written
        d = self._codec.decode(value, origin=origin)
        if d.get("status", QUARANTINED) != QUARANTINED:
            self._remove(d["quarantine_id"])
            return
        headers: Headers = tuple((h["key"], h["value"]) for h in d["headers"])
        ts = d["origin_timestamp"]
        rec = InRecord(
            d["origin_topic"],
            d["origin_partition"],
            d["origin_offset"],
            d["key"],
            d["value"],
            _millis(ts) if ts else None,
            headers,
        )
        subject_id = d["subject_id"]
        self._add(
            Entry(
                d["quarantine_id"],
                d["pipeline"],
                subject_id,
                d["reason"],
                rec,
                d["event_time"],
                d["expires_at"],
                (d.get("encryption") or {}).get("key_id"),
                d.get("subject_ref") or self.refs(subject_id),  # the first format: raw id
                d.get("sealed"),
            )
        )

    def for_subject(self, subject_id: str) -> list[Entry]:
        ids = sorted(self._by_subject.get(self.refs(subject_id), ()))
        return [replace(self._open[q], subject_id=subject_id) for q in ids]

    def holds_nobody(self) -> bool:
        return not self._by_subject

    def holds_subject(self, subject_id: str) -> bool:
        # asked for every state record applied: no HMAC while nothing is held
        return bool(self._by_subject) and self.refs(subject_id) in self._by_subject

    def subjects(self) -> list[str]:
        """The subject ids with open entries that can be told (unsealed) now."""
        found = {self.subject_of(e) for e in list(self._open.values())}
        return sorted(s for s in found if s)

    def entries(self) -> list[Entry]:
        return list(self._open.values())

    def closing(self, now: datetime) -> list[Entry]:
        """The open entries past their window at ``now`` or whose data key was destroyed
        (what ``Releases.expire`` closes, where it owns them), by expiry: found through
        an expiry heap and the entries of each data key, not by reading every entry."""
        due, opened = self._due, self._open
        while due and due[0][0] <= now:
            _, qid = heapq.heappop(due)
            entry = opened.get(qid)
            if entry is not None and entry.expires_at <= now:
                self._overdue.add(qid)
        for qid in [q for q in self._overdue if q not in opened or opened[q].expires_at > now]:
            self._overdue.discard(qid)  # closed, or held again (its new expiry is queued)
        found = set(self._overdue)
        if self.ring is not None:
            destroyed = self.ring.store.destroyed
            for key_id in self._by_key.keys() & destroyed:
                found |= self._by_key[key_id]
        return sorted((opened[q] for q in found), key=lambda e: (e.expires_at, e.quarantine_id))

    def _add(self, entry: Entry) -> None:
        qid = entry.quarantine_id
        self._open[qid] = entry
        self._by_subject.setdefault(entry.subject_ref, set()).add(qid)
        heapq.heappush(self._due, (entry.expires_at, qid))
        if entry.key_id is not None:
            self._by_key.setdefault(entry.key_id, set()).add(qid)

    def _remove(self, qid: str) -> None:
        entry = self._open.pop(qid, None)
        if entry is not None:
            self._overdue.discard(qid)
            _unindex(self._by_subject, entry.subject_ref, qid)
            if entry.key_id is not None:
                _unindex(self._by_key, entry.key_id, qid)


def _unindex(index: dict[str, set[str]], key: str, qid: str) -> None:
    ids = index.get(key)
    if ids is not None:
        ids.discard(qid)
        if not ids:
            del index[key]


def _leading_string(value: bytes) -> str:
    """The first field of a record if it is a short string (the quarantine id), else ""."""
    n = value[0] if value else 1
    if n & 1 or n >= 0x80:  # negative or not a one-byte length: no id of ours
        return ""
    return value[1 : 1 + (n >> 1)].decode("utf-8", errors="replace")


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)
