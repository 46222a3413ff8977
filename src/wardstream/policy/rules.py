"""Rule ids of the non-CN packs: which article each reason code rests on.

The shared map (``wardstream.domain.reasons.RULE_IDS``) cites the CN
instruments; these maps give the US, GB and EU packs their own citations so
that no decision about a subject in those jurisdictions cites Chinese law.
Codes that are wardstream's own safeguards (PURPOSE_PROHIBITED,
STATE_NOT_CURRENT, DECODE_ERROR, NO_SUBJECT_ID) keep their WARD-POLICY ids.
"""

from __future__ import annotations

from types import MappingProxyType

from wardstream.domain.reasons import ReasonCode as R


def _law(prefix: str, table: dict[R, str]) -> MappingProxyType[R, str]:
    return MappingProxyType({code: f"{prefix}/{article}" for code, article in table.items()})


US_RULES = _law(
    "US-COPPA",
    {
        R.ADULT: "312.2",
        R.MINOR_NO_CONSENT_NEEDED: "312.2",
        R.AGE_UNKNOWN: "312.3",
        R.CONSENT_COVERS: "312.5(a)(1)",
        R.NO_GUARDIAN_CONSENT: "312.5(a)(1)",
        R.NO_OWN_CONSENT: "312.5(a)(1)",
        R.PURPOSE_NOT_COVERED: "312.5(a)(1)",
        R.CATEGORY_NOT_COVERED: "312.5(a)(1)",
        R.RECONSENT_REQUIRED: "312.5(a)(1)",
        R.CONSENT_EXPIRED: "312.5(a)(1)",
        R.RECIPIENT_NOT_COVERED: "312.5(a)(2)",
        R.DISCLOSURE_NOT_COVERED: "312.5(a)(2)",
        R.MARKETING_TO_MINOR: "312.5(a)(2)",
        R.PROCESSOR_NOT_ASSESSED: "312.8",
        R.EVIDENCE_MISSING: "312.5(b)",
        R.CONSENT_WITHDRAWN: "312.6(a)(2)",
        R.CONSENT_REFUSED: "312.6(a)(2)",
        R.DEREGISTERED: "312.6(a)(2)",
        R.MINIMISED: "312.7",
        R.REDACTION_IMPOSSIBLE: "312.7",
        R.SERVICE_STOPPED: "312.10",
    },
)

_GDPR = {
    R.ADULT: "art8(1)",
    R.MINOR_NO_CONSENT_NEEDED: "art8(1)",
    R.AGE_UNKNOWN: "art8(2)",
    R.CONSENT_COVERS: "art8(1)",
    R.NO_GUARDIAN_CONSENT: "art8(1)",
    R.NO_OWN_CONSENT: "art8(1)",
    R.PURPOSE_NOT_COVERED: "art6(1)(a)",
    R.CATEGORY_NOT_COVERED: "art6(1)(a)",
    R.RECIPIENT_NOT_COVERED: "art6(1)(a)",
    R.DISCLOSURE_NOT_COVERED: "art6(1)(a)",
    R.CONSENT_REFUSED: "art6(1)(a)",
    R.PROCESSOR_NOT_ASSESSED: "art28(1)",
    R.RECONSENT_REQUIRED: "art7(1)",
    R.CONSENT_EXPIRED: "art7(1)",
    R.CONSENT_WITHDRAWN: "art7(3)",
    R.EVIDENCE_MISSING: "art8(2)",
    R.DEREGISTERED: "art17(1)(b)",
    R.MINIMISED: "art5(1)(c)",
    R.REDACTION_IMPOSSIBLE: "art5(1)(c)",
    R.SERVICE_STOPPED: "art17(1)(a)",
}
EU_RULES = MappingProxyType({**_law("EU-GDPR", _GDPR), R.MARKETING_TO_MINOR: "EU-DSA/art28(2)"})
GB_RULES = MappingProxyType(
    {
        **_law("UK-GDPR", _GDPR),
        R.ADULT: "UK-DPA2018/s9",
        R.MINOR_NO_CONSENT_NEEDED: "UK-DPA2018/s9",
        R.AGE_UNKNOWN: "UK-AADC/std3",
        R.RECIPIENT_NOT_COVERED: "UK-AADC/std9",
        R.DISCLOSURE_NOT_COVERED: "UK-AADC/std9",
        R.MARKETING_TO_MINOR: "UK-AADC/std12",
        R.MINIMISED: "UK-AADC/std8",
        R.REDACTION_IMPOSSIBLE: "UK-AADC/std8",
    }
)
