"""The pure policy core: age bands, consent coverage, decide(), lifecycle.

Nothing here performs I/O or reads the clock; see ``tests/unit/test_purity.py``.
The names below are the API the stream layer uses.
"""

from wardstream.policy.age import age_band_at, age_on, anniversary, compile_subject
from wardstream.policy.context import (
    DEFAULT_EVIDENCE_METHODS,
    PolicyContext,
    PurposeSpec,
    build_context,
)
from wardstream.policy.decide import (
    deadletter,
    decide,
    prepare,
    redaction_impossible,
    state_not_current,
    treated_band_at,
)
from wardstream.policy.holds import deferral_notice, hold_deletion, lift_hold
from wardstream.policy.ledger import ConsentLedger
from wardstream.policy.lifecycle import (
    deletion_for_deregistration,
    deletions_for_consent_event,
    deletions_for_expiry,
    on_guardian_request,
)
from wardstream.policy.packs import BUILTIN_PACKS, EU_ART8_AGES, JurisdictionPack
from wardstream.policy.sweeps import (
    deletion_for_unlawful_collection,
    deletions_for_processor_removed,
    retention_sweep,
    service_stop,
)

__all__ = [
    "BUILTIN_PACKS",
    "DEFAULT_EVIDENCE_METHODS",
    "EU_ART8_AGES",
    "ConsentLedger",
    "JurisdictionPack",
    "PolicyContext",
    "PurposeSpec",
    "age_band_at",
    "age_on",
    "anniversary",
    "build_context",
    "compile_subject",
    "deadletter",
    "decide",
    "deferral_notice",
    "deletion_for_deregistration",
    "deletion_for_unlawful_collection",
    "deletions_for_consent_event",
    "deletions_for_expiry",
    "deletions_for_processor_removed",
    "hold_deletion",
    "lift_hold",
    "on_guardian_request",
    "prepare",
    "redaction_impossible",
    "retention_sweep",
    "service_stop",
    "state_not_current",
    "treated_band_at",
]
