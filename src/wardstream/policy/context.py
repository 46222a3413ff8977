"""PolicyContext: the operator's policy, as the core needs it, plus its caches.

Built once at start-up (``wardstream.config.policy.PolicyConfig.to_context``
or :func:`build_context`) and shared by every decision. It carries two small
memo tables (compiled pipelines; facts for subjects without a profile); the
per-subject caches live on the profile and ledger objects themselves. Caches
never change an outcome, they only make repeated work a dict lookup.

Purposes. Each purpose a pipeline names is declared with its ``kinds`` (what
the law singles out: marketing, profiling, traffic, ...), whether it is
``essential`` to the service (a blanket REFUSED consent declines only the
non-essential purposes, CP art 11 / MOR art 32: refusing optional processing
must not block the service) and whether the operator closes it to every child
(``closed_to_children``). An undeclared purpose is treated as declared with
no kinds, not essential, not closed; ``wardstream check`` reports it.

Accepted evidence. Consent counts only when ``evidence`` names a method on
``accepted_evidence`` (REQUIREMENTS safe default 6). The default list follows
COPPA 312.5(b)(2) and is neither "email" nor "self_declared".

Ids. ``ids`` is the secret key every id derived from a subject is made with
(:mod:`wardstream.policy.idkey`); without it, issuing a deletion, notice or
correction raises (fail closed) rather than issue a guessable id. Deciding
events does not need it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice
from types import MappingProxyType
from typing import Any

from wardstream.domain.enums import PurposeKind
from wardstream.policy.idkey import IdKey
from wardstream.policy.packs import (
    BUILTIN_PACKS,
    DEFAULT_JURISDICTION,
    JurisdictionPack,
    normalise_code,
    strictest,
)

DEFAULT_EVIDENCE_METHODS = frozenset(
    {
        "signed_form",
        "payment_card",
        "phone_call",
        "video_call",
        "government_id",
        "knowledge_based",
        "face_match",
        "text_plus",
        "email_plus",
        "sms_code",
    }
)
DEFAULT_QUARANTINE_WINDOW = timedelta(days=7)
DEFAULT_DELETION_DEADLINE = timedelta(days=15)
_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class PurposeSpec:
    name: str
    kinds: frozenset[PurposeKind] = frozenset()
    essential: bool = False
    closed_to_children: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyContext:
    packs: Mapping[str, JurisdictionPack] = field(default_factory=lambda: BUILTIN_PACKS, hash=False)
    default_jurisdiction: str = DEFAULT_JURISDICTION
    purposes: Mapping[str, PurposeSpec] = field(default_factory=dict, hash=False)
    assessed_processors: frozenset[str] = frozenset()
    accepted_evidence: frozenset[str] = DEFAULT_EVIDENCE_METHODS
    quarantine_window: timedelta = DEFAULT_QUARANTINE_WINDOW
    deletion_deadline: timedelta = DEFAULT_DELETION_DEADLINE
    service_stopped: bool = False
    ids: IdKey | None = field(default=None, hash=False, compare=False, repr=False)
    strictest_pack: JurisdictionPack = field(init=False, hash=False, compare=False, repr=False)
    pipeline_memo: dict[int, Any] = field(
        init=False, hash=False, compare=False, repr=False, default_factory=dict
    )
    facts_memo: dict[Any, Any] = field(
        init=False, hash=False, compare=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "packs", MappingProxyType({normalise_code(k): v for k, v in self.packs.items()}))
        set_(self, "default_jurisdiction", normalise_code(self.default_jurisdiction))
        if self.default_jurisdiction not in self.packs:
            raise ValueError(f"default jurisdiction {self.default_jurisdiction} has no pack")
        set_(self, "purposes", MappingProxyType(dict(self.purposes)))
        set_(self, "accepted_evidence", frozenset(m.lower() for m in self.accepted_evidence))
        set_(self, "strictest_pack", strictest(self.packs.values()))

    def pack_for(self, profile_code: str | None, pipeline_code: str | None) -> JurisdictionPack:
        """The pack for a subject: the profile's, else the pipeline's, else the default.

        A profile naming a jurisdiction without a pack gets the strictest
        combination of the configured packs (safe default 5).
        """
        if profile_code:
            pack = self.packs.get(normalise_code(profile_code))
            return pack if pack is not None else self.strictest_pack
        if pipeline_code:
            pack = self.packs.get(normalise_code(pipeline_code))
            if pack is not None:
                return pack
        return self.packs[self.default_jurisdiction]

    def purpose(self, name: str) -> PurposeSpec:
        spec = self.purposes.get(name)
        return spec if spec is not None else PurposeSpec(name)


def remember(table: dict[Any, Any], key: Any, value: Any, limit: int = _CACHE_LIMIT) -> None:
    """Store in a memo table; past ``limit`` entries the oldest half is evicted first."""
    if len(table) >= limit:
        for old in list(islice(table, len(table) // 2 or 1)):
            del table[old]
    table[key] = value


def build_context(
    *,
    purposes: Iterable[PurposeSpec] = (),
    packs: Mapping[str, JurisdictionPack] | None = None,
    **settings: Any,
) -> PolicyContext:
    """A PolicyContext from purpose specs and settings (built-in packs by default)."""
    return PolicyContext(
        packs=BUILTIN_PACKS if packs is None else packs,
        purposes={p.name: p for p in purposes},
        **settings,
    )
