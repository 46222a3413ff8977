"""Staff operations on the quarantine topic: read for staff, released by an operator.

``read_open`` folds the quarantine topic (QUARANTINED entries minus the
RELEASED/EXPIRED markers with the same ``quarantine_id``) into the entries
still held. Payloads (key, value, headers) are kept only for the one entry
asked for by id: listing never loads them, so there is nothing to export in bulk.

``release_records`` builds what an operator's release writes besides its audit
record: the event to the pipeline's sink with a
``ward-decision: RELEASED_BY_OPERATOR`` header, and the RELEASED marker that
closes the entry (a running worker reads it and stops holding the event).
The event is the original bytes, except that a pipeline's ``encrypt: true``
fields are sealed first (``sealed_for_sink``), as the worker seals them on
any release: a held event is never an adult's, so the sealing always applies.

A sealed payload (``encryption`` set) is opened with the subject's data key
from the keys topic (``read_keys``, ``unsealed``), and with it the subject id and
timestamps (``sealed``); once that key was destroyed it cannot be, and nothing is
released. Records are keyed by the subject ref; those of the first format (keyed
by the raw id, ``subject_id`` in the clear) are still read.

What operators write to the audit topic (``write_access``, ``append_audit``) and
``send`` live in ``kafka.operator_log``; they are imported here for callers of the
first layout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from wardstream.audit.verify import Position
from wardstream.enforce.datakeys import KeyRing, KeyStore
from wardstream.enforce.quarantine import Entry, open_meta
from wardstream.enforce.records import (
    H_DECISION,
    Headers,
    InRecord,
    OutRecord,
    forwarded_headers,
)
from wardstream.errors import WardstreamError
from wardstream.kafka.audit_log import AuditLogError, scan_topic
from wardstream.kafka.operator_log import (
    ACCESS_RULE,
    CONTROL_PIPELINE,
    OPERATOR_CHAIN,
    append_audit,
    append_id,
    send,
    write_access,
)
from wardstream.serde import AvroCodec, Codec, DecodeError, Origin, record_schema

if TYPE_CHECKING:
    from wardstream.enforce.sink_fields import FieldSealer

QUARANTINED, RELEASED = "QUARANTINED", "RELEASED"
RELEASED_BY_OPERATOR = b"RELEASED_BY_OPERATOR"
__all__ = [
    "ACCESS_RULE",
    "CONTROL_PIPELINE",
    "OPERATOR_CHAIN",
    "RELEASED_BY_OPERATOR",
    "HeldEvent",
    "append_audit",
    "append_id",
    "find_open",
    "read_keys",
    "read_open",
    "release_records",
    "sealed_for_sink",
    "send",
    "unsealed",
    "write_access",
]


@dataclass(frozen=True, slots=True)
class HeldEvent:
    """One open quarantine entry. ``subject_id`` is the raw id ("" while sealed): never
    print it. ``subject_ref`` is "" in records of the first format."""

    quarantine_id: str
    pipeline: str
    subject_id: str
    subject_ref: str
    reason: str
    rule: str | None
    origin_topic: str
    origin_partition: int
    origin_offset: int
    origin_timestamp: datetime | None
    quarantined_at: datetime
    expires_at: datetime
    position: Position  # where the QUARANTINED record sits in the quarantine topic
    key: bytes | None = None  # payload fields: only when read with ``with_payload_of``
    value: bytes | None = None
    headers: Headers = ()
    key_id: str | None = None  # the subject's data key when the payload is sealed
    sealed: bytes | None = None  # subject id and timestamps, sealed with the data key

    @property
    def event_ref(self) -> str:
        """``topic/partition/offset`` of the held event, as audit records name it."""
        return f"{self.origin_topic}/{self.origin_partition}/{self.origin_offset}"


def read_open(
    config: Mapping[str, Any], topic: str, *, with_payload_of: str | None = None
) -> tuple[list[HeldEvent], int]:
    """Open entries in topic order, and how many records did not decode.

    Only the entry whose id is ``with_payload_of`` keeps its key, value and headers.
    """
    codec = AvroCodec(record_schema("QuarantinedEvent"))
    held: dict[str, HeldEvent] = {}
    unreadable = 0
    for message in scan_topic(config, topic, "quarantine"):
        if message.value is None:
            continue
        pos = Position(message.topic, message.partition, message.offset)
        try:
            datum = codec.decode(message.value, origin=Origin(*pos))
        except DecodeError:
            unreadable += 1
            continue
        qid = datum["quarantine_id"]
        if datum.get("status", QUARANTINED) != QUARANTINED:
            held.pop(qid, None)
        else:
            held[qid] = _held(datum, pos, payload=qid == with_payload_of)
    return list(held.values()), unreadable


def _held(datum: Mapping[str, Any], pos: Position, *, payload: bool) -> HeldEvent:
    headers: Headers = tuple((h["key"], h["value"]) for h in datum["headers"]) if payload else ()
    return HeldEvent(
        quarantine_id=datum["quarantine_id"],
        pipeline=datum["pipeline"],
        subject_id=datum["subject_id"],
        subject_ref=datum.get("subject_ref") or "",
        reason=datum["reason"],
        rule=datum.get("rule"),
        origin_topic=datum["origin_topic"],
        origin_partition=datum["origin_partition"],
        origin_offset=datum["origin_offset"],
        origin_timestamp=datum.get("origin_timestamp"),
        quarantined_at=datum["quarantined_at"],
        expires_at=datum["expires_at"],
        position=pos,
        key=datum.get("key") if payload else None,
        value=datum.get("value") if payload else None,
        headers=headers,
        key_id=(datum.get("encryption") or {}).get("key_id"),
        sealed=datum.get("sealed") if payload else None,
    )


def read_keys(
    config: Mapping[str, Any], topic: str, refs: Callable[[str], str] | None = None
) -> KeyStore:
    """The wrapped data keys (and the destroyed ones still tombstoned) on the keys topic;
    records that do not parse are skipped. Without ``refs``, first-format records too."""
    store = KeyStore(refs=refs)
    for message in scan_topic(config, topic, "lifecycle keys"):
        if message.key is not None:
            try:
                store.apply(message.key, message.value)
            except ValueError:
                continue
    return store


def unsealed(entry: HeldEvent, ring: KeyRing) -> HeldEvent:
    """``entry`` with its payload, subject id and timestamp in the clear; ``KeyDestroyed``
    once crypto-shredded."""
    if entry.key_id is None:
        return entry
    rec = InRecord(entry.origin_topic, entry.origin_partition, entry.origin_offset,
                   entry.key, entry.value, None, entry.headers)  # fmt: skip
    plain = ring.open(entry.key_id, entry.quarantine_id, rec)
    opened = replace(entry, key=plain.key, value=plain.value, headers=plain.headers)
    if entry.sealed is None:
        return opened
    meta = open_meta(ring.data_key_by_id(entry.key_id), _as_entry(entry, rec))
    ts = meta.record.timestamp_ms
    return replace(opened, subject_id=meta.subject_id,
                   origin_timestamp=None if ts is None else _utc_ms(ts))  # fmt: skip


def _as_entry(entry: HeldEvent, rec: InRecord) -> Entry:
    return Entry(entry.quarantine_id, entry.pipeline, entry.subject_id, entry.reason, rec,
                 None, entry.expires_at, entry.key_id, entry.subject_ref, entry.sealed)  # fmt: skip


def _utc_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def find_open(config: Mapping[str, Any], topic: str, quarantine_id: str) -> HeldEvent | None:
    """The open entry ``quarantine_id`` with its payload, or None if not held (any more)."""
    entries, _ = read_open(config, topic, with_payload_of=quarantine_id)
    return next((e for e in entries if e.quarantine_id == quarantine_id), None)


def sealed_for_sink(
    entry: HeldEvent, codec: Codec, sealer: FieldSealer | None
) -> tuple[HeldEvent, list[OutRecord]]:
    """``entry`` with its pipeline's ``encrypt: true`` fields sealed with the subject's
    data key (the value decoded with ``codec``, sealed, re-encoded), and the key records
    the sealing created, to send before the sink record.

    Held events are children's, minors' or of unknown age (an adult's event is never
    quarantined), so, like the worker's release, this always seals. The entry comes back
    unchanged, with no key records, without a sealer or when no marked field holds a value.
    Raises ``WardstreamError`` (naming the entry, never its contents) when the value does
    not decode: then it cannot be sealed and must not be released.
    """
    if sealer is None or entry.value is None:
        return entry, []
    origin = Origin(entry.origin_topic, entry.origin_partition, entry.origin_offset)
    try:
        value = codec.decode(entry.value, origin=origin)
    except DecodeError as exc:
        raise WardstreamError(
            f"quarantine entry {entry.quarantine_id} does not decode with pipeline "
            f"{entry.pipeline}'s schema ({exc.code}), so its encrypt: true fields cannot be "
            "sealed; nothing was released. Check the pipeline's format and schema"
        ) from None
    sealed = sealer.seal(entry.subject_id, value)
    if sealed is value:
        return entry, []
    return replace(entry, value=codec.encode(sealed)), sealer.take()


def release_records(
    entry: HeldEvent,
    sink: str,
    quarantine_topic: str,
    now: datetime,
    keys: Sequence[OutRecord] = (),
) -> list[OutRecord]:
    """``keys`` (data-key records the sink record's sealed fields need), the sink record
    (the entry's key, value and original timestamp; the original headers less any
    ``ward-*`` ones, plus ``ward-decision: RELEASED_BY_OPERATOR``) and the RELEASED
    marker closing the entry."""
    if entry.value is None:
        raise AuditLogError(
            f"quarantine entry {entry.quarantine_id} holds no event value; nothing to release"
        )
    ts = entry.origin_timestamp
    out = OutRecord(
        sink,
        entry.key,
        entry.value,
        forwarded_headers(entry.headers, ((H_DECISION, RELEASED_BY_OPERATOR),)),
        int(ts.timestamp() * 1000) if ts is not None else None,
    )
    key = entry.subject_ref or entry.subject_id  # the first format was keyed by the raw id
    marker = OutRecord(quarantine_topic, key.encode(), _marker(entry, now))
    return [*keys, out, marker]


def _marker(entry: HeldEvent, now: datetime) -> bytes:
    datum: dict[str, Any] = {
        "quarantine_id": entry.quarantine_id,
        "pipeline": entry.pipeline,
        "subject_id": "" if entry.subject_ref else entry.subject_id,
        "subject_ref": entry.subject_ref or None,
        "reason": entry.reason,
        "rule": entry.rule,
        "headers": [],
        "origin_topic": entry.origin_topic,
        "origin_partition": entry.origin_partition,
        "origin_offset": entry.origin_offset,
        "quarantined_at": now,
        "expires_at": entry.expires_at,
        "status": RELEASED,
    }
    return AvroCodec(record_schema("QuarantinedEvent")).encode(datum)
