"""What the audit says, in figures an auditor can check: the report model.

Decisions are the per-event outcomes (``DECISION_ACTIONS``); a SUMMARY record
stands for ``sum(counts)`` decisions, so every total of decisions equals the
number of events decided, whether audited alone or summarised. RELEASED and
EXPIRED close a quarantine and are not new decisions. By reason, by rule, by
pipeline and per day count decisions; by action counts every action.

Deletions: each DELETION_ISSUED record's ``deadline`` (see AuditRecord) is
compared with when it was issued (``issued_late``) and with the report's
``as_of`` (``deadline_passed`` / ``deadline_pending``). Quarantine ages pair a
QUARANTINED record with the RELEASED or EXPIRED record of the same pipeline
and ``event_ref``; quarantines still open are aged at ``as_of``.

Rendering: ``to_json`` and ``to_csv`` here, ``report_html.render_html`` for
the page. All return strings; the CLI writes the files.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from wardstream.domain.audit import AuditRecord, to_utc_millis
from wardstream.domain.enums import AuditAction as A

DECISION_ACTIONS = frozenset(
    {A.PASSED, A.TAGGED, A.REDACTED, A.QUARANTINED, A.DROPPED, A.DEADLETTERED}
)
NONE_KEY = "(none)"
AGE_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("under 1 hour", timedelta(hours=1)),
    ("1 hour to 1 day", timedelta(days=1)),
    ("1 to 7 days", timedelta(days=7)),
    ("7 days or more", timedelta.max),
)


@dataclass(frozen=True, slots=True)
class DeletionStats:
    issued: int = 0
    deadline_passed: int = 0
    deadline_pending: int = 0
    issued_late: int = 0  # issued after their own deadline
    no_deadline: int = 0
    deferred: int = 0  # DELETION_DEFERRED (legal hold)
    min_lead_hours: float | None = None  # shortest time from issue to deadline
    median_lead_hours: float | None = None
    by_reason: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QuarantineStats:
    quarantined: int = 0
    released: int = 0
    expired: int = 0
    open: int = 0  # still held at as_of
    unmatched: int = 0  # RELEASED/EXPIRED whose QUARANTINED record is outside the range
    median_hours: float | None = None  # time held, released or expired ones
    max_hours: float | None = None
    oldest_open_hours: float | None = None
    closed_ages: dict[str, int] = field(default_factory=dict)  # AGE_BUCKETS label -> count
    open_ages: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditReport:
    as_of: datetime
    period_start: datetime | None
    period_end: datetime | None
    records: int
    decisions: int
    summary_records: int
    subjects: int  # distinct subject refs (pseudonymous)
    by_action: dict[str, int]
    by_reason: dict[str, int]
    by_rule: dict[str, int]
    by_pipeline: dict[str, int]
    per_day: dict[str, dict[str, int]]  # ISO date (UTC) -> action -> decisions
    deletions: DeletionStats
    quarantine: QuarantineStats

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (timestamps as ISO-8601 text)."""
        data = asdict(self)
        for key in ("as_of", "period_start", "period_end"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


class ReportBuilder:
    """Accumulates records (any order) into an ``AuditReport``."""

    def __init__(self, as_of: datetime) -> None:
        self._as_of = to_utc_millis(as_of, "as_of")
        self._records = self._summaries = 0
        self._first: datetime | None = None
        self._last: datetime | None = None
        self._actions: Counter[str] = Counter()
        self._reasons: Counter[str] = Counter()
        self._rules: Counter[str] = Counter()
        self._pipelines: Counter[str] = Counter()
        self._days: dict[str, Counter[str]] = {}
        self._subjects: set[str] = set()
        self._deletions = _Deletions()
        self._quarantine = _Quarantine()

    def add(self, record: AuditRecord) -> None:
        self._records += 1
        at = record.at
        self._first = at if self._first is None or at < self._first else self._first
        self._last = at if self._last is None or at > self._last else self._last
        if record.subject_ref:
            self._subjects.add(record.subject_ref)
        if record.action == A.SUMMARY:
            self._summaries += 1
            for action, n in record.counts.items():
                self._count(record, action, n)
        else:
            self._count(record, str(record.action), 1)
        self._deletions.add(record, self._as_of)
        self._quarantine.add(record)

    def _count(self, record: AuditRecord, action: str, n: int) -> None:
        self._actions[action] += n
        if action not in DECISION_ACTIONS:
            return
        self._reasons[record.reason or NONE_KEY] += n
        self._rules[record.rule or NONE_KEY] += n
        self._pipelines[record.pipeline] += n
        self._days.setdefault(record.at.date().isoformat(), Counter())[action] += n

    def build(self) -> AuditReport:
        return AuditReport(
            as_of=self._as_of,
            period_start=self._first,
            period_end=self._last,
            records=self._records,
            decisions=sum(n for a, n in self._actions.items() if a in DECISION_ACTIONS),
            summary_records=self._summaries,
            subjects=len(self._subjects),
            by_action=_sorted(self._actions),
            by_reason=_sorted(self._reasons),
            by_rule=_sorted(self._rules),
            by_pipeline=_sorted(self._pipelines),
            per_day={day: _sorted(c) for day, c in sorted(self._days.items())},
            deletions=self._deletions.build(),
            quarantine=self._quarantine.build(self._as_of),
        )


def build_report(records: Iterable[AuditRecord], as_of: datetime) -> AuditReport:
    builder = ReportBuilder(as_of)
    for record in records:
        builder.add(record)
    return builder.build()


class _Deletions:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.leads: list[float] = []

    def add(self, record: AuditRecord, as_of: datetime) -> None:
        if record.action == A.DELETION_DEFERRED:
            self.counts["deferred"] += 1
        if record.action != A.DELETION_ISSUED:
            return
        self.counts["issued"] += 1
        self.reasons[record.reason or NONE_KEY] += 1
        if record.deadline is None:
            self.counts["no_deadline"] += 1
            return
        lead = _hours(record.deadline - record.at)
        self.leads.append(lead)
        self.counts["issued_late"] += lead < 0
        self.counts["deadline_passed" if record.deadline <= as_of else "deadline_pending"] += 1

    def build(self) -> DeletionStats:
        return DeletionStats(
            **{k: self.counts[k] for k in ("issued", "deadline_passed", "deadline_pending")},
            **{k: self.counts[k] for k in ("issued_late", "no_deadline", "deferred")},
            min_lead_hours=min(self.leads) if self.leads else None,
            median_lead_hours=median(self.leads) if self.leads else None,
            by_reason=_sorted(self.reasons),
        )


class _Quarantine:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.held: dict[tuple[str, str], datetime] = {}
        self.closed: list[timedelta] = []

    def add(self, record: AuditRecord) -> None:
        key = (record.pipeline, record.event_ref or "")
        if record.action == A.QUARANTINED:
            self.counts["quarantined"] += 1
            if record.event_ref:
                self.held[key] = record.at
        elif record.action in (A.RELEASED, A.EXPIRED):
            self.counts["released" if record.action == A.RELEASED else "expired"] += 1
            start = self.held.pop(key, None) if record.event_ref else None
            if start is None:
                self.counts["unmatched"] += 1
            else:
                self.closed.append(record.at - start)

    def build(self, as_of: datetime) -> QuarantineStats:
        open_ages = [as_of - start for start in self.held.values()]
        return QuarantineStats(
            **{k: self.counts[k] for k in ("quarantined", "released", "expired", "unmatched")},
            open=len(open_ages),
            median_hours=median(map(_hours, self.closed)) if self.closed else None,
            max_hours=_hours(max(self.closed)) if self.closed else None,
            oldest_open_hours=_hours(max(open_ages)) if open_ages else None,
            closed_ages=_buckets(self.closed),
            open_ages=_buckets(open_ages),
        )


def _buckets(ages: list[timedelta]) -> dict[str, int]:
    counts = dict.fromkeys((label for label, _ in AGE_BUCKETS), 0)
    for age in ages:
        counts[
            next(label for label, limit in AGE_BUCKETS if age < limit or limit == timedelta.max)
        ] += 1
    return counts


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 3)


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def to_json(report: AuditReport) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _Lines:
    """A write target for ``csv.writer`` that keeps the text in memory."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)


FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A cell a spreadsheet shows as text: a string that starts with a formula lead
    (``= + - @``, tab, CR) gets a leading ``'``, and a CR inside it is written as the two
    characters ``\\r`` (the writer ends lines with LF and would not quote it, so a CR could
    start a row of its own). Pipeline names, reasons and rules come from the records read:
    whoever can write a record could otherwise plant a formula."""
    if not isinstance(value, str):
        return value
    text = value.replace("\r", "\\r")
    return "'" + text if value.startswith(FORMULA_LEADS) else text


class _SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`csv_cell`."""

    def __init__(self, out: _Lines) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([csv_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def to_csv(report: AuditReport) -> str:
    """Long format: ``section,key,subkey,value``, one figure a row; text cells that a
    spreadsheet would run as a formula are escaped (:func:`csv_cell`)."""
    out = _Lines()
    writer = _SafeWriter(out)
    writer.writerow(["section", "key", "subkey", "value"])
    data = report.to_dict()
    for key in ("as_of", "period_start", "period_end", "records", "decisions"):
        writer.writerow(["totals", key, "", data[key]])
    writer.writerow(["totals", "summary_records", "", report.summary_records])
    writer.writerow(["totals", "subjects", "", report.subjects])
    for section in ("by_action", "by_reason", "by_rule", "by_pipeline"):
        writer.writerows([section, k, "", v] for k, v in data[section].items())
    for day, actions in report.per_day.items():
        writer.writerows(["per_day", day, action, n] for action, n in actions.items())
    for section in ("deletions", "quarantine"):
        for key, value in data[section].items():
            if isinstance(value, dict):
                writer.writerows([section, key, k, v] for k, v in value.items())
            else:
                writer.writerow([section, key, "", "" if value is None else value])
    return "".join(out.parts)
