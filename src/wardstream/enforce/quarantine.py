"""The quarantine book: events held back until a covering consent or expiry.

``ward.quarantine`` is the durable store. A QUARANTINED record carries the
original bytes; a RELEASED or EXPIRED marker with the same ``quarantine_id``
closes the entry. With a ``KeyRing`` (the default: ``lifecycle.encrypt_quarantine``)
the payload - key, value and header values - is sealed with the subject's data
key before it is written (``enforce.datakeys``); ``open`` gives it back, or
raises once the key was destroyed. A worker rebuilds the open entries by reading the topic at
start-up (``load``), and acts only on entries whose source partition it owns,
so two workers never release the same event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from wardstream.crypto import ALGORITHM, KeyUnavailable
from wardstream.enforce.datakeys import KeyRing
from wardstream.enforce.records import Headers, InRecord, OutRecord
from wardstream.serde import AvroCodec, Origin, record_schema

QUARANTINED, RELEASED, EXPIRED = "QUARANTINED", "RELEASED", "EXPIRED"


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


def _millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class QuarantineBook:
    def __init__(self, topic: str, ring: KeyRing | None = None) -> None:
        self.topic, self.ring = topic, ring
        self._codec = AvroCodec(record_schema("QuarantinedEvent"))
        self._open: dict[str, Entry] = {}
        self._by_subject: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._open)

    # -- records out ----------------------------------------------------------------
    def hold(self, entry: Entry, *, rule: str, now: datetime) -> list[OutRecord]:
        """The QUARANTINED record, after the key record of a data key created for it."""
        keys: list[OutRecord] = []
        if self.ring is not None:
            sealed, key_id, keys = self.ring.seal(
                entry.subject_id, entry.quarantine_id, entry.record
            )
            entry = replace(entry, record=sealed, key_id=key_id)
        rec = entry.record
        datum = {
            "quarantine_id": entry.quarantine_id,
            "pipeline": entry.pipeline,
            "subject_id": entry.subject_id,
            "reason": entry.reason,
            "rule": rule,
            "key": rec.key,
            "value": rec.value,
            "headers": [{"key": k, "value": v} for k, v in rec.headers],
            "origin_topic": rec.topic,
            "origin_partition": rec.partition,
            "origin_offset": rec.offset,
            "origin_timestamp": _time(rec.timestamp_ms),
            "event_time": entry.event_time,
            "quarantined_at": now,
            "expires_at": entry.expires_at,
            "status": QUARANTINED,
            "encryption": _encryption(entry.key_id),
        }
        self._add(entry)
        return [*keys, OutRecord(self.topic, entry.subject_id.encode(), self._codec.encode(datum))]

    def open(self, entry: Entry) -> InRecord:
        """The entry's record in the clear; ``KeyUnavailable`` (``KeyDestroyed`` once
        shredded) or ``SealBroken`` if it cannot be read."""
        if entry.key_id is None:
            return entry.record
        if self.ring is None:
            raise KeyUnavailable("the payload is sealed and no master key is configured")
        return self.ring.open(entry.subject_id, entry.key_id, entry.quarantine_id, entry.record)

    def is_shredded(self, entry: Entry) -> bool:
        return self.ring is not None and self.ring.is_destroyed(entry.subject_id, entry.key_id)

    def close(self, entry: Entry, status: str, now: datetime) -> OutRecord:
        rec = entry.record
        datum = {
            "quarantine_id": entry.quarantine_id,
            "pipeline": entry.pipeline,
            "subject_id": entry.subject_id,
            "reason": entry.reason,
            "headers": [],
            "origin_topic": rec.topic,
            "origin_partition": rec.partition,
            "origin_offset": rec.offset,
            "quarantined_at": now,
            "expires_at": entry.expires_at,
            "status": status,
        }
        self._remove(entry.quarantine_id)
        return OutRecord(self.topic, entry.subject_id.encode(), self._codec.encode(datum))

    # -- state ----------------------------------------------------------------------
    def load(self, value: bytes, origin: Origin) -> None:
        """Fold one record of the quarantine topic into the open entries."""
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
        self._add(
            Entry(
                d["quarantine_id"],
                d["pipeline"],
                d["subject_id"],
                d["reason"],
                rec,
                d["event_time"],
                d["expires_at"],
                (d.get("encryption") or {}).get("key_id"),
            )
        )

    def for_subject(self, subject_id: str) -> list[Entry]:
        return [self._open[q] for q in sorted(self._by_subject.get(subject_id, ()))]

    def holds_subject(self, subject_id: str) -> bool:
        return subject_id in self._by_subject

    def subjects(self) -> list[str]:
        return sorted(self._by_subject)

    def entries(self) -> list[Entry]:
        return list(self._open.values())

    def _add(self, entry: Entry) -> None:
        self._open[entry.quarantine_id] = entry
        self._by_subject.setdefault(entry.subject_id, set()).add(entry.quarantine_id)

    def _remove(self, qid: str) -> None:
        entry = self._open.pop(qid, None)
        if entry is not None:
            ids = self._by_subject.get(entry.subject_id)
            if ids is not None:
                ids.discard(qid)
                if not ids:
                    del self._by_subject[entry.subject_id]


def _encryption(key_id: str | None) -> dict[str, Any] | None:
    return None if key_id is None else {"key_id": key_id, "alg": ALGORITHM}


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)
