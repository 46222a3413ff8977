"""ConsentLedger: the newest consent state of one subject, folded from its events.

Fold rules (events applied in arrival order, i.e. `ward.consents` log order
for the subject's key):

* GRANTED ``c`` opens consent ``c`` with its scope, replacing an earlier grant
  with the same id. A consent id that was ever withdrawn stays withdrawn: ids
  are single-use, re-consent needs a new id (this also makes a replayed grant
  after its withdrawal harmless).
* WITHDRAWN ``c`` closes consent ``c``. If ``c`` is unknown, it closes every
  open grant sharing a purpose with the withdrawal (all grants if the
  withdrawal lists no purpose) - failing closed.
* REFUSED declines the listed purposes; an empty list declines every
  non-essential purpose. For each purpose the newest statement wins: a grant
  made after a refusal covers again; grants made before it no longer count.
  A refusal by either party counts (a child's own "no" is respected).

A withdrawal known at decision time blocks, whatever the event's own time
(SPEC "State and time"). Whether a grant is active (effective_at <= t <
expires_at) is judged at decision time by the coverage code.

For speed, each grant's categories are compiled to an int bit set and the
grants relevant to a purpose are memoised on the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.enums import ConsentAction, DataCategory, GrantedBy

CATEGORY_BIT = {cat: 1 << i for i, cat in enumerate(DataCategory)}


def category_mask(categories: Iterable[DataCategory]) -> int:
    mask = 0
    for cat in categories:
        mask |= CATEGORY_BIT[cat]
    return mask


@dataclass(frozen=True, slots=True)
class Grant:
    """One consent as the fold left it."""

    consent_id: str
    granted_by: GrantedBy
    purposes: frozenset[str]
    categories: int
    recipients: frozenset[str]
    public_disclosure: bool
    policy_version: int
    effective_at: datetime
    expires_at: datetime | None
    evidence_method: str
    seq: int
    event: ConsentEvent
    withdrawn_at: datetime | None = None

    @classmethod
    def from_event(cls, event: ConsentEvent, seq: int) -> Grant:
        return cls(
            consent_id=event.consent_id,
            granted_by=event.granted_by,
            purposes=frozenset(event.purposes),
            categories=category_mask(event.data_categories),
            recipients=frozenset(event.third_party_recipients),
            public_disclosure=event.public_disclosure,
            policy_version=event.policy_version,
            effective_at=event.effective_at,
            expires_at=event.expires_at,
            evidence_method=event.evidence_method,
            seq=seq,
            event=event,
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    purposes: frozenset[str]  # empty = every non-essential purpose
    seq: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Candidates:
    """The grants that may cover one purpose, after refusals are applied."""

    grants: tuple[Grant, ...]
    refused: bool  # a refusal is the newest statement about the purpose


@dataclass(frozen=True, slots=True)
class ConsentLedger:
    subject_id: str = field(repr=False)
    events: tuple[ConsentEvent, ...] = ()
    grants: tuple[Grant, ...] = field(init=False)
    refusals: tuple[Refusal, ...] = field(init=False)
    memo: dict[Any, Any] = field(
        init=False, default_factory=dict, compare=False, repr=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "events", tuple(self.events))
        grants, refusals = _fold(self.events)
        object.__setattr__(self, "grants", grants)
        object.__setattr__(self, "refusals", refusals)

    @classmethod
    def empty(cls, subject_id: str) -> ConsentLedger:
        return cls(subject_id)

    def apply(self, event: ConsentEvent) -> ConsentLedger:
        """A new ledger with ``event`` folded in (this one is unchanged)."""
        return ConsentLedger(self.subject_id, (*self.events, event))

    def affected_by(self, withdrawal: ConsentEvent) -> tuple[Grant, ...]:
        """Open grants that a WITHDRAWN event would close (empty for other actions)."""
        if withdrawal.action is not ConsentAction.WITHDRAWN:
            return ()
        after = {g.consent_id: g for g in self.apply(withdrawal).grants}
        return tuple(
            g
            for g in self.grants
            if g.withdrawn_at is None and after[g.consent_id].withdrawn_at is not None
        )

    def candidates(self, purpose: str, essential: bool) -> Candidates:
        """Grants that may cover ``purpose``: newer than its newest refusal."""
        key = (purpose, essential)
        found = self.memo.get(key)
        if found is None:
            last = max((r.seq for r in self.refusals if _names(r, purpose, essential)), default=0)
            grants = tuple(g for g in self.grants if purpose in g.purposes and g.seq > last)
            found = self.memo[key] = Candidates(grants, refused=last > 0 and not grants)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"subject_id": self.subject_id, "events": [e.to_dict() for e in self.events]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConsentLedger:
        events = tuple(ConsentEvent.from_dict(e) for e in data.get("events") or ())
        return cls(str(data["subject_id"]), events)


def _names(refusal: Refusal, purpose: str, essential: bool) -> bool:
    return purpose in refusal.purposes if refusal.purposes else not essential


def _refuses(purposes: frozenset[str], grant: Grant) -> bool:
    return bool(grant.purposes & purposes) if purposes else True


def _fold(events: tuple[ConsentEvent, ...]) -> tuple[tuple[Grant, ...], tuple[Refusal, ...]]:
    grants: dict[str, Grant] = {}
    withdrawn: dict[str, datetime] = {}
    refusals: list[Refusal] = []
    for seq, event in enumerate(events, start=1):
        if event.action is ConsentAction.GRANTED:
            grant = Grant.from_event(event, seq)
            closed = withdrawn.get(event.consent_id)
            grants[event.consent_id] = (
                grant if closed is None else replace(grant, withdrawn_at=closed)
            )
        elif event.action is ConsentAction.WITHDRAWN:
            for cid in _withdrawal_targets(event, grants):
                withdrawn.setdefault(cid, event.effective_at)
                if cid in grants and grants[cid].withdrawn_at is None:
                    grants[cid] = replace(grants[cid], withdrawn_at=event.effective_at)
        else:
            refusals.append(Refusal(frozenset(event.purposes), seq, event.effective_at))
    return tuple(grants.values()), tuple(refusals)


def _withdrawal_targets(event: ConsentEvent, grants: dict[str, Grant]) -> list[str]:
    if event.consent_id in grants:
        return [event.consent_id]
    named = frozenset(event.purposes)
    hit = [cid for cid, g in grants.items() if g.withdrawn_at is None and _refuses(named, g)]
    return [event.consent_id, *hit]
