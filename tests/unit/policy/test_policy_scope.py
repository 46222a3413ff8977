"""decide(): decision tables for R8 and R10-R12, CN minors' own consent, French joint consent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.unit.policy.test_policy_support import (
    T0,
    Row,
    born,
    check_row,
    child,
    grant,
    subject,
)

from wardstream.domain.enums import Action

P, RD, Q, D = Action.PASS, Action.REDACT, Action.QUARANTINE, Action.DROP
DAY = timedelta(days=1)
ALL = ("identifier", "behaviour", "location", "device")

ROWS = [
    # R10 third parties
    Row(
        "R10 consent names no recipient",
        child(),
        (grant(),),
        Q,
        ("RECIPIENT_NOT_COVERED",),
        pipe={"destination": "third_party:partner-x"},
    ),
    Row(
        "R10 recipient named and assessed",
        child(),
        (grant(third_party_recipients=["partner-x"]),),
        P,
        ("CONSENT_COVERS",),
        pipe={"destination": "third_party:partner-x"},
    ),
    Row(
        "R10 processor not assessed",
        child(),
        (grant(third_party_recipients=["partner-y"]),),
        Q,
        ("PROCESSOR_NOT_ASSESSED",),
        pipe={"destination": "third_party:partner-y"},
    ),
    # R11 no automated marketing to minors
    Row(
        "R11 CN 16-year-old, targeted_ads",
        subject(born(16)),
        (grant(granted_by="SUBJECT", purposes=["targeted_ads"]),),
        D,
        ("MARKETING_TO_MINOR",),
        pipe={"purpose": "targeted_ads"},
    ),
    Row(
        "R11 child with consent, targeted_ads",
        child(),
        (grant(purposes=["targeted_ads"]),),
        D,
        ("MARKETING_TO_MINOR",),
        pipe={"purpose": "targeted_ads"},
    ),
    Row(
        "R11 unknown age, targeted_ads",
        None,
        (),
        D,
        ("AGE_UNKNOWN", "MARKETING_TO_MINOR"),
        pipe={"purpose": "targeted_ads"},
    ),
    Row(
        "R11 US 16-year-old is not gated",
        subject(born(16), "US"),
        (),
        P,
        ("MINOR_NO_CONSENT_NEEDED",),
        pipe={"purpose": "targeted_ads"},
        band="minor",
    ),
    Row(
        "R11 US 12-year-old, targeted_ads",
        subject(born(12), "US"),
        (grant(purposes=["targeted_ads"]),),
        D,
        ("MARKETING_TO_MINOR",),
        pipe={"purpose": "targeted_ads"},
    ),
    Row(
        "R11 GB minor, profiling closed",
        subject(born(15), "GB"),
        (),
        D,
        ("MARKETING_TO_MINOR",),
        pipe={"purpose": "targeted_ads"},
    ),
    Row(
        "R11 adult, targeted_ads",
        subject(born(30)),
        (),
        P,
        ("ADULT",),
        pipe={"purpose": "targeted_ads"},
    ),
    # R12 children in difficult situations
    Row(
        "R12 vulnerable child, live_streaming, full consent",
        child(vulnerable=True),
        (grant(purposes=["live_streaming"], categories=ALL, public_disclosure=True),),
        D,
        ("PURPOSE_PROHIBITED",),
        pipe={"purpose": "live_streaming"},
    ),
    Row(
        "R12 vulnerable 16-year-old, fundraising",
        subject(born(16), vulnerable=True),
        (grant(granted_by="SUBJECT", purposes=["donations"]),),
        D,
        ("PURPOSE_PROHIBITED",),
        pipe={"purpose": "donations"},
    ),
    Row(
        "R12 vulnerable, unknown age, live_streaming",
        subject(None, vulnerable=True),
        (),
        D,
        ("AGE_UNKNOWN", "PURPOSE_PROHIBITED"),
        pipe={"purpose": "live_streaming", "unknown_age": "adult"},
    ),
    Row(
        "R12 not vulnerable, live_streaming with consent",
        child(),
        (grant(purposes=["live_streaming"]),),
        P,
        ("CONSENT_COVERS",),
        pipe={"purpose": "live_streaming"},
    ),
    Row(
        "R12 vulnerable adult is an adult",
        subject(born(20), vulnerable=True),
        (),
        P,
        ("ADULT",),
        pipe={"purpose": "live_streaming"},
    ),
    Row(
        "R12 operator closes a purpose to all children",
        child(),
        (grant(purposes=["contests"]),),
        D,
        ("PURPOSE_PROHIBITED",),
        pipe={"purpose": "contests"},
    ),
    # CN minors consent themselves; France: joint consent under 15
    Row(
        "CN minor with only guardian consent", subject(born(15)), (grant(),), Q, ("NO_OWN_CONSENT",)
    ),
    Row("FR child, guardian only", subject(born(12), "FR"), (grant(),), Q, ("NO_OWN_CONSENT",)),
    Row(
        "FR child, guardian and child jointly",
        subject(born(12), "FR"),
        (grant(), grant("c2", granted_by="SUBJECT", categories=["identifier", "behaviour"])),
        RD,
        ("CATEGORY_NOT_COVERED", "CONSENT_COVERS"),
        fields=("user_id", "page", "geo"),
        removed=frozenset({"geo"}),
    ),
    Row("DE 15-year-old is a child", subject(born(15), "DE"), (), Q, ("NO_GUARDIAN_CONSENT",)),
    Row(
        "DE 16-year-old passes untouched",
        subject(born(16), "DE"),
        (),
        P,
        ("MINOR_NO_CONSENT_NEEDED",),
        fields=("user_id", "secret_field"),
    ),
    # lifecycle-related decisions
    Row(
        "R8 deregistered -> dropped",
        child(deregistered_at=T0 - DAY),
        (grant(),),
        D,
        ("DEREGISTERED",),
    ),
    Row(
        "R8 deregistration known now drops an earlier event",
        subject(born(30), deregistered_at=T0 + DAY),
        (),
        D,
        ("DEREGISTERED",),
    ),
    Row(
        "technical fields never removed, never needed",
        child(),
        (grant(categories=["identifier"]),),
        P,
        ("CONSENT_COVERS",),
        fields=("user_id", "ts"),
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_decision_table(row: Row) -> None:
    check_row(row)
