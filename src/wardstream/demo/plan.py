"""The demo's traffic as data: a timeline of state records, events and poison records.

A plan holds no wall-clock time and no Kafka: times are seconds from the start
of the run (``at``), ages are days, consent start dates are days before the
run. ``wardstream.demo.produce`` turns a plan into Kafka records against a
start time, so the same seed gives the same plan on every machine and day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SubjectStep:
    """A SubjectProfile written at ``at`` (the first one, or an update)."""

    at: float
    subject_id: str
    jurisdiction: str
    age_days: int | None
    """Age at the start of the run in days; None when only a verified band is known."""
    age_band: str | None = None
    verification: str = "document"
    vulnerable: bool = False
    deregistered: bool = False
    """True: the profile says the account was deregistered at ``at``."""


@dataclass(frozen=True, slots=True)
class ConsentStep:
    """A ConsentEvent written at ``at``."""

    at: float
    consent_id: str
    subject_id: str
    granted_by: str
    action: str
    purposes: tuple[str, ...]
    categories: tuple[str, ...]
    policy_version: int
    evidence: str
    guardian_ref: str | None = None
    recipients: tuple[str, ...] = ()
    days_before_start: float | None = None
    """effective_at this many days before the run starts; None: effective at ``at``."""
    expires_at: float | None = None
    """Seconds from the start when the consent expires; None: it does not."""


@dataclass(frozen=True, slots=True)
class EventStep:
    """One user-data event of ``pipeline``; its content is built from ``n`` (see events)."""

    at: float
    pipeline: str
    subject_id: str
    n: int


@dataclass(frozen=True, slots=True)
class PoisonStep:
    """A record on ``pipeline``'s source that cannot be decided: it must be dead-lettered."""

    at: float
    pipeline: str
    kind: str
    n: int


Step = SubjectStep | ConsentStep | EventStep | PoisonStep


@dataclass(frozen=True, slots=True)
class Plan:
    seed: int
    n_events: int
    span_s: float
    """Seconds of event time the timeline covers; the producer scales it to the run."""
    steps: tuple[Step, ...]
    archetypes: Mapping[str, str] = field(default_factory=dict, compare=True, hash=False)
    """subject_id -> the story the generator gave it (adult, child_withdraws, ...)."""

    def source_records(self) -> dict[str, int]:
        """Records per pipeline source topic: events plus poison records."""
        counts: Counter[str] = Counter()
        for step in self.steps:
            if isinstance(step, EventStep | PoisonStep):
                counts[step.pipeline] += 1
        return dict(sorted(counts.items()))

    def census(self) -> dict[str, int]:
        """How many records of each kind the plan writes, and how many subjects it names."""
        kinds = Counter(type(s).__name__ for s in self.steps)
        return {
            "subjects": len(self.archetypes),
            "profiles": kinds["SubjectStep"],
            "consents": kinds["ConsentStep"],
            "events": kinds["EventStep"],
            "poison": kinds["PoisonStep"],
        }

    def stories(self) -> dict[str, int]:
        """Subjects per story."""
        return dict(sorted(Counter(self.archetypes.values()).items()))
