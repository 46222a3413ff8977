"""ConsentLedger: how consent events fold into the state decisions use."""

from __future__ import annotations

from tests.unit.policy.test_policy_support import T0, grant, ledger, refuse, withdraw

from wardstream.domain.enums import DataCategory
from wardstream.policy.ledger import CATEGORY_BIT, ConsentLedger


def test_empty_and_apply_do_not_mutate() -> None:
    empty = ConsentLedger.empty("kid-1")
    one = empty.apply(grant())
    assert empty.grants == () and len(one.grants) == 1
    assert one.grants[0].categories == (
        CATEGORY_BIT[DataCategory.IDENTIFIER]
        | CATEGORY_BIT[DataCategory.BEHAVIOUR]
        | CATEGORY_BIT[DataCategory.LOCATION]
    )


def test_regrant_replaces_scope() -> None:
    state = ledger(grant(purposes=["a"]), grant(purposes=["b"]))
    assert [g.purposes for g in state.grants] == [frozenset({"b"})]


def test_withdrawn_ids_stay_withdrawn() -> None:
    state = ledger(grant(), withdraw(), grant())
    assert state.grants[0].withdrawn_at == T0


def test_withdrawal_of_an_unknown_id_closes_by_purpose() -> None:
    state = ledger(
        grant("c1", purposes=["a"]),
        grant("c2", purposes=["b"]),
        withdraw("zz", purposes=["a"]),
    )
    closed = {g.consent_id: g.withdrawn_at is not None for g in state.grants}
    assert closed == {"c1": True, "c2": False}
    everything = ledger(grant("c1"), grant("c2", purposes=["b"]), withdraw("zz", purposes=[]))
    assert all(g.withdrawn_at is not None for g in everything.grants)


def test_affected_by_names_the_grants_a_withdrawal_closes() -> None:
    state = ledger(grant("c1"), grant("c2", purposes=["b"]))
    assert [g.consent_id for g in state.affected_by(withdraw("c2"))] == ["c2"]
    assert state.affected_by(grant("c3")) == ()
    closed = state.apply(withdraw("c2"))
    assert closed.affected_by(withdraw("c2")) == ()


def test_newest_statement_per_purpose_wins() -> None:
    state = ledger(grant(purposes=["a", "b"]), refuse(["a"]))
    assert state.candidates("a", False).refused
    assert state.candidates("a", False).grants == ()
    assert [g.consent_id for g in state.candidates("b", False).grants] == ["c1"]
    again = state.apply(grant("c2", purposes=["a"]))
    assert [g.consent_id for g in again.candidates("a", False).grants] == ["c2"]


def test_blanket_refusal_spares_essential_purposes() -> None:
    state = ledger(grant(purposes=["learning", "ads"]), refuse([]))
    assert state.candidates("ads", essential=False).refused
    assert not state.candidates("learning", essential=True).refused
    assert state.candidates("learning", essential=True).grants


def test_round_trip_through_dicts() -> None:
    state = ledger(grant(), refuse(["x"]), withdraw())
    again = ConsentLedger.from_dict(state.to_dict())
    assert again == state and again.grants == state.grants
