"""What the output topics hold, counted by reading them back from the beginning.

``Tally`` is the demo's ledger of outcomes. Every source event ends in exactly
one place, and the counts here find it:

- **sink**: records on the pipeline's sink topic, minus those put there by a
  quarantine release (each release also writes a RELEASED marker to the
  quarantine topic, counted in ``released``);
- **quarantine**: QUARANTINED records on the quarantine topic;
- **deadletter**: records on the dead-letter topic;
- **dropped**: audit records with action DROPPED. A dropped event leaves no
  other trace, and each one gets its own audit record naming the event, so
  the audit topic is where drops are counted.

The audit topic is also counted on its own: one record per decision about a
child or a blocked event (TAGGED, REDACTED, QUARANTINED, DROPPED,
DEADLETTERED) plus the ``counts`` of the SUMMARY records for adults' passes.
Both ways must add up to the events produced.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from wardstream.domain.audit import AuditRecord

DECISIONS = ("PASSED", "TAGGED", "REDACTED", "QUARANTINED", "DROPPED", "DEADLETTERED")
"""Audit actions that record the fate of one source event."""


@dataclass
class Tally:
    sink: Counter[str] = field(default_factory=Counter)
    sink_bands: Counter[str] = field(default_factory=Counter)
    sink_redacted: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    released: Counter[str] = field(default_factory=Counter)
    expired: Counter[str] = field(default_factory=Counter)
    quarantine_reasons: Counter[str] = field(default_factory=Counter)
    deadletter: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    drop_reasons: Counter[str] = field(default_factory=Counter)
    audit_actions: Counter[str] = field(default_factory=Counter)
    audit_decided: Counter[str] = field(default_factory=Counter)
    summary_passes: Counter[str] = field(default_factory=Counter)
    audit_records: int = 0
    deletion_reasons: Counter[str] = field(default_factory=Counter)

    def decided(self, pipeline: str) -> int:
        """Events of ``pipeline`` whose fate the output topics show."""
        return (
            self.sink[pipeline]
            - self.released[pipeline]
            + self.quarantined[pipeline]
            + self.deadletter[pipeline]
            + self.dropped[pipeline]
        )

    def complete(self, produced: dict[str, int]) -> bool:
        """True when both ways of counting account for every event produced, no more."""
        return all(self.decided(p) == n and self.audit_decided[p] == n for p, n in produced.items())

    def quarantine_open(self) -> int:
        return (
            sum(self.quarantined.values())
            - sum(self.released.values())
            - sum(self.expired.values())
        )

    # -- folding records ------------------------------------------------------------
    def on_sink(self, pipeline: str, headers: dict[str, bytes]) -> None:
        self.sink[pipeline] += 1
        self.sink_bands[headers.get("ward-age-band", b"?").decode(errors="replace")] += 1
        if headers.get("ward-decision") == b"REDACT":
            self.sink_redacted += 1

    def on_quarantine(self, record: dict[str, object]) -> None:
        pipeline, status = str(record["pipeline"]), str(record.get("status") or "QUARANTINED")
        if status == "RELEASED":
            self.released[pipeline] += 1
        elif status == "EXPIRED":
            self.expired[pipeline] += 1
        else:
            self.quarantined[pipeline] += 1
            self.quarantine_reasons[str(record["reason"])] += 1

    def on_deadletter(self, record: dict[str, object]) -> None:
        self.deadletter[str(record.get("pipeline") or "?")] += 1

    @property
    def deletions(self) -> int:
        return sum(self.deletion_reasons.values())

    def on_deletion(self, record: dict[str, object]) -> None:
        self.deletion_reasons[str(record.get("reason") or "?")] += 1

    def on_audit(self, record: AuditRecord) -> None:
        self.audit_records += 1
        action = str(record.action)
        self.audit_actions[action] += 1
        if action == "SUMMARY":
            total = sum(record.counts.values())
            self.audit_decided[record.pipeline] += total
            self.summary_passes[record.pipeline] += total
        elif action in DECISIONS:
            self.audit_decided[record.pipeline] += 1
            if action == "DROPPED":
                self.dropped[record.pipeline] += 1
                self.drop_reasons[str(record.reason)] += 1
