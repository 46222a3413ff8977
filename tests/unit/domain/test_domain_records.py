"""Domain records: SPEC field names, round trips, UTC discipline, no values in errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.decision import Decision
from wardstream.domain.enums import Action, AgeBand, DataCategory, DeletionReason
from wardstream.domain.errors import InvalidRecordError
from wardstream.domain.holds import DeferredDeletion, LegalHold
from wardstream.domain.notice import GuardianNotice
from wardstream.domain.reasons import ReasonCode
from wardstream.domain.requests import CorrectionRequest, DeletionRequest, GuardianRequest
from wardstream.domain.subject import SubjectProfile

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SPEC_FIELDS = {
    SubjectProfile: "subject_id birth_date age_band jurisdiction verification vulnerable "
    "deregistered_at updated_at",
    ConsentEvent: "consent_id subject_id granted_by guardian_ref action purposes data_categories "
    "third_party_recipients public_disclosure policy_version effective_at expires_at evidence",
    GuardianRequest: "request_id subject_id kind scope received_at",
    DeletionRequest: "deletion_id subject_id reason pipelines data_categories collected_before "
    "issued_at deadline",
}

RECORDS = [
    SubjectProfile(
        subject_id="kid-1",
        birth_date=date(2014, 2, 28),
        jurisdiction="cn",
        verification="document",
        vulnerable=True,
        deregistered_at=T,
        updated_at=T,
    ),
    SubjectProfile(subject_id="kid-2", age_band="CHILD", verification="bank", updated_at=T),
    ConsentEvent(
        consent_id="c1",
        subject_id="kid-1",
        granted_by="GUARDIAN",
        guardian_ref="g-1",
        action="GRANTED",
        purposes=["learning"],
        data_categories=["identifier", "behaviour"],
        third_party_recipients=["partner-x"],
        public_disclosure=True,
        policy_version=3,
        effective_at=T,
        expires_at=T + timedelta(days=365),
        evidence="signed_form:scan-1",
    ),
    GuardianRequest(request_id="r1", subject_id="kid-1", kind="DELETE", scope=["a"], received_at=T),
    DeletionRequest(
        deletion_id="d1",
        subject_id="kid-1",
        reason="RETENTION_EXPIRED",
        pipelines=["a", "b"],
        data_categories=["location"],
        collected_before=T,
        issued_at=T,
        deadline=T + timedelta(days=15),
        collected_after=T - timedelta(days=1),
    ),
    CorrectionRequest(
        correction_id="x1", request_id="r1", subject_id="kid-1", issued_at=T, deadline=T
    ),
    GuardianNotice(
        notice_id="n1", subject_id="kid-1", kind="SERVICE_STOPPED", issued_at=T, message="m"
    ),
    LegalHold(hold_id="h1", subject_id="kid-1", placed_at=T, case_ref="case-7"),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_round_trip(record: object) -> None:
    data = record.to_dict()  # type: ignore[attr-defined]
    assert type(record).from_dict(data) == record  # type: ignore[attr-defined]


@pytest.mark.parametrize("cls", list(SPEC_FIELDS), ids=lambda c: c.__name__)
def test_to_dict_uses_exactly_the_spec_names(cls: type) -> None:
    record: Any = next(r for r in RECORDS if type(r) is cls)
    keys = set(record.to_dict())
    assert set(SPEC_FIELDS[cls].split()) <= keys
    extra = keys - set(SPEC_FIELDS[cls].split())
    assert extra <= {"consent_id", "collected_after", "recipient"}  # defaults, SPEC allows


def test_dict_values_are_plain_strings_datetimes_and_dates() -> None:
    data = RECORDS[0].to_dict()
    assert data["birth_date"] == date(2014, 2, 28)
    assert data["jurisdiction"] == "CN"
    assert data["updated_at"].tzinfo is UTC
    consent = RECORDS[2].to_dict()
    assert consent["granted_by"] == "GUARDIAN" and type(consent["granted_by"]) is str
    assert consent["data_categories"] == ["identifier", "behaviour"]
    assert all(type(c) is str for c in consent["data_categories"])


def test_datetimes_are_normalised_to_utc() -> None:
    plus8 = timezone(timedelta(hours=8))
    profile = SubjectProfile(subject_id="s", updated_at=datetime(2026, 1, 1, 8, tzinfo=plus8))
    assert profile.updated_at == datetime(2026, 1, 1, 0, tzinfo=UTC)
    assert profile.updated_at.tzinfo is UTC
    assert SubjectProfile.from_dict(
        {"subject_id": "s", "updated_at": "2026-01-01T00:00:00+00:00"}
    ).updated_at == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("updated_at", datetime(2026, 1, 1), "naive"),  # noqa: DTZ001 - the point of the test
        ("updated_at", "yesterday", "ISO-8601"),
        ("birth_date", datetime(2014, 1, 1, tzinfo=UTC), "not a datetime"),
        ("age_band", "TODDLER", "unknown value"),
    ],
)
def test_bad_fields_are_named_without_their_values(field: str, value: object, problem: str) -> None:
    data = {"subject_id": "secret-subject-42", "updated_at": T, field: value}
    with pytest.raises(InvalidRecordError) as info:
        SubjectProfile.from_dict(data)
    message = str(info.value)
    assert f"SubjectProfile.{field}" in message and problem in message
    assert "secret-subject-42" not in message and "TODDLER" not in message


def test_missing_required_field_is_named() -> None:
    with pytest.raises(InvalidRecordError, match="ConsentEvent.consent_id: missing"):
        ConsentEvent.from_dict({"subject_id": "s"})


def test_unknown_data_category_in_consent_is_refused() -> None:
    data = RECORDS[2].to_dict() | {"data_categories": ["identifier", "dna"]}
    with pytest.raises(InvalidRecordError, match="data_categories"):
        ConsentEvent.from_dict(data)


def test_repr_hides_identity_birth_date_and_vulnerable_flag() -> None:
    text = repr(RECORDS[0]) + repr(RECORDS[2])
    for secret in ("kid-1", "2014", "vulnerable", "g-1", "scan-1"):
        assert secret not in text


def test_verified_band_needs_a_verification_method() -> None:
    assert RECORDS[1].has_verified_band
    assert not SubjectProfile(subject_id="s", age_band="ADULT", updated_at=T).has_verified_band


def test_evidence_method_is_the_part_before_the_colon() -> None:
    assert RECORDS[2].evidence_method == "signed_form"
    assert ConsentEvent.from_dict(RECORDS[2].to_dict() | {"evidence": None}).evidence_method == ""


def test_deferred_deletion_round_trip() -> None:
    deletion = RECORDS[4]
    assert isinstance(deletion, DeletionRequest)
    deferred = DeferredDeletion(deletion=deletion, hold_id="h1", deferred_at=T)
    assert DeferredDeletion.from_dict(deferred.to_dict()) == deferred


def test_legal_hold_activity_window() -> None:
    hold = LegalHold(hold_id="h", subject_id="s", placed_at=T, lifted_at=T + timedelta(days=1))
    assert not hold.is_active(T - timedelta(seconds=1))
    assert hold.is_active(T)
    assert not hold.is_active(T + timedelta(days=1))


def test_decision_round_trip_and_properties() -> None:
    decision = Decision(
        action=Action.REDACT,
        age_band=AgeBand.UNKNOWN,
        treated_as=AgeBand.CHILD,
        reasons=(ReasonCode.AGE_UNKNOWN, ReasonCode.CATEGORY_NOT_COVERED),
        rules=("CN-CPI-2019/art28", "CN-CPI-2019/art10"),
        consent_id="c1",
        consent_ids=("c1",),
        remove_fields=frozenset({"geo"}),
        jurisdiction="CN",
        pipeline="clickstream",
    )
    assert Decision.from_dict(decision.to_dict()) == decision
    assert decision.reason is ReasonCode.AGE_UNKNOWN and decision.rule == "CN-CPI-2019/art28"
    assert decision.header_band == "child" and decision.is_forwarded
    assert decision.needs_own_audit_record
    assert "removed fields: geo" in decision.explanation()


def test_deletion_reasons_keep_the_spec_members() -> None:
    spec = "CONSENT_WITHDRAWN CONSENT_EXPIRED DEREGISTERED GUARDIAN_REQUEST RETENTION_EXPIRED "
    spec += "COLLECTED_WITHOUT_CONSENT SERVICE_STOPPED"
    assert set(spec.split()) <= {m.value for m in DeletionReason}
    assert {c.value for c in DataCategory} >= {"identifier", "technical"}
