"""Children's events that wait for the consent-consistent hold, kept by the lane's hint.

A consented child's event that is not past the hold yet is hinted: the processor keeps it
undecoded with the lane's decision and, once past the hold, sends it with that decision
(the original bytes, or a shaped entry's redaction) unless the subject's state or the
policy changed meanwhile; then it decodes and decides it afresh (SPEC, "State and
time": decide with the newest state known at decision time).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from tests.unit.enforce.test_processor_order import (
    CODEC,
    LATENESS,
    MAX_HOLD,
    NOW,
    SCHEMA,
    Clock,
    processor,
    record,
    sunk,
)
from tests.unit.policy.test_policy_support import T0, grant, withdraw

from wardstream.domain.decision import EventFacts
from wardstream.enforce.enforcer import Enforcer
from wardstream.enforce.hooks import Routed
from wardstream.enforce.lane import Hint
from wardstream.enforce.metrics import Metrics
from wardstream.enforce.processor import PipelineProcessor
from wardstream.enforce.records import H_DECISION, InRecord, Outcome, OutRecord
from wardstream.policy.decide import decide
from wardstream.policy.ledger import ConsentLedger
from wardstream.serde import AvroCodec, Origin, record_schema, redact


def _hinted(p: PipelineProcessor, rec: InRecord) -> Hint:
    """``rec`` screened by the lane (entries compiled ahead from the state): its hint."""
    assert p.lane is not None and rec.value is not None
    screened = p.lane.screen([rec.value], [None], [rec.partition], [rec.offset], NOW)
    assert screened is not None and list(screened.codes) == [0]
    return screened.hints[0]


def _no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("a standing hint is sent without decoding its event")

    monkeypatch.setattr(AvroCodec, "decode", refuse)


def _released(p: PipelineProcessor, clock: Clock) -> list[Outcome]:
    p.state.caught_up_at = clock.now = NOW + LATENESS
    return p.poll()


def test_a_waiting_childs_event_is_sent_with_its_hint_without_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    p = processor(clock)  # the state was read a minute ago: kid-1's event must wait
    rec = record(1, "kid-1")
    hint = _hinted(p, rec)
    assert hint.waits and p.lane is not None and p.lane.table.waiting() == 1
    _no_decoding(monkeypatch)
    assert p.submit(rec, hint) is None and len(p.waiting) == 1
    assert p.poll() == [], "not past the hold yet"
    [outcome] = _released(p, clock)
    assert outcome.destination == "sink"
    [sent, audit] = outcome.outputs
    assert sent.value == rec.value and dict(sent.headers)[H_DECISION] == b"PASS"
    assert audit.topic == "ward.audit"
    assert p.lane.table.waiting() == 0 and len(p.lane) == 1, "the entry stays; nothing waits"


def test_a_waiting_redaction_sends_the_lanes_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    p = processor(clock)
    narrow = grant(categories=("identifier",), subject_id="kid-1")  # no behaviour: no page
    p.state.consents["kid-1"] = ConsentLedger("kid-1", (narrow,))
    rec = record(1, "kid-1")
    hint = _hinted(p, rec)
    decision = p.lane.decision(hint)  # type: ignore[union-attr]
    assert decision is not None and decision.remove_fields == {"page"} and hint.value is not None
    _no_decoding(monkeypatch)
    assert p.submit(rec, hint) is None
    [outcome] = _released(p, clock)
    monkeypatch.undo()
    kept = redact(CODEC.decode(rec.value or b"", origin=Origin.unknown()), SCHEMA, {"page"})
    assert outcome.destination == "sink" and outcome.outputs[0].value == CODEC.encode(kept)


def test_a_withdrawal_while_the_event_waits_blocks_it() -> None:
    """The SPEC's test: a withdrawal that lands after the event, effective before its
    time, blocks it, though the lane hinted a pass."""
    clock = Clock()
    p = processor(clock)
    rec = record(1, "kid-1")
    hint = _hinted(p, rec)
    decision = p.lane.decision(hint)  # type: ignore[union-attr]
    assert decision is not None and decision.action.value == "PASS"
    assert p.submit(rec, hint) is None
    p.state.put_consent(withdraw("c1", at=T0 - timedelta(seconds=1), subject_id="kid-1"))
    [outcome] = _released(p, clock)
    assert outcome.destination != "sink"
    expected = _decide(p, rec)
    assert outcome.reason == expected.reason.value


def test_a_stop_marker_while_the_event_waits_decides_it_afresh() -> None:
    clock = Clock()
    p = processor(clock)
    rec = record(1, "kid-1")
    assert p.submit(rec, _hinted(p, rec)) is None
    p.policy = replace(p.policy, service_stopped=True)
    [outcome] = _released(p, clock)
    assert outcome.destination != "sink" and outcome.reason == _decide(p, rec).reason.value


def test_another_subjects_change_leaves_the_hint_standing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    p = processor(clock)
    rec = record(1, "kid-1")
    assert p.submit(rec, _hinted(p, rec)) is None
    p.state.put_consent(withdraw("c1", at=T0 - timedelta(seconds=1), subject_id="kid-2"))
    _no_decoding(monkeypatch)
    assert sunk(_released(p, clock)) == [1]


def test_a_hinted_event_that_waits_too_long_is_quarantined_as_state_not_current() -> None:
    clock = Clock()
    p = processor(clock)
    rec = record(1, "kid-1")
    assert p.submit(rec, _hinted(p, rec)) is None
    clock.now = NOW + MAX_HOLD  # the state never caught up
    [outcome] = p.poll()
    assert outcome.destination == "quarantine" and outcome.reason == "STATE_NOT_CURRENT"
    assert p.lane is not None and p.lane.table.waiting() == 0


def test_a_revoked_partitions_hinted_events_go_and_the_subject_no_longer_waits() -> None:
    clock = Clock()
    p = processor(clock)
    rec = record(1, "kid-1")
    assert p.submit(rec, _hinted(p, rec)) is None
    Enforcer([p], p.state, p.auditor, p.book, Metrics()).forget([("app.taps", 0)])
    assert _released(p, clock) == []
    assert p.lane is not None and p.lane.table.waiting() == 0


def test_a_later_ready_event_waits_behind_a_hinted_one() -> None:
    clock = Clock()
    p = processor(clock)
    first = record(1, "kid-1")
    assert p.submit(first, _hinted(p, first)) is None
    old = record(2, "kid-1", at=T0 - timedelta(hours=1))  # past the hold by its own time
    later = _hinted(p, old)
    assert later.waits, "behind the first"
    assert p.submit(old, later) is None
    assert sunk(_released(p, clock)) == [1, 2]


def _decide(p: PipelineProcessor, rec: InRecord) -> Any:
    """What ``decide`` says of ``rec`` with the processor's state and policy now."""
    facts = EventFacts("kid-1", T0, frozenset({"user_id", "page", "ts"}))
    state = p.state
    return decide(
        facts, state.subjects.get("kid-1"), state.consents.get("kid-1"), p.pipeline, p.policy
    )


class Observed:
    """A route observer that keeps what it is told."""

    def __init__(self) -> None:
        self.told: list[Routed] = []

    def routed_events(self) -> set[tuple[str, Any, str, str | None]]:
        return {
            (r.subject_id, r.event_time, r.destination, r.decision.consent_id) for r in self.told
        }

    def routed(self, event: Routed) -> list[OutRecord]:
        self.told.append(event)
        return []

    def adults_passed(self, pipeline: str, spans: Any, wall: float) -> None: ...


def test_events_sent_on_hints_are_audited_as_the_python_path_audits_them() -> None:
    """Events of two children on two partitions, released in one poll: each outcome holds
    its sink record; the poll's audit records (after them) read as the Python path's
    would, chain by chain in order (action, rule, reason, subject and event refs,
    consent); the observers hear of each subject's first and last event."""
    times = [T0, T0 - timedelta(seconds=1), T0 + timedelta(seconds=1)]
    recs = [
        record(offset, sid, at=at, partition=part)
        for offset, (sid, part, at) in enumerate(
            [(s, p, t) for s in ("kid-1", "kid-2") for p in (0, 1) for t in times]
        )
    ]

    def run(hinted: bool) -> tuple[list[Outcome], Observed]:
        clock, observed = Clock(), Observed()
        p = processor(clock)
        p.observers.append(observed)
        for rec in recs:
            assert p.submit(rec, _hinted(p, rec) if hinted else None) is None
        return _released(p, clock), observed

    (fast, seen_fast), (slow, seen_slow) = run(True), run(False)
    assert [o.record.offset for o in fast] == [o.record.offset for o in slow]
    for a, b in zip(fast, slow, strict=True):
        assert a.outputs[0].topic == "app.taps.lawful" and a.outputs[0] == b.outputs[0]
    assert _chains(fast) == _chains(slow) and len(_chains(fast)) == 2
    assert seen_fast.routed_events() <= seen_slow.routed_events()
    ends = {
        (r.subject_id, t, r.destination, r.decision.consent_id)
        for r in seen_slow.told
        for t in (min(times), max(times))
    }
    assert seen_fast.routed_events() == ends


def _chains(outcomes: list[Outcome]) -> dict[str, list[dict[str, Any]]]:
    """The audit records the outcomes send, by chain in the order they leave."""
    codec, chains = AvroCodec(record_schema("AuditRecord")), {}
    for out in (out for outcome in outcomes for out in outcome.outputs):
        if out.topic == "ward.audit":
            datum = codec.decode(out.value or b"", origin=Origin.unknown())
            kept = {
                k: v for k, v in datum.items() if k not in ("audit_id", "at", "prev_hash", "hash")
            }
            chains.setdefault(datum["chain"], []).append(kept)
    return chains


def test_a_polls_audit_records_leave_in_their_chains_order() -> None:
    """Hinted events and events decided afresh released by one poll: sent in the
    outcomes' order, each chain's audit records keep their sequence (the hinted ones'
    are sealed last, so they leave last)."""
    clock = Clock()
    p = processor(clock)
    first, second, third = record(1, "kid-1"), record(2, "kid-2"), record(3, "kid-1")
    assert p.submit(first, _hinted(p, first)) is None
    assert p.submit(second) is None  # decided afresh once past the hold
    assert p.submit(third, _hinted(p, third)) is None
    outputs = [out for outcome in _released(p, clock) for out in outcome.outputs]
    seqs = [_seq(out.value) for out in outputs if out.topic == "ward.audit"]
    assert len(seqs) == 3 and seqs == sorted(seqs)


def _seq(value: bytes | None) -> int:
    datum = AvroCodec(record_schema("AuditRecord")).decode(value or b"", origin=Origin.unknown())
    return int(datum["seq"])
