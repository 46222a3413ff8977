"""Age bands at an event's time.

Ages are whole years on the UTC calendar date of the event: a subject turns N
at 00:00 UTC on their N-th birthday. Someone born on 29 February has their
birthday on 1 March in non-leap years (so turns 14 on 1 March 2023 when born
on 29 February 2009); this is the reading most statutes and registries use
(e.g. UK Family Law Reform Act 1969 s.9 counts the day after 28 February).

For speed, a subject's facts are compiled once per profile and pack into two
instants, ``child_until`` and ``minor_until``: the band at time t is then two
comparisons. A profile with only a verified ``age_band`` has a constant band;
with neither birth date nor verified band the age is UNKNOWN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from wardstream.domain.enums import AgeBand
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.subject import SubjectProfile
from wardstream.policy.context import PolicyContext
from wardstream.policy.errors import NaiveTimeError
from wardstream.policy.packs import JurisdictionPack

_CHILD, _MINOR, _ADULT, _UNKNOWN = AgeBand.CHILD, AgeBand.MINOR, AgeBand.ADULT, AgeBand.UNKNOWN
NEVER = datetime.min.replace(tzinfo=UTC)
ALWAYS = datetime.max.replace(tzinfo=UTC)


def anniversary(birth: date, years: int) -> date:
    """The date a person born on ``birth`` turns ``years`` (29 Feb -> 1 Mar)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February in a non-leap year
        return date(birth.year + years, 3, 1)


def age_on(birth: date, on: date) -> int:
    """Completed years on ``on`` (29 Feb birthdays fall on 1 Mar in non-leap years)."""
    years = on.year - birth.year
    return years if on >= anniversary(birth, years) else years - 1


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SubjectFacts:
    """What the policy needs of one subject, compiled for fast decisions."""

    pack: JurisdictionPack = field(repr=False)
    known: bool
    child_until: datetime = NEVER
    minor_until: datetime = NEVER
    vulnerable: bool = field(default=False, repr=False)  # R12: never in a log line
    deregistered_at: datetime | None = None

    def band_at(self, when: datetime) -> AgeBand:
        if not self.known:
            return _UNKNOWN
        if when < self.child_until:
            return _CHILD
        return _MINOR if when < self.minor_until else _ADULT


def compile_subject(profile: SubjectProfile | None, pack: JurisdictionPack) -> SubjectFacts:
    """Compile a profile (or its absence) under a pack into SubjectFacts."""
    if profile is None:
        return SubjectFacts(pack, known=False)
    vulnerable, dereg = profile.vulnerable, profile.deregistered_at
    birth = profile.birth_date
    if birth is not None:
        child = _midnight(anniversary(birth, pack.child_under))
        minor = _midnight(anniversary(birth, pack.minor_under))
        return SubjectFacts(pack, True, child, minor, vulnerable, dereg)
    if profile.has_verified_band:
        band = profile.age_band
        child = ALWAYS if band is AgeBand.CHILD else NEVER
        minor = NEVER if band is AgeBand.ADULT else ALWAYS
        return SubjectFacts(pack, True, child, minor, vulnerable, dereg)
    return SubjectFacts(pack, False, vulnerable=vulnerable, deregistered_at=dereg)


def facts_for(
    profile: SubjectProfile | None, pipeline: Pipeline, policy: PolicyContext
) -> SubjectFacts:
    """SubjectFacts for a profile under a pipeline, memoised on the profile object."""
    key: Any
    if profile is None:
        memo, key = policy.facts_memo, pipeline.jurisdiction
    else:
        memo, key = profile.policy_memo, (id(policy), pipeline.jurisdiction)
    hit = memo.get(key)
    if hit is not None and hit[0] is policy:
        facts: SubjectFacts = hit[1]
        return facts
    code = profile.jurisdiction if profile is not None else None
    facts = compile_subject(profile, policy.pack_for(code, pipeline.jurisdiction))
    memo[key] = (policy, facts)
    return facts


def age_band_at(
    subject: SubjectProfile | None, when: datetime, pipeline: Pipeline, policy: PolicyContext
) -> AgeBand:
    """The subject's age band at ``when`` (UNKNOWN when no age is known)."""
    if when.tzinfo is None:
        raise NaiveTimeError("age_band_at needs a timezone-aware datetime")
    return facts_for(subject, pipeline, policy).band_at(when)
