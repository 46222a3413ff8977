"""The quick state codecs accept exactly what the full decoder accepts, with the same result."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.policy.test_policy_support import grant

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.enums import DataCategory
from wardstream.domain.subject import SubjectProfile
from wardstream.serde import AvroCodec, DecodeError, Origin, record_schema
from wardstream.state._wire import to_utc
from wardstream.state.consent_codec import ConsentCodec
from wardstream.state.maps import LedgerMap
from wardstream.state.profile_codec import ProfileCodec

ORIGIN = Origin("ward.subjects", 0, 7)
FULL_SUBJECT = AvroCodec(record_schema("SubjectProfile"))
FULL_CONSENT = AvroCodec(record_schema("ConsentEvent"))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PURPOSES = ("analytics", "learning", "payments")  # declared: a ledger stores them as bytes
REJECTED = (DecodeError, ValueError, KeyError, TypeError)  # what StateApplier counts as rejected

times = st.integers(-(2**40), 2**43).map(lambda ms: EPOCH + timedelta(milliseconds=ms))
texts = st.one_of(st.text(max_size=8), st.text(min_size=60, max_size=80), st.just(" cn "))
profiles = st.fixed_dictionaries({
    "subject_id": texts,
    "birth_date": st.none() | st.dates(date(1, 1, 1), date(9999, 12, 31)),
    "age_band": st.none() | st.sampled_from(["CHILD", "MINOR", "ADULT"]),
    "jurisdiction": st.none() | texts,
    "verification": texts,
    "vulnerable": st.booleans(),
    "deregistered_at": st.none() | times,
    "updated_at": times,
})  # fmt: skip


def consent_dicts(text: Any, time: Any) -> Any:
    """ConsentEvent field values: strings from ``text``, times from ``time``."""
    names = st.lists(text, max_size=4)
    return st.fixed_dictionaries({
        "consent_id": text, "subject_id": text,
        "granted_by": st.sampled_from(["GUARDIAN", "SUBJECT"]),
        "guardian_ref": st.none() | text,
        "action": st.sampled_from(["GRANTED", "WITHDRAWN", "REFUSED"]),
        "purposes": st.lists(text | st.sampled_from(PURPOSES), max_size=4),
        "data_categories": st.lists(
            st.sampled_from([c.value for c in DataCategory] + ["teleport"]), max_size=4
        ),
        "third_party_recipients": names, "public_disclosure": st.booleans(),
        "policy_version": st.integers(-(2**31), 2**31 - 1),
        "effective_at": time, "expires_at": st.none() | time, "evidence": text,
    })  # fmt: skip


consents = consent_dicts(texts, times)
# the usual encoding: what the quick paths (and the native readers) take themselves
in_range = st.integers(0, 2**42 - 1).map(lambda ms: EPOCH + timedelta(milliseconds=ms))
short = st.text(max_size=8)
usual_profiles = st.fixed_dictionaries({
    "birth_date": st.none() | st.dates(date(1870, 1, 1), date(2169, 12, 31)),
    "age_band": st.none() | st.sampled_from(["CHILD", "MINOR", "ADULT"]),
    "jurisdiction": st.none() | short, "verification": short, "vulnerable": st.booleans(),
    "deregistered_at": st.none() | st.none() | in_range, "updated_at": in_range,
})  # fmt: skip
usual_consents = consent_dicts(short, in_range)
steps = st.tuples(
    st.sampled_from(["flip", "cut", "add", "drop"]), st.integers(0, 200), st.integers(0, 255)
)
mutations = st.lists(steps, min_size=1, max_size=3)


def mutate(value: bytes, steps: list[tuple[str, int, int]]) -> bytes:
    b = bytearray(value)
    for op, at, byte in steps:
        at = at % (len(b) + 1)
        if op == "flip" and b:
            b[at % len(b)] ^= byte or 1
        elif op == "cut":
            del b[at:]
        elif op == "add":
            b.insert(at, byte)
        elif op == "drop" and b:
            del b[at % len(b)]
    return bytes(b)


def full_profile(value: bytes) -> Any:
    try:
        return SubjectProfile.from_dict(FULL_SUBJECT.decode(value, origin=ORIGIN))
    except REJECTED as exc:
        return type(exc)


def full_consent(value: bytes) -> Any:
    try:
        return ConsentEvent.from_dict(FULL_CONSENT.decode(value, origin=ORIGIN))
    except REJECTED as exc:
        return type(exc)


def quick(decode: Any, value: bytes) -> Any:
    try:
        return decode(value, ORIGIN)
    except REJECTED as exc:
        return type(exc)


@settings(max_examples=300, deadline=None)
@given(profiles, mutations)
def test_profiles_decode_as_the_full_decoder_decodes_them(data: dict[str, Any], steps: Any) -> None:
    codec, value = ProfileCodec(), FULL_SUBJECT.encode(data)
    assert codec.decode(value, ORIGIN) == SubjectProfile.from_dict(
        FULL_SUBJECT.decode(value, origin=ORIGIN)
    )
    bad = mutate(value, steps)
    expected, got = full_profile(bad), quick(codec.decode, bad)
    if isinstance(expected, type):  # rejected by the full decoder: rejected here too
        assert isinstance(got, type), f"accepted what the full decoder rejects: {bad!r}"
    else:
        assert got == expected


@settings(max_examples=300, deadline=None)
@given(consents, mutations)
def test_consents_decode_as_the_full_decoder_decodes_them(data: dict[str, Any], steps: Any) -> None:
    codec, value = ConsentCodec(), FULL_CONSENT.encode(data)
    expected, got = full_consent(value), quick(codec.decode, value)
    assert got == expected
    bad = mutate(value, steps)
    expected, got = full_consent(bad), quick(codec.decode, bad)
    if isinstance(expected, type):
        assert isinstance(got, type), f"accepted what the full decoder rejects: {bad!r}"
    else:
        assert got == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(usual_consents, consents), min_size=1, max_size=4), mutations)
def test_a_stored_ledger_reads_back_the_events_it_was_given(
    events: list[dict[str, Any]], steps: Any
) -> None:
    """Packed or not (native/src/consent.rs), every event a ledger took reads back equal."""
    codec = ConsentCodec(PURPOSES)
    ledgers, taken = LedgerMap(codec), []
    for i, data in enumerate(events):
        value = FULL_CONSENT.encode(data | {"subject_id": "kid-1"})
        if i == len(events) - 1:
            value = mutate(value, steps)
        event = full_consent(value)
        if isinstance(event, type) or event.subject_id != "kid-1":  # rejected, or mutated away
            continue
        ledgers.add(event, value)
        taken.append(event)
    if taken:
        fresh = LedgerMap(codec)
        fresh.table = ledgers.table  # nothing cached: every event decoded from the table
        assert fresh["kid-1"].events == tuple(taken)
        assert [
            fresh.codec.decode(v, ORIGIN)
            for v in fresh.values_of(b"kid-1", fresh.table.get(b"kid-1"))
        ] == taken


def test_a_usual_event_is_stored_packed_without_its_subject_id() -> None:
    event = grant(subject_id="kid-1", categories=("identifier", "behaviour", "location"))
    value = FULL_CONSENT.encode(event.to_dict())
    declared = LedgerMap(ConsentCodec(event.purposes))
    entry = declared.codec.shape.entry(value)
    assert entry is not None and entry[2] == 0xFF  # packed
    assert b"kid-1" not in entry and b"behaviour" not in entry
    assert not any(p.encode() in entry for p in event.purposes)  # declared: a byte each
    spelled = LedgerMap().codec.shape.entry(value)
    assert spelled is not None and all(p.encode() in spelled for p in event.purposes)
    assert len(entry) < len(value) - 30
    ledgers = declared
    ledgers.add(event, value)
    assert ledgers.table.get(b"kid-1") == entry
    assert ledgers.values_of(b"kid-1", entry) == [value]


def test_usual_records_take_the_quick_path(monkeypatch: pytest.MonkeyPatch) -> None:
    subjects, events = ProfileCodec(), ConsentCodec()
    profile = {
        "subject_id": "kid-1", "birth_date": date(2016, 5, 1), "age_band": None,
        "jurisdiction": "cn", "verification": "document", "vulnerable": True,
        "deregistered_at": None, "updated_at": datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
    }  # fmt: skip
    consent = {
        "consent_id": "c1", "subject_id": "kid-1", "granted_by": "GUARDIAN",
        "guardian_ref": "g-1", "action": "GRANTED", "purposes": ["analytics"],
        "data_categories": ["identifier", "location"], "third_party_recipients": [],
        "public_disclosure": False, "policy_version": 3,
        "effective_at": datetime(2026, 1, 1, tzinfo=UTC), "expires_at": None,
        "evidence": "signed_form:1",
    }  # fmt: skip
    p_value, c_value = FULL_SUBJECT.encode(profile), FULL_CONSENT.encode(consent)
    monkeypatch.setattr(subjects, "full", None)
    monkeypatch.setattr(events, "full", None)
    assert subjects.decode(p_value, ORIGIN) == SubjectProfile.from_dict(profile)
    assert subjects.decode(p_value, ORIGIN).jurisdiction == "CN"
    assert events.decode(c_value, ORIGIN) == ConsentEvent.from_dict(consent)


@given(st.integers(0, 2**42 - 1))
def test_quick_times_are_exact_to_the_millisecond(ms: int) -> None:
    assert to_utc(ms) == EPOCH + timedelta(milliseconds=ms)
    assert to_utc(ms).tzinfo is UTC


@settings(max_examples=500, deadline=None)
@given(st.integers(0xE0, 0xFF), st.binary(max_size=40))
def test_no_profile_the_decoder_accepts_starts_as_a_packed_one_after_its_id(
    first: int, tail: bytes
) -> None:
    """The profile table tells its packed values by a first byte of 0xE0-0xFF
    (native/src/profile.rs): the rest of no value the decoders accept starts so."""
    with pytest.raises(REJECTED):
        ProfileCodec().decode(b"\x04u1" + bytes((first,)) + tail, ORIGIN)
