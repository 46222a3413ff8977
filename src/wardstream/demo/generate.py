"""``generate(seed, n_events)``: the demo's traffic plan, the same for the same arguments.

The plan starts with every known subject's profile and consents (at time 0),
then spreads ``n_events`` source records over ``span_s`` seconds of event
time. Subjects' activity follows a Zipf-like skew (a few very active users,
a long tail of occasional ones); each event picks a pipeline by its share of
traffic; a few poison records (one in 2,000, at least 4) are mixed in. Mid-run
state changes (withdrawals, expiries, re-consents, deregistrations) come from
the subjects' stories (``wardstream.demo.population``).
"""

from __future__ import annotations

import random
from itertools import accumulate

from wardstream.demo.events import POISON_KINDS
from wardstream.demo.plan import EventStep, Plan, PoisonStep, Step
from wardstream.demo.population import STORIES, story

DEFAULT_SPAN_S = 60.0
PIPELINE_SHARE = {
    "clickstream": 48,
    "chat_message": 18,
    "location_ping": 14,
    "purchase": 10,
    "live_comments": 10,
}
SKEW = 0.8
"""Zipf exponent of subjects' activity: the k-th most active subject sends ~1/k^0.8."""
EVENTS_PER_SUBJECT = 20
FIRST_EVENT = 0.03
"""Events start after this fraction of the span: profiles and consents come first."""


def generate(seed: int, n_events: int, *, span_s: float = DEFAULT_SPAN_S) -> Plan:
    """A deterministic plan of ``n_events`` source records (poison records included)."""
    if n_events < 1:
        raise ValueError("n_events must be at least 1")
    if span_s <= 0:
        raise ValueError("span_s must be positive")
    rng = random.Random(seed)  # noqa: S311 - synthetic traffic, not security
    archetypes = _cast(rng, max(len(STORIES), n_events // EVENTS_PER_SUBJECT))
    steps: list[Step] = []
    for subject_id, archetype in archetypes.items():
        steps.extend(story(rng, subject_id, archetype, span_s))
    steps.extend(_traffic(rng, list(archetypes), n_events, span_s))
    steps.sort(key=_order)
    return Plan(seed, n_events, span_s, tuple(steps), archetypes)


def _cast(rng: random.Random, n_subjects: int) -> dict[str, str]:
    """Subject id -> story: every story at least once, then by the stories' weights."""
    names = list(STORIES)
    picks = names + rng.choices(names, list(STORIES.values()), k=n_subjects - len(names))
    rng.shuffle(picks)
    return {f"demo-{i:06d}": archetype for i, archetype in enumerate(picks)}


def _traffic(rng: random.Random, ids: list[str], n_events: int, span: float) -> list[Step]:
    times = sorted(round(rng.uniform(FIRST_EVENT * span, span), 4) for _ in range(n_events))
    ranked = ids[:]
    rng.shuffle(ranked)
    cum = list(accumulate(1.0 / (rank + 1) ** SKEW for rank in range(len(ranked))))
    who = rng.choices(ranked, cum_weights=cum, k=n_events)
    names = list(PIPELINE_SHARE)
    where = rng.choices(names, list(PIPELINE_SHARE.values()), k=n_events)
    n_poison = min(n_events, max(4, n_events // 2000))
    poison = set(rng.sample(range(n_events), n_poison))
    steps: list[Step] = []
    for n, (at, subject_id, pipeline) in enumerate(zip(times, who, where, strict=True)):
        if n in poison:
            steps.append(PoisonStep(at, pipeline, POISON_KINDS[pipeline], n))
        else:
            steps.append(EventStep(at, pipeline, subject_id, n))
    return steps


def _order(step: Step) -> tuple[float, int]:
    """By time; at equal times state records before events, so state leads."""
    return (step.at, 1 if isinstance(step, EventStep | PoisonStep) else 0)
