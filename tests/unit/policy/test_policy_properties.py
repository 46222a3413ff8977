"""Properties of decide(), checked against an independent, deliberately simple oracle.

The oracle re-states the law from REQUIREMENTS.md in a few lines (ages per
jurisdiction, who consents, what a covering consent is) without calling the
code under test, and is only used as a *necessary* condition: whenever
decide() forwards a child's or unknown-age event, the oracle must find a
consent that allows it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.policy.test_policy_support import grant, ledger, pipeline, policy
from tests.unit.reach import Reach

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.decision import EventFacts
from wardstream.domain.enums import Action
from wardstream.domain.subject import SubjectProfile
from wardstream.policy.decide import decide

CHILD_UNDER = {"CN": 14, "US": 13, "GB": 13, "DE": 16, "FR": 15}
ACCEPTED = {"payment_card", "signed_form"}
ASSESSED = {"partner-x"}
ESSENTIAL = {"learning"}
PURPOSES = ["analytics", "learning", "ads", "targeted_ads"]
CATEGORIES = ["identifier", "behaviour", "location"]
FORWARDED = (Action.PASS, Action.REDACT)
POLICY = policy(assessed_processors=frozenset(ASSESSED), accepted_evidence=frozenset(ACCEPTED))
RUNS = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Speed: hypothesis spends its time per draw, so each record is drawn as one
# integer whose bit fields are decoded below. Hypothesis favours small
# integers; the seed is mixed (a bijection) so that those still spread over
# every field instead of all meaning "no profile, first choice everywhere".
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
CODES = [None, "CN", "US", "GB", "DE", "FR"]
DESTINATIONS = ["internal", "public", "third_party:partner-x"] * 2 + ["third_party:partner-y"]
EVIDENCE = ["payment_card:1", "signed_form", "self_declared", None]
AGES = [8, 10, 11, 12, 12, 13, 13, 14, 14, 15, 15, 16, 16, 17, 18, 30]


class Bits:
    """Reads successive bit fields of one drawn integer."""

    def __init__(self, value: int) -> None:
        self.value = (value * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % 2**64

    def take(self, width: int) -> int:
        field = self.value & ((1 << width) - 1)
        self.value >>= width
        return field

    def pick(self, choices: list[Any], width: int) -> Any:
        return choices[self.take(width) % len(choices)]

    def subset(self, choices: list[str]) -> list[str]:
        mask = self.take(len(choices))
        return [c for i, c in enumerate(choices) if mask >> i & 1]


DEFECTS = ["evidence", "early", "expired", "purpose", "version", "identifier"]


def _consent(seed: int, at: datetime, pipe: Any, needed_from: str | None = None) -> ConsentEvent:
    """A consent that covers ``pipe``, often with one random defect, or a withdrawal/refusal.

    ``needed_from``: a consent the subject needs, granted by that party, with a defect
    only an eighth of the time."""
    b = Bits(seed)
    action = b.pick(["GRANTED"] * 6 + ["WITHDRAWN", "REFUSED"], 3)
    cid, party = b.pick(["c1", "c2", "c3"], 2), b.pick(["GUARDIAN"] * 3 + ["SUBJECT"], 2)
    if needed_from is not None:
        action, party = "GRANTED", needed_from
    purposes = [pipe.purpose, *b.subset(PURPOSES)] if action == "GRANTED" else b.subset(PURPOSES)
    kind = pipe.destination_kind.value
    relevant = DEFECTS + (
        ["public"] if kind == "public" else ["recipient"] * (kind == "third_party")
    )
    defect = b.pick([*relevant, *[None] * (16 - len(relevant))], 4)  # ~half have a defect
    if needed_from is not None and b.take(2):
        defect = None
    values: dict[str, Any] = {
        "action": action,
        "granted_by": party,
        "third_party_recipients": ["partner-x", "partner-y"],
        "public_disclosure": True,
        "policy_version": 4,
        "effective_at": at - timedelta(hours=b.take(8)),
        "expires_at": None if b.take(1) else at + timedelta(hours=1 + b.take(8)),
        "evidence": b.pick(["payment_card:1", "signed_form"], 1),
    }
    cats = ["identifier", *b.subset(CATEGORIES[1:])]
    if defect == "evidence":
        values["evidence"] = b.pick(["self_declared", None], 1)
    elif defect == "early":
        values["effective_at"] = at + timedelta(milliseconds=1 + b.take(20))
    elif defect == "expired":
        values["expires_at"] = at - timedelta(milliseconds=b.take(20))
    elif defect == "purpose":
        purposes = [p for p in purposes if p != pipe.purpose]
    elif defect == "version":
        values["policy_version"] = pipe.policy_version - 1
    elif defect == "recipient":
        values["third_party_recipients"] = b.subset(["partner-y"])
    elif defect == "public":
        values["public_disclosure"] = False
    elif defect == "identifier":
        cats = cats[1:]
    return grant(cid, purposes, cats, **values)


def _profile(seed: int, at: datetime) -> SubjectProfile | None:
    """Birth dates near the interesting birthdays (13-18), a band, or nothing."""
    b = Bits(seed)
    if b.take(4) == 0:
        return None
    birth = None
    if b.take(3):
        years, shift = b.pick(AGES, 4), b.take(3) - 3
        day = at.date()
        birth = date(day.year - years, day.month, min(day.day, 28)) + timedelta(days=shift)
    return SubjectProfile(
        subject_id="kid-1",
        updated_at=at - timedelta(days=900),
        birth_date=birth,
        age_band=b.pick([None, "CHILD", "MINOR", "ADULT"], 2),
        verification=b.pick(["", "document"], 1),
        jurisdiction=b.pick(CODES, 3),
        vulnerable=bool(b.take(1)),
    )


def _case(raw: tuple[int, int, int, list[int]]) -> dict[str, Any]:
    seconds, seed, profile_seed, consents = raw
    at = EPOCH + timedelta(seconds=seconds)
    b = Bits(seed)
    pipe = pipeline(
        purpose=b.pick(PURPOSES + ["analytics", "learning", "ads"] * 2 + ["analytics"], 4),
        destination=b.pick(DESTINATIONS, 3),
        policy_version=1 + b.take(2),
        unknown_age=b.pick(["child", "quarantine", "adult"], 2),
        on_missing_consent=b.pick(["quarantine", "drop"], 1),
        jurisdiction=b.pick(CODES, 3),
    )
    extra = b.subset(["page", "geo", "ts", "extra"])
    return {
        "event": EventFacts("kid-1", at, frozenset({"user_id", *extra})),
        "subject": _profile(profile_seed, at),
        "events": [_consent(c, at, pipe) for c in consents],
        "pipe": pipe,
    }


seeds = st.integers(0, 2**40 - 1)
moments = st.integers(0, 7 * 365 * 86400)
cases = st.tuples(moments, seeds, seeds, st.lists(seeds, max_size=4)).map(_case)


def _needing_consent(raw: tuple[int, int, int, int, list[int]]) -> dict[str, Any]:
    """A case whose subject must have consented (a child, a minor in CN, or, an eighth of
    the time, a subject of unknown age), with one consent from each party that must
    consent (an eighth of them flawed) and at most one random consent more. Most of
    these events are forwarded, so most examples reach the oracle."""
    seconds, seed, who, grants, extra = raw
    case = _case((seconds, seed, who, extra))
    at, pipe = case["event"].event_time, case["pipe"]
    b = Bits(who)
    code = b.pick(list(CHILD_UNDER), 3)
    if b.take(3) == 0:
        kid = None  # unknown age: the pipeline's unknown_age decides
    else:
        minor = code == "CN" and b.take(2) == 0  # a minor consents to it themselves in CN
        years = b.pick([14, 15, 16, 17], 2) if minor else 5 + b.take(4) % (CHILD_UNDER[code] - 5)
        day = at.date()
        birth = date(day.year - years, day.month, min(day.day, 28)) - timedelta(1 + b.take(6))
        kid = SubjectProfile(
            subject_id="kid-1",
            updated_at=at - timedelta(days=900),
            birth_date=birth,
            jurisdiction=code,
            verification="document",
            vulnerable=b.take(3) == 0,
        )
    band, code = oracle_band(kid, pipe, at)
    parties = required_parties(band, code, pipe.unknown_age.value) or []
    needed = [
        replace(_consent(grants >> (20 * i), at, pipe, party), consent_id=f"n{i + 1}")
        for i, party in enumerate(parties)
    ]
    return {**case, "subject": kid, "events": needed + case["events"]}


needing_consent = st.tuples(moments, seeds, seeds, seeds, st.lists(seeds, max_size=1)).map(
    _needing_consent
)


def _without_needed(raw: tuple[dict[str, Any], int]) -> dict[str, Any]:
    """Three times in four, the same case without the consents the subject needs."""
    case, seed = raw
    if Bits(seed).take(2) == 0:
        return case
    return {**case, "events": [e for e in case["events"] if not e.consent_id.startswith("n")]}


mostly_blocked = st.tuples(needing_consent, seeds).map(_without_needed)


def _adult(raw: tuple[dict[str, Any], int, int, int]) -> dict[str, Any]:
    """The case's subject made an adult by birth date (or, an eighth of the time each, by a
    verified band, or left as drawn)."""
    case, years, days, seed = raw
    at, how = case["event"].event_time, Bits(seed).take(3)  # bits: hypothesis favours 0
    if how == 0:
        return case
    if how == 1:
        profile = SubjectProfile(
            subject_id="kid-1", updated_at=at, age_band="ADULT", verification="document"
        )
    else:
        birth = date(at.year - years, 1, 1) - timedelta(days=days)
        jurisdiction = CODES[how % len(CODES)]
        profile = SubjectProfile(
            subject_id="kid-1", updated_at=at, birth_date=birth, jurisdiction=jurisdiction
        )
    return {**case, "subject": profile}


adults = st.tuples(cases, st.integers(18, 90), st.integers(0, 364), seeds).map(_adult)


def run(case: dict[str, Any], events: list[ConsentEvent] | None = None, pol: Any = POLICY) -> Any:
    chosen = case["events"] if events is None else events
    state = ledger(*chosen) if chosen else None
    return decide(case["event"], case["subject"], state, case["pipe"], pol)


# --- the oracle -------------------------------------------------------------


def oracle_band(profile: SubjectProfile | None, pipe: Any, at: datetime) -> tuple[str, str]:
    code = (profile.jurisdiction if profile else None) or pipe.jurisdiction or "CN"
    if profile is None:
        return "UNKNOWN", code
    if profile.birth_date is not None:
        b, d = profile.birth_date, at.astimezone(UTC).date()
        age = d.year - b.year - ((d.month, d.day) < (b.month, b.day))
        return ("CHILD" if age < CHILD_UNDER[code] else "MINOR" if age < 18 else "ADULT"), code
    if profile.age_band is not None and profile.verification.strip():
        return profile.age_band.value, code
    return "UNKNOWN", code


def required_parties(band: str, code: str, unknown_age: str) -> list[str] | None:
    """Parties that must each have consented; None: no consent needed; []: never allowed."""
    if band == "UNKNOWN":
        if unknown_age == "adult":
            return None
        if unknown_age == "quarantine":
            return []
        band = "CHILD"
    if band == "CHILD":
        return ["GUARDIAN", "SUBJECT"] if code == "FR" else ["GUARDIAN"]
    if band == "MINOR" and code == "CN":
        return ["SUBJECT"]
    return None


def consent_allows(events: list[ConsentEvent], party: str, pipe: Any, at: datetime) -> bool:
    withdrawn = {e.consent_id for e in events if e.action.value == "WITHDRAWN"}
    for i, g in enumerate(events):
        later = events[i + 1 :]
        if g.action.value != "GRANTED" or g.granted_by.value != party:
            continue
        if g.consent_id in withdrawn or any(
            e.consent_id == g.consent_id and e.action.value == "GRANTED" for e in later
        ):
            continue
        if any(
            e.action.value == "REFUSED"
            and (pipe.purpose in e.purposes or (not e.purposes and pipe.purpose not in ESSENTIAL))
            for e in later
        ):
            continue
        kind, _, recipient = pipe.destination.partition(":")
        if (
            (g.evidence or "").split(":")[0] in ACCEPTED
            and g.effective_at <= at
            and (g.expires_at is None or at < g.expires_at)
            and pipe.purpose in g.purposes
            and g.policy_version >= pipe.policy_version
            and "identifier" in g.data_categories
            and (
                kind != "third_party"
                or (recipient in g.third_party_recipients and recipient in ASSESSED)
            )
            and (kind != "public" or g.public_disclosure)
        ):
            return True
    return False


# --- properties -------------------------------------------------------------


def test_no_child_is_forwarded_without_a_covering_consent(reach: Reach) -> None:
    @RUNS
    @given(needing_consent)
    def check(case: dict[str, Any]) -> None:
        decision = run(case)
        if decision.action not in FORWARDED:
            return
        at, pipe = case["event"].event_time, case["pipe"]
        band, code = oracle_band(case["subject"], pipe, at)
        parties = required_parties(band, code, pipe.unknown_age.value)
        if parties is None:
            return
        reach.reached()
        assert parties, f"forwarded an event that must wait: {decision.explanation()}"
        for party in parties:
            assert consent_allows(case["events"], party, pipe, at), decision.explanation()

    check()
    reach.at_least_half(RUNS)


@RUNS
@given(cases)
def test_decide_is_deterministic(case: dict[str, Any]) -> None:
    first = run(case)
    assert run(case) == first
    fresh = policy(assessed_processors=frozenset(ASSESSED), accepted_evidence=frozenset(ACCEPTED))
    assert run(case, pol=fresh) == first


def test_adding_a_covering_consent_never_blocks_what_passed(reach: Reach) -> None:
    @RUNS
    @given(needing_consent)
    def check(case: dict[str, Any]) -> None:
        before = run(case)
        if before.action not in FORWARDED:
            return
        at, pipe = case["event"].event_time, case["pipe"]
        covering = [
            grant(
                f"full-{party}",
                [pipe.purpose],
                CATEGORIES + ["device", "contact"],
                granted_by=party,
                third_party_recipients=["partner-x", "partner-y"],
                public_disclosure=True,
                policy_version=9,
                effective_at=at - timedelta(days=365),
            )
            for party in ("GUARDIAN", "SUBJECT")
        ]
        after = run(case, [*case["events"], *covering])
        reach.reached()
        assert after.action in FORWARDED, after.explanation()
        assert after.remove_fields <= before.remove_fields

    check()
    reach.at_least_half(RUNS)


def test_withdrawing_never_passes_what_was_blocked(reach: Reach) -> None:
    @RUNS
    @given(
        mostly_blocked,
        st.sampled_from(["c1", "c2", "n1", "n2", "zz"]),
        st.lists(st.sampled_from(PURPOSES)),
    )
    def check(case: dict[str, Any], consent_id: str, purposes: list[str]) -> None:
        before = run(case)
        if before.action in FORWARDED:
            return
        at = case["event"].event_time
        withdrawal = grant(consent_id, purposes, action="WITHDRAWN", effective_at=at)
        after = run(case, [*case["events"], withdrawal])
        reach.reached()
        assert after.action not in FORWARDED, after.explanation()

    check()
    reach.at_least_half(RUNS)


@RUNS
@given(cases, st.integers(19, 90), st.integers(0, 364))
def test_an_adults_event_is_never_redacted(case: dict[str, Any], years: int, days: int) -> None:
    at = case["event"].event_time
    birth = date(at.year - years, 1, 1) - timedelta(days=days)
    adult = SubjectProfile(
        subject_id="kid-1", updated_at=at, birth_date=birth, jurisdiction="CN", vulnerable=True
    )
    decision = run({**case, "subject": adult})
    assert decision.action is Action.PASS
    assert not decision.remove_fields


def test_an_adults_decision_does_not_depend_on_consents(reach: Reach) -> None:
    """The stream layer decides an adult's event without reading the consent state
    (``PipelineProcessor._adult``): only valid while consents never change it."""

    @RUNS
    @given(adults)
    def check(case: dict[str, Any]) -> None:
        with_consents = run(case)
        if with_consents.age_band.value != "ADULT":
            return
        event = case["event"]
        without = decide(event._replace(fields_present=frozenset()), case["subject"], None,
                         case["pipe"], POLICY)  # fmt: skip
        reach.reached()
        assert without == with_consents

    check()
    reach.at_least_half(RUNS)
