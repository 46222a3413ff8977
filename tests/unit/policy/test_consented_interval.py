"""``consented_route_between`` and ``blocked_between``: what the native lane evaluates
for consented and for blocked children, against ``decide`` (the reference) at every time
and field shape inside it.

The differential property runs over the lane tests' cases (profiles around every age
boundary, verified bands, no age, deregistrations, every jurisdiction and unknown-age
mode, random consent ledgers with defects, withdrawals and refusals, stopped services):
wherever a route is returned, ``decide`` gives exactly the route's decision for the
fields an event holds (action, reasons, rules, bands, consent ids, removed fields) at
its start, its last microsecond, points between and for every subset of the fields;
wherever a blocked interval is, ``decide`` gives its one decision there.
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
from wardstream.policy.decide import decide
from wardstream.policy.routes import ConsentedRoute, blocked_between, consented_route_between

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
        found = consented_route_between(profile, ledger, pipe, pol, when, EVERYTHING)
        if found is None:
            continue
        start, end = found.start, found.end
        assert start <= when < end and found.decisions[0].action is Action.PASS
        lo = when - timedelta(days=400) if start == NEVER else start
        hi = when + timedelta(days=400) if end == ALWAYS else end - US
        for at in (lo, lo + (when - lo) / 2, when, when + (hi - when) / 2, hi):
            for present in SHAPES:
                facts = EventFacts("s-1", at, present)
                expected = route_decision(found, present)
                assert decide(facts, profile, ledger, pipe, pol) == expected, (at, present)


def route_decision(route: ConsentedRoute, present: frozenset[str]) -> Any:
    """The route's decision for an event holding ``present``."""
    mask = sum(1 << i for i, name in enumerate(route.fields) if name in present)
    return route.decisions[mask]


def test_a_consented_child_passes_from_the_grant_until_the_birthday() -> None:
    """Not vacuous: the common case gets its interval, and its edges are where decide
    changes its mind."""
    kid = subject(born(9), jurisdiction="CN")
    pipe = pipeline(fields={"user_id": "identifier", "page": "behaviour", "ts": "technical"})
    g = grant(effective_at=T0 - timedelta(days=3), expires_at=T0 + timedelta(days=30))
    ledger = support_ledger(g)
    found = consented_route_between(kid, ledger, pipe, policy(), T0, EVERYTHING)
    assert found is not None and found.fields == ()
    [decision] = found.decisions
    assert (found.start, found.end) == (T0 - timedelta(days=3), T0 + timedelta(days=30))
    assert decision.age_band is AgeBand.CHILD and decision.consent_id == "c1"
    for at in (found.start - US, found.end):
        facts = EventFacts("kid-1", at, EVERYTHING)
        assert decide(facts, kid, ledger, pipe, policy()) != decision
    # an adult, or no consent: not this lane
    adult = subject(born(30), jurisdiction="CN")
    assert consented_route_between(adult, ledger, pipe, policy(), T0, EVERYTHING) is None
    assert consented_route_between(kid, None, pipe, policy(), T0, EVERYTHING) is None


def test_a_field_the_consent_leaves_out_is_redacted_when_an_event_holds_it() -> None:
    """Not vacuous either: a grant without ``behaviour`` gives a route on ``page``."""
    kid = subject(born(9), jurisdiction="CN")
    pipe = pipeline(fields={"user_id": "identifier", "page": "behaviour", "ts": "technical"})
    narrow = support_ledger(grant(categories=["identifier"]))
    found = consented_route_between(kid, narrow, pipe, policy(), T0, EVERYTHING)
    assert found is not None and found.fields == ("page",)
    bare, paged = found.decisions
    assert bare.action is Action.PASS and bare.consent_id == "c1"
    assert paged.action is Action.REDACT and paged.remove_fields == {"page"}
    assert paged.consent_id == "c1" and paged.age_band is AgeBand.CHILD


@LANE_RUNS
@given(cases())
def test_inside_a_blocked_interval_decide_gives_its_decision_for_every_shape(
    case: tuple[Any, ...],
) -> None:
    profile, ledger, pipe, pol, times, _ = case
    for when in times:
        found = blocked_between(profile, ledger, pipe, pol, when, EVERYTHING)
        if found is None:
            continue
        start, end, decision = found
        assert start <= when < end
        assert decision.action in (Action.QUARANTINE, Action.DROP)
        lo = when - timedelta(days=400) if start == NEVER else start
        hi = when + timedelta(days=400) if end == ALWAYS else end - US
        for at in (lo, lo + (when - lo) / 2, when, when + (hi - when) / 2, hi):
            for present in SHAPES:
                facts = EventFacts("s-1", at, present)
                assert decide(facts, profile, ledger, pipe, pol) == decision, (at, present)


def test_a_child_without_consent_is_blocked_until_a_grant_starts() -> None:
    """Not vacuous: an unconsented child's interval ends where a later grant starts (or
    at the birthday), and a consented child has none."""
    kid = subject(born(9), jurisdiction="CN")
    pipe = pipeline(fields={"user_id": "identifier", "page": "behaviour", "ts": "technical"})
    found = blocked_between(kid, None, pipe, policy(), T0, EVERYTHING)
    assert found is not None and found[2].action is Action.QUARANTINE
    assert found[0] == NEVER and found[1] > T0 + timedelta(days=365)
    later = support_ledger(grant(effective_at=T0 + timedelta(days=2)))
    found = blocked_between(kid, later, pipe, policy(), T0, EVERYTHING)
    assert found is not None and found[1] == T0 + timedelta(days=2)
    assert decide(EventFacts("kid-1", found[1], EVERYTHING), kid, later, pipe, policy()) != found[2]
    consented = support_ledger(grant(effective_at=T0 - timedelta(days=2)))
    assert blocked_between(kid, consented, pipe, policy(), T0, EVERYTHING) is None
