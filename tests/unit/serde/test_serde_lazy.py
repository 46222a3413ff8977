"""Subject id and event time: from the key and timestamp, or from the value."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.unit.policy.test_policy_support import T0, born, pipeline, policy, subject
from tests.unit.serde.test_serde_codecs import ORIGIN, PING, SECRET, TS, assert_clean, ping

from wardstream.audit.pseudonym import SubjectPseudonymizer
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.processor import PipelineProcessor
from wardstream.enforce.quarantine import QuarantineBook
from wardstream.enforce.records import InRecord
from wardstream.enforce.state import StateStore
from wardstream.serde import (
    AvroCodec,
    EventLocator,
    MissingEventTime,
    MissingSubject,
    is_lazy,
    lazy_envelope,
)

KAFKA_MS = 1_795_000_000_123
KAFKA_TIME = datetime(2026, 11, 18, 11, 6, 40, 123000, tzinfo=UTC)


def test_lazy_path_needs_no_value() -> None:
    locator = EventLocator(subject="key", event_time="timestamp")
    assert not locator.needs_value and is_lazy("key", "timestamp")
    envelope = locator.locate(key=b"user-7", timestamp_ms=KAFKA_MS, record=None, origin=ORIGIN)
    assert (envelope.subject_id, envelope.event_time) == ("user-7", KAFKA_TIME)
    assert envelope.event_time.tzinfo is UTC
    assert lazy_envelope("儿童-1".encode(), 0, ORIGIN).subject_id == "儿童-1"


@pytest.mark.parametrize(
    ("subject", "event_time"), [("user_id", "ts"), ("key", "ts"), ("user_id", "timestamp")]
)
def test_value_paths(subject: str, event_time: str) -> None:
    locator = EventLocator(subject=subject, event_time=event_time)
    assert locator.needs_value and not is_lazy(subject, event_time)
    record = AvroCodec(PING).decode(AvroCodec(PING).encode(ping()), origin=ORIGIN)
    envelope = locator.locate(
        key=SECRET.encode(), timestamp_ms=KAFKA_MS, record=record, origin=ORIGIN
    )
    assert envelope.subject_id == SECRET
    assert envelope.event_time == (TS if event_time == "ts" else KAFKA_TIME)
    with pytest.raises(ValueError, match="decode"):
        locator.locate(key=b"k", timestamp_ms=KAFKA_MS, record=None, origin=ORIGIN)


@pytest.mark.parametrize(
    "key", [None, b"", b"\xff\xfe", b"\x00\x00\x00\x00\x01", b"   ", b"user\n1"]
)
def test_missing_subject_in_the_key(key: bytes | None) -> None:
    with pytest.raises(MissingSubject) as info:
        lazy_envelope(key, KAFKA_MS, ORIGIN)
    assert_clean(info.value)


@pytest.mark.parametrize("value", [None, "", 3.5, True, {"id": SECRET}])
def test_missing_subject_in_the_value(value: object) -> None:
    locator = EventLocator(subject="user_id", event_time="timestamp")
    with pytest.raises(MissingSubject, match="user_id") as info:
        locator.locate(key=None, timestamp_ms=KAFKA_MS, record={"user_id": value}, origin=ORIGIN)
    assert_clean(info.value)


def test_numeric_and_nested_subject_ids() -> None:
    envelope = EventLocator("account.id", "timestamp").locate(
        key=None, timestamp_ms=0, record={"account": {"id": 12345}}, origin=ORIGIN
    )
    assert envelope.subject_id == "12345"


def test_event_time_from_a_plain_long_and_fallbacks() -> None:
    locator = EventLocator("user_id", "ts")
    record = {"user_id": "u", "ts": KAFKA_MS}
    assert (
        locator.locate(key=None, timestamp_ms=None, record=record, origin=ORIGIN).event_time
        == KAFKA_TIME
    )
    null_ts = {"user_id": "u", "ts": None}
    assert locator.locate(
        key=None, timestamp_ms=0, record=null_ts, origin=ORIGIN
    ).event_time == datetime(1970, 1, 1, tzinfo=UTC)
    for timestamp in (None, -1):
        with pytest.raises(MissingEventTime) as info:
            locator.locate(key=None, timestamp_ms=timestamp, record=null_ts, origin=ORIGIN)
        assert_clean(info.value)
    with pytest.raises(MissingEventTime, match="str"):
        locator.locate(key=None, timestamp_ms=0, record={"user_id": "u", "ts": "x"}, origin=ORIGIN)


@pytest.mark.parametrize("timestamp", [None, -1, 10**20])
def test_missing_kafka_timestamp(timestamp: int | None) -> None:
    with pytest.raises(MissingEventTime) as info:
        lazy_envelope(b"u", timestamp, ORIGIN)
    assert_clean(info.value)


def _lazy_processor() -> PipelineProcessor:
    """A processor for a ``subject: key``, ``event_time: timestamp`` pipeline on PING."""
    state = StateStore(caught_up_at=T0.timestamp() + 3600)
    state.put_subject("adult-1", subject(born(30), subject_id="adult-1"))
    state.put_subject("kid-1", subject(born(10)))
    auditor = Auditor("ward.audit", "w1", SubjectPseudonymizer(b"k" * 32, "k1"))
    lazy = pipeline(subject="key", event_time="timestamp", fields={"user_id": "identifier"})
    book = QuarantineBook("q", None, refs=auditor.pseudonymizer.ref)
    return PipelineProcessor(lazy, policy(), AvroCodec(PING), PING, state, auditor, book, "dl")


def test_lazy_path_leaves_the_value_bytes_alone() -> None:
    """What the stream layer does for an adult on the lazy path: the value is not decoded
    (bytes that are not Avro at all pass) and reaches the sink byte for byte."""
    value = b"\x00not even avro"
    processor = _lazy_processor()
    rec = InRecord("app.pings", 0, 1, b"adult-1", value, int(T0.timestamp() * 1000))
    outcome = processor.submit(rec)
    assert outcome is not None and outcome.destination == "sink", outcome
    [sink] = [o for o in outcome.outputs if o.topic == processor.pipeline.sink]
    assert sink.value == value and sink.key == b"adult-1"
    # a child's event on the same pipeline is decoded: the same bytes are dead-lettered
    child_rec = InRecord("app.pings", 0, 2, b"kid-1", value, int(T0.timestamp() * 1000))
    child_outcome = processor.submit(child_rec)
    assert child_outcome is not None and child_outcome.destination == "deadletter"
