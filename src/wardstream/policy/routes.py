"""What ``decide`` does over an interval of event times, for the native lane
(``wardstream.enforce.lane``) to evaluate instead of deciding each event.

Each function asks :func:`~wardstream.policy.decide.decide` itself for the decisions
(at the interval's start and at the event's time, with every field an event can hold
and with none), so the lane's table cannot differ from the law in ``decide``; they only
find the interval over which the state fixes the answer:

- :func:`adult_pass_from`: from when a subject's events pass as an adult's;
- :func:`consented_route_between`: when a child's events pass, or are redacted by the
  fields they hold, under one grant;
- :func:`blocked_between`: when a child's events are all quarantined or dropped alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wardstream.domain.decision import Decision, EventFacts
from wardstream.domain.enums import Action, AgeBand
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.subject import SubjectProfile
from wardstream.policy.age import ALWAYS, NEVER, facts_for
from wardstream.policy.context import PolicyContext
from wardstream.policy.coverage import Screened
from wardstream.policy.decide import decide, prepare
from wardstream.policy.ledger import ConsentLedger

PASS, REDACT, QUARANTINE, DROP = Action.PASS, Action.REDACT, Action.QUARANTINE, Action.DROP
CHILD, MINOR, ADULT = AgeBand.CHILD, AgeBand.MINOR, AgeBand.ADULT


def adult_pass_from(
    subject: SubjectProfile | None, pipeline: Pipeline, policy: PolicyContext
) -> tuple[datetime, Decision] | None:
    """When ``decide`` starts passing this subject's events in ``pipeline`` as an
    adult's, and the decision it returns from then on; None when it never does under
    this profile and policy.

    From that moment on the decision depends on nothing but the profile and the policy
    (steps 1-4 above): not on consents, fields or the event. This is what the native
    lane (``wardstream.enforce.lane``) evaluates for adults; it asks ``decide`` for the
    decision rather than building it, so the two cannot differ.
    """
    if subject is None or policy.service_stopped:
        return None
    facts = facts_for(subject, pipeline, policy)
    if not facts.known or facts.deregistered_at is not None or facts.minor_until == ALWAYS:
        return None
    since = facts.minor_until
    decision = decide(EventFacts(subject.subject_id, since), subject, None, pipeline, policy)
    if decision.action is not PASS or decision.age_band is not ADULT:
        return None  # cannot happen while steps 1-4 read as above; fail closed if it does
    return since, decision


MAX_SHAPED_FIELDS = 4
"""Fields whose presence a consented child's route may depend on (2^4 decisions)."""


@dataclass(frozen=True, slots=True)
class ConsentedRoute:
    """Over event times ``[start, end)`` ``decide`` gives a consented child's event
    ``decisions[mask]``, where bit ``i`` of ``mask`` says whether the event holds
    ``fields[i]``; every other field is irrelevant. ``decisions[0]`` passes; the others
    redact exactly the fields of their mask."""

    start: datetime
    end: datetime
    fields: tuple[str, ...]
    decisions: tuple[Decision, ...]


def consented_route_between(
    subject: SubjectProfile | None,
    consents: ConsentLedger | None,
    pipeline: Pipeline,
    policy: PolicyContext,
    when: datetime,
    everything: frozenset[str],
) -> ConsentedRoute | None:
    """The event times around ``when`` over which ``decide`` passes or redacts this
    child's (minor's, unknown-age subject's) events in ``pipeline`` by the fields they
    hold alone (``everything``: every field an event of the pipeline's schema can
    carry); None when there is no such simple route.

    Within one age band, a subject whose consent for the pipeline rests on at most one
    usable grant (one party group) is decided by that grant's ``effective_at`` and
    ``expires_at`` and by the fields an event holds: the fields the grant leaves out
    (and unlisted ones) are removed, the rest passes. The state is fixed (a change of it
    drops the answer). The fields that matter are those ``decide`` removes when an event
    holds every field (at most :data:`MAX_SHAPED_FIELDS`), and each decision is asked of
    ``decide`` (at ``start`` and ``when``, with the other fields all present and all
    absent), so the two cannot differ. This is what the native lane
    (``wardstream.enforce.lane``) evaluates for consented children.
    """
    found = _childhood(subject, consents, pipeline, policy, when)
    if found is None or subject is None:
        return None
    start, end, groups = found
    if len(groups) > 1 or (groups and len(groups[0].ok) != 1):
        return None
    if groups:
        grant = groups[0].ok[0]
        start = max(start, grant.effective_at)
        end = min(end, grant.expires_at or ALWAYS)
    if not start <= when < end:
        return None
    sid = subject.subject_id
    full = decide(EventFacts(sid, when, everything), subject, consents, pipeline, policy)
    if full.action not in (PASS, REDACT) or len(full.remove_fields) > MAX_SHAPED_FIELDS:
        return None
    fields = tuple(sorted(full.remove_fields))
    rest = everything - full.remove_fields
    decisions: list[Decision] = []
    for mask in range(1 << len(fields)):
        held = frozenset(f for i, f in enumerate(fields) if mask >> i & 1)
        shaped = _one_decision(
            subject, consents, pipeline, policy, (when, start), (held | rest, held)
        )
        expected = REDACT if held else PASS
        if shaped is None or shaped.action is not expected or shaped.remove_fields != held:
            return None
        decisions.append(shaped)
    first = decisions[0]
    if any(d.consent_id != first.consent_id or d.age_band is not first.age_band for d in decisions):
        return None  # what the lane's pass log and seen marks keep of a subject's batch
    return ConsentedRoute(start, end, fields, tuple(decisions))


def blocked_between(
    subject: SubjectProfile | None,
    consents: ConsentLedger | None,
    pipeline: Pipeline,
    policy: PolicyContext,
    when: datetime,
    everything: frozenset[str],
) -> tuple[datetime, datetime, Decision] | None:
    """The event times ``[start, end)`` around ``when`` over which ``decide`` quarantines
    or drops this child's (minor's, unknown-age subject's) events in ``pipeline`` with one
    decision whichever fields they hold, and that decision; None when there is no such
    interval.

    Within one age band and between two moments at which a grant starts or ends, no
    grant becomes usable or stops being so: a consent gate that finds none active blocks
    every event alike, whatever it holds (as do a closed purpose and an unknown age
    quarantined). The state is fixed (a change of it drops the answer), and the decision
    is asked of ``decide`` (at ``start`` and ``when``, with every field and with none), so
    the two cannot differ. The native lane (``wardstream.enforce.lane``) hands such events
    to the Python path with this decision, which it then need not decode to take.
    """
    found = _childhood(subject, consents, pipeline, policy, when)
    if found is None or subject is None:
        return None
    start, end, groups = found
    for group in groups:
        for grant in group.ok:
            for moment in (grant.effective_at, grant.expires_at):
                if moment is None:
                    continue
                if moment <= when:
                    start = max(start, moment)
                else:
                    end = min(end, moment)
    decision = _one_decision(
        subject, consents, pipeline, policy, (when, start), (everything, frozenset())
    )
    if decision is None or decision.action not in (QUARANTINE, DROP):
        return None
    return start, end, decision


def _one_decision(
    subject: SubjectProfile,
    consents: ConsentLedger | None,
    pipeline: Pipeline,
    policy: PolicyContext,
    times: tuple[datetime, ...],
    shapes: tuple[frozenset[str], ...],
) -> Decision | None:
    """``decide``'s decision for events at each of ``times`` holding each of ``shapes``
    when it is one and the same, else None."""
    sid = subject.subject_id
    asked = {
        decide(EventFacts(sid, at, present), subject, consents, pipeline, policy)
        for at in times
        for present in shapes
    }
    return asked.pop() if len(asked) == 1 else None


def _childhood(
    subject: SubjectProfile | None,
    consents: ConsentLedger | None,
    pipeline: Pipeline,
    policy: PolicyContext,
    when: datetime,
) -> tuple[datetime, datetime, tuple[Screened, ...]] | None:
    """For a subject who is no adult at ``when``: the interval ``[start, end)`` of its age
    band then and the consent party groups screened for it; None for an adult, a
    deregistered or absent subject, a stopped service or a naive time."""
    if subject is None or policy.service_stopped or when.tzinfo is None:
        return None
    prep = prepare(subject, consents, pipeline, policy)
    facts = prep.facts
    if facts.deregistered_at is not None:
        return None
    band = facts.band_at(when)
    if band is ADULT:
        return None
    if band is CHILD:
        start, end = NEVER, facts.child_until
    elif band is MINOR:
        start, end = facts.child_until, facts.minor_until
    else:
        start, end = NEVER, ALWAYS
    return start, end, prep.minor if band is MINOR else prep.child
