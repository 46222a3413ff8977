"""decide(): decision table for R6 (minimisation, redaction, essential fields, refusals)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.unit.policy.test_policy_support import (
    Row,
    check_row,
    child,
    grant,
    refuse,
)

from wardstream.domain.enums import Action

P, RD, Q, D = Action.PASS, Action.REDACT, Action.QUARANTINE, Action.DROP
DAY = timedelta(days=1)
ALL = ("identifier", "behaviour", "location", "device")

ROWS = [
    # R6 minimisation
    Row(
        "R6 geo not covered -> redacted",
        child(),
        (grant(categories=["identifier", "behaviour"]),),
        RD,
        ("CATEGORY_NOT_COVERED", "CONSENT_COVERS"),
        fields=("user_id", "page", "geo", "ts"),
        removed=frozenset({"geo"}),
    ),
    Row(
        "R6 unlisted field removed",
        child(),
        (grant(),),
        RD,
        ("MINIMISED", "CONSENT_COVERS"),
        fields=("user_id", "page", "ts", "email"),
        removed=frozenset({"email"}),
    ),
    Row(
        "R6 identifier (subject field) not covered -> blocked",
        child(),
        (grant(categories=["behaviour", "location"]),),
        Q,
        ("CATEGORY_NOT_COVERED",),
    ),
    Row(
        "R6 schema cannot drop geo -> quarantine",
        child(),
        (grant(categories=["identifier", "behaviour"]),),
        Q,
        ("REDACTION_IMPOSSIBLE", "CATEGORY_NOT_COVERED", "CONSENT_COVERS"),
        pipe={"fixed_fields": frozenset({"geo"})},
        fields=("user_id", "geo"),
        removed=frozenset({"geo"}),
    ),
    Row(
        "R6 best of two consents",
        child(),
        (grant(categories=["identifier"]), grant("c2", categories=["identifier", "behaviour"])),
        P,
        ("CONSENT_COVERS",),
    ),
    Row(
        "R6 refusing a non-essential purpose keeps learning open",
        child(),
        (grant(purposes=["learning", "analytics"]), refuse(["analytics"])),
        P,
        ("CONSENT_COVERS",),
        pipe={"purpose": "learning"},
    ),
    Row(
        "R6 blanket refusal keeps an essential purpose open",
        child(),
        (grant(purposes=["learning", "analytics"]), refuse([])),
        P,
        ("CONSENT_COVERS",),
        pipe={"purpose": "learning"},
    ),
    Row(
        "R6 blanket refusal closes a non-essential purpose",
        child(),
        (grant(purposes=["learning", "analytics"]), refuse([])),
        Q,
        ("CONSENT_REFUSED",),
    ),
    Row(
        "R6 a grant after a refusal covers again",
        child(),
        (refuse(["analytics"]), grant("c2")),
        P,
        ("CONSENT_COVERS",),
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_decision_table(row: Row) -> None:
    check_row(row)
