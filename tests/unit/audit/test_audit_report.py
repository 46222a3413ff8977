"""The audit report: totals equal the decisions fed in, deletions against their
deadlines, quarantine ages, and the HTML / JSON / CSV renderings."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardstream.audit.report import (
    DECISION_ACTIONS,
    AuditReport,
    build_report,
    to_csv,
    to_json,
)
from wardstream.audit.report_html import render_html, slug
from wardstream.audit.verify import Break, BreakKind, Position, VerifyResult
from wardstream.domain.audit import AuditRecord

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
AS_OF = T0 + timedelta(days=10)
_ids = count()


def rec(action: str, at: datetime = T0, **fields: object) -> AuditRecord:
    """A record as the report sees it (chain fields do not matter here)."""
    n = next(_ids)
    base: dict[str, object] = dict(
        audit_id=f"a{n}", at=at, worker="w", pipeline="clickstream", action=action,
        chain="clickstream/0", seq=n,
    )  # fmt: skip
    return AuditRecord(**(base | fields))


def test_totals_by_action_reason_rule_pipeline_and_day() -> None:
    records = [
        rec(
            "QUARANTINED", reason="NO_GUARDIAN_CONSENT", rule="CN-CPI-2019/art9", subject_ref="k1:a"
        ),
        rec("QUARANTINED", reason="AGE_UNKNOWN", rule="AADC/std2", subject_ref="k1:b"),
        rec("REDACTED", T0 + timedelta(days=1), reason="CATEGORY_NOT_COVERED", pipeline="geo"),
        rec("SUMMARY", T0 + timedelta(days=1), reason="ADULT", counts={"PASSED": 40, "TAGGED": 2}),
        rec("CONSENT_RECORDED", pipeline="_control", subject_ref="k1:a"),
        rec("ACCESS", pipeline="_control", attrs={"approved_by": "lead-7", "purpose": "appeal"}),
    ]
    report = build_report(records, AS_OF)
    assert report.records == 6 and report.summary_records == 1 and report.subjects == 2
    assert report.decisions == 45
    assert report.by_action == {
        "PASSED": 40, "QUARANTINED": 2, "TAGGED": 2,
        "ACCESS": 1, "CONSENT_RECORDED": 1, "REDACTED": 1,
    }  # fmt: skip
    assert report.by_reason == {
        "ADULT": 42, "AGE_UNKNOWN": 1, "CATEGORY_NOT_COVERED": 1, "NO_GUARDIAN_CONSENT": 1,
    }  # fmt: skip
    assert report.by_rule == {"(none)": 43, "AADC/std2": 1, "CN-CPI-2019/art9": 1}
    assert report.by_pipeline == {"clickstream": 44, "geo": 1}
    assert report.per_day == {
        "2026-03-01": {"QUARANTINED": 2},
        "2026-03-02": {"PASSED": 40, "TAGGED": 2, "REDACTED": 1},
    }
    assert (report.period_start, report.period_end) == (T0, T0 + timedelta(days=1))


def test_deletions_are_set_against_their_deadlines() -> None:
    issued = T0 + timedelta(days=1)
    records = [
        rec(
            "DELETION_ISSUED",
            issued,
            reason="GUARDIAN_REQUEST",
            deadline=issued + timedelta(days=15),
        ),
        rec(
            "DELETION_ISSUED",
            issued,
            reason="CONSENT_WITHDRAWN",
            deadline=issued + timedelta(hours=2),
        ),
        rec(
            "DELETION_ISSUED",
            issued,
            reason="RETENTION_EXPIRED",
            deadline=issued - timedelta(hours=1),
        ),
        rec("DELETION_ISSUED", issued, reason="RETENTION_EXPIRED"),
        rec("DELETION_DEFERRED", issued, reason="LEGAL_HOLD"),
    ]
    d = build_report(records, AS_OF).deletions
    assert (d.issued, d.deadline_passed, d.deadline_pending) == (4, 2, 1)
    assert (d.issued_late, d.no_deadline, d.deferred) == (1, 1, 1)
    assert d.min_lead_hours == -1.0 and d.median_lead_hours == 2.0
    assert d.by_reason == {"RETENTION_EXPIRED": 2, "CONSENT_WITHDRAWN": 1, "GUARDIAN_REQUEST": 1}


def test_quarantine_ages_pair_quarantine_with_release_or_expiry_by_event() -> None:
    def held(ref: str, at: datetime) -> AuditRecord:
        return rec("QUARANTINED", at, event_ref=ref)

    records = [
        held("src/0/1", T0),
        held("src/0/2", T0),
        held("src/0/3", T0 + timedelta(days=9)),
        held("src/0/4", T0),
        rec("RELEASED", T0 + timedelta(minutes=30), event_ref="src/0/1"),
        rec("EXPIRED", T0 + timedelta(days=7), event_ref="src/0/2"),
        rec("RELEASED", T0 + timedelta(days=1), event_ref="src/0/4", pipeline="elsewhere"),
    ]
    q = build_report(records, AS_OF).quarantine
    assert (q.quarantined, q.released, q.expired, q.unmatched, q.open) == (4, 2, 1, 1, 2)
    assert q.median_hours == pytest.approx((0.5 + 168) / 2) and q.max_hours == 168.0
    assert q.oldest_open_hours == 240.0
    assert q.closed_ages == {
        "under 1 hour": 1,
        "1 hour to 1 day": 0,
        "1 to 7 days": 0,
        "7 days or more": 1,
    }
    assert q.open_ages["1 to 7 days"] == 1 and q.open_ages["7 days or more"] == 1


DECISIONS = sorted(str(a) for a in DECISION_ACTIONS)
OTHERS = ["RELEASED", "EXPIRED", "CONSENT_RECORDED", "DELETION_ISSUED", "ACCESS", "NOTICE_ISSUED"]


@st.composite
def audit_logs(draw: st.DrawFn) -> tuple[list[AuditRecord], int]:
    """Records of decisions, summaries and other actions; and the decisions made."""
    records, decided = [], 0
    for _ in range(draw(st.integers(0, 40))):
        at = T0 + timedelta(hours=draw(st.integers(0, 24 * 5)))
        pipeline = draw(st.sampled_from(["clickstream", "purchases", "chat"]))
        kind = draw(st.sampled_from(["decision", "summary", "other"]))
        if kind == "summary":
            counts = draw(
                st.dictionaries(st.sampled_from(["PASSED", "TAGGED"]), st.integers(0, 10**6))
            )
            decided += sum(counts.values())
            records.append(rec("SUMMARY", at, pipeline=pipeline, counts=counts, reason="ADULT"))
        else:
            action = draw(st.sampled_from(DECISIONS if kind == "decision" else OTHERS))
            decided += kind == "decision"
            reason = draw(st.none() | st.sampled_from(["NO_GUARDIAN_CONSENT", "AGE_UNKNOWN"]))
            records.append(rec(action, at, pipeline=pipeline, reason=reason, event_ref="t/0/1"))
    return records, decided


@settings(max_examples=100, deadline=None)
@given(audit_logs())
def test_every_total_equals_the_decisions_fed_in(log: tuple[list[AuditRecord], int]) -> None:
    records, decided = log
    report = build_report(records, AS_OF)
    assert report.decisions == decided
    assert sum(report.by_action.get(a, 0) for a in DECISIONS) == decided
    for totals in (report.by_reason, report.by_rule, report.by_pipeline):
        assert sum(totals.values()) == decided
    assert sum(sum(day.values()) for day in report.per_day.values()) == decided
    assert report.records == len(records)
    page = render_html(report)
    assert f'id="total-decisions">{decided}<' in page
    rows = list(csv.DictReader(to_csv(report).splitlines()))
    assert {r["key"]: r["value"] for r in rows if r["section"] == "totals"}["decisions"] == str(
        decided
    )
    assert json.loads(to_json(report))["decisions"] == decided


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.text: dict[str, str] = {}
        self.tags: set[str] = set()
        self.urls: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        found = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]
        if found.get("id"):
            self.ids[found["id"] or ""] += 1
            self._open.append(found["id"] or "")

    def handle_data(self, data: str) -> None:
        for ident in self._open:
            self.text[ident] = self.text.get(ident, "") + data

    def handle_endtag(self, tag: str) -> None:
        self._open = []


def sample_report() -> AuditReport:
    records = [
        rec(
            "QUARANTINED", reason="NO_GUARDIAN_CONSENT", rule="CN-CPI-2019/art9", event_ref="s/0/1"
        ),
        rec("RELEASED", T0 + timedelta(hours=3), event_ref="s/0/1"),
        rec("DROPPED", T0 + timedelta(days=1), reason="<script>alert(1)</script>"),
        rec("SUMMARY", T0 + timedelta(days=2), reason="ADULT", counts={"PASSED": 1234}),
        rec("DELETION_ISSUED", T0, reason="GUARDIAN_REQUEST", deadline=T0 + timedelta(days=30)),
    ]
    return build_report(records, AS_OF)


def test_the_page_is_self_contained_with_key_figures_under_stable_ids() -> None:
    verification = VerifyResult(
        breaks=(),
        chains=(),
        checked=5,
        skipped=0,
        notes=(),
    )
    page = render_html(sample_report(), verification)
    parser = _Ids()
    parser.feed(page)
    assert max(parser.ids.values()) == 1, "ids are unique"
    assert parser.text["total-decisions"] == "1236"
    assert parser.text["total-records"] == "5"
    assert parser.text["action-PASSED"] == "1234"
    assert parser.text[f"rule-{slug('CN-CPI-2019/art9')}"] == "1"
    assert (
        parser.text["deletions-issued"] == "1" and parser.text["deletions-deadline-pending"] == "1"
    )
    assert (
        parser.text["quarantine-released"] == "1"
        and parser.text["quarantine-median-hours"] == "3.0"
    )
    assert parser.text["verify-status"] == "intact" and parser.text["verify-breaks"] == "0"
    assert {"chart-actions", "chart-days", "chart-quarantine-ages"} <= set(parser.ids)
    assert "script" not in parser.tags and not parser.urls and "http" not in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_the_page_lists_chain_breaks() -> None:
    broken = VerifyResult(
        breaks=(Break(BreakKind.ALTERED, Position("ward.audit", 0, 17), "c/0", 4, "changed"),),
        chains=(),
        checked=20,
        skipped=0,
        notes=(),
    )
    page = render_html(sample_report(), broken)
    assert 'id="verify-status" class="bad">BROKEN<' in page
    assert "ward.audit[0]@17" in page


def test_an_empty_report_renders() -> None:
    report = build_report([], AS_OF)
    assert report.decisions == 0 and report.period_start is None
    assert 'id="total-decisions">0<' in render_html(report)
    assert json.loads(to_json(report))["period_start"] is None
    assert to_csv(report).startswith("section,key,subkey,value\n")


def test_json_and_csv_carry_the_same_figures() -> None:
    report = sample_report()
    data = json.loads(to_json(report))
    assert data["by_action"]["PASSED"] == 1234 and data["as_of"] == AS_OF.isoformat()
    assert data["quarantine"]["closed_ages"]["1 hour to 1 day"] == 1
    rows = list(csv.reader(to_csv(report).splitlines()))
    assert ["by_action", "PASSED", "", "1234"] in rows
    assert ["per_day", "2026-03-03", "PASSED", "1234"] in rows
    assert ["quarantine", "closed_ages", "1 hour to 1 day", "1"] in rows
    assert ["deletions", "min_lead_hours", "", "720.0"] in rows


@pytest.mark.parametrize(
    ("key", "ident"), [("PASSED", "PASSED"), ("CN-CPI-2019/art9", "CN-CPI-2019_art9"), ("", "_")]
)
def test_slug(key: str, ident: str) -> None:
    assert slug(key) == ident


def test_the_last_day_label_ends_inside_the_chart() -> None:
    days = [rec("PASSED", at=T0 + timedelta(days=i)) for i in range(3)]
    page = render_html(build_report(days, T0 + timedelta(days=3)))
    chart = page[page.index('<svg id="chart-days"') :]
    chart = chart[: chart.index("</svg>")]
    width = chart.split('width="', 1)[1].split('"', 1)[0]
    last = (T0 + timedelta(days=2)).date().isoformat()
    assert f'<text x="{width}" y="228" text-anchor="end">{last}</text>' in chart


def test_times_on_the_page_are_readable_with_their_zone() -> None:
    at = T0 + timedelta(seconds=37, microseconds=125000)
    page = render_html(build_report([rec("PASSED", at=at)], AS_OF))
    start = page.split('id="period-start">', 1)[1].split("<", 1)[0]
    assert start == "2026-03-01 08:00:37 UTC"
    assert "+00:00" not in page and ".125000" not in page


@pytest.mark.parametrize(
    ("span", "unit", "bars"),
    [
        (timedelta(minutes=20), "minute", 21),
        (timedelta(hours=10), "hour", 11),
        (timedelta(days=5), "day", 6),
    ],
)
def test_the_time_chart_picks_its_bucket_from_the_period(
    span: timedelta, unit: str, bars: int
) -> None:
    records = [rec("PASSED", at=T0), rec("PASSED", at=T0 + span / 2), rec("PASSED", at=T0 + span)]
    report = build_report(records, T0 + span + timedelta(days=1))
    assert report.timeline_unit == unit
    page = render_html(report)
    assert f"<h2>Decisions per {unit}</h2>" in page
    chart = page[page.index('<svg id="chart-days"') :]
    chart = chart[: chart.index("</svg>")]
    assert chart.count("<rect") == 3  # one column per bucket that has decisions
    assert report.per_day  # the table per day stays
    assert bars >= len(report.timeline)


def test_a_run_of_minutes_is_not_one_bar() -> None:
    records = [rec("PASSED", at=T0 + timedelta(minutes=m)) for m in range(5)]
    report = build_report(records, AS_OF)
    assert report.timeline_unit == "minute" and len(report.timeline) == 5
    assert list(report.timeline)[0] == "2026-03-01 08:00"
