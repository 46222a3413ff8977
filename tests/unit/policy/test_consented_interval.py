"""``consented_pass_between``: the interval the native lane evaluates for consented
children, against ``decide`` (the reference) at every time and field shape inside it.

The differential property runs over the lane tests' cases (profiles around every age
boundary, verified bands, no age, deregistrations, every jurisdiction and unknown-age
mode, random consent ledgers with defects, withdrawals and refusals, stopped services):
wherever an interval is returned, ``decide`` gives exactly its decision (action,
reasons, rules, bands, consent ids, removed fields) at its start, its last microsecond,
points between and for every subset of the fields.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import combinations
from typing import Any

from hypothesis import given
from tests.unit.enforce.test_lane import LANE_RUNS, cases
from tests.unit.policy.test_policy_support import T0, born, grant, pipeline, policy, subject
from tests.unit.policy.test_policy_support import ledger as support_ledger

from wardstream.domain.decision import EventFacts
from wardstream.domain.enums import Action, AgeBand
from wardstream.policy.age import ALWAYS, NEVER
from wardstream.policy.decide import consented_pass_between, decide

EVERYTHING = frozenset({"user_id", "page", "ts"})
SHAPES = [frozenset(c) for n in range(4) for c in combinations(sorted(EVERYTHING), n)]
US = timedelta(microseconds=1)


@LANE_RUNS
@given(cases())
def test_inside_the_interval_decide_gives_its_decision_for_every_shape(
    case: tuple[Any, ...],
) -> None:
    profile, ledger, pipe, pol, times, _ = case
    for when in times:
        found = consented_pass_between(profile, ledger, pipe, pol, when, EVERYTHING)
        if found is None:
            continue
        start, end, decision = found
        assert start <= when < end and decision.action is Action.PASS
        lo = when - timedelta(days=400) if start == NEVER else start
        hi = when + timedelta(days=400) if end == ALWAYS else end - US
        for at in (lo, lo + (when - lo) / 2, when, when + (hi - when) / 2, hi):
            for present in SHAPES:
                facts = EventFacts("s-1", at, present)
                assert decide(facts, profile, ledger, pipe, pol) == decision, (at, present)


def test_a_consented_child_passes_from_the_grant_until_the_birthday() -> None:
    """Not vacuous: the common case gets its interval, and its edges are where decide
    changes its mind."""
    kid = subject(born(9), jurisdiction="CN")
    pipe = pipeline(fields={"user_id": "identifier", "page": "behaviour", "ts": "technical"})
    g = grant(effective_at=T0 - timedelta(days=3), expires_at=T0 + timedelta(days=30))
    ledger = support_ledger(g)
    found = consented_pass_between(kid, ledger, pipe, policy(), T0, EVERYTHING)
    assert found is not None
    start, end, decision = found
    assert (start, end) == (T0 - timedelta(days=3), T0 + timedelta(days=30))
    assert decision.age_band is AgeBand.CHILD and decision.consent_id == "c1"
    for at in (start - US, end):
        facts = EventFacts("kid-1", at, EVERYTHING)
        assert decide(facts, kid, ledger, pipe, policy()) != decision
    # a field the consent does not cover: redaction is not a single decision
    narrow = support_ledger(grant(categories=["identifier"]))
    assert consented_pass_between(kid, narrow, pipe, policy(), T0, EVERYTHING) is None
    # an adult, or no consent: not this lane
    adult = subject(born(30), jurisdiction="CN")
    assert consented_pass_between(adult, ledger, pipe, policy(), T0, EVERYTHING) is None
    assert consented_pass_between(kid, None, pipe, policy(), T0, EVERYTHING) is None
