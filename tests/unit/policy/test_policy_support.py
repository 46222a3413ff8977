"""Builders shared by the policy and domain tests (no tests here).

Fictional data only: subject ids like ``kid-1``, reserved example domains.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.decision import Decision, EventFacts
from wardstream.domain.enums import Action, PurposeKind
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.subject import SubjectProfile
from wardstream.policy.context import PolicyContext, PurposeSpec, build_context
from wardstream.policy.decide import decide
from wardstream.policy.idkey import IdKey
from wardstream.policy.ledger import ConsentLedger

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FIELDS = {"user_id": "identifier", "page": "behaviour", "geo": "location", "ts": "technical"}
ALL_CATEGORIES = ("identifier", "behaviour", "location", "device", "contact")
K = PurposeKind
TEST_ID_KEY = IdKey.derive(b"\x07" * 32)  # fictional; the worker derives it from its hmac_key


def policy(**settings: Any) -> PolicyContext:
    """A context with the purposes the tests use."""
    purposes = [
        PurposeSpec("learning", essential=True),
        PurposeSpec("analytics"),
        PurposeSpec("ads"),
        PurposeSpec("targeted_ads", frozenset({K.MARKETING, K.PROFILING})),
        PurposeSpec("live_streaming", frozenset({K.LIVE_STREAMING})),
        PurposeSpec("donations", frozenset({K.FUNDRAISING})),
        PurposeSpec("contests", closed_to_children=True),
    ]
    settings.setdefault("ids", TEST_ID_KEY)
    return build_context(purposes=purposes, **settings)


def pipeline(**overrides: Any) -> Pipeline:
    values: dict[str, Any] = {
        "name": "clickstream",
        "source": "app.clickstream",
        "sink": "app.clickstream.lawful",
        "purpose": "analytics",
        "subject": "user_id",
        "event_time": "ts",
        "fields": FIELDS,
        "jurisdiction": "CN",
        "policy_version": 1,
    }
    values.update(overrides)
    return Pipeline(**values)


def born(years_before: int, days: int = 0, at: datetime = T0) -> date:
    """A birth date ``years_before`` years (and ``days`` more days) before ``at``."""
    day = at.date()
    try:
        anchor = day.replace(year=day.year - years_before)
    except ValueError:
        anchor = date(day.year - years_before, 3, 1)
    return anchor - timedelta(days=days)


def subject(
    birth: date | None = None, jurisdiction: str | None = "CN", **extra: Any
) -> SubjectProfile:
    values: dict[str, Any] = {
        "subject_id": "kid-1",
        "updated_at": T0 - timedelta(days=400),
        "birth_date": birth,
        "jurisdiction": jurisdiction,
        "verification": "document",
    }
    values.update(extra)
    return SubjectProfile(**values)


def child(**extra: Any) -> SubjectProfile:
    return subject(born(10), **extra)


def grant(
    consent_id: str = "c1",
    purposes: Iterable[str] = ("analytics",),
    categories: Iterable[str] = ("identifier", "behaviour", "location"),
    **extra: Any,
) -> ConsentEvent:
    values: dict[str, Any] = {
        "consent_id": consent_id,
        "subject_id": "kid-1",
        "granted_by": "GUARDIAN",
        "guardian_ref": "guardian-1",
        "action": "GRANTED",
        "purposes": tuple(purposes),
        "data_categories": tuple(categories),
        "policy_version": 1,
        "effective_at": T0 - timedelta(days=30),
        "evidence": "payment_card:txn-0001",
    }
    values.update(extra)
    return ConsentEvent(**values)


def withdraw(consent_id: str = "c1", at: datetime = T0, **extra: Any) -> ConsentEvent:
    return grant(consent_id, action="WITHDRAWN", effective_at=at, **extra)


def refuse(purposes: Iterable[str], consent_id: str = "r1", **extra: Any) -> ConsentEvent:
    return grant(consent_id, purposes, (), action="REFUSED", effective_at=T0, **extra)


def ledger(*events: ConsentEvent) -> ConsentLedger:
    return ConsentLedger("kid-1", events)


def event(
    at: datetime = T0, fields: Iterable[str] = ("user_id", "page", "ts"), subject_id: str = "kid-1"
) -> EventFacts:
    return EventFacts(subject_id, at, frozenset(fields))


@dataclass
class Row:
    """One decision-table row: inputs and the expected outcome."""

    id: str
    subject: SubjectProfile | None
    events: tuple[ConsentEvent, ...]
    action: Action
    reasons: tuple[str, ...]
    pipe: dict[str, Any] = field(default_factory=dict)
    fields: tuple[str, ...] = ("user_id", "page", "ts")
    removed: frozenset[str] = frozenset()
    at: datetime = T0
    band: str | None = None


def run_row(row: Row) -> Decision:
    pol = policy(assessed_processors=frozenset({"partner-x"}))
    events = ledger(*row.events) if row.events else None
    return decide(event(row.at, row.fields), row.subject, events, pipeline(**row.pipe), pol)


def check_row(row: Row) -> Decision:
    """Decide the row and assert every expectation; returns the decision."""
    decision = run_row(row)
    assert decision.action is row.action, decision.explanation()
    assert tuple(decision.reasons) == row.reasons, decision.explanation()
    assert decision.remove_fields == row.removed
    assert len(decision.rules) == len(decision.reasons)
    if row.band is not None:
        assert decision.header_band == row.band
    assert (decision.consent_id is not None) == ("CONSENT_COVERS" in row.reasons)
    return decision
