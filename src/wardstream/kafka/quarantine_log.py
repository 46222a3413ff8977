"""Staff operations: the quarantine topic read for staff, and what operators write.

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

``write_access`` (and ``append_audit`` under it) appends an operator's record
to ``OPERATOR_CHAIN``, continuing the chain from its last record read back from
the audit topic; ``send`` produces records and waits for every acknowledgement.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kafka import KafkaProducer
from kafka.errors import (
    KafkaError,
    KafkaTimeoutError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailedError,
)

from wardstream.audit.chain import ChainWriter
from wardstream.audit.verify import Position
from wardstream.domain.audit import AuditRecord
from wardstream.domain.enums import AuditAction
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
from wardstream.kafka.audit_log import (
    AuditLogError,
    audit_codec,
    chain_tail,
    scan_topic,
    unreachable,
)
from wardstream.serde import AvroCodec, Codec, DecodeError, Origin, record_schema

if TYPE_CHECKING:
    from wardstream.enforce.sink_fields import FieldSealer

log = logging.getLogger(__name__)
APPEND_ATTEMPTS = 10
QUARANTINED, RELEASED = "QUARANTINED", "RELEASED"
RELEASED_BY_OPERATOR = b"RELEASED_BY_OPERATOR"
OPERATOR_CHAIN = "_operator/0"  # the worker never writes it: no fork between CLI and worker
"""The chain operator sessions (the CLI) write ACCESS and RELEASED records to."""
CONTROL_PIPELINE = "_control"
ACCESS_RULE = "CN-CPI-2019/art15"  # staff access: approved, for a purpose, each access recorded


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


def write_access(
    config: Mapping[str, Any],
    audit_topic: str,
    operator: str,
    reason: str,
    attrs: Mapping[str, str],
    **fields: Any,
) -> AuditRecord:
    """One operator record on ``OPERATOR_CHAIN``: ACCESS of ``_control`` under
    ``ACCESS_RULE`` unless ``fields`` says otherwise. Empty ``attrs`` values are left out."""
    fields.setdefault("action", AuditAction.ACCESS)
    fields.setdefault("pipeline", CONTROL_PIPELINE)
    fields.setdefault("rule", ACCESS_RULE)
    return append_audit(
        config,
        audit_topic,
        OPERATOR_CHAIN,
        at=datetime.now(UTC),
        worker=operator,
        reason=reason,
        attrs={k: v for k, v in attrs.items() if v},
        **fields,
    )


def append_audit(config: Mapping[str, Any], topic: str, chain: str, **fields: Any) -> AuditRecord:
    """Continue ``chain`` from its last record with one record and produce it (acks=all).

    ``fields`` are those of ``ChainWriter.append``. Raises ``AuditLogError`` if
    the chain's last record does not match its hash (run ``audit verify``) or the
    record cannot be produced.

    Operator commands may run at the same moment, and two that read the same tail
    would both continue it: a fork, which ``audit verify`` reports as a break. So each
    append is a Kafka transaction under one transactional id per chain
    (``append_id``), initialised *before* the tail is read. A second command's
    ``init_transactions`` fences the first: the first one's commit fails and it starts
    again from the tail the second one leaves. A fenced attempt's record is aborted,
    and readers of the audit topic read committed records only.
    """
    from wardstream.audit.errors import ChainError

    codec = audit_codec()
    tid = append_id(topic, chain)
    failure: KafkaError | None = None
    for attempt in range(APPEND_ATTEMPTS):
        if attempt:  # jittered backoff: commands that keep fencing each other spread out
            time.sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))  # noqa: S311
        producer = _transactional(config, tid)
        try:
            producer.init_transactions()
            writer = ChainWriter(chain, codec.encode, chain_tail(config, topic, chain))
            record = writer.append(**fields)
            producer.begin_transaction()
            producer.send(topic, key=chain.encode(), value=writer.last_written)
            producer.commit_transaction()
            return record
        except ChainError as exc:
            raise AuditLogError(str(exc)) from None
        except (TransactionalIdAuthorizationFailedError, TopicAuthorizationFailedError):
            raise AuditLogError(
                f"this user may not write to {topic} with transactional id {tid}; grant Write "
                "on the topic and Write and Describe on the transactional id prefix "
                "wardstream-append. (docs/security.md)"
            ) from None
        except KafkaTimeoutError as exc:
            raise unreachable(exc) from None
        except KafkaError as exc:
            # Fenced by another command's append (ProducerFencedError, or the error state a
            # fence leaves the producer in), or a passing broker error: read the tail again
            # and retry. The attempt's record was aborted; if its commit went through and
            # only the answer was lost, the retry continues after it (a second record,
            # never a fork).
            failure = exc
            log.info("appending to %s: %s; trying again", chain, type(exc).__name__)
        finally:
            with contextlib.suppress(Exception):
                producer.close(timeout=5)
    raise AuditLogError(
        f"Kafka did not take the audit record in {APPEND_ATTEMPTS} attempts (last: "
        f"{type(failure).__name__}); check that the brokers at kafka.bootstrap_servers are up, "
        "or try again if other operator commands were writing to the audit topic"
    )


def append_id(topic: str, chain: str) -> str:
    """The transactional id that serialises appends to one chain of one audit topic."""
    return f"wardstream-append.{topic}.{chain}"


def _transactional(config: Mapping[str, Any], transactional_id: str) -> KafkaProducer:
    try:
        return KafkaProducer(transactional_id=transactional_id, acks="all", **config)
    except KafkaError as exc:
        raise unreachable(exc) from None


def send(config: Mapping[str, Any], records: Sequence[OutRecord], timeout: float = 30) -> None:
    """Produce ``records`` in order and wait until the brokers acknowledge each one."""
    try:
        producer = KafkaProducer(
            acks="all", retries=5, max_in_flight_requests_per_connection=1, **config
        )
    except KafkaError as exc:
        raise unreachable(exc) from None
    try:
        futures = [
            producer.send(
                r.topic, key=r.key, value=r.value, headers=list(r.headers),
                timestamp_ms=r.timestamp_ms,
            )
            for r in records
        ]  # fmt: skip
        producer.flush(timeout=timeout)
        for future in futures:
            future.get(timeout=timeout)
    except KafkaError as exc:
        raise AuditLogError(
            f"Kafka did not accept the records ({type(exc).__name__}); check that the brokers at "
            "kafka.bootstrap_servers are up and this user may write to the topics"
        ) from None
    finally:
        with contextlib.suppress(Exception):
            producer.close(timeout=5)
