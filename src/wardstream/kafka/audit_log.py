"""Reading and appending to the audit topic with kafka-python: thin I/O around ``audit``.

``read_audit`` streams every record of the audit topic, partition by partition
in offset order, as ``AuditEntry`` items: the record's Kafka position, its
decoded ``AuditRecord`` and its written bytes (what ``ChainVerifier.feed``
needs to check a record whatever schema version wrote it). A record that does
not decode is still yielded, with ``record=None`` and the decode error's
class, so that a verifier can report it instead of skipping it silently.

``verify_topic`` runs ``ChainVerifier`` over ``read_audit`` in one pass (and hands
each record to a report builder on the way); ``chain_tail`` finds a chain's last
record, which ``operator_log.append_audit`` continues.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2

from wardstream.audit.verify import Break, BreakKind, ChainVerifier, Position, VerifyResult
from wardstream.domain.audit import AuditRecord, AuditRecordError
from wardstream.errors import WardstreamError
from wardstream.serde import AvroCodec, DecodeError, Origin, record_schema

Progress = Callable[[int, int], None]
"""Called with (records read so far, records to read in all)."""

SEEK_SLACK = timedelta(minutes=10)
"""How far before ``since`` reading starts: Kafka timestamps are set when a record
is produced, a little after its ``at``; the verifier filters on ``at`` itself."""
_POLL_MS = 500
_TAIL_CHUNK = 2000
_IDLE_LIMIT_MS = 30_000


class AuditLogError(WardstreamError):
    """The audit topic cannot be read or written; the message says what to do."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    position: Position
    key: bytes | None
    written: bytes
    record: AuditRecord | None  # None: the bytes do not decode as an AuditRecord
    error: str | None = None  # the decode error's class when ``record`` is None


def audit_codec() -> AvroCodec:
    return AvroCodec(record_schema("AuditRecord"))


def decode_entry(
    codec: AvroCodec, position: Position, key: bytes | None, value: bytes | None
) -> AuditEntry:
    written = value or b""
    origin = Origin(position.topic, position.partition, position.offset)
    try:
        record = AuditRecord.from_dict(codec.decode(written, origin=origin))
    except (DecodeError, AuditRecordError) as exc:
        return AuditEntry(position, key, written, None, type(exc).__name__)
    return AuditEntry(position, key, written, record)


def reader_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` (bootstrap and security) for a reader that sees committed records only.

    Under exactly_once the fast engine writes the audit, quarantine and keys
    topics in transactions: an aborted transaction's records stay in the log,
    and read as uncommitted they would show up as chain breaks or as
    quarantined events that never were. ``end_offsets`` then stops at the last
    stable offset, before a transaction still open.
    """
    return {
        **config,
        "group_id": None,
        "enable_auto_commit": False,
        "isolation_level": "read_committed",
    }


def _consumer(config: Mapping[str, Any]) -> KafkaConsumer:
    try:
        return KafkaConsumer(**reader_config(config))
    except KafkaError as exc:
        raise unreachable(exc) from None


def unreachable(exc: Exception) -> AuditLogError:
    return AuditLogError(
        f"cannot reach Kafka ({type(exc).__name__}); check kafka.bootstrap_servers (or "
        "WARDSTREAM__KAFKA__BOOTSTRAP_SERVERS) and the security settings"
    )


def _partitions(consumer: KafkaConsumer, topic: str, what: str = "audit") -> list[TopicPartition]:
    parts = consumer.partitions_for_topic(topic)
    if not parts:
        raise AuditLogError(
            f"the {what} topic {topic!r} does not exist or has no partitions; check topics.{what} "
            "in wardstream.yaml and kafka.bootstrap_servers"
        )
    return [TopicPartition(topic, p) for p in sorted(parts)]


def _start_offsets(
    consumer: KafkaConsumer, tps: list[TopicPartition], since: datetime | None
) -> dict[TopicPartition, int]:
    starts: dict[TopicPartition, int] = consumer.beginning_offsets(tps)
    if since is None:
        return starts
    ms = int((since - SEEK_SLACK).timestamp() * 1000)
    found = consumer.offsets_for_times(dict.fromkeys(tps, max(ms, 0)))
    ends = consumer.end_offsets(tps)
    return {tp: (found[tp].offset if found.get(tp) else ends[tp]) for tp in tps}


def read_audit(
    config: Mapping[str, Any],
    topic: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    on_progress: Progress | None = None,
) -> Iterator[AuditEntry]:
    """Every record of ``topic`` up to its end offsets as listed at the start.

    With ``since``, each partition starts at the first record produced after
    ``since - SEEK_SLACK``; with ``until``, a partition stops once its records
    were produced after ``until + SEEK_SLACK``. Records in between are all
    yielded: filter on ``record.at`` (``ChainVerifier`` does).
    """
    consumer = _consumer(config)
    try:
        tps = _partitions(consumer, topic)
        starts = _start_offsets(consumer, tps, since)
        ends: dict[TopicPartition, int] = consumer.end_offsets(tps)
        todo = {tp: ends[tp] for tp in tps if ends[tp] > starts[tp]}
        total = sum(ends[tp] - starts[tp] for tp in todo)
        stop_ms = None if until is None else int((until + SEEK_SLACK).timestamp() * 1000)
        codec, done = audit_codec(), 0
        if on_progress is not None:
            on_progress(0, total)
        for tp in sorted(todo, key=lambda t: t.partition):  # one partition at a time, in order
            consumer.assign([tp])
            consumer.seek(tp, starts[tp])
            for message in _until_end(consumer, tp, ends[tp], stop_ms):
                done += 1
                pos = Position(tp.topic, tp.partition, message.offset)
                yield decode_entry(codec, pos, message.key, message.value)
                if on_progress is not None and (done % 500 == 0 or message.offset + 1 == ends[tp]):
                    on_progress(done, total)
        if on_progress is not None:
            on_progress(total, total)
    finally:
        consumer.close()


def _until_end(
    consumer: KafkaConsumer, tp: TopicPartition, end: int, stop_ms: int | None
) -> Iterator[Any]:
    idle = 0
    while (before := consumer.position(tp)) < end:
        batch = consumer.poll(timeout_ms=_POLL_MS, max_records=5000).get(tp, ())
        # an aborted transaction is skipped without records: the position still moves
        idle = 0 if batch or consumer.position(tp) > before else idle + 1
        if idle * _POLL_MS >= _IDLE_LIMIT_MS:
            raise AuditLogError(
                f"no records came from {tp.topic}[{tp.partition}] for "
                f"{_IDLE_LIMIT_MS // 1000} s before its end offset {end}; check the brokers"
            )
        for message in batch:
            if message.offset >= end:
                return
            if stop_ms is not None and message.timestamp > stop_ms:
                return
            yield message


def default_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (Java, aiokafka, kafka-python) picks."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def chain_tail(config: Mapping[str, Any], topic: str, chain: str) -> AuditRecord | None:
    """The last record (highest seq) of ``chain``, or None when the chain has none yet.

    Records are keyed by chain id, so the chain lives in the partition the key
    hashes to; that partition is read backwards in chunks until the chain shows
    up. Only when it is not there are the other partitions read (all of them).
    """
    consumer = _consumer(config)
    try:
        tps = _partitions(consumer, topic)
        home = tps[default_partition(chain.encode(), len(tps))]
        begin, end = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        codec = audit_codec()
        last = _tail_in(consumer, codec, home, begin[home], end[home], chain)
        if last is not None:
            return last
        for tp in tps:
            if tp != home:
                found = _tail_in(consumer, codec, tp, begin[tp], end[tp], chain)
                if found is not None and (last is None or found.seq > last.seq):
                    last = found
        return last
    finally:
        consumer.close()


def _tail_in(
    consumer: KafkaConsumer,
    codec: AvroCodec,
    tp: TopicPartition,
    begin: int,
    end: int,
    chain: str,
) -> AuditRecord | None:
    consumer.assign([tp])
    high = end
    while high > begin:
        low = max(begin, high - _TAIL_CHUNK)
        consumer.seek(tp, low)
        best: AuditRecord | None = None
        for message in _until_end(consumer, tp, high, None):
            entry = decode_entry(
                codec, Position(tp.topic, tp.partition, message.offset), message.key, message.value
            )
            rec = entry.record
            if rec is not None and rec.chain == chain and (best is None or rec.seq > best.seq):
                best = rec
        if best is not None:
            return best
        high = low
    return None


def scan_topic(config: Mapping[str, Any], topic: str, what: str) -> Iterator[Any]:
    """Every message of ``topic`` (kafka-python ``ConsumerRecord``), partition by
    partition, up to the end offsets listed at the start. ``what`` names the topic's
    setting (``quarantine`` for topics.quarantine) in error messages."""
    consumer = _consumer(config)
    try:
        tps = _partitions(consumer, topic, what)
        begin, end = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        for tp in tps:
            if end[tp] > begin[tp]:
                consumer.assign([tp])
                consumer.seek(tp, begin[tp])
                yield from _until_end(consumer, tp, end[tp], None)
    finally:
        consumer.close()


def verify_topic(
    config: Mapping[str, Any],
    topic: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    require_genesis: bool = True,
    on_record: Callable[[AuditRecord], None] | None = None,
    on_progress: Progress | None = None,
    on_entry: Callable[[Position, AuditRecord], None] | None = None,
) -> VerifyResult:
    """Verify every chain of ``topic`` in one pass (``ChainVerifier`` over ``read_audit``).

    A record that does not decode is an ALTERED break (seq -1, chain from its
    key). ``on_record`` sees every decoded record within the time bounds, so a
    report can be built from the same pass; ``on_entry`` sees them with their position.
    """
    verifier = ChainVerifier(
        audit_codec().encode, since=since, until=until, require_genesis=require_genesis
    )
    unreadable: list[Break] = []
    for entry in read_audit(config, topic, since=since, until=until, on_progress=on_progress):
        record = entry.record
        if record is None:
            chain = entry.key.decode("utf-8", "replace") if entry.key else "?"
            message = f"the bytes do not decode as an AuditRecord ({entry.error})"
            unreadable.append(Break(BreakKind.ALTERED, entry.position, chain, -1, message))
            continue
        verifier.feed(entry.position, record, entry.written)
        if _within(record.at, since, until):
            if on_record is not None:
                on_record(record)
            if on_entry is not None:
                on_entry(entry.position, record)
    result = verifier.finish()
    if not unreadable:
        return result
    breaks = sorted((*result.breaks, *unreadable), key=lambda b: (b.position[1], b.position[2]))
    return replace(result, breaks=tuple(breaks))


def _within(at: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or at >= since) and (until is None or at <= until)
