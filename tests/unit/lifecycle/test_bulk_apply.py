"""``StateApplier.apply_rows``: runs of profiles stored natively while nobody listens,
with exactly the state, rejects and triggers that applying each record gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.conftest import RECORDS, REFS
from tests.unit.lifecycle.test_state_apply import CONSENTS, SUBJECTS, T0, TOPICS, profile
from tests.unit.policy.test_policy_support import grant, withdraw
from tests.unit.state.test_state_codecs import (
    consents,
    mutate,
    mutations,
    profiles,
    usual_consents,
    usual_profiles,
)

from wardstream.domain.subject import SubjectProfile
from wardstream.enforce.quarantine import QuarantineBook
from wardstream.enforce.state import StateStore
from wardstream.kafka.tail import Row
from wardstream.lifecycle.applier import LifecycleState, StateApplier
from wardstream.lifecycle.expiry_index import ExpiryIndex
from wardstream.policy.ledger import ConsentLedger
from wardstream.state import maps

ROOT = Path(__file__).resolve().parents[3]


def applier() -> StateApplier:
    state = StateStore()
    book = QuarantineBook("ward.quarantine", refs=REFS.ref)
    a = StateApplier(TOPICS, state, book, LifecycleState(records=RECORDS))
    a.expiring = ExpiryIndex()
    return a


def facts(a: StateApplier) -> dict[str, Any]:
    """Everything applying changes: stored bytes, objects, rejects and triggers."""
    s = a.state
    return {
        "profiles": sorted(s.subjects.table.items()),
        "pinned": s.subjects._pinned,  # noqa: SLF001
        "gone": s.subjects.gone,
        "ledgers": sorted(s.consents.table.items()),
        "rejected": [(r.origin, type(r.error)) for r in a.rejects],
        "triggers": [t.body for t in a.lifecycle.triggers],
        "expiring": {h: bytes(b) for h, b in a.expiring._buckets.items()},  # type: ignore[union-attr]  # noqa: SLF001
    }


def one_by_one(rows: list[Row]) -> StateApplier:
    a = applier()
    for row in rows:
        a.apply(*row)
    return a


def row(offset: int, value: bytes | None, key: bytes = b"k") -> Row:
    return ("ward.subjects", 0, offset, key, value)


ids = st.sampled_from(["kid-1", "kid-2", "adult-3", "\u5c0f\u660e"])
records = st.one_of(
    st.tuples(st.just("profile"), usual_profiles, ids, st.none() | st.none() | mutations),
    st.tuples(st.just("profile"), profiles, ids, st.none() | mutations),
    st.tuples(st.just("tombstone"), ids),
    st.tuples(st.just("consent"), usual_consents, ids, st.none() | st.none() | mutations),
    st.tuples(st.just("consent"), consents, ids, st.none() | mutations),
)


def to_row(offset: int, record: tuple[Any, ...]) -> Row:
    kind, *rest = record
    if kind == "tombstone":
        return row(offset, None, rest[0].encode())
    data, sid, steps = rest
    topic, codec = ("ward.subjects", SUBJECTS) if kind == "profile" else ("ward.consents", CONSENTS)
    value = codec.encode({**data, "subject_id": sid})
    return (topic, 0, offset, sid.encode(), value if steps is None else mutate(value, steps))


@settings(max_examples=400, deadline=None)
@given(st.lists(records, max_size=30))
def test_a_bulk_read_ends_where_applying_each_record_ends(recs: list[Any]) -> None:
    rows = [to_row(i, r) for i, r in enumerate(recs)]
    bulk = applier()
    bulk.apply_rows(rows)
    assert facts(bulk) == facts(one_by_one(rows))


def test_the_differential_cases_take_the_native_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not vacuous: a fair share of the generated records is stored natively."""
    stored = {"subjects": 0, "consents": 0, "rows": 0}
    for name, kind in (("ProfileMap", "subjects"), ("LedgerMap", "consents")):
        cls = getattr(maps, name)

        def counted(self: Any, rows: list[Row], start: int, topic: str, _a=cls.absorb, _k=kind):
            found = _a(self, rows, start, topic)
            stored[_k] += (found if isinstance(found, int) else found[0]) - start
            return found

        monkeypatch.setattr(cls, "absorb", counted)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(records, max_size=30))
    def run(recs: list[Any]) -> None:
        stored["rows"] += len(recs)
        applier().apply_rows([to_row(i, r) for i, r in enumerate(recs)])

    run()
    assert stored["subjects"] > stored["rows"] / 40
    assert stored["consents"] > stored["rows"] / 40


def usual(n: int, **extra: Any) -> list[Row]:
    return [
        row(i, SUBJECTS.encode(profile(9, **extra).to_dict() | {"subject_id": f"kid-{i}"}))
        for i in range(n)
    ]


def count_applied(a: StateApplier, monkeypatch: pytest.MonkeyPatch) -> list[Row]:
    applied: list[Row] = []
    apply = a.apply
    monkeypatch.setattr(a, "apply", lambda *r: (applied.append(r), apply(*r)))
    return applied


def test_usual_profiles_take_the_native_run_and_read_back_equal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = applier()
    applied = count_applied(a, monkeypatch)
    a.apply_rows(usual(1000))
    assert applied == []  # not one record by record
    assert len(a.state.subjects) == 1000
    assert a.state.subjects["kid-7"] == SubjectProfile.from_dict(
        profile(9).to_dict() | {"subject_id": "kid-7"}
    )


def test_deregistrations_and_tombstones_are_applied_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = applier()
    applied = count_applied(a, monkeypatch)
    gone = profile(9, deregistered_at=T0)
    rows = [*usual(3), row(3, SUBJECTS.encode(gone.to_dict()))]
    rows += [row(4, SUBJECTS.encode(profile(10).to_dict())), row(5, None, b"kid-2")]
    a.apply_rows(rows)  # kid-1 deregistered, then not (its profile before was gone)
    assert [r[2] for r in applied] == [3, 4, 5]
    assert [t.body for t in a.lifecycle.triggers] == [gone]
    assert a.state.subjects["kid-1"] == profile(10) and not a.state.subjects.gone
    assert "kid-2" not in a.state.subjects


@pytest.mark.parametrize("register", ["append", "busy", "idle"])
def test_a_listening_hook_hears_of_every_profile(register: str) -> None:
    a, heard = applier(), []
    hook = lambda before, after: heard.append(after)  # noqa: E731
    if register == "append":  # no idle check given: never skipped
        a.on_subject.append(hook)
    else:
        a.watch_subjects(hook, lambda: register == "idle")
    a.apply_rows(usual(5))
    assert len(heard) == (0 if register == "idle" else 5)
    assert len(a.state.subjects) == 5


def test_a_state_listener_without_an_idle_check_hears_of_every_change() -> None:
    a, heard = applier(), []
    a.state.listeners.append(heard.append)
    a.apply_rows(usual(3))
    assert heard == ["kid-0", "kid-1", "kid-2"]
    b, told = applier(), []
    b.state.listen(told.append, lambda: False)
    b.apply_rows(usual(3))
    assert told == ["kid-0", "kid-1", "kid-2"]


def test_a_cached_profile_is_replaced_not_left_stale() -> None:
    a = applier()
    a.apply_rows(usual(2))
    assert a.state.subjects["kid-1"].birth_date == profile(9).birth_date  # now cached
    older = profile(12).to_dict() | {"subject_id": "kid-1"}
    a.apply_rows([row(9, SUBJECTS.encode(older))])
    assert a.state.subjects["kid-1"].birth_date == profile(12).birth_date


def test_a_worker_listens_only_once_it_has_something_to_revisit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The wiring registers every hook and listener with its idle check: a fresh worker
    reads profiles in bulk; once the pass log holds a pass, it hears of each one."""
    from wardstream.config.pipeline import load_pipelines
    from wardstream.config.settings import load_settings
    from wardstream.engines.bootstrap import build_enforcer

    monkeypatch.setenv(
        "WARDSTREAM__LIFECYCLE__MASTER_KEY",
        "5e8d1c0b7a6f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d",
    )
    monkeypatch.setenv(
        "WARDSTREAM__AUDIT__HMAC_KEY",
        "8f2b0c6e4d1a9b7c3e5f0a2d4c6b8e1f3a5c7e9b0d2f4a6c8e0b1d3f5a7c9e1b",
    )
    settings = load_settings(ROOT / "wardstream.yaml")
    pipelines = load_pipelines(ROOT / "pipelines", settings.policy, base_dir=ROOT)
    enforcer = build_enforcer(settings, pipelines, settings.policy.to_context(), str(ROOT))
    a = enforcer.applier
    assert isinstance(a, StateApplier)
    applied = count_applied(a, monkeypatch)
    grants = [
        ("ward.consents", 0, i, b"k", CONSENTS.encode(grant(f"c{i}").to_dict())) for i in range(3)
    ]
    a.apply_rows([*usual(3), *grants])
    assert applied == []
    enforcer.lifecycle.passes.passed(  # type: ignore[attr-defined]
        "adult-9", pipelines[0].name, T0, None, 0.0
    )
    a.apply_rows([*usual(3), *grants])
    assert len(applied) == 6


def test_grants_take_the_native_run_and_withdrawals_are_applied_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = applier()
    applied = count_applied(a, monkeypatch)
    expires = T0.replace(year=2030)
    events = [grant("c1"), grant("c2", expires_at=expires), withdraw("c1"), grant("c3")]
    a.apply_rows(
        [("ward.consents", 0, i, b"k", CONSENTS.encode(e.to_dict())) for i, e in enumerate(events)]
    )
    assert [r[2] for r in applied] == [2]  # the withdrawal
    assert a.state.consents["kid-1"].events == tuple(events)
    [trigger] = a.lifecycle.triggers
    assert trigger.body == (ConsentLedger("kid-1", tuple(events[:2])), events[2])
    assert a.expiring.due(expires) == {"kid-1"}  # type: ignore[union-attr]


def test_an_expected_read_makes_room_in_the_maps_of_its_topics() -> None:
    a = applier()
    empty = [m.table.footprint()[2] for m in (a.state.subjects, a.state.consents)]
    a.expect({"ward.subjects": 50_000, "ward.consents": 20_000, "ward.quarantine": 10**9})
    room = [m.table.footprint()[2] for m in (a.state.subjects, a.state.consents)]
    assert room[0] > 50_000 * 5 > room[1] > 20_000 * 5 > max(empty)
    a.apply_rows(usual(3))
    assert facts(a) == facts(one_by_one(usual(3)))
