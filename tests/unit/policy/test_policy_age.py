"""Age bands at the event time: birthdays, 29 February, zones, packs (R1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from tests.unit.policy.test_policy_support import T0, born, pipeline, policy, subject

from wardstream.domain.enums import AgeBand, UnknownAge
from wardstream.policy.age import age_band_at, age_on, anniversary
from wardstream.policy.decide import treated_band_at

C, M, A, U = AgeBand.CHILD, AgeBand.MINOR, AgeBand.ADULT, AgeBand.UNKNOWN
POLICY = policy()


def band(
    birth: date | None, at: datetime, jurisdiction: str | None = "CN", **kw: object
) -> AgeBand:
    return age_band_at(subject(birth, jurisdiction, **kw), at, pipeline(), POLICY)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("birth", "when", "expected"),
    [
        ("2012-06-01", "2026-05-31T23:59:59.999", C),  # eve of the 14th birthday
        ("2012-06-01", "2026-06-01T00:00", M),  # the birthday itself
        ("2008-06-01", "2026-05-31T23:59", M),  # eve of the 18th
        ("2008-06-01", "2026-06-01T00:00", A),
        ("2012-02-29", "2026-02-28T23:59", C),  # 29 Feb born, non-leap year: not yet
        ("2012-02-29", "2026-03-01T00:00", M),  # ... the birthday is 1 March
        ("2010-02-28", "2024-02-28T00:00", M),  # ordinary birthday in a leap year
        ("2020-01-01", "2019-12-31T00:00", C),  # event before birth: still a child
    ],
)
def test_cn_birthdays(birth: str, when: str, expected: AgeBand) -> None:
    assert band(date.fromisoformat(birth), at(when)) is expected


def test_29_february_in_a_leap_year_is_the_birthday() -> None:
    birth = date(2008, 2, 29)
    assert anniversary(birth, 16) == date(2024, 2, 29)
    assert anniversary(birth, 14) == date(2022, 3, 1)
    assert band(birth, at("2024-02-28T23:59"), "DE") is C
    assert band(birth, at("2024-02-29T00:00"), "DE") is M


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        ("2012-02-29", "2026-02-28", 13),
        ("2012-02-29", "2026-03-01", 14),
        ("2000-01-01", "2000-01-01", 0),
    ],
)
def test_age_on(birth: str, on: str, age: int) -> None:
    assert age_on(date.fromisoformat(birth), date.fromisoformat(on)) == age


def test_age_is_taken_on_the_utc_calendar() -> None:
    birth = date(2012, 6, 1)
    beijing = timezone(timedelta(hours=8))
    # 08:00 on 1 June in Beijing is 00:00 UTC: the birthday has begun
    assert band(birth, datetime(2026, 6, 1, 8, 0, tzinfo=beijing)) is M
    assert band(birth, datetime(2026, 6, 1, 7, 59, tzinfo=beijing)) is C


@pytest.mark.parametrize(
    ("code", "child_under"), [("CN", 14), ("US", 13), ("GB", 13), ("DE", 16), ("FR", 15)]
)
def test_pack_thresholds(code: str, child_under: int) -> None:
    assert band(born(child_under, days=-1), T0, code) is C  # a day short of the birthday
    assert band(born(child_under), T0, code) is M
    assert band(born(18), T0, code) is A


def test_verified_band_without_birth_date() -> None:
    for given in (C, M, A):
        profile = subject(None, age_band=given, verification="bank_check")
        assert age_band_at(profile, T0, pipeline(), POLICY) is given
    unverified = subject(None, age_band=A, verification="  ")
    assert age_band_at(unverified, T0, pipeline(), POLICY) is U


def test_birth_date_wins_over_a_band() -> None:
    profile = subject(born(10), age_band=A)
    assert age_band_at(profile, T0, pipeline(), POLICY) is C


def test_no_profile_is_unknown() -> None:
    assert age_band_at(None, T0, pipeline(), POLICY) is U


def test_jurisdiction_fallbacks() -> None:
    fifteen = born(15)
    # profile names none -> the pipeline's (DE: child under 16)
    assert age_band_at(subject(fifteen, None), T0, pipeline(jurisdiction="DE"), POLICY) is C
    # neither names one -> the configured default (CN: child under 14)
    assert age_band_at(subject(fifteen, None), T0, pipeline(jurisdiction=None), POLICY) is M
    # the profile names one without a pack -> the strictest configured (16)
    assert age_band_at(subject(fifteen, "ZZ"), T0, pipeline(), POLICY) is C
    # aliases
    assert age_band_at(subject(born(14), "EL"), T0, pipeline(), POLICY) is C  # Greece: 15


def test_treated_band_follows_unknown_age() -> None:
    expected = {UnknownAge.CHILD: C, UnknownAge.ADULT: A, UnknownAge.QUARANTINE: U}
    for mode, result in expected.items():
        assert treated_band_at(None, T0, pipeline(unknown_age=mode), POLICY) is result
    assert treated_band_at(subject(born(30)), T0, pipeline(), POLICY) is A


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        age_band_at(None, datetime(2026, 1, 1), pipeline(), POLICY)  # noqa: DTZ001
