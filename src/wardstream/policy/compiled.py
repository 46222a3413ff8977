"""Pipelines compiled for fast decisions.

A pipeline's field -> category map becomes int bit masks once; each distinct
set of present fields is turned into a :class:`FieldShape` once; for each
jurisdiction pack a :class:`PackPlan` precomputes the purpose checks and
memoises the (immutable) Decisions it returns, so the common path builds no
new objects.

The subject field and the event-time field are never removed from an event:
an unlisted subject field counts as ``identifier``, an unlisted event-time
field as ``technical``. The subject field's category is *essential*: a consent
that does not cover it cannot be met by redaction (the record would still be
keyed by the subject), so the event is blocked with CATEGORY_NOT_COVERED.
``technical`` fields never need consent and are never removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wardstream.domain.decision import Decision
from wardstream.domain.enums import (
    Action,
    AgeBand,
    DataCategory,
    DestinationKind,
    GrantedBy,
    MissingConsent,
)
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.reasons import ReasonCode
from wardstream.policy.context import PolicyContext, PurposeSpec, remember
from wardstream.policy.ledger import CATEGORY_BIT
from wardstream.policy.packs import JurisdictionPack

_SHAPE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class FieldShape:
    """One set of present fields, as bits."""

    need: int  # categories of the listed, non-technical fields present
    unlisted: frozenset[str]  # present fields the pipeline does not list
    listed: tuple[tuple[str, int], ...]  # (field, category bit) of the above
    removals: dict[int, frozenset[str]] = field(default_factory=dict, compare=False)

    def remove_for(self, covered: int) -> frozenset[str]:
        """Fields to remove when a consent covers the categories in ``covered``."""
        found = self.removals.get(covered)
        if found is None:
            dropped = {name for name, bit in self.listed if not bit & covered}
            found = self.removals[covered] = frozenset(dropped | self.unlisted)
        return found


Groups = tuple[frozenset[GrantedBy], ...]


def consent_groups(parties: frozenset[GrantedBy], joint: bool) -> Groups:
    """Party groups whose consent is needed: one group (any of) or one per party (joint)."""
    if not parties:
        return ()
    return tuple(frozenset({p}) for p in sorted(parties)) if joint else (parties,)


@dataclass(frozen=True, slots=True)
class PackPlan:
    """A pipeline's checks under one jurisdiction pack, with memoised Decisions."""

    pack: JurisdictionPack
    pipeline: str
    child_closed: bool
    minor_closed: bool
    vulnerable_closed: bool
    operator_closed: bool
    child_groups: Groups
    minor_groups: Groups
    memo: dict[Any, Decision] = field(default_factory=dict, compare=False, repr=False)

    def decision(
        self,
        action: Action,
        band: AgeBand,
        treated: AgeBand,
        reasons: tuple[ReasonCode, ...],
        consent_ids: tuple[str, ...] = (),
        remove: frozenset[str] = frozenset(),
        memo: dict[Any, Decision] | None = None,
    ) -> Decision:
        """The Decision for these values, built once (in ``memo``, else the plan's own)."""
        memo = self.memo if memo is None else memo
        key = (action, band, treated, reasons, consent_ids, remove)
        found = memo.get(key)
        if found is None:
            found = Decision(
                action=action,
                age_band=band,
                treated_as=treated,
                reasons=reasons,
                rules=tuple(self.pack.rule(code) for code in reasons),
                consent_id=consent_ids[0] if consent_ids else None,
                consent_ids=consent_ids,
                remove_fields=remove,
                jurisdiction=self.pack.code,
                pipeline=self.pipeline,
            )
            remember(memo, key, found)
        return found


@dataclass(frozen=True, slots=True)
class CompiledPipeline:
    pipeline: Pipeline
    purpose: PurposeSpec
    bits: dict[str, int]
    keep: frozenset[str]
    essential: int
    recipient: str | None
    public: bool
    assessed: bool
    blocked: Action  # the pipeline's on_missing_consent, as an action
    shapes: dict[frozenset[str], FieldShape] = field(default_factory=dict, compare=False)
    plans: dict[str, PackPlan] = field(default_factory=dict, compare=False)
    memo: dict[Any, Any] = field(default_factory=dict, compare=False)  # for decide.prepare

    def shape(self, present: frozenset[str]) -> FieldShape:
        found = self.shapes.get(present)
        if found is None:
            found = self._shape(present)
            if len(self.shapes) >= _SHAPE_LIMIT:
                self.shapes.clear()
            self.shapes[present] = found
        return found

    def _shape(self, present: frozenset[str]) -> FieldShape:
        need, listed, unlisted = 0, [], set()
        for name in sorted(present):
            if name in self.keep:
                continue
            bit = self.bits.get(name)
            if bit is None:
                unlisted.add(name)
            else:
                need |= bit
                listed.append((name, bit))
        return FieldShape(need, frozenset(unlisted), tuple(listed))

    def plan(self, pack: JurisdictionPack) -> PackPlan:
        found = self.plans.get(pack.code)
        if found is None or found.pack is not pack:
            kinds = self.purpose.kinds
            found = self.plans[pack.code] = PackPlan(
                pack=pack,
                pipeline=self.pipeline.name,
                child_closed=bool(kinds & pack.child_closed_kinds),
                minor_closed=bool(kinds & pack.minor_closed_kinds),
                vulnerable_closed=bool(kinds & pack.vulnerable_closed_kinds),
                operator_closed=self.purpose.closed_to_children,
                child_groups=consent_groups(pack.child_consent_by, pack.child_consent_joint),
                minor_groups=consent_groups(pack.minor_consent_by, pack.minor_consent_joint),
            )
        return found


def compile_pipeline(pipeline: Pipeline, policy: PolicyContext) -> CompiledPipeline:
    """Compile a pipeline under a policy (see :func:`compiled`, which memoises)."""
    technical = DataCategory.TECHNICAL
    bits = {
        name: CATEGORY_BIT[cat] for name, cat in pipeline.fields.items() if cat is not technical
    }
    keep = {name for name, cat in pipeline.fields.items() if cat is technical}
    keep.add(pipeline.event_time)
    subject_cat = pipeline.fields.get(pipeline.subject, DataCategory.IDENTIFIER)
    if pipeline.subject != "key":
        keep.add(pipeline.subject)
    kind, recipient = pipeline.destination_kind, pipeline.recipient
    return CompiledPipeline(
        pipeline=pipeline,
        purpose=policy.purpose(pipeline.purpose),
        bits=bits,
        keep=frozenset(keep),
        essential=0 if subject_cat is technical else CATEGORY_BIT[subject_cat],
        recipient=recipient,
        public=kind is DestinationKind.PUBLIC,
        assessed=recipient is None or recipient in policy.assessed_processors,
        blocked=Action.QUARANTINE
        if pipeline.on_missing_consent is MissingConsent.QUARANTINE
        else Action.DROP,
    )


def compiled(pipeline: Pipeline, policy: PolicyContext) -> CompiledPipeline:
    """The compiled form of ``pipeline`` under ``policy``, memoised on the pipeline object."""
    hit = policy.pipeline_memo.get(id(pipeline))
    if hit is not None and hit.pipeline is pipeline:
        result: CompiledPipeline = hit
        return result
    result = compile_pipeline(pipeline, policy)
    remember(policy.pipeline_memo, id(pipeline), result)
    return result
