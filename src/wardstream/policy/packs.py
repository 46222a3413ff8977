"""Jurisdiction packs: the age thresholds and consent rules of each law, as data.

A pack says below which age a subject is a CHILD and below which a MINOR
(over that: ADULT), whose consent a child's and a minor's data need, and which
purpose kinds are closed to each group whatever the consent.

Built-in packs (REQUIREMENTS.md "Jurisdiction packs"):

* **CN** (default): child under 14, guardian consents (CP art 9, PIPL art 31).
  Minors 14-17 consent themselves (PIPL art 13/14): a minor's event needs the
  minor's own (SUBJECT) consent, and marketing/profiling purposes are closed
  to all under 18 (MOR art 24). A guardian's consent given while the subject
  was under 14 stops counting on the 14th birthday; the minor must consent.
* **US** (COPPA): child under 13, parent consents with a verifiable method.
  13-17 year olds are MINOR for tagging only: no consent is gated.
* **GB** (UK GDPR art 8 + AADC): child under 13, parent consents. Minors:
  profiling closed by default (AADC std 12); an operator may override.
* **EU member states** (GDPR art 8): the member state's age; the holder of
  parental responsibility consents. France under 15: child and parent jointly
  (both a GUARDIAN and a SUBJECT consent must cover the event). ``EU`` is the
  art 8(1) default of 16. Slovenia is not in the REQUIREMENTS table and gets
  that default (16).

Each pack cites its own law in rule ids (``wardstream.policy.rules``).
Every pack closes marketing and profiling to children (MOR art 24, AADC std
11/12, COPPA 2025) and traffic, fundraising, live streaming and sales to
children in difficult situations (DSM). Operators add packs or override
fields of these through configuration (``wardstream.config.policy``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from wardstream.domain.enums import GrantedBy, PurposeKind
from wardstream.domain.reasons import RULE_IDS, ReasonCode
from wardstream.policy.errors import PackError
from wardstream.policy.rules import EU_RULES as _EU_RULES
from wardstream.policy.rules import GB_RULES as _GB_RULES
from wardstream.policy.rules import US_RULES as _US_RULES

G, S = GrantedBy.GUARDIAN, GrantedBy.SUBJECT
K = PurposeKind
CHILD_CLOSED = frozenset({K.MARKETING, K.PROFILING})
VULNERABLE_CLOSED = frozenset({K.TRAFFIC, K.FUNDRAISING, K.LIVE_STREAMING, K.SALES})


@dataclass(frozen=True, slots=True, kw_only=True)
class JurisdictionPack:
    code: str
    child_under: int
    minor_under: int = 18
    child_consent_by: frozenset[GrantedBy] = frozenset({G})
    child_consent_joint: bool = False
    minor_consent_by: frozenset[GrantedBy] = frozenset()
    minor_consent_joint: bool = False
    child_closed_kinds: frozenset[PurposeKind] = CHILD_CLOSED
    minor_closed_kinds: frozenset[PurposeKind] = frozenset()
    vulnerable_closed_kinds: frozenset[PurposeKind] = VULNERABLE_CLOSED
    rules: Mapping[ReasonCode, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not 0 < self.child_under <= self.minor_under <= 25:
            raise PackError(f"pack {self.code}: need 0 < child_under <= minor_under <= 25")
        if not self.child_consent_by:
            raise PackError(f"pack {self.code}: child_consent_by must name GUARDIAN or SUBJECT")
        object.__setattr__(self, "rules", MappingProxyType({**RULE_IDS, **self.rules}))

    def rule(self, code: ReasonCode) -> str:
        """The rule id this pack gives a reason code."""
        return self.rules[code]


def _eu(code: str, age: int, **extra: object) -> JurisdictionPack:
    extra.setdefault("rules", _EU_RULES)
    return JurisdictionPack(code=code, child_under=age, **extra)  # type: ignore[arg-type]


EU_ART8_AGES: Mapping[str, int] = MappingProxyType(
    {
        **dict.fromkeys(("BE", "DK", "EE", "FI", "LV", "MT", "PT", "SE"), 13),
        **dict.fromkeys(("AT", "BG", "CY", "IT", "LT", "ES"), 14),
        **dict.fromkeys(("CZ", "FR", "GR", "SI"), 15),  # SI: ZVOP-2 (2023)
        **dict.fromkeys(("DE", "HR", "HU", "IE", "LU", "NL", "PL", "RO", "SK"), 16),
    }
)
EU_DEFAULT_AGE = 16
ALIASES: Mapping[str, str] = MappingProxyType({"EL": "GR", "UK": "GB"})

CN = JurisdictionPack(
    code="CN",
    child_under=14,
    minor_consent_by=frozenset({S}),
    minor_closed_kinds=CHILD_CLOSED,
)
US = JurisdictionPack(code="US", child_under=13, rules=_US_RULES)
GB = JurisdictionPack(
    code="GB", child_under=13, minor_closed_kinds=frozenset({K.PROFILING}), rules=_GB_RULES
)


def _builtin() -> dict[str, JurisdictionPack]:
    packs = {p.code: p for p in (CN, US, GB)}
    for code, age in EU_ART8_AGES.items():
        extra = {
            "child_consent_by": frozenset({G, S}),
            "child_consent_joint": True,
            "rules": {**_EU_RULES, ReasonCode.NO_OWN_CONSENT: "FR-LIL/art45"},
        }
        packs[code] = _eu(code, age, **(extra if code == "FR" else {}))
    packs["EU"] = _eu("EU", EU_DEFAULT_AGE)
    return packs


BUILTIN_PACKS: Mapping[str, JurisdictionPack] = MappingProxyType(_builtin())
DEFAULT_JURISDICTION = "CN"


def normalise_code(code: str) -> str:
    """Upper-case ISO code with aliases resolved (EL -> GR, UK -> GB)."""
    upper = code.strip().upper()
    return ALIASES.get(upper, upper)


def strictest(packs: Iterable[JurisdictionPack]) -> JurisdictionPack:
    """A synthetic pack at least as strict as every given pack.

    Used for a profile whose jurisdiction has no pack (REQUIREMENTS safe default
    5): highest ages, the union of closed kinds, guardian consent for children
    and, if any pack gates minors, the minor's own consent.
    """
    all_packs = tuple(packs)
    minor_by = frozenset().union(*(p.minor_consent_by for p in all_packs))
    return JurisdictionPack(
        code="STRICTEST",
        child_under=max(p.child_under for p in all_packs),
        minor_under=max(p.minor_under for p in all_packs),
        minor_consent_by=minor_by,
        child_closed_kinds=frozenset().union(*(p.child_closed_kinds for p in all_packs)),
        minor_closed_kinds=frozenset().union(*(p.minor_closed_kinds for p in all_packs)),
        vulnerable_closed_kinds=frozenset().union(*(p.vulnerable_closed_kinds for p in all_packs)),
    )


def with_overrides(base: JurisdictionPack | None, code: str, **changes: object) -> JurisdictionPack:
    """A pack from a built-in one with some fields changed, or a new pack."""
    if base is None:
        return JurisdictionPack(code=code, **changes)  # type: ignore[arg-type]
    rules = changes.pop("rules", None)
    merged = {**base.rules, **rules} if isinstance(rules, Mapping) else base.rules
    return replace(base, code=code, rules=merged, **changes)  # type: ignore[arg-type]
