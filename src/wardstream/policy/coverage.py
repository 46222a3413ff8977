"""Does a subject's consent cover this event? (CP art 9, 10, 14, 16-18; COPPA 312.5)

For each party whose consent the pack requires (the guardian for a child; the
minor for a CN minor; both, jointly, for a French child) the grants that may
cover the pipeline's purpose are checked in this order, and the best grant
wins; when none covers, the reason of the grant that got furthest is reported:

1. withdrawn (known at decision time, whatever the event time) -> CONSENT_WITHDRAWN
2. no accepted verification method in ``evidence``             -> EVIDENCE_MISSING
3. not yet effective at the consent time                        -> NO_GUARDIAN_CONSENT
4. expired at the consent time (``expires_at`` is exclusive)    -> CONSENT_EXPIRED
5. given to an older ``policy_version`` than the pipeline's     -> RECONSENT_REQUIRED
6. third-party recipient not named                              -> RECIPIENT_NOT_COVERED
7. public destination without ``public_disclosure``             -> DISCLOSURE_NOT_COVERED
8. the subject field's (essential) category not covered         -> CATEGORY_NOT_COVERED
9. covered; categories of other fields may still be uncovered (redaction)

No grant for the purpose: CONSENT_REFUSED if a refusal is the newest
statement about it, PURPOSE_NOT_COVERED if the party consented to other
purposes, else NO_GUARDIAN_CONSENT (guardian) / NO_OWN_CONSENT (subject).
Among covering grants the one leaving the fewest categories uncovered wins,
then the newest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from wardstream.domain.enums import GrantedBy
from wardstream.domain.reasons import ReasonCode
from wardstream.policy.compiled import CompiledPipeline
from wardstream.policy.ledger import ConsentLedger, Grant

R = ReasonCode
FULL = 9


@dataclass(frozen=True, slots=True)
class Coverage:
    reason: ReasonCode | None  # None: covered
    consent_ids: tuple[str, ...] = ()
    covered: int = 0  # data categories covered by the consent(s)


def _missing(party: GrantedBy) -> ReasonCode:
    return R.NO_GUARDIAN_CONSENT if party is GrantedBy.GUARDIAN else R.NO_OWN_CONSENT


def _check(
    g: Grant, when: datetime, cp: CompiledPipeline, version: int, accepted: frozenset[str]
) -> tuple[int, ReasonCode | None]:
    if g.withdrawn_at is not None:
        return 1, R.CONSENT_WITHDRAWN
    if g.evidence_method not in accepted:
        return 2, R.EVIDENCE_MISSING
    if when < g.effective_at:
        return 3, _missing(g.granted_by)
    if g.expires_at is not None and when >= g.expires_at:
        return 4, R.CONSENT_EXPIRED
    if g.policy_version < version:
        return 5, R.RECONSENT_REQUIRED
    if cp.recipient is not None and cp.recipient not in g.recipients:
        return 6, R.RECIPIENT_NOT_COVERED
    if cp.public and not g.public_disclosure:
        return 7, R.DISCLOSURE_NOT_COVERED
    if cp.essential & ~g.categories:
        return 8, R.CATEGORY_NOT_COVERED
    return FULL, None


def _best(
    grants: Iterable[Grant],
    parties: frozenset[GrantedBy],
    when: datetime,
    cp: CompiledPipeline,
    need: int,
    accepted: frozenset[str],
) -> tuple[int, ReasonCode | None, Grant | None]:
    best: tuple[int, ReasonCode | None, Grant | None] = (0, None, None)
    best_key = (-1, 0, 0)
    version = cp.pipeline.policy_version
    for g in grants:
        if g.granted_by not in parties:
            continue
        rank, reason = _check(g, when, cp, version, accepted)
        key = (rank, -(need & ~g.categories).bit_count() if rank == FULL else 0, g.seq)
        if key > best_key:
            best_key, best = key, (rank, reason, g)
    return best


def _no_grant(ledger: ConsentLedger | None, party: GrantedBy, refused: bool) -> ReasonCode:
    if refused:
        return R.CONSENT_REFUSED
    if ledger is not None and any(g.granted_by is party for g in ledger.grants):
        return R.PURPOSE_NOT_COVERED
    return _missing(party)


def evaluate(
    ledger: ConsentLedger | None,
    cp: CompiledPipeline,
    parties: frozenset[GrantedBy],
    joint: bool,
    when: datetime,
    need: int,
    accepted: frozenset[str],
) -> Coverage:
    """Whether the ledger's consent covers an event needing categories ``need``."""
    cands = None if ledger is None else ledger.candidates(cp.purpose.name, cp.purpose.essential)
    grants = () if cands is None else cands.grants
    refused = cands is not None and cands.refused
    groups = [frozenset({p}) for p in sorted(parties)] if joint else [parties]
    ids: list[str] = []
    covered = -1
    for group in groups:
        rank, reason, grant = _best(grants, group, when, cp, need, accepted)
        if grant is None:
            return Coverage(_no_grant(ledger, min(group), refused))
        if rank != FULL:
            return Coverage(reason)
        ids.append(grant.consent_id)
        covered &= grant.categories
    return Coverage(None, tuple(ids), covered)
