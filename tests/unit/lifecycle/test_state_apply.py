"""Applying state records to the compact store: what the hooks see, and bad records fail closed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from tests.unit.conftest import RECORDS, REFS
from tests.unit.policy.test_policy_support import grant, withdraw

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.subject import SubjectProfile
from wardstream.enforce.quarantine import QuarantineBook
from wardstream.enforce.state import StateStore
from wardstream.lifecycle.applier import LifecycleState, LifecycleTopics, StateApplier
from wardstream.policy.ledger import ConsentLedger
from wardstream.serde import AvroCodec, record_schema

SUBJECTS = AvroCodec(record_schema("SubjectProfile"))
CONSENTS = AvroCodec(record_schema("ConsentEvent"))
T0 = datetime(2026, 1, 1, tzinfo=UTC)
NAMES = ("subjects", "consents", "quarantine", "requests", "deletions", "notices", "corrections")
TOPICS = LifecycleTopics(
    **{n: f"ward.{n}" for n in NAMES}, seen="s", control="c", holds="h", keys="k"
)


def applier() -> tuple[StateApplier, list[tuple[Any, Any]], StateStore]:
    state = StateStore()
    a = StateApplier(
        TOPICS,
        state,
        QuarantineBook("ward.quarantine", refs=REFS.ref),
        LifecycleState(records=RECORDS),
    )
    seen: list[tuple[Any, Any]] = []
    a.on_subject.append(lambda before, after: seen.append((before, after)))
    a.on_consent.append(lambda before, event: seen.append((before, event)))
    return a, seen, state


def profile(years: int, **extra: Any) -> SubjectProfile:
    return SubjectProfile(
        subject_id="kid-1", birth_date=date(2026 - years, 2, 1), updated_at=T0, **extra
    )


def subject(a: StateApplier, p: SubjectProfile | bytes | None, offset: int = 0) -> None:
    value = SUBJECTS.encode(p.to_dict()) if isinstance(p, SubjectProfile) else p
    a.apply("ward.subjects", 0, offset, b"kid-1", value)


def consent(a: StateApplier, e: ConsentEvent | bytes) -> None:
    value = CONSENTS.encode(e.to_dict()) if isinstance(e, ConsentEvent) else e
    a.apply("ward.consents", 0, 0, b"kid-1", value)


def test_profiles_replace_each_other_and_the_hooks_see_before_and_after() -> None:
    a, seen, state = applier()
    child, adult = profile(9), profile(19)
    subject(a, child)
    subject(a, adult)
    assert state.subjects.get("kid-1") == adult
    assert seen == [(None, child), (child, adult)]
    subject(a, None)  # a tombstone
    assert "kid-1" not in state.subjects and seen[-1] == (adult, None)


def test_a_record_that_does_not_decode_leaves_the_child_a_child() -> None:
    a, seen, state = applier()
    child = profile(9)
    subject(a, child)
    adult_bytes = SUBJECTS.encode(profile(30).to_dict())
    for bad in (adult_bytes[:-1], adult_bytes + b"\x00", b"\x0akid-1\x09", b""):
        subject(a, bad)
    assert a.rejected == 4
    assert state.subjects.get("kid-1") == child
    assert len(seen) == 1


def test_a_deregistration_is_a_trigger_once() -> None:
    a, _, state = applier()
    gone = profile(9, deregistered_at=T0)
    subject(a, profile(9))
    subject(a, gone)
    subject(a, gone)  # the same deregistration again (a replay)
    bodies = [t.body for t in a.lifecycle.triggers]
    assert bodies == [gone]
    assert state.subjects["kid-1"].deregistered_at == T0


def test_consents_fold_and_a_withdrawal_carries_the_ledger_before_it() -> None:
    a, seen, state = applier()
    g, w = grant("c1"), withdraw("c1", at=T0)
    consent(a, g)
    consent(a, CONSENTS.encode(g.to_dict())[:-2])  # cut: rejected, nothing changes
    assert a.rejected == 1
    consent(a, w)
    assert state.consents["kid-1"] == ConsentLedger("kid-1", (g, w))
    assert seen == [(None, g), (ConsentLedger("kid-1", (g,)), w)]
    assert [t.body for t in a.lifecycle.triggers] == [(ConsentLedger("kid-1", (g,)), w)]
