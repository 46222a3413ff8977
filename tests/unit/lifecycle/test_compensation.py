"""Compensation for late state records: exactly the passed events, once (SPEC "State and time")."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.policy.test_policy_support import (
    T0,
    born,
    child,
    grant,
    ledger,
    pipeline,
    policy,
    refuse,
    subject,
)
from tests.unit.policy.test_policy_support import withdraw as withdrawal

from wardstream.domain.enums import DeletionReason
from wardstream.enforce.state import StateStore
from wardstream.lifecycle.compensation import MS, PassLog
from wardstream.serde.lazy import EPOCH

S = timedelta(seconds=1)
CLICKS = pipeline(name="clicks", purpose="analytics")
LESSONS = pipeline(name="lessons", purpose="learning")


def make(horizon_s: float = 3600.0) -> tuple[PassLog, StateStore]:
    state = StateStore()
    log = PassLog({"clicks": CLICKS, "lessons": LESSONS}, policy(), state, horizon_s=horizon_s)
    return log, state


def ranges(log: PassLog) -> list[tuple[str, tuple[str, ...], object, object]]:
    out = []
    for d in log.take(T0 + 60 * S, 0.0):
        assert d.reason is DeletionReason.COLLECTED_WITHOUT_CONSENT
        out.append((d.subject_id, d.pipelines, d.collected_after, d.collected_before))
    return out


def test_a_late_withdrawal_names_exactly_the_passes_at_or_after_it() -> None:
    log, _ = make()
    for second in (0, 5, 10, 20):
        log.passed("kid-1", "clicks", T0 + second * S, "c1", 0.0)
    log.passed("kid-1", "lessons", T0 + 12 * S, "c2", 0.0)  # another consent: untouched
    log.on_consent(ledger(grant("c1")), withdrawal("c1", at=T0 + 7 * S))
    # [withdrawal, last pass]: every event this worker passed in that range, and only those
    assert ranges(log) == [("kid-1", ("clicks",), T0 + 7 * S, T0 + 20 * S + MS)]
    assert [(s.first, s.last) for s in log.spans["kid-1"].values()] == [
        (T0, T0 + 7 * S - MS),  # the lawful passes before it stay known
        (T0 + 12 * S, T0 + 12 * S),
    ]
    # the same withdrawal again (a replay of the state topic) owes nothing more
    log.on_consent(ledger(grant("c1")), withdrawal("c1", at=T0 + 7 * S))
    assert ranges(log) == []


def test_a_withdrawal_in_time_owes_nothing() -> None:
    log, _ = make()
    log.passed("kid-1", "clicks", T0, "c1", 0.0)
    log.on_consent(ledger(grant("c1")), withdrawal("c1", at=T0 + S))
    assert ranges(log) == []
    assert len(log) == 1  # the lawful pass is still remembered


def test_a_refusal_hits_consented_passes_of_the_purposes_it_names() -> None:
    log, _ = make()
    log.passed("kid-1", "clicks", T0 + S, "c1", 0.0)
    log.passed("kid-1", "lessons", T0 + S, "c2", 0.0)
    log.passed("kid-1", "clicks", T0 + S, None, 0.0)  # no consent: a refusal says nothing of it
    log.on_consent(ledger(grant("c1")), refuse(["analytics"]))
    assert ranges(log) == [("kid-1", ("clicks",), T0 + S, T0 + S + MS)]


def test_a_late_deregistration_owes_every_pass_after_it() -> None:
    log, _ = make()
    log.passed("kid-1", "clicks", T0, "c1", 0.0)
    log.passed("kid-1", "clicks", T0 + 9 * S, "c1", 0.0)
    log.passed("kid-1", "lessons", T0 + 3 * S, None, 0.0)
    log.on_subject(child(), child(deregistered_at=T0 + 2 * S))
    assert sorted(ranges(log)) == [
        ("kid-1", ("clicks",), T0 + 2 * S, T0 + 9 * S + MS),
        ("kid-1", ("lessons",), T0 + 3 * S, T0 + 3 * S + MS),
    ]
    log.on_subject(child(deregistered_at=T0 + 2 * S), child(deregistered_at=T0 + 2 * S))
    assert ranges(log) == []


def test_an_adult_who_turns_out_to_be_a_child_is_compensated_whole() -> None:
    log, _ = make()
    adult = subject(born(30))
    log.passed("kid-1", "clicks", T0, None, 0.0)
    log.passed("kid-1", "clicks", T0 + 4 * S, None, 0.0)
    log.on_subject(None, adult)  # still an adult: nothing owed
    assert ranges(log) == []
    log.on_subject(adult, subject(born(9)))  # no consent on record
    assert ranges(log) == [("kid-1", ("clicks",), T0, T0 + 4 * S + MS)]


def test_the_adults_lanes_spans_are_compensated_like_single_passes() -> None:
    log, _ = make()
    us = int((T0 - EPOCH).total_seconds()) * 1_000_000
    log.adults_passed("clicks", [("kid-1", us, us + 4_000_000), ("kid-2", us, us)], 0.0)
    log.on_subject(subject(born(30)), subject(born(9)))  # kid-1, with no consent on record
    assert ranges(log) == [("kid-1", ("clicks",), T0, T0 + 4 * S + MS)]
    assert list(log.spans) == ["kid-2"]


def test_a_child_with_a_covering_consent_owes_nothing() -> None:
    log, state = make()
    state.put_consent(grant("c1"))
    log.passed("kid-1", "clicks", T0, None, 0.0)
    log.on_subject(subject(born(30)), subject(born(9)))
    assert ranges(log) == []


def test_idle_passes_are_forgotten_after_the_horizon() -> None:
    log, _ = make(horizon_s=10.0)
    log.passed("kid-1", "clicks", T0, "c1", 100.0)
    log.passed("kid-2", "clicks", T0, "c1", 105.0)
    log.prune(112.0)
    assert list(log.spans) == ["kid-2"]
