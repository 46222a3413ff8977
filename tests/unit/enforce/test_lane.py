"""The lane (native) against ``decide`` (the Python reference), and its upkeep.

The differential property: for profiles around every age boundary (birth dates a day
either side of a birthday, verified bands, no age, deregistrations, vulnerability),
every jurisdiction and ``unknown_age`` mode, consent ledgers, stopped services and
event times either side of the boundary, an event the native lane passes gets exactly
the decision ``decide`` returns (action, reasons, rules, bands, consent ids, removed
fields), and every event ``decide`` passes as an adult's is in the lane once the
subject was learnt; the same for consented children's entries. Then: state changes and
stop markers empty it, and the fast engine sends the same records with the lane as
without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.enforce.test_processor_order import (
    CODEC,
    NOW,
    SCHEMA,
    Clock,
    processor,
    record,
    sunk,
)
from tests.unit.policy.test_policy_properties import _consent
from tests.unit.policy.test_policy_support import T0, born, grant, pipeline, policy, subject

from wardstream.audit.pseudonym import SubjectPseudonymizer
from wardstream.domain.decision import EventFacts
from wardstream.domain.enums import Action, AgeBand
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.subject import SubjectProfile
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.enforcer import Enforcer
from wardstream.enforce.hooks import RouteObserver
from wardstream.enforce.lane import Lane
from wardstream.enforce.metrics import Metrics
from wardstream.enforce.processor import Timing
from wardstream.enforce.schema_wait import SchemaWait
from wardstream.enforce.state import StateStore
from wardstream.engines.fast.engine import FastEngine
from wardstream.engines.faust.batch import lanes
from wardstream.engines.offsets import Progress
from wardstream.kafka.librdkafka import FastEngineSettings
from wardstream.policy.context import PolicyContext
from wardstream.policy.decide import decide
from wardstream.policy.ledger import ConsentLedger
from wardstream.serde import AvroCodec, AvroSchema, Codec, Origin, record_schema
from wardstream.serde.lazy import EPOCH
from wardstream.serde.redact import redact

JURISDICTIONS = [None, "CN", "US", "GB", "DE", "FR", "SI"]
PIPE_JURISDICTIONS = ["CN", "US", "GB", "DE", "FR"]
AGES = [12, 13, 14, 15, 16, 17, 18, 19, 30]
BANDS = [AgeBand.CHILD, AgeBand.MINOR, AgeBand.ADULT]
MODES = ["child", "quarantine", "adult"]
PURPOSES = ["analytics", "learning", "ads", "targeted_ads", "contests"]
OFFSETS = [timedelta(days=-1), timedelta(milliseconds=-1), timedelta(0), timedelta(days=1)]
POLICIES = [policy(), policy(service_stopped=True)]
LANE_RUNS = settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass
class Host:
    """What the lane reads of a processor (``lane.Host``)."""

    pipeline: Pipeline
    policy: PolicyContext
    schema: AvroSchema = SCHEMA
    auditor: Auditor = field(
        default_factory=lambda: Auditor("ward.audit", "w1", SubjectPseudonymizer(b"k" * 32, "k"))
    )
    observers: list[RouteObserver] = field(default_factory=list)
    schema_wait: SchemaWait = field(default_factory=SchemaWait)
    state: StateStore = field(default_factory=StateStore)
    codec: Codec = CODEC
    timing: Timing = field(default_factory=Timing)
    seals_fields: bool = False
    waiting_subjects: set[str] = field(default_factory=set)


def _profile(draw: Any) -> SubjectProfile | None:
    kind = draw(st.sampled_from(["birth"] * 5 + ["band", "band", "none", "absent"]))
    if kind == "absent":
        return None
    extra: dict[str, Any] = {
        "subject_id": "s-1",
        "jurisdiction": draw(st.sampled_from(JURISDICTIONS)),
        "vulnerable": draw(st.booleans()),
    }
    if draw(st.integers(0, 7)) == 0:
        extra["deregistered_at"] = T0 + timedelta(days=draw(st.integers(-3, 3)))
    if kind == "band":
        verified = draw(st.sampled_from(["document", "document", ""]))
        return subject(None, age_band=draw(st.sampled_from(BANDS)), verification=verified, **extra)
    if kind == "none":
        return subject(None, **extra)
    years, days = draw(st.sampled_from(AGES)), draw(st.integers(-2, 2))
    return subject(born(years, days), **extra)


@st.composite
def cases(draw: Any) -> tuple[Any, ...]:
    profile = _profile(draw)
    pipe = pipeline(
        jurisdiction=draw(st.sampled_from(PIPE_JURISDICTIONS)),
        unknown_age=draw(st.sampled_from(MODES)),
        purpose=draw(st.sampled_from(PURPOSES)),
        fields={"user_id": "identifier", "page": "behaviour", "ts": "technical"},
    )
    consents = [
        _consent(draw(st.integers(0, 2**32)), T0, pipe) for _ in range(draw(st.integers(0, 2)))
    ]
    consents = [replace(c, subject_id="s-1") for c in consents]
    ledger = ConsentLedger("s-1", tuple(consents)) if consents else None
    times = [T0 + draw(st.sampled_from(OFFSETS)) for _ in range(3)]
    if profile is not None and profile.birth_date is not None:  # the birthdays themselves
        for years in (13, 14, 16, 18):
            day = profile.birth_date.replace(year=profile.birth_date.year + years)
            at = datetime(day.year, day.month, day.day, tzinfo=T0.tzinfo)
            times.append(at + draw(st.sampled_from(OFFSETS[1:3])))
    pages = [draw(st.sampled_from([None, "/p"])) for _ in times]
    return profile, ledger, pipe, draw(st.sampled_from(POLICIES)), times, pages


@LANE_RUNS
@given(cases())
def test_the_lane_passes_exactly_what_decide_passes_as_an_adults(case: tuple[Any, ...]) -> None:
    profile, ledger, pipe, pol, times, pages = case
    lane = Lane.of(Host(pipe, pol))
    assert lane is not None
    lane.learn("s-1", profile)
    values = [
        CODEC.encode({"user_id": "s-1", "page": p, "ts": t})
        for t, p in zip(times, pages, strict=True)
    ]
    screened = lane.screen(values, [None] * len(values), [0] * len(values), [0] * len(values), NOW)
    codes = screened.codes if screened is not None else bytes(len(values))
    for code, when, page in zip(codes, times, pages, strict=True):
        present = frozenset({"user_id", "ts"} | ({"page"} if page else set()))
        expected = decide(EventFacts("s-1", when, present), profile, ledger, pipe, pol)
        adults = expected.action is Action.PASS and expected.age_band is AgeBand.ADULT
        if code:
            assert lane.decisions[code - 1] == expected
        assert bool(code) == adults, (profile, when, expected)


@LANE_RUNS
@given(cases())
def test_the_lane_passes_a_consented_child_exactly_as_decide_does(case: tuple[Any, ...]) -> None:
    """Children's entries, learnt at each event time as the Python path would after a
    pass, against ``decide`` on every event of the batch (pages present or not)."""
    profile, ledger, pipe, pol, times, pages = case
    host = Host(pipe, pol, state=StateStore(caught_up_at=NOW + 3600))
    lane = Lane.of(host)
    assert lane is not None
    for when in times:
        lane.learn_child("s-1", profile, ledger, when)
    values, screened = _screen_one_subject(lane, times, pages)
    codes = screened.codes if screened is not None else bytes(len(values))
    for code, expected in zip(codes, _decided(case), strict=True):
        if code:
            assert lane.decisions[code - 1] == expected, (profile, expected)
    if screened is None:
        return
    # one audit record per child's event passed, with its ref
    audited = [r for r in screened.outputs if r.topic == "ward.audit"]
    children = [c for c in codes if c and lane.decisions[c - 1].needs_own_audit_record]
    assert len(audited) == len(children)
    # a redaction sends what the Python path's decode, redact and encode would
    for i, code in enumerate(codes):
        removed = lane.decisions[code - 1].remove_fields if code else frozenset()
        if removed:
            kept = redact(CODEC.decode(values[i], origin=Origin.unknown()), SCHEMA, removed)
            assert screened.redacted[i] == CODEC.encode(kept)
        else:
            assert i not in screened.redacted


@dataclass
class PlainState:
    """The state as the lane reads it, in plain dicts (the cases' ledgers hold consents
    with defects the state store's encoding refuses)."""

    subjects: dict[str, SubjectProfile]
    consents: dict[str, ConsentLedger]
    caught_up_at: float = NOW + 3600

    def listen(self, *_: Any) -> None: ...


@LANE_RUNS
@given(cases(), st.booleans())
def test_entries_compiled_ahead_decide_exactly_as_decide_does(
    case: tuple[Any, ...], current: bool
) -> None:
    """Nothing learnt: the screen compiles the subject's entry from the state at its
    first event in the batch; every event it passes, redacts or hints gets ``decide``'s
    decision for that event, and a hint that waits (the state was read a minute ago:
    the events of now are not past the hold) the value a redaction sends."""
    profile, ledger, pipe, pol, times, pages = case
    state = PlainState({"s-1": profile} if profile else {}, {"s-1": ledger} if ledger else {})
    state.caught_up_at = NOW + 3600 if current else NOW - 60
    lane = Lane.of(Host(pipe, pol, state=state))  # type: ignore[arg-type]
    assert lane is not None
    values, screened = _screen_one_subject(lane, times, pages)
    codes = screened.codes if screened is not None else bytes(len(values))
    hints = screened.hints if screened is not None else {}
    for i, expected in enumerate(_decided(case)):
        if codes[i]:
            assert lane.decisions[codes[i] - 1] == expected, (profile, expected)
        if i in hints:
            assert lane.decision(hints[i]) == expected, (profile, expected)
            if hints[i].waits and expected.remove_fields:
                kept = redact(
                    CODEC.decode(values[i], origin=Origin.unknown()), SCHEMA, expected.remove_fields
                )
                assert hints[i].value == CODEC.encode(kept)
            else:
                assert hints[i].value is None


def _screen_one_subject(
    lane: Lane, times: list[datetime], pages: list[str | None]
) -> tuple[list[bytes], Any]:
    """Subject s-1's events at ``times`` (with or without a page), screened as one batch."""
    values = [
        CODEC.encode({"user_id": "s-1", "page": p, "ts": t})
        for t, p in zip(times, pages, strict=True)
    ]
    n = len(values)
    return values, lane.screen(values, [None] * n, [0] * n, list(range(n)), NOW)


def _decided(case: tuple[Any, ...]) -> list[Any]:
    """``decide``'s decision for each event of a case (the reference)."""
    profile, ledger, pipe, pol, times, pages = case
    return [
        decide(
            EventFacts("s-1", when, frozenset({"user_id", "ts"} | ({"page"} if page else set()))),
            profile,
            ledger,
            pipe,
            pol,
        )
        for when, page in zip(times, pages, strict=True)
    ]


def test_the_python_path_fills_the_lane_and_state_changes_empty_it() -> None:
    p = processor(Clock())
    assert p.lane is not None and len(p.lane) == 0
    assert p.submit(record(1, "adult-1")) is not None  # decided in Python, and learnt
    assert len(p.lane) == 1
    value = CODEC.encode({"user_id": "adult-1", "page": None, "ts": T0})
    screened = p.lane.screen([value], [None], [3], [3], NOW)
    assert screened is not None and list(screened.codes) == [1]
    assert screened.by_reason == {"ADULT": 1}
    # a corrected birth date makes them a child: the entry goes with the state change
    p.state.put_subject("adult-1", subject(born(10), subject_id="adult-1"))
    assert len(p.lane) == 0
    p.state.caught_up_at = NOW + 60  # current: the child's event is decided at once
    outcome = p.submit(record(2, "adult-1"))
    assert outcome is not None and outcome.destination == "quarantine"
    [(hinted, _)] = [(i, h) for i, h in p.lane.screen([value], [None], [0], [0], NOW).hints.items()]  # type: ignore[union-attr]
    assert hinted == 0, "an unconsented child's events are quarantined on the lane's hint"


def test_the_lane_compiles_entries_ahead_for_the_subjects_of_a_batch() -> None:
    """A batch's subjects without an entry get one from the state alone (as the Python
    path would learn it after their first event), and the batch is screened again;
    subjects with an event waiting, or no state, get none."""
    p = processor(Clock())
    assert p.lane is not None
    p.state.caught_up_at = NOW + 60
    values = [
        CODEC.encode({"user_id": sid, "page": None, "ts": T0})
        for sid in ("adult-1", "kid-1", "nobody", "adult-1")
    ]
    n = len(values)
    screened = p.lane.screen(values, [None] * n, [0] * n, list(range(n)), NOW)
    assert screened is not None and list(screened.codes)[:2] != [0, 0]
    assert [bool(c) for c in screened.codes] == [True, True, False, True]
    assert len(p.lane) == 2
    decisions = [p.lane.decisions[c - 1].age_band for c in screened.codes if c]
    assert decisions == [AgeBand.ADULT, AgeBand.CHILD, AgeBand.ADULT]
    assert [r.topic for r in screened.outputs].count("ward.audit") == 1, "kid-1's record"
    # a subject with an event waiting in the Python path is compiled ahead too, but its
    # events are hinted: they wait behind that one
    q = processor(Clock())
    assert q.lane is not None and q.submit(record(1, "kid-2")) is None  # waits
    kid = CODEC.encode({"user_id": "kid-2", "page": None, "ts": T0})
    q.state.caught_up_at = NOW + 60
    behind = q.lane.screen([kid], [None], [0], [2], NOW)
    assert behind is not None and list(behind.codes) == [0] and len(q.lane) == 1
    decision = q.lane.decision(behind.hints[0])
    assert behind.hints[0].waits and decision is not None and decision.action is Action.PASS


def test_a_childs_events_keep_their_order_behind_one_that_waits() -> None:
    """The Python path keeps a subject's events behind one that waits for current state;
    the lane must not pass a later one meanwhile: it hints it, to wait too."""
    clock = Clock()
    p = processor(clock)
    assert p.lane is not None
    p.state.caught_up_at = NOW + 60  # current: kid-1's event passes, and kid-1 is learnt
    assert p.submit(record(1, "kid-1")) is not None and len(p.lane) == 1
    early = record(3, "kid-1", at=T0 - timedelta(hours=1))  # past the hold by its time
    assert list(p.lane.screen([early.value], [None], [0], [3], NOW).codes) == [1]  # type: ignore[union-attr]
    p.state.caught_up_at = NOW - 60  # stale: an event of now is not past the hold, an
    recent = record(2, "kid-1")  # hour-old one is (SPEC "State and time")
    screened = p.lane.screen([recent.value], [None], [0], [2], NOW)
    assert screened is not None and list(screened.codes) == [0] and screened.hints[0].waits
    assert p.submit(recent, screened.hints[0]) is None  # kept, undecoded
    behind = p.lane.screen([early.value], [None], [0], [3], NOW)
    assert behind is not None and list(behind.codes) == [0], "behind the waiting one"
    assert p.submit(early, behind.hints[0]) is None
    p.state.caught_up_at = clock.now = NOW + 60
    assert sunk(p.poll()) == [2, 3] and len(p.lane) == 1, "in order; the entry stays"
    assert list(p.lane.screen([early.value], [None], [0], [3], NOW).codes) == [1]  # type: ignore[union-attr]


def test_a_stop_marker_empties_the_lane() -> None:
    p = processor(Clock())
    p.submit(record(1, "adult-1"))
    assert p.lane is not None and len(p.lane) == 1
    p.policy = replace(p.policy, service_stopped=True)
    value = CODEC.encode({"user_id": "adult-1", "page": None, "ts": T0})
    assert p.lane.screen([value], [None], [0], [0], NOW) is None and len(p.lane) == 0


def test_no_lane_where_the_native_path_cannot_read_as_python_does() -> None:
    assert Lane.of(Host(pipeline(), policy(), codec=AvroCodec(SCHEMA, reader=SCHEMA))) is None
    assert Lane.of(Host(pipeline(subject="key"), policy())) is None


# -- the fast engine: the same records with and without the lane -----------------------
class Message:
    def __init__(self, offset: int, sid: str, headers: list[Any] | None = None) -> None:
        self._offset, self._sid, self._headers = offset, sid, headers
        self._value = CODEC.encode({"user_id": sid, "page": f"/p/{offset}", "ts": T0})

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return "app.taps"

    def partition(self) -> int:
        return self._offset % 2

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return self._sid.encode()

    def value(self) -> bytes:
        return self._value

    def timestamp(self) -> tuple[int, int]:
        return (1, int(T0.timestamp() * 1000) + self._offset)

    def headers(self) -> list[Any] | None:
        return self._headers


class Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def produce(self, topic: str, value: Any, key: Any, headers: Any, timestamp: int) -> None:
        self.sent.append((topic, value, key, tuple(headers or ()), timestamp))


class Delivery:
    def before_produce(self) -> None: ...


def _run(lane: bool) -> tuple[list[tuple[Any, ...]], dict[Any, int], list[Any], int, list[str]]:
    clock = Clock()
    clock.now = NOW + 60  # state current: children are decided at once
    p = processor(clock)
    p.state.caught_up_at = NOW + 60
    if not lane:
        p.lane = None
    # kid-3's consent leaves out behaviour: its pages are removed
    p.state.put_subject("kid-3", subject(born(10), subject_id="kid-3"))
    narrow = grant(categories=["identifier"], subject_id="kid-3")
    p.state.consents["kid-3"] = ConsentLedger("kid-3", (narrow,))
    p.state.put_subject("kid-4", subject(born(10), subject_id="kid-4"))  # no consent
    decided: list[str] = []  # the subjects of the events the Python path decoded and decided
    python_path = p._submit
    p._submit = lambda rec: decided.append(rec.key.decode()) or python_path(rec)  # type: ignore[method-assign]
    enforcer = Enforcer([p], p.state, p.auditor, p.book, Metrics(), wall=clock)
    producer = Producer()
    fast = FastEngineSettings()
    e = FastEngine(enforcer, None, producer, None, Delivery(), fast, exactly_once=False, wall=clock)  # type: ignore[arg-type]
    e.progress.update({("app.taps", 0): Progress(), ("app.taps", 1): Progress()})
    forged = [("ward-decision", b"PASS"), ("trace", b"t-1")]
    first = [Message(0, "adult-1"), Message(1, "kid-1"), Message(10, "kid-3"), Message(11, "kid-4")]
    e.batches.handle(first)  # the lane compiles adult-1, kid-1, kid-3 and kid-4 ahead
    batch = [
        Message(i, sid, forged if i == 7 else None)
        for i, sid in enumerate(
            ["adult-1", "kid-1", "adult-1", "kid-2", "adult-1", "adult-1", "kid-3", "kid-3"]
            + ["kid-4", "adult-1", "kid-4"],
            start=2,
        )
    ]
    e.batches.handle(batch)
    counts = {k: v for k, v in enforcer.metrics.decisions.items()}
    summaries = [c._counts for c in p.auditor._counters.values()]
    return producer.sent, counts, summaries, len(p.lane) if p.lane is not None else 0, decided


def _view(sent: list[tuple[Any, ...]]) -> tuple[dict[str, list[Any]], list[Any]]:
    """Each topic's records in order, whole (the order between topics is no one's: the
    quarantines of a batch's blocked children follow its other records); the audit
    records by key (their ids are random, and the lane writes its children's before the
    batch's other records)."""
    audit = sorted((s[2], s[1].split(b"\x02", 1)[0][-3:]) for s in sent if s[0] == "ward.audit")
    topics: dict[str, list[Any]] = {}
    for s in sent:
        if s[0] != "ward.audit":
            topics.setdefault(s[0], []).append(s)
    return topics, [key for key, _ in audit]


def test_the_fast_engine_sends_the_same_with_the_lane_as_without() -> None:
    with_lane, without = _run(lane=True), _run(lane=False)
    assert with_lane[3] == 5, "adult-1, the consented kid-1, kid-2 and kid-3, blocked kid-4"
    assert len(without[4]) == 15  # every event
    assert _view(with_lane[0]) == _view(without[0])
    held = [s for s in with_lane[0] if s[0] == "ward.quarantine"]
    assert len(held) == 3, "kid-4's events are quarantined"
    assert with_lane[4] == [], "every subject compiled ahead: nothing decoded in Python"
    assert without[4].count("kid-4") == 3
    redacted = [s for s in with_lane[0] if s[2] == b"kid-3" and s[0] == "app.taps.lawful"]
    assert len(redacted) == 3 and all(b"/p/" not in s[1] for s in redacted)
    assert all(("ward-decision", b"REDACT") in s[3] for s in redacted)
    assert with_lane[1] == without[1]
    assert with_lane[2] == without[2]
    adults = [s for s in with_lane[0] if s[2] == b"adult-1"]
    assert len(adults) == 6
    assert adults[4][3] == (  # offset 7, with the forged header
        ("trace", b"t-1"),
        ("ward-age-band", b"adult"),
        ("ward-decision", b"PASS"),
    )


@dataclass
class FaustMessage:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    timestamp: float
    headers: Any = None
    generation_id: int = 1


@dataclass
class FaustEvent:
    message: FaustMessage


def test_the_faust_engine_takes_the_same_lane() -> None:
    p = processor(Clock())
    enforcer = Enforcer([p], p.state, p.auditor, p.book, Metrics())
    p.submit(record(1, "adult-1"))  # learnt
    values = [record(i, sid).value for i, sid in enumerate(["adult-1", "kid-1"], start=2)]
    events = [
        FaustEvent(FaustMessage("app.taps", 0, 2, b"adult-1", values[0], 1.5, {"trace": b"t"})),
        FaustEvent(FaustMessage("app.taps", 0, 3, b"kid-1", values[1], 1.5)),
    ]
    (adult, child), first, _ = lanes(enforcer, events, NOW)  # type: ignore[arg-type]
    assert child is None and first == []  # the Python path's: kid-1 was not learnt
    assert adult is not None and adult.topic == "app.taps.lawful"
    assert (adult.key, adult.value, adult.timestamp_ms) == (b"adult-1", values[0], 1500)
    assert adult.headers == (
        ("trace", b"t"),
        ("ward-age-band", b"adult"),
        ("ward-decision", b"PASS"),
    )


def test_the_faust_engine_hands_a_blocked_childs_event_to_submit_with_its_hint() -> None:
    p = processor(Clock())
    p.state.caught_up_at = NOW + 60  # current: the child's event is decided at once
    p.state.put_subject("kid-9", subject(born(10), subject_id="kid-9"))  # no consent
    enforcer = Enforcer([p], p.state, p.auditor, p.book, Metrics())
    first = p.submit(record(1, "kid-9"))
    assert first is not None and first.destination == "quarantine"
    value = record(2, "kid-9").value
    event = FaustEvent(FaustMessage("app.taps", 0, 2, b"kid-9", value, 1.5))
    (out,), _, hints = lanes(enforcer, [event], NOW)  # type: ignore[list-item]
    assert out is None and list(hints) == [0]
    hint = hints[0]
    decision = p.lane.decision(hint)  # type: ignore[union-attr]
    assert decision is not None and decision.reason.value == first.reason
    assert hint.envelope.subject_id == "kid-9"
    again = enforcer.submit(record(2, "kid-9"), hint)
    assert again is not None and again.destination == "quarantine"
    assert again.reason == first.reason
    assert [o.topic for o in again.outputs] == [o.topic for o in first.outputs]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["adult-1", "adult-2", "kid-1", "kid-2", "nobody"]), min_size=1, max_size=12
    ),
    st.lists(st.sampled_from([-7200, -1, 0, 1]), min_size=12, max_size=12),
    st.booleans(),
)
def test_records_screened_again_after_entries_are_compiled_match_one_screen(
    subjects: list[str], seconds: list[int], current: bool
) -> None:
    """The screen compiles entries for a batch's subjects without one and screens only
    their records again: the same codes, counts, hints and audit records as one screen
    of the batch with every entry compiled before it."""

    def screened(ahead: bool) -> Any:
        p = processor(Clock())
        p.state.caught_up_at = NOW + 60 if current else NOW - 60
        assert p.lane is not None
        p.state.put_subject("adult-2", subject(born(40), subject_id="adult-2"))
        p.submit(record(0, "adult-1"))  # one entry learnt the usual way
        values = [
            CODEC.encode({"user_id": sid, "page": None, "ts": T0 + timedelta(seconds=s)})
            for sid, s in zip(subjects, seconds, strict=False)
        ]
        if ahead:
            p.lane._ahead([(sid, (T0 - EPOCH) // timedelta(microseconds=1)) for sid in subjects])
        n = len(values)
        found = p.lane.screen(values, [None] * n, [i % 2 for i in range(n)], list(range(n)), NOW)
        if found is None:
            return None
        hints = {i: (h.waits, h.decision) for i, h in found.hints.items()}
        audited = [_audit_fields(r.value) for r in found.outputs if r.topic == "ward.audit"]
        return list(found.codes), found.by_reason, hints, found.redacted, audited

    assert screened(False) == screened(True)


def _audit_fields(value: bytes | None) -> tuple[Any, ...]:
    datum = AvroCodec(record_schema("AuditRecord")).decode(value or b"", origin=Origin.unknown())
    return tuple(datum[k] for k in ("chain", "seq", "action", "subject_ref", "event_ref"))
