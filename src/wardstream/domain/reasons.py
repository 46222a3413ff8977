"""Reason codes: why a decision was made, as stable strings mapped to rule ids.

Codes and rule ids are a public contract (audit records, reports, auditors'
tooling): add codes, never rename one. ``RULE_IDS`` holds the default rule id
of each code (the CN pack's); jurisdiction packs may name their own article for
a code (``wardstream.policy.packs``).

Neutral codes. ``PURPOSE_PROHIBITED`` is deliberately shared by two cases that
must look identical on every output and audit record: a purpose closed to a
child in difficult situations (DSM: traffic, fundraising, live streaming,
sales) and a purpose the operator's configuration closes to every child
(``closed_to_children``). Its rule id is the operator-policy rule id, not a DSM
article, and its text names neither case, so no record reveals the subject's
``vulnerable`` flag (R12).
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType


class ReasonCode(StrEnum):
    ADULT = "ADULT"
    CONSENT_COVERS = "CONSENT_COVERS"
    AGE_UNKNOWN = "AGE_UNKNOWN"
    NO_GUARDIAN_CONSENT = "NO_GUARDIAN_CONSENT"
    NO_OWN_CONSENT = "NO_OWN_CONSENT"
    MINOR_NO_CONSENT_NEEDED = "MINOR_NO_CONSENT_NEEDED"
    PURPOSE_NOT_COVERED = "PURPOSE_NOT_COVERED"
    CATEGORY_NOT_COVERED = "CATEGORY_NOT_COVERED"
    RECIPIENT_NOT_COVERED = "RECIPIENT_NOT_COVERED"
    PROCESSOR_NOT_ASSESSED = "PROCESSOR_NOT_ASSESSED"
    DISCLOSURE_NOT_COVERED = "DISCLOSURE_NOT_COVERED"
    RECONSENT_REQUIRED = "RECONSENT_REQUIRED"
    CONSENT_EXPIRED = "CONSENT_EXPIRED"
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"
    CONSENT_REFUSED = "CONSENT_REFUSED"
    EVIDENCE_MISSING = "EVIDENCE_MISSING"
    MARKETING_TO_MINOR = "MARKETING_TO_MINOR"
    PURPOSE_PROHIBITED = "PURPOSE_PROHIBITED"
    DEREGISTERED = "DEREGISTERED"
    MINIMISED = "MINIMISED"
    STATE_NOT_CURRENT = "STATE_NOT_CURRENT"
    REDACTION_IMPOSSIBLE = "REDACTION_IMPOSSIBLE"
    DECODE_ERROR = "DECODE_ERROR"
    NO_SUBJECT_ID = "NO_SUBJECT_ID"
    SERVICE_STOPPED = "SERVICE_STOPPED"


R = ReasonCode

RULE_IDS: MappingProxyType[ReasonCode, str] = MappingProxyType(
    {
        R.ADULT: "CN-CPI-2019/art2",
        R.CONSENT_COVERS: "CN-CPI-2019/art9",
        R.AGE_UNKNOWN: "CN-CPI-2019/art28",
        R.NO_GUARDIAN_CONSENT: "CN-CPI-2019/art9",
        R.NO_OWN_CONSENT: "CN-PIPL/art14",
        R.MINOR_NO_CONSENT_NEEDED: "CN-CPI-2019/art2",
        R.PURPOSE_NOT_COVERED: "CN-CPI-2019/art10",
        R.CATEGORY_NOT_COVERED: "CN-CPI-2019/art10",
        R.RECIPIENT_NOT_COVERED: "CN-CPI-2019/art17",
        R.PROCESSOR_NOT_ASSESSED: "CN-CPI-2019/art16",
        R.DISCLOSURE_NOT_COVERED: "CN-CPI-2019/art18",
        R.RECONSENT_REQUIRED: "CN-CPI-2019/art14",
        R.CONSENT_EXPIRED: "CN-CPI-2019/art10",
        R.CONSENT_WITHDRAWN: "CN-CPI-2019/art20",
        R.CONSENT_REFUSED: "CN-CPI-2019/art9",
        R.EVIDENCE_MISSING: "CN-CPI-2019/art9",
        R.MARKETING_TO_MINOR: "CN-MOR-2024/art24",
        R.PURPOSE_PROHIBITED: "WARD-POLICY/prohibited-purpose",
        R.DEREGISTERED: "CN-CPI-2019/art20",
        R.MINIMISED: "CN-CPI-2019/art11",
        R.STATE_NOT_CURRENT: "WARD-POLICY/fail-closed",
        R.REDACTION_IMPOSSIBLE: "CN-CPI-2019/art11",
        R.DECODE_ERROR: "WARD-POLICY/deadletter",
        R.NO_SUBJECT_ID: "WARD-POLICY/deadletter",
        R.SERVICE_STOPPED: "CN-CPI-2019/art23",
    }
)

REASON_TEXT: MappingProxyType[ReasonCode, str] = MappingProxyType(
    {
        R.ADULT: "the subject is an adult at the event time",
        R.CONSENT_COVERS: "an active, verified consent covers this processing",
        R.AGE_UNKNOWN: "the subject's age is unknown; the pipeline's unknown_age rule applies",
        R.NO_GUARDIAN_CONSENT: "no active guardian consent for this processing",
        R.NO_OWN_CONSENT: "the subject's own consent for this processing is missing",
        R.MINOR_NO_CONSENT_NEEDED: "a minor whose jurisdiction needs no consent for this",
        R.PURPOSE_NOT_COVERED: "no consent covers the pipeline's purpose",
        R.CATEGORY_NOT_COVERED: "the consent does not cover every data category present",
        R.RECIPIENT_NOT_COVERED: "the consent does not name the third-party recipient",
        R.PROCESSOR_NOT_ASSESSED: "the recipient is not on the list of assessed processors",
        R.DISCLOSURE_NOT_COVERED: "the consent does not allow public disclosure",
        R.RECONSENT_REQUIRED: "the consent was given to older rules; new consent is needed",
        R.CONSENT_EXPIRED: "the consent had expired",
        R.CONSENT_WITHDRAWN: "the consent was withdrawn",
        R.CONSENT_REFUSED: "consent for this purpose was refused",
        R.EVIDENCE_MISSING: "the consent has no accepted verification method",
        R.MARKETING_TO_MINOR: "marketing and profiling purposes are closed to this age group",
        R.PURPOSE_PROHIBITED: "this purpose is closed to this subject by law or operator "
        "policy; consent cannot open it",
        R.DEREGISTERED: "the subject has deregistered",
        R.MINIMISED: "fields not listed in the pipeline were removed",
        R.STATE_NOT_CURRENT: "consent and profile state could not be confirmed in time",
        R.REDACTION_IMPOSSIBLE: "fields that must be removed cannot be dropped from the schema",
        R.DECODE_ERROR: "the event could not be decoded",
        R.NO_SUBJECT_ID: "the event carries no subject id",
        R.SERVICE_STOPPED: "the service has stopped collecting data",
    }
)


def rule_for(code: ReasonCode) -> str:
    """The default rule id of a reason code."""
    return RULE_IDS[code]


def describe(code: ReasonCode) -> str:
    """One neutral sentence explaining a reason code (no subject data)."""
    return REASON_TEXT[code]
