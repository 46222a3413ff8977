"""Jurisdiction packs: every EU member state's art 8 age, overrides, the strictest pack."""

from __future__ import annotations

import pytest
from tests.unit.policy.test_policy_support import T0, born, pipeline, policy, subject

from wardstream.domain.enums import AgeBand, GrantedBy, PurposeKind
from wardstream.domain.reasons import ReasonCode
from wardstream.policy.age import age_band_at
from wardstream.policy.errors import PackError
from wardstream.policy.packs import (
    BUILTIN_PACKS,
    CN,
    EU_ART8_AGES,
    JurisdictionPack,
    strictest,
    with_overrides,
)

# REQUIREMENTS.md "Jurisdiction packs", written out independently of the code.
EU_TABLE = {
    13: "BE DK EE FI LV MT PT SE",
    14: "AT BG CY IT LT ES",
    15: "CZ FR GR SI",
    16: "DE HR HU IE LU NL PL RO SK",
}
EU_MEMBERS = set(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
EXPECTED = {code: age for age, codes in EU_TABLE.items() for code in codes.split()}


@pytest.mark.parametrize("code", sorted(EU_MEMBERS))
def test_every_eu_member_state_has_its_art8_age(code: str) -> None:
    age = EXPECTED[code]
    assert BUILTIN_PACKS[code].child_under == age
    assert EU_ART8_AGES[code] == age
    policy_ = policy()
    just_under = subject(born(age, days=-1), code)
    assert age_band_at(just_under, T0, pipeline(), policy_) is AgeBand.CHILD
    assert age_band_at(subject(born(age), code), T0, pipeline(), policy_) is AgeBand.MINOR


def test_a_slovenian_of_15_is_not_a_child_and_of_14_years_364_days_is() -> None:
    """ZVOP-2 (in force 2023) sets Slovenia's art. 8 age at 15, not the EU default 16."""
    fifteen = subject(born(15), "SI")
    assert age_band_at(fifteen, T0, pipeline(), policy()) is AgeBand.MINOR
    eve = subject(born(15, days=-1), "SI")
    assert age_band_at(eve, T0, pipeline(), policy()) is AgeBand.CHILD


def test_eu_default_and_the_twenty_seven() -> None:
    assert set(EU_ART8_AGES) == EU_MEMBERS
    assert BUILTIN_PACKS["EU"].child_under == 16


def test_consent_parties() -> None:
    assert BUILTIN_PACKS["FR"].child_consent_by == {GrantedBy.GUARDIAN, GrantedBy.SUBJECT}
    assert BUILTIN_PACKS["FR"].child_consent_joint
    assert CN.minor_consent_by == {GrantedBy.SUBJECT}
    assert not BUILTIN_PACKS["US"].minor_consent_by
    assert PurposeKind.MARKETING in CN.minor_closed_kinds
    assert PurposeKind.MARKETING not in BUILTIN_PACKS["US"].minor_closed_kinds


def test_pack_rules_cite_their_own_law() -> None:
    assert BUILTIN_PACKS["US"].rule(ReasonCode.NO_GUARDIAN_CONSENT) == "US-COPPA/312.5(a)(1)"
    assert BUILTIN_PACKS["FR"].rule(ReasonCode.NO_OWN_CONSENT) == "FR-LIL/art45"
    assert CN.rule(ReasonCode.DEREGISTERED) == "CN-CPI-2019/art20"
    for code, pack in BUILTIN_PACKS.items():
        if code != "CN":
            cited = {pack.rule(reason) for reason in ReasonCode}
            assert not any(rule.startswith("CN-") for rule in cited), code


def test_overrides_keep_unset_fields() -> None:
    changed = with_overrides(CN, "CN", child_under=13, rules={ReasonCode.ADULT: "X/1"})
    assert changed.child_under == 13 and changed.minor_consent_by == CN.minor_consent_by
    assert changed.rule(ReasonCode.ADULT) == "X/1"
    assert changed.rule(ReasonCode.NO_OWN_CONSENT) == CN.rule(ReasonCode.NO_OWN_CONSENT)
    new = with_overrides(None, "XK", child_under=15)
    assert new.code == "XK" and new.child_consent_by == {GrantedBy.GUARDIAN}


@pytest.mark.parametrize("ages", [(0, 18), (19, 18), (14, 30)])
def test_impossible_packs_are_refused(ages: tuple[int, int]) -> None:
    with pytest.raises(PackError):
        JurisdictionPack(code="XX", child_under=ages[0], minor_under=ages[1])


def test_strictest_is_at_least_as_strict_as_each_pack() -> None:
    pack = strictest(BUILTIN_PACKS.values())
    assert pack.child_under == max(p.child_under for p in BUILTIN_PACKS.values())
    assert pack.minor_closed_kinds >= CN.minor_closed_kinds
    assert pack.minor_consent_by >= CN.minor_consent_by
