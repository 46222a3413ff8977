"""Decisions/s of the pure policy core (``wardstream.policy.decide``).

Run: ``python bench/bench_policy.py [--events 200000] [--subjects 10000] [--repeat 3]``.

Scenarios, each over ``--subjects`` distinct subjects whose profile and
consent-ledger objects stay alive between events (as the stream layer keeps
them), with a fresh ``EventFacts`` (and fields frozenset) per event:

* adult            - a CN adult: PASS
* consented child  - a CN child whose guardian's verified consent covers
                     identifier, behaviour and location: PASS with consent id
* redacted child   - the same consent without location: REDACT ``geo``
* blocked child    - a CN child without consent: QUARANTINE
* cold child       - consented child, but profile and ledger rebuilt per event
                     (what happens if the caller does not keep the objects)

Best of ``--repeat`` runs; one core; the events are built before timing.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime, timedelta

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.decision import Decision, EventFacts
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.subject import SubjectProfile
from wardstream.policy.context import PolicyContext, PurposeSpec, build_context
from wardstream.policy.decide import decide
from wardstream.policy.ledger import ConsentLedger

START = datetime(2026, 11, 22, tzinfo=UTC)
PIPELINE = Pipeline(
    name="clickstream",
    source="app.clickstream",
    sink="app.clickstream.lawful",
    purpose="analytics",
    subject="user_id",
    event_time="ts",
    fields={"user_id": "identifier", "page": "behaviour", "geo": "location", "ts": "technical"},
    jurisdiction="CN",
)
FIELDS = ("user_id", "page", "geo", "ts")


def profile(sid: str, birth: date) -> SubjectProfile:
    return SubjectProfile(
        subject_id=sid, birth_date=birth, jurisdiction="CN", updated_at=START - timedelta(days=9)
    )


def consent(sid: str, categories: tuple[str, ...]) -> ConsentLedger:
    grant = ConsentEvent(
        consent_id=f"c-{sid}",
        subject_id=sid,
        granted_by="GUARDIAN",
        action="GRANTED",
        purposes=("analytics", "learning"),
        data_categories=categories,
        effective_at=START - timedelta(days=30),
        evidence="payment_card:txn",
    )
    return ConsentLedger(sid, (grant,))


Case = tuple[EventFacts, SubjectProfile | None, ConsentLedger | None]


def scenario(name: str, n_events: int, n_subjects: int) -> list[Case]:
    birth = date(1990, 5, 1) if name == "adult" else date(2016, 5, 1)
    cats = (
        ("identifier", "behaviour")
        if name == "redacted child"
        else ("identifier", "behaviour", "location")
    )
    subjects = []
    for i in range(n_subjects):
        sid = f"user-{i:06d}"
        ledger = consent(sid, cats) if name in ("consented child", "redacted child") else None
        subjects.append((sid, profile(sid, birth), ledger))
    cases = []
    for i in range(n_events):
        sid, prof, ledger = subjects[i % n_subjects]
        facts = EventFacts(sid, START + timedelta(milliseconds=i), frozenset(FIELDS))
        cases.append((facts, prof, ledger))
    return cases


def run(cases: list[Case], policy: PolicyContext, cold: bool) -> tuple[float, Decision]:
    started = time.perf_counter()
    last: Decision | None = None
    if cold:
        for facts, prof, ledger in cases:
            fresh = SubjectProfile.from_dict(prof.to_dict()) if prof else None
            again = ConsentLedger(ledger.subject_id, ledger.events) if ledger else None
            last = decide(facts, fresh, again, PIPELINE, policy)
    else:
        for facts, prof, ledger in cases:
            last = decide(facts, prof, ledger, PIPELINE, policy)
    if last is None:
        raise SystemExit("no events")
    return len(cases) / (time.perf_counter() - started), last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    policy = build_context(
        purposes=[PurposeSpec("analytics"), PurposeSpec("learning", essential=True)]
    )
    names = ["adult", "consented child", "redacted child", "blocked child", "cold child"]
    print(f"{'scenario':<16} {'decisions/s':>12}  outcome")
    for name in names:
        base = "consented child" if name == "cold child" else name
        n_events = args.events // 10 if name == "cold child" else args.events
        cases = scenario(base, n_events, args.subjects)
        runs = [run(cases, policy, name == "cold child") for _ in range(args.repeat)]
        rate, decision = max(runs, key=lambda r: r[0])
        outcome = f"{decision.action.value} {decision.reason.value}"
        if decision.remove_fields:
            outcome += f" -{','.join(sorted(decision.remove_fields))}"
        print(f"{name:<16} {rate:>12,.0f}  {outcome}")


if __name__ == "__main__":
    main()
