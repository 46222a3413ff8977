"""Stable vocabularies shared by every layer.

The string values are a public contract: they appear in Avro records, headers,
audit records and reports, and auditors' tooling matches on them. Add members;
never rename or remove one.
"""

from enum import StrEnum


class AgeBand(StrEnum):
    CHILD = "CHILD"
    MINOR = "MINOR"
    ADULT = "ADULT"
    UNKNOWN = "UNKNOWN"


class Action(StrEnum):
    """What happens to one event."""

    PASS = "PASS"  # noqa: S105 - an action, not a password
    REDACT = "REDACT"
    QUARANTINE = "QUARANTINE"
    DROP = "DROP"
    DEADLETTER = "DEADLETTER"
    HOLD = "HOLD"  # waiting for state to be current; never a final outcome


class ConsentAction(StrEnum):
    GRANTED = "GRANTED"
    WITHDRAWN = "WITHDRAWN"
    REFUSED = "REFUSED"


class GrantedBy(StrEnum):
    GUARDIAN = "GUARDIAN"
    SUBJECT = "SUBJECT"


class RequestKind(StrEnum):
    DELETE = "DELETE"
    CORRECT = "CORRECT"


class DeletionReason(StrEnum):
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"
    CONSENT_EXPIRED = "CONSENT_EXPIRED"
    DEREGISTERED = "DEREGISTERED"
    GUARDIAN_REQUEST = "GUARDIAN_REQUEST"
    RETENTION_EXPIRED = "RETENTION_EXPIRED"
    COLLECTED_WITHOUT_CONSENT = "COLLECTED_WITHOUT_CONSENT"
    SERVICE_STOPPED = "SERVICE_STOPPED"
    # A recipient was removed from the operator's list of assessed processors
    # (CP art 16-18): data already sent to it must go.
    PROCESSOR_REMOVED = "PROCESSOR_REMOVED"


class AuditAction(StrEnum):
    PASSED = "PASSED"
    TAGGED = "TAGGED"
    REDACTED = "REDACTED"
    QUARANTINED = "QUARANTINED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"
    DROPPED = "DROPPED"
    DEADLETTERED = "DEADLETTERED"
    CONSENT_RECORDED = "CONSENT_RECORDED"
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"
    DELETION_ISSUED = "DELETION_ISSUED"
    DELETION_DEFERRED = "DELETION_DEFERRED"
    NOTICE_ISSUED = "NOTICE_ISSUED"
    ACCESS = "ACCESS"
    SUMMARY = "SUMMARY"
    INCIDENT = "INCIDENT"
    KEY_DESTROYED = "KEY_DESTROYED"
    CHECKPOINT = "CHECKPOINT"  # a worker's signed chain heads (audit.checkpoint)


class DataCategory(StrEnum):
    """Categories a pipeline's fields map to and a consent covers.

    TECHNICAL marks fields that carry no personal information (event ids,
    timestamps, schema versions): they never need consent.
    """

    IDENTIFIER = "identifier"
    CONTACT = "contact"
    DEMOGRAPHIC = "demographic"
    BEHAVIOUR = "behaviour"
    LOCATION = "location"
    CONTENT = "content"
    DEVICE = "device"
    FINANCIAL = "financial"
    EDUCATION = "education"
    HEALTH = "health"
    BIOMETRIC = "biometric"
    TECHNICAL = "technical"


class PurposeKind(StrEnum):
    """Properties of a purpose that the law singles out."""

    MARKETING = "marketing"  # MOR art 24, AADC std 11, COPPA targeted ads
    PROFILING = "profiling"
    TRAFFIC = "traffic"  # DSM: using vulnerable children for traffic
    FUNDRAISING = "fundraising"
    LIVE_STREAMING = "live_streaming"
    SALES = "sales"


class UnknownAge(StrEnum):
    """A pipeline's treatment of subjects whose age is unknown (`unknown_age`)."""

    CHILD = "child"  # fail closed: the child rules apply
    QUARANTINE = "quarantine"
    ADULT = "adult"


class MissingConsent(StrEnum):
    """A pipeline's `on_missing_consent`: where a child's uncovered event goes."""

    QUARANTINE = "quarantine"
    DROP = "drop"


class EventFormat(StrEnum):
    """Wire format of a pipeline's source events."""

    AVRO = "avro"
    AVRO_CONFLUENT = "avro-confluent"
    JSON = "json"


class DestinationKind(StrEnum):
    """Who reads a pipeline's sink (the `destination` before any `:recipient`)."""

    INTERNAL = "internal"
    THIRD_PARTY = "third_party"
    PUBLIC = "public"


class NoticeKind(StrEnum):
    """Why a GuardianNotice was issued."""

    SERVICE_STOPPED = "SERVICE_STOPPED"
    INCIDENT = "INCIDENT"
    DELETION_DEFERRED = "DELETION_DEFERRED"
