"""The ``policy:`` section of ``wardstream.yaml``: purposes, processors, packs, deadlines.

Example::

    policy:
      default_jurisdiction: CN          # pack for subjects and pipelines naming none
      purposes:
        learning:      {essential: true, description: lessons and progress}
        analytics:     {}
        targeted_ads:  {kinds: [marketing, profiling]}
        live_streaming: {kinds: [live_streaming]}
        fundraising:   {kinds: [fundraising], closed_to_children: true}
      assessed_processors: [partner-x]  # third parties with a completed assessment
      consent_evidence_methods: [signed_form, payment_card, government_id, video_call]
      quarantine_window: 7d
      deletion_deadline: 15d
      jurisdictions:
        GB: {minor_closed_kinds: [marketing, profiling]}    # override a built-in pack
        XK: {child_under: 16, child_consent_by: [GUARDIAN]} # add a pack

Built-in packs and their defaults are documented in ``wardstream.policy.packs``.
Durations are ``500ms``, ``10s``, ``15m``, ``12h``, ``30d`` or ``2w``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
)
from pydantic_core import PydanticCustomError

from wardstream.config.errors import PolicyConfigError, Problem, closest, load_yaml
from wardstream.config.errors import problems_from_validation as _problems
from wardstream.domain.durations import DURATION_HELP, DurationError, format_duration
from wardstream.domain.durations import parse_duration as _parse
from wardstream.domain.enums import GrantedBy, PurposeKind
from wardstream.domain.reasons import ReasonCode
from wardstream.policy.context import (
    DEFAULT_DELETION_DEADLINE,
    DEFAULT_EVIDENCE_METHODS,
    DEFAULT_QUARANTINE_WINDOW,
    PolicyContext,
    PurposeSpec,
)
from wardstream.policy.errors import PackError
from wardstream.policy.packs import BUILTIN_PACKS, JurisdictionPack, normalise_code, with_overrides

_FROZEN = ConfigDict(frozen=True, extra="forbid")
KindName = Literal["marketing", "profiling", "traffic", "fundraising", "live_streaming", "sales"]
PartyName = Literal["GUARDIAN", "SUBJECT"]


def ward_error(problem: str, fix: str) -> PydanticCustomError:
    """A validation error whose message and fix reach the Problem unchanged."""
    return PydanticCustomError("ward_value", "{problem}", {"problem": problem, "fix": fix})


def _duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    try:
        parsed = _parse(value)
    except DurationError:
        raise ward_error(f"bad duration {value!r}", f"write {DURATION_HELP}") from None
    if parsed <= timedelta(0):
        raise ward_error("duration must be positive", f"write {DURATION_HELP}")
    return parsed


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class PurposeConfig(BaseModel):
    model_config = _FROZEN

    kinds: tuple[KindName, ...] = Field(
        default=(),
        description="What the law singles out about this purpose (marketing, profiling, ...).",
    )
    essential: bool = Field(
        default=False,
        description="Needed to provide the service; a blanket refusal does not block it.",
    )
    closed_to_children: bool = Field(
        default=False, description="Closed to every child and minor, whatever the consent."
    )
    description: str = Field(default="", description="What the purpose is, for people.")


class PackConfig(BaseModel):
    """Fields of a jurisdiction pack; unset fields keep the built-in pack's values."""

    model_config = _FROZEN

    child_under: int | None = Field(default=None, ge=1, le=25, description="CHILD below this age.")
    minor_under: int | None = Field(default=None, ge=1, le=25, description="MINOR below this age.")
    child_consent_by: tuple[PartyName, ...] | None = Field(
        default=None, description="Who consents for a child: GUARDIAN, SUBJECT or both."
    )
    child_consent_joint: bool | None = Field(
        default=None, description="True: every party in child_consent_by must consent."
    )
    minor_consent_by: tuple[PartyName, ...] | None = Field(
        default=None, description="Who consents for a minor; empty: minors need no consent."
    )
    minor_consent_joint: bool | None = Field(
        default=None, description="True: every party in minor_consent_by must consent."
    )
    child_closed_kinds: tuple[KindName, ...] | None = Field(
        default=None, description="Purpose kinds closed to children whatever the consent."
    )
    minor_closed_kinds: tuple[KindName, ...] | None = Field(
        default=None, description="Purpose kinds closed to minors whatever the consent."
    )
    vulnerable_closed_kinds: tuple[KindName, ...] | None = Field(
        default=None, description="Purpose kinds closed to children in difficult situations."
    )
    rules: dict[str, str] | None = Field(
        default=None, description="Rule id per reason code, e.g. NO_GUARDIAN_CONSENT: XK-LAW/art5."
    )

    @field_validator("rules")
    @classmethod
    def _known_codes(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for code in value or {}:
            if code not in ReasonCode.__members__:
                guess = closest(code, ReasonCode.__members__)
                hint = f"did you mean {guess}? " if guess else ""
                raise ward_error(f"unknown reason code '{code}'", f"{hint}use a ReasonCode name")
        return value

    def changes(self) -> dict[str, Any]:
        """The set fields, converted to the pack's types."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump(exclude_none=True).items():
            if name.endswith("_by"):
                value = frozenset(GrantedBy(v) for v in value)
            elif name.endswith("_kinds"):
                value = frozenset(PurposeKind(v) for v in value)
            elif name == "rules":
                value = {ReasonCode[k]: v for k, v in value.items()}
            out[name] = value
        return out


def build_pack(code: str, config: PackConfig) -> JurisdictionPack:
    """A pack from configuration: a built-in one overridden, or a new one."""
    base = BUILTIN_PACKS.get(code)
    changes = config.changes()
    if base is None and "child_under" not in changes:
        raise PackError(f"new jurisdiction {code} needs child_under")
    return with_overrides(base, code, **changes)


class PolicyConfig(BaseModel):
    model_config = _FROZEN

    jurisdictions: dict[str, PackConfig] = Field(
        default_factory=dict, description="Packs to add or override, by ISO code."
    )
    default_jurisdiction: str = Field(
        default="CN", description="Pack for subjects and pipelines that name no jurisdiction."
    )
    purposes: dict[str, PurposeConfig] = Field(
        default_factory=dict, description="Every purpose a pipeline may name."
    )
    assessed_processors: tuple[str, ...] = Field(
        default=(), description="Third-party recipients whose assessment is complete (CP art 16)."
    )
    consent_evidence_methods: tuple[str, ...] = Field(
        default=tuple(sorted(DEFAULT_EVIDENCE_METHODS)),
        min_length=1,
        description="Verification methods that make a consent count (evidence 'method:ref').",
    )
    quarantine_window: Duration = Field(
        default=DEFAULT_QUARANTINE_WINDOW,
        description="How long quarantined events wait for consent.",
    )
    deletion_deadline: Duration = Field(
        default=DEFAULT_DELETION_DEADLINE,
        description="Time downstream systems get to carry out a deletion.",
    )

    @field_validator("jurisdictions")
    @classmethod
    def _packs_build(cls, value: dict[str, PackConfig]) -> dict[str, PackConfig]:
        for code, pack in value.items():
            try:
                build_pack(normalise_code(code), pack)
            except PackError as exc:
                raise ward_error(
                    str(exc), "set child_under (and minor_under) to valid ages"
                ) from None
        return value

    @field_validator("default_jurisdiction")
    @classmethod
    def _known_default(cls, value: str, info: ValidationInfo) -> str:
        known = set(BUILTIN_PACKS) | {normalise_code(c) for c in info.data.get("jurisdictions", {})}
        if normalise_code(value) not in known:
            guess = closest(value.upper(), known)
            hint = f"did you mean {guess}? " if guess else ""
            raise ward_error(
                f"no pack for jurisdiction '{value}'", f"{hint}add it under jurisdictions"
            )
        return value

    @field_serializer("quarantine_window", "deletion_deadline")
    def _write_duration(self, value: timedelta) -> str:
        return format_duration(value)

    def packs(self) -> dict[str, JurisdictionPack]:
        """Built-in packs with this configuration's additions and overrides."""
        packs = dict(BUILTIN_PACKS)
        for code, pack in self.jurisdictions.items():
            norm = normalise_code(code)
            packs[norm] = build_pack(norm, pack)
        return packs

    def to_context(self, *, service_stopped: bool = False) -> PolicyContext:
        """The PolicyContext the policy core decides with."""
        purposes = {
            name: PurposeSpec(
                name, frozenset(PurposeKind(k) for k in p.kinds), p.essential, p.closed_to_children
            )
            for name, p in self.purposes.items()
        }
        return PolicyContext(
            packs=self.packs(),
            default_jurisdiction=self.default_jurisdiction,
            purposes=purposes,
            assessed_processors=frozenset(self.assessed_processors),
            accepted_evidence=frozenset(self.consent_evidence_methods),
            quarantine_window=self.quarantine_window,
            deletion_deadline=self.deletion_deadline,
            service_stopped=service_stopped,
        )


def check_policy_file(path: str | Path) -> tuple[PolicyConfig | None, list[Problem]]:
    """Validate the ``policy:`` section of an operator file; (config or None, problems)."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        fix = "create the file or pass the right path"
        return None, [Problem(file, 1, "", f"cannot read: {exc.strerror}", fix)]
    data, marks, problems = load_yaml(text, file)
    if problems:
        return None, problems
    section = data.get("policy", {}) if isinstance(data, dict) else None
    if not isinstance(section, dict):
        fix = "write 'policy:' followed by indented keys"
        return None, [Problem(file, 1, "policy", "the policy section must be a mapping", fix)]
    try:
        return PolicyConfig.model_validate(section), []
    except ValidationError as exc:
        return None, _problems(exc, PolicyConfig, marks, file, prefix=("policy",))


def load_policy_config(path: str | Path) -> PolicyConfig:
    """The ``policy:`` section of ``path``; raises PolicyConfigError naming line and fix."""
    config, problems = check_policy_file(path)
    if config is None:
        raise PolicyConfigError(problems)
    return config
