"""decide(): decision tables for R1-R5 (tagging, fail closed, consent gate, scope, re-consent).

Each row: the subject, the consent events (in arrival order), pipeline
overrides, the fields present, and the expected action, reasons and removed
fields. Fictional data; T0 is the event time unless a row says otherwise."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from tests.unit.policy.test_policy_support import (
    T0,
    Row,
    born,
    check_row,
    child,
    event,
    grant,
    ledger,
    pipeline,
    policy,
    refuse,
    run_row,
    subject,
    withdraw,
)

from wardstream.domain.enums import Action
from wardstream.policy.decide import decide

P, RD, Q, D = Action.PASS, Action.REDACT, Action.QUARANTINE, Action.DROP
DAY = timedelta(days=1)
ALL = ("identifier", "behaviour", "location", "device")

ROWS = [
    # R1 child tagging (CN): the band header on the sink
    Row(
        "R1 eve of 14th birthday -> child",
        subject(born(14, days=-1)),
        (grant(),),
        P,
        ("CONSENT_COVERS",),
        band="child",
    ),
    Row(
        "R1 14th birthday -> minor (own consent)",
        subject(born(14)),
        (grant(granted_by="SUBJECT"),),
        P,
        ("CONSENT_COVERS",),
        band="minor",
    ),
    Row("R1 adult", subject(born(30)), (), P, ("ADULT",), fields=("user_id", "x"), band="adult"),
    # R2 fail closed on unknown age
    Row(
        "R2 no profile -> quarantine AGE_UNKNOWN",
        None,
        (),
        Q,
        ("AGE_UNKNOWN", "NO_GUARDIAN_CONSENT"),
    ),
    Row(
        "R2 no profile, unknown_age quarantine",
        None,
        (grant(),),
        Q,
        ("AGE_UNKNOWN",),
        pipe={"unknown_age": "quarantine"},
    ),
    Row(
        "R2 no profile, unknown_age adult",
        None,
        (),
        P,
        ("AGE_UNKNOWN",),
        pipe={"unknown_age": "adult"},
        band="adult",
    ),
    Row(
        "R2 no profile, guardian consent covers",
        None,
        (grant(),),
        P,
        ("AGE_UNKNOWN", "CONSENT_COVERS"),
        band="child",
    ),
    Row(
        "R2 unverified band is unknown",
        subject(None, age_band="ADULT", verification=""),
        (),
        Q,
        ("AGE_UNKNOWN", "NO_GUARDIAN_CONSENT"),
    ),
    # R3 consent gate
    Row("R3 child without consent -> quarantine", child(), (), Q, ("NO_GUARDIAN_CONSENT",)),
    Row(
        "R3 child without consent -> drop",
        child(),
        (),
        D,
        ("NO_GUARDIAN_CONSENT",),
        pipe={"on_missing_consent": "drop"},
    ),
    Row(
        "R3 consent by the child, not the guardian",
        child(),
        (grant(granted_by="SUBJECT"),),
        Q,
        ("NO_GUARDIAN_CONSENT",),
    ),
    Row(
        "R3 consent not yet effective",
        child(),
        (grant(effective_at=T0 + DAY),),
        Q,
        ("NO_GUARDIAN_CONSENT",),
    ),
    Row("R3 no verification method", child(), (grant(evidence=None),), Q, ("EVIDENCE_MISSING",)),
    Row(
        "R3 self-declared is no verification",
        child(),
        (grant(evidence="self_declared"),),
        Q,
        ("EVIDENCE_MISSING",),
    ),
    Row("R3 refused", child(), (refuse(["analytics"]),), Q, ("CONSENT_REFUSED",)),
    # R4 consent scope
    Row(
        "R4 purpose not covered",
        child(),
        (grant(purposes=["learning"]),),
        Q,
        ("PURPOSE_NOT_COVERED",),
        pipe={"purpose": "ads"},
    ),
    Row("R4 expired at the instant", child(), (grant(expires_at=T0),), Q, ("CONSENT_EXPIRED",)),
    Row(
        "R4 a millisecond before expiry",
        child(),
        (grant(expires_at=T0 + timedelta(milliseconds=1)),),
        P,
        ("CONSENT_COVERS",),
    ),
    Row("R4 withdrawn", child(), (grant(), withdraw()), Q, ("CONSENT_WITHDRAWN",)),
    Row(
        "R4 withdrawal known now blocks an earlier event",
        child(),
        (grant(), withdraw(at=T0 + DAY)),
        Q,
        ("CONSENT_WITHDRAWN",),
    ),
    Row(
        "R4 public disclosure not covered",
        child(),
        (grant(),),
        Q,
        ("DISCLOSURE_NOT_COVERED",),
        pipe={"destination": "public"},
    ),
    Row(
        "R4 public disclosure covered",
        child(),
        (grant(public_disclosure=True),),
        P,
        ("CONSENT_COVERS",),
        pipe={"destination": "public"},
    ),
    # R5 re-consent on policy_version
    Row(
        "R5 consent v2, pipeline v3",
        child(),
        (grant(policy_version=2),),
        Q,
        ("RECONSENT_REQUIRED",),
        pipe={"policy_version": 3},
    ),
    Row(
        "R5 consent v3, pipeline v3",
        child(),
        (grant(policy_version=3),),
        P,
        ("CONSENT_COVERS",),
        pipe={"policy_version": 3},
    ),
    Row(
        "R5 consent v4, pipeline v3",
        child(),
        (grant(policy_version=4),),
        P,
        ("CONSENT_COVERS",),
        pipe={"policy_version": 3},
    ),
    Row(
        "R5 newer consent supersedes",
        child(),
        (grant(policy_version=2), grant("c2", policy_version=3)),
        P,
        ("CONSENT_COVERS",),
        pipe={"policy_version": 3},
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_decision_table(row: Row) -> None:
    check_row(row)


def test_adult_is_never_redacted() -> None:
    decision = run_row(Row("", subject(born(40)), (), P, (), fields=("user_id", "anything", "geo")))
    assert decision.action is P and not decision.remove_fields
    assert not decision.needs_own_audit_record


def test_release_path_counts_consent_given_after_the_event() -> None:
    events = ledger(grant(effective_at=T0 + DAY))
    ev, pipe, pol = event(), pipeline(), policy()
    assert decide(ev, child(), events, pipe, pol).action is Q
    released = decide(ev, child(), events, pipe, pol, consent_at=T0 + 2 * DAY)
    assert released.action is P and released.consent_id == "c1"


def test_withdrawal_half_a_second_after_a_later_event_blocks_it() -> None:
    # BULLETIN: a withdrawal produced ~0.5 s after an event whose time is after the
    # withdrawal's effective time: the event must be blocked.
    withdrawal_time = T0 - timedelta(seconds=1)
    events = ledger(grant(), withdraw(at=withdrawal_time))
    assert decide(event(T0), child(), events, pipeline(), policy()).reason.value == (
        "CONSENT_WITHDRAWN"
    )


def test_service_stopped_drops_everything() -> None:
    pol = policy(service_stopped=True)
    for profile in (child(), subject(born(40)), None):
        decision = decide(event(), profile, ledger(grant()), pipeline(), pol)
        assert decision.action is D and decision.reason.value == "SERVICE_STOPPED"


def test_empty_subject_id_is_deadlettered() -> None:
    decision = decide(event(subject_id=""), None, None, pipeline(), policy())
    assert decision.action is Action.DEADLETTER and decision.reason.value == "NO_SUBJECT_ID"


def test_accepted_evidence_is_configurable() -> None:
    events = ledger(grant(evidence="Email_Plus:abc"))
    strict = policy(accepted_evidence=frozenset({"signed_form"}))
    assert decide(event(), child(), events, pipeline(), policy()).action is P
    assert decide(event(), child(), events, pipeline(), strict).reason.value == "EVIDENCE_MISSING"


def test_rule_ids_follow_the_subjects_pack() -> None:
    us = decide(event(), subject(born(10), "US"), None, pipeline(), policy())
    assert us.rule == "US-COPPA/312.5(a)(1)" and us.jurisdiction == "US"
    cn = decide(event(), child(), None, pipeline(), policy())
    assert cn.rule == "CN-CPI-2019/art9" and cn.pipeline == "clickstream"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(event(datetime(2026, 1, 1)), None, None, pipeline(), policy())  # noqa: DTZ001
