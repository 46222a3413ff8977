"""What order the processor keeps (README, "Delivery"): per subject within a source partition.

Adults' events are decided at once, so they overtake a child's event that waits for
current state. A subject's own events leave in the partition's order: a later event of a
subject waits behind an earlier one that still waits, even when its own state is
current, and events of other subjects (or of the subject in other partitions) are not
held by it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.unit.policy.test_policy_support import ALL_CATEGORIES, T0, born, grant, policy, subject

from wardstream.audit.pseudonym import SubjectPseudonymizer
from wardstream.domain.pipeline import Pipeline
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.processor import PipelineProcessor, Timing
from wardstream.enforce.quarantine import QuarantineBook
from wardstream.enforce.records import InRecord, Outcome
from wardstream.enforce.state import StateStore
from wardstream.policy.ledger import ConsentLedger
from wardstream.serde import AvroCodec
from wardstream.serde.schemas import parse_schema_dict

SCHEMA = parse_schema_dict(
    {
        "type": "record",
        "name": "Tap",
        "fields": [
            {"name": "user_id", "type": "string"},
            {"name": "page", "type": ["null", "string"], "default": None},
            {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        ],
    },
    source="test",
)
CODEC = AvroCodec(SCHEMA)
LATENESS, MAX_HOLD = 2.0, 10.0
NOW = T0.timestamp()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def processor(clock: Clock) -> PipelineProcessor:
    pipe = Pipeline(
        name="taps",
        source="app.taps",
        sink="app.taps.lawful",
        purpose="analytics",
        subject="user_id",
        event_time="ts",
        fields={"user_id": "identifier", "page": "behaviour", "ts": "technical"},
        jurisdiction="CN",
    )
    state = StateStore(caught_up_at=NOW - 60)  # read a minute ago: children's events wait
    for sid in ("kid-1", "kid-2"):
        state.put_subject(sid, subject(born(10), subject_id=sid))
        consent = grant(categories=ALL_CATEGORIES, subject_id=sid)
        state.consents[sid] = ConsentLedger(sid, (consent,))
    state.put_subject("adult-1", subject(born(30), subject_id="adult-1"))
    auditor = Auditor("ward.audit", "w1", SubjectPseudonymizer(b"k" * 32, "k1"))
    book = QuarantineBook("ward.quarantine", None, refs=auditor.pseudonymizer.ref)
    timing = Timing(state_lateness=LATENESS, max_hold=MAX_HOLD)
    return PipelineProcessor(
        pipe, policy(), CODEC, SCHEMA, state, auditor, book, "ward.dl", timing, wall=clock
    )


def record(offset: int, sid: str, at: datetime = T0, partition: int = 0) -> InRecord:
    value = CODEC.encode({"user_id": sid, "page": f"/p/{offset}", "ts": at})
    return InRecord("app.taps", partition, offset, sid.encode(), value, None, arrival=NOW)


def sunk(outcomes: list[Outcome | None]) -> list[int]:
    """Offsets of the outcomes that went to the sink, in the order they were decided."""
    return [o.record.offset for o in outcomes if o is not None and o.destination == "sink"]


def test_an_adults_later_event_overtakes_a_waiting_childs() -> None:
    clock = Clock()
    p = processor(clock)
    assert p.submit(record(1, "kid-1")) is None  # waits for current state
    assert sunk([p.submit(record(2, "adult-1"))]) == [2]  # decided at once
    p.state.caught_up_at = NOW + LATENESS
    assert sunk(list(p.poll())) == [1]


def test_a_subjects_later_event_waits_behind_its_earlier_one() -> None:
    clock = Clock()
    p = processor(clock)
    assert p.submit(record(1, "kid-1")) is None
    p.state.caught_up_at = NOW + LATENESS  # the state is current for both now ...
    clock.now = NOW + LATENESS
    assert p.submit(record(2, "kid-1")) is None  # ... but offset 1 has not been polled yet
    assert sunk([p.submit(record(3, "kid-2"))]) == [3]  # another subject is not held
    assert sunk([p.submit(record(4, "kid-1", partition=1))]) == [4]  # nor another partition
    assert sunk(list(p.poll())) == [1, 2]


def test_an_earlier_event_time_does_not_let_a_later_event_pass() -> None:
    clock = Clock()
    p = processor(clock)
    assert p.submit(record(1, "kid-1", at=T0)) is None
    assert p.submit(record(2, "kid-1", at=T0 - timedelta(seconds=1))) is None
    p.state.caught_up_at = NOW - 1 + LATENESS  # current for offset 2's time, not offset 1's
    assert sunk(list(p.poll())) == []
    p.state.caught_up_at = NOW + LATENESS
    assert sunk(list(p.poll())) == [1, 2]


def test_a_waiting_event_that_gives_up_is_quarantined_and_the_next_one_follows() -> None:
    clock = Clock()
    p = processor(clock)
    assert p.submit(record(1, "kid-1")) is None
    clock.now = NOW + MAX_HOLD
    assert p.submit(record(2, "kid-1", at=T0 - timedelta(seconds=LATENESS + 1))) is None
    p.state.caught_up_at = NOW  # current for offset 2 (older), never for offset 1
    outcomes: list[Any] = list(p.poll())
    assert [(o.record.offset, o.destination) for o in outcomes] == [
        (1, "quarantine"),
        (2, "sink"),
    ]


def test_an_adults_event_is_never_held_even_behind_the_same_subjects_waiting_one() -> None:
    """The README's exception: the subject's age was unknown for the first event (held as
    a child's), their adult profile arrived, and the second event passes at once."""
    clock = Clock()
    p = processor(clock)
    assert p.submit(record(1, "newcomer")) is None  # no profile yet: a child's, waits
    p.state.put_subject("newcomer", subject(born(30), subject_id="newcomer"))
    assert sunk([p.submit(record(2, "newcomer"))]) == [2]
    p.state.caught_up_at = NOW + LATENESS
    assert sunk(list(p.poll())) == [1]  # an adult's now too


def test_waiting_events_leave_in_arrival_order() -> None:
    """A poll stops at the first event not past the hold: one behind it whose own time is
    earlier waits with it (at most state_lateness longer than it had to)."""
    clock = Clock()
    p = processor(clock)
    assert p.submit(record(1, "kid-1", at=T0)) is None
    assert p.submit(record(2, "kid-2", at=T0 - timedelta(seconds=1))) is None
    p.state.caught_up_at = NOW - 1 + LATENESS  # past the hold for offset 2's time only
    assert sunk(list(p.poll())) == []
    p.state.caught_up_at = NOW + LATENESS
    assert sunk(list(p.poll())) == [1, 2] and not p.waiting
