"""R12: the vulnerable flag never shows on any output, header or audit text."""

from __future__ import annotations

import json

from tests.unit.policy.test_policy_support import child, event, grant, ledger, pipeline, policy

from wardstream.domain.enums import Action
from wardstream.policy.decide import decide

FLAG_WORDS = ("vulnerable", "difficult", "dsm", "situation")


def _text(decision: object) -> str:
    data = decision.to_dict()  # type: ignore[attr-defined]
    return (json.dumps(data) + decision.explanation() + repr(decision)).lower()  # type: ignore[attr-defined]


def test_vulnerable_child_with_full_consent_is_dropped_neutrally() -> None:
    pol = policy()
    consent = ledger(grant(purposes=["live_streaming"], categories=["identifier", "behaviour"]))
    decision = decide(
        event(), child(vulnerable=True), consent, pipeline(purpose="live_streaming"), pol
    )
    assert decision.action is Action.DROP
    assert decision.reason.value == "PURPOSE_PROHIBITED"
    assert decision.header_band == "child"
    text = _text(decision)
    assert not any(word in text for word in FLAG_WORDS)


def test_prohibited_looks_the_same_for_the_dsm_and_the_operator_case() -> None:
    pol = policy()
    dsm = decide(
        event(), child(vulnerable=True), None, pipeline(purpose="live_streaming", name="p"), pol
    )
    operator = decide(event(), child(), None, pipeline(purpose="contests", name="p"), pol)
    assert dsm == operator
    assert dsm.explanation() == operator.explanation()


def test_outside_the_closed_purposes_the_flag_changes_nothing() -> None:
    pol = policy()
    consent = ledger(grant())
    plain = decide(event(), child(), consent, pipeline(), pol)
    flagged = decide(event(), child(vulnerable=True), consent, pipeline(), pol)
    assert plain == flagged
    assert plain.action is Action.PASS


def test_internal_state_reprs_hide_the_flag_and_the_subject() -> None:
    from wardstream.policy.decide import prepare

    profile = child(vulnerable=True)
    state = ledger(grant())
    prepared = prepare(profile, state, pipeline(), policy())
    text = repr(prepared) + repr(state) + repr(event()) + repr(profile)
    assert "vulnerable=" not in text and "kid-1" not in text
