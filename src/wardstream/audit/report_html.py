"""The audit report as one self-contained HTML page.

Inline CSS and SVG, no script, no network: the page can be archived with the
evidence and opened offline. Every key figure is text in an element with a
stable id (``total-decisions``, ``action-PASSED``, ``deletions-issued`` ...),
so tests and auditors' tools can read it back. Ids of open-ended keys (reason,
rule, pipeline names) replace characters other than letters, digits, ``-``
and ``_`` with ``_``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

from wardstream.audit.report import AuditReport
from wardstream.audit.verify import VerifyResult

_COLOURS = {
    "PASSED": "#2f7d32",
    "TAGGED": "#66a35e",
    "REDACTED": "#c9a227",
    "QUARANTINED": "#d9822b",
    "DROPPED": "#b3261e",
    "DEADLETTERED": "#6d4c9f",
}
_OTHER = "#5b6b7a"
_CSS = " ".join(
    [
        "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:64rem;",
        "color:#1d2733;padding:0 1rem}",
        "h1{font-size:1.6rem;margin-bottom:.2rem}",
        "h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d5dbe1}",
        ".figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.6rem}",
        ".figure{border:1px solid #d5dbe1;border-radius:6px;padding:.5rem .7rem}",
        ".figure dt{font-size:.8rem;color:#52606d}",
        ".figure dd{margin:0;font-size:1.4rem;font-weight:600}",
        "table{border-collapse:collapse;margin:.5rem 0}",
        "td,th{padding:.2rem .8rem;border-bottom:1px solid #e4e8ec}",
        "td.n{text-align:right;font-variant-numeric:tabular-nums}",
        ".ok{color:#2f7d32} .bad{color:#b3261e}",
        "svg text{font:11px system-ui,sans-serif;fill:#1d2733}",
    ]
)


def slug(key: str) -> str:
    """The id-safe form of a key, as used in element ids."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", key) or "_"


def render_html(
    report: AuditReport, verification: VerifyResult | None = None, extra: str = ""
) -> str:
    """The page; ``extra`` (HTML, e.g. the anchoring section) follows the verification."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>wardstream audit report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>wardstream audit report</h1>",
        f'<p>Records from <span id="period-start">{_t(report.period_start)}</span> to '
        f'<span id="period-end">{_t(report.period_end)}</span>; as of '
        f'<span id="as-of">{_t(report.as_of)}</span>.</p>',
        _key_figures(report),
        _verification(verification),
        extra,
        "<h2>Records by action (summaries counted by the decisions they stand for)</h2>",
        _bars(report.by_action, "chart-actions", "Records by action"),
        _table("action", "Action", report.by_action),
        "<h2>Decisions per day</h2>",
        _days(report.per_day),
        "<h2>Decisions by reason</h2>",
        _table("reason", "Reason", report.by_reason),
        "<h2>Decisions by rule</h2>",
        _table("rule", "Rule", report.by_rule),
        "<h2>Decisions by pipeline</h2>",
        _table("pipeline", "Pipeline", report.by_pipeline),
        "<h2>Deletions</h2>",
        _deletions(report),
        "<h2>Quarantine</h2>",
        _quarantine(report),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _t(value: object) -> str:
    if value is None:
        return "–"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return escape(text)


def _figures(*rows: tuple[str, str, object]) -> str:
    """Key figures as a definition list: (element id, label, value) each."""
    items = "".join(
        f'<div class="figure"><dt>{escape(label)}</dt><dd id="{ident}">{_t(value)}</dd></div>'
        for ident, label, value in rows
    )
    return f'<dl class="figures">{items}</dl>'


def _key_figures(report: AuditReport) -> str:
    return _figures(
        ("total-decisions", "Decisions", report.decisions),
        ("total-records", "Audit records", report.records),
        ("summary-records", "Summary records", report.summary_records),
        ("distinct-subjects", "Distinct subjects (pseudonymous)", report.subjects),
        ("deletions-issued", "Deletions issued", report.deletions.issued),
        ("quarantine-open", "Quarantined now", report.quarantine.open),
    )


def _verification(result: VerifyResult | None) -> str:
    if result is None:
        return ""
    status = "intact" if result.ok else "BROKEN"
    cls = "ok" if result.ok else "bad"
    rows = "".join(
        f"<li><code>{escape(str(b.position))}</code> {escape(b.kind)} "
        f"(chain {escape(b.chain)}, seq {b.seq}): {escape(b.message)}</li>"
        for b in result.breaks[:50]
    )
    more = (
        f"<p>{len(result.breaks) - 50} more breaks not shown.</p>"
        if len(result.breaks) > 50
        else ""
    )
    return (
        f'<h2>Hash chains</h2><p>Chains: <span id="verify-status" class="{cls}">{status}</span>; '
        f'records checked <span id="verify-checked">{result.checked}</span>, breaks '
        f'<span id="verify-breaks">{len(result.breaks)}</span>.</p><ul>{rows}</ul>{more}'
    )


def _table(prefix: str, title: str, counts: Mapping[str, int]) -> str:
    rows = "".join(
        f'<tr><td>{escape(k)}</td><td class="n" id="{prefix}-{slug(k)}">{n}</td></tr>'
        for k, n in counts.items()
    )
    head = f'<tr><th>{escape(title)}</th><th class="n">Count</th></tr>'
    return f'<table id="table-{prefix}">{head}{rows}</table>'


def _bars(counts: Mapping[str, int], ident: str, label: str) -> str:
    """Horizontal bars, one per key."""
    if not counts:
        return "<p>No records.</p>"
    top = max(counts.values()) or 1
    row, width = 22, 580
    bars = []
    for i, (key, n) in enumerate(counts.items()):
        length = round(360 * n / top)
        y = i * row
        bars.append(
            f'<text x="0" y="{y + 15}">{escape(key)}</text>'
            f'<rect x="140" y="{y + 4}" width="{length}" height="14" fill="{_colour(key)}"/>'
            f'<text x="{146 + length}" y="{y + 15}">{n}</text>'
        )
    height = row * len(counts)
    return _svg(ident, width, height, label, "".join(bars))


def _days(per_day: Mapping[str, Mapping[str, int]]) -> str:
    """Stacked columns: decisions per day, coloured by action."""
    if not per_day:
        return "<p>No decisions.</p>"
    days = list(per_day)
    top = max(sum(c.values()) for c in per_day.values()) or 1
    step = max(8, min(48, 640 // len(days)))
    chart_h, cols = 200, []
    y: float
    for i, day in enumerate(days):
        y = chart_h
        for action, n in per_day[day].items():
            h = chart_h * n / top
            y -= h
            cols.append(
                f'<rect x="{i * step}" y="{y:.1f}" width="{step - 2}" height="{h:.1f}" '
                f'fill="{_colour(action)}">'
                f"<title>{escape(day)} {escape(action)}: {n}</title></rect>"
            )
    width = max(step * len(days), 160)
    labels = f'<text x="0" y="{chart_h + 14}">{escape(days[0])}</text>'
    if len(days) > 1:  # anchored at its end, so the last date is never cut off
        labels += (
            f'<text x="{width}" y="{chart_h + 28}" text-anchor="end">{escape(days[-1])}</text>'
        )
    svg = _svg(
        "chart-days",
        width,
        chart_h + 32,
        "Decisions per day",
        "".join(cols) + labels,
    )
    return svg + _day_table(per_day) + _legend(sorted({a for c in per_day.values() for a in c}))


def _day_table(per_day: Mapping[str, Mapping[str, int]]) -> str:
    rows = "".join(
        f'<tr><td>{escape(day)}</td><td class="n" id="day-{slug(day)}">{sum(c.values())}</td>'
        f"<td>{escape(', '.join(f'{a} {n}' for a, n in c.items()))}</td></tr>"
        for day, c in per_day.items()
    )
    head = '<tr><th>Day (UTC)</th><th class="n">Decisions</th><th>By action</th></tr>'
    return f'<table id="table-day">{head}{rows}</table>'


def _legend(actions: Sequence[str]) -> str:
    items = "".join(
        f'<span><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" '
        f'fill="{_colour(a)}"/></svg> {escape(a)}</span> '
        for a in actions
    )
    return f"<p>{items}</p>"


def _deletions(report: AuditReport) -> str:
    d = report.deletions
    figures = _figures(
        ("deletions-deadline-passed", "Deadline passed", d.deadline_passed),
        ("deletions-deadline-pending", "Deadline still ahead", d.deadline_pending),
        ("deletions-late", "Issued after their deadline", d.issued_late),
        ("deletions-no-deadline", "Issued without a deadline", d.no_deadline),
        ("deletions-deferred", "Deferred (legal hold)", d.deferred),
        ("deletions-min-lead-hours", "Shortest lead to deadline (h)", d.min_lead_hours),
    )
    return figures + _table("deletion-reason", "Reason", d.by_reason)


def _quarantine(report: AuditReport) -> str:
    q = report.quarantine
    figures = _figures(
        ("quarantine-quarantined", "Quarantined", q.quarantined),
        ("quarantine-released", "Released", q.released),
        ("quarantine-expired", "Expired", q.expired),
        ("quarantine-median-hours", "Median time held (h)", q.median_hours),
        ("quarantine-max-hours", "Longest time held (h)", q.max_hours),
        ("quarantine-oldest-open-hours", "Oldest still held (h)", q.oldest_open_hours),
    )
    ages = "Time held before release or expiry"
    chart = _bars(q.closed_ages, "chart-quarantine-ages", ages) if q.released or q.expired else ""
    return figures + chart + _table("quarantine-open-age", "Still held, age", q.open_ages)


def _colour(key: str) -> str:
    return _COLOURS.get(key, _OTHER)


def _svg(ident: str, width: int, height: int, label: str, body: str) -> str:
    return (
        f'<svg id="{ident}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )
