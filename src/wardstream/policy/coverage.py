"""Does a subject's consent cover this event? (CP art 9, 10, 14, 16-18; COPPA 312.5)

For each group of parties whose consent the pack requires (the guardian for a
child; the minor for a CN minor; guardian *and* child, as two groups, for a
French child) every grant that may cover the pipeline's purpose is checked in
this order. The best grant wins; when none covers, the reason of the grant
that got furthest is reported:

1. withdrawn (known at decision time, whatever the event time) -> CONSENT_WITHDRAWN
2. no accepted verification method in ``evidence``             -> EVIDENCE_MISSING
3. given to an older ``policy_version`` than the pipeline's     -> RECONSENT_REQUIRED
4. third-party recipient not named                              -> RECIPIENT_NOT_COVERED
5. public destination without ``public_disclosure``             -> DISCLOSURE_NOT_COVERED
6. the subject field's (essential) category not covered         -> CATEGORY_NOT_COVERED
7. not yet effective at the consent time                        -> NO_GUARDIAN_CONSENT
8. expired at the consent time (``expires_at`` is exclusive)    -> CONSENT_EXPIRED
9. covered; categories of other fields may still be uncovered (redaction)

No grant for the purpose: CONSENT_REFUSED if a refusal is the newest
statement about it, PURPOSE_NOT_COVERED if the party consented to other
purposes, else NO_GUARDIAN_CONSENT (guardian) / NO_OWN_CONSENT (subject).
Among covering grants the one leaving the fewest categories uncovered wins,
then the newest.

Speed: checks 1-6 do not depend on the event, so they run once per ledger,
pipeline and party group (:func:`screen`, memoised by the caller); an event
then costs the two time comparisons per surviving grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wardstream.domain.enums import GrantedBy
from wardstream.domain.reasons import ReasonCode
from wardstream.policy.compiled import CompiledPipeline
from wardstream.policy.ledger import ConsentLedger, Grant

R = ReasonCode
_GUARDIAN = GrantedBy.GUARDIAN
_NO_GUARDIAN, _NO_OWN, _EXPIRED = R.NO_GUARDIAN_CONSENT, R.NO_OWN_CONSENT, R.CONSENT_EXPIRED
Verdict = tuple[ReasonCode | None, tuple[str, ...], int]  # reason, consent ids, covered


@dataclass(frozen=True, slots=True)
class Screened:
    """Grants that passed the event-independent checks, and the fallback reason."""

    ok: tuple[Grant, ...]
    reason: ReasonCode  # reported when no grant in ``ok`` is active


def missing(party: GrantedBy) -> ReasonCode:
    return _NO_GUARDIAN if party is _GUARDIAN else _NO_OWN


def _static(g: Grant, cp: CompiledPipeline, accepted: frozenset[str]) -> tuple[int, ReasonCode]:
    if g.withdrawn_at is not None:
        return 1, R.CONSENT_WITHDRAWN
    if g.evidence_method not in accepted:
        return 2, R.EVIDENCE_MISSING
    if g.policy_version < cp.pipeline.policy_version:
        return 3, R.RECONSENT_REQUIRED
    if cp.recipient is not None and cp.recipient not in g.recipients:
        return 4, R.RECIPIENT_NOT_COVERED
    if cp.public and not g.public_disclosure:
        return 5, R.DISCLOSURE_NOT_COVERED
    if cp.essential & ~g.categories:
        return 6, R.CATEGORY_NOT_COVERED
    return 7, R.CONSENT_COVERS


def screen(
    ledger: ConsentLedger | None,
    cp: CompiledPipeline,
    group: frozenset[GrantedBy],
    accepted: frozenset[str],
) -> Screened:
    """Event-independent checks of a ledger's grants for a pipeline and party group."""
    if ledger is None:
        return Screened((), missing(min(group)))
    cands = ledger.candidates(cp.purpose.name, cp.purpose.essential)
    ok: list[Grant] = []
    best_rank, reason = 0, _no_grant(ledger, min(group), cands.refused)
    for g in cands.grants:
        if g.granted_by not in group:
            continue
        rank, why = _static(g, cp, accepted)
        if rank == 7:
            ok.append(g)
        elif rank > best_rank:
            best_rank, reason = rank, why
    return Screened(tuple(ok), reason)


def _no_grant(ledger: ConsentLedger, party: GrantedBy, refused: bool) -> ReasonCode:
    if refused:
        return R.CONSENT_REFUSED
    if any(g.granted_by is party for g in ledger.grants):
        return R.PURPOSE_NOT_COVERED
    return missing(party)


def pick(screened: Screened, when: datetime, need: int) -> tuple[Grant | None, ReasonCode]:
    """The best grant active at ``when``, or the reason there is none."""
    best: Grant | None = None
    rank, reason = 0, screened.reason
    for g in screened.ok:
        if when < g.effective_at:
            if rank < 7:
                rank, reason = 7, missing(g.granted_by)
        elif g.expires_at is not None and when >= g.expires_at:
            if rank < 8:
                rank, reason = 8, _EXPIRED
        elif best is None or _better(g, best, need):
            best = g
    return best, reason


def _better(g: Grant, best: Grant, need: int) -> bool:
    gap, best_gap = (need & ~g.categories).bit_count(), (need & ~best.categories).bit_count()
    return gap < best_gap or (gap == best_gap and g.seq > best.seq)


def evaluate(screened: tuple[Screened, ...], when: datetime, need: int) -> Verdict:
    """Whether the screened grants cover an event needing categories ``need`` at ``when``.

    ``screened`` holds one entry per party group (:func:`screen`); all must cover.
    """
    if len(screened) == 1:  # the common case: one party group
        grant, reason = pick(screened[0], when, need)
        if grant is None:
            return reason, (), 0
        return None, (grant.consent_id,), grant.categories
    ids: tuple[str, ...] = ()
    covered = -1
    for group in screened:
        grant, reason = pick(group, when, need)
        if grant is None:
            return reason, (), 0
        ids += (grant.consent_id,)
        covered &= grant.categories
    return None, ids, covered
