"""Reason codes: stable strings, each with a rule id and neutral text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wardstream.domain.durations import DurationError, format_duration, parse_duration
from wardstream.domain.reasons import REASON_TEXT, RULE_IDS, ReasonCode, describe, rule_for

REQUIRED = (
    "ADULT CONSENT_COVERS AGE_UNKNOWN NO_GUARDIAN_CONSENT PURPOSE_NOT_COVERED "
    "CATEGORY_NOT_COVERED RECIPIENT_NOT_COVERED PROCESSOR_NOT_ASSESSED DISCLOSURE_NOT_COVERED "
    "RECONSENT_REQUIRED CONSENT_EXPIRED CONSENT_WITHDRAWN CONSENT_REFUSED EVIDENCE_MISSING "
    "MARKETING_TO_MINOR PURPOSE_PROHIBITED DEREGISTERED MINIMISED STATE_NOT_CURRENT "
    "REDACTION_IMPOSSIBLE DECODE_ERROR NO_SUBJECT_ID SERVICE_STOPPED"
).split()


@pytest.mark.parametrize("name", REQUIRED)
def test_required_codes_exist_with_a_rule_and_a_text(name: str) -> None:
    code = ReasonCode(name)
    assert code.value == name
    assert rule_for(code) and "/" in rule_for(code)
    assert describe(code)


def test_every_code_is_mapped() -> None:
    assert set(RULE_IDS) == set(ReasonCode) == set(REASON_TEXT)


def test_key_rule_ids_are_stable() -> None:
    assert RULE_IDS[ReasonCode.NO_GUARDIAN_CONSENT] == "CN-CPI-2019/art9"
    assert RULE_IDS[ReasonCode.MARKETING_TO_MINOR] == "CN-MOR-2024/art24"


def test_purpose_prohibited_reveals_no_vulnerability() -> None:
    text = (
        RULE_IDS[ReasonCode.PURPOSE_PROHIBITED] + REASON_TEXT[ReasonCode.PURPOSE_PROHIBITED]
    ).lower()
    for word in ("dsm", "vulnerable", "difficult", "situation"):
        assert word not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", timedelta(milliseconds=500)),
        ("10s", timedelta(seconds=10)),
        ("15m", timedelta(minutes=15)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert format_duration(expected) == text


@pytest.mark.parametrize("text", ["30x", "1.5h", "1h30m", "", "d", "-3d", "30"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(DurationError, match="500ms, 10s, 15m, 12h, 30d or 2w"):
        parse_duration(text)
