"""The demo's closing summary: figures read back from the topics, as JSON or a table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from wardstream.audit.verify import VerifyResult
from wardstream.demo.plan import Plan
from wardstream.demo.produce import Written
from wardstream.demo.readback import OutputTopics
from wardstream.demo.tally import Tally


@dataclass(frozen=True, slots=True)
class RunInfo:
    prefix: str
    seed: int
    duration_s: float
    bootstrap: str
    embedded_kafka: bool
    elapsed_s: float


def build(
    run: RunInfo,
    plan: Plan,
    written: Written,
    tally: Tally,
    verdict: VerifyResult,
    topics: OutputTopics,
    sources: Mapping[str, str],
) -> dict[str, Any]:
    """The summary as plain data; every figure comes from the topics, except ``produced``."""
    produced = dict(sorted(written.by_pipeline.items()))
    census = plan.census()
    return {
        "run": {**_run(run), "events": plan.n_events},
        "produced": {
            "events": written.events,
            "by_pipeline": produced,
            "poison": census["poison"],
            "state_records": written.state,
            "subjects": census["subjects"],
            "skipped": dict(written.skipped),
        },
        "outcomes": _outcomes(tally, produced),
        "audit": _audit(tally, verdict),
        "deletions": tally.deletions,
        "deletions_by_reason": _sorted(tally.deletion_reasons),
        "accounted": {
            "produced": written.events,
            "by_topics": sum(tally.decided(p) for p in produced),
            "by_audit": sum(tally.audit_decided[p] for p in produced),
            "complete": tally.complete(produced),
        },
        "topics": {
            "sources": dict(sources),
            "sinks": dict(topics.sinks),
            "quarantine": topics.quarantine,
            "deadletter": topics.deadletter,
            "audit": topics.audit,
            "deletions": topics.deletions,
        },
    }


def _outcomes(tally: Tally, produced: dict[str, int]) -> dict[str, Any]:
    by_pipeline = {
        p: {
            "produced": n,
            "sink": tally.sink[p],
            "released": tally.released[p],
            "quarantined": tally.quarantined[p],
            "deadletter": tally.deadletter[p],
            "dropped": tally.dropped[p],
            "accounted": tally.decided(p),
        }
        for p, n in produced.items()
    }
    return {
        "by_pipeline": by_pipeline,
        "sink": sum(tally.sink.values()),
        "released": sum(tally.released.values()),
        "quarantined": sum(tally.quarantined.values()),
        "quarantine_open": tally.quarantine_open(),
        "deadletter": sum(tally.deadletter.values()),
        "dropped": sum(tally.dropped.values()),
        "sink_by_age_band": _sorted(tally.sink_bands),
        "sink_redacted": tally.sink_redacted,
        "quarantine_by_reason": _sorted(tally.quarantine_reasons),
        "dropped_by_reason": _sorted(tally.drop_reasons),
    }


def _audit(tally: Tally, verdict: VerifyResult) -> dict[str, Any]:
    return {
        "records": tally.audit_records,
        "by_action": _sorted(tally.audit_actions),
        "adult_passes_in_summaries": sum(tally.summary_passes.values()),
        "chains": len(verdict.chains),
        "chains_intact": verdict.ok,
        "break_count": len(verdict.breaks),
        "breaks": [str(b) for b in verdict.breaks[:10]],
    }


def _run(run: RunInfo) -> dict[str, Any]:
    return {
        "prefix": run.prefix,
        "seed": run.seed,
        "duration_s": run.duration_s,
        "bootstrap": run.bootstrap,
        "embedded_kafka": run.embedded_kafka,
        "elapsed_s": round(run.elapsed_s, 1),
    }


def _sorted(counts: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _n(value: int) -> str:
    return f"{value:,}"


def render(summary: dict[str, Any]) -> RenderableType:
    """The summary for people: a table per pipeline and a few plain sentences."""
    out = summary["outcomes"]
    table = Table(title="What happened to every event", title_justify="left")
    for column in ("pipeline", "produced", "sink", "released", "quarantined", "dead letter",
                   "dropped"):  # fmt: skip
        table.add_column(column, justify="left" if column == "pipeline" else "right")
    for name, row in out["by_pipeline"].items():
        table.add_row(
            name,
            *(
                _n(row[k])
                for k in ("produced", "sink", "released", "quarantined", "deadletter", "dropped")
            ),
        )
    acc = summary["accounted"]
    table.add_section()
    table.add_row(
        "total",
        _n(acc["produced"]),
        *(_n(out[k]) for k in ("sink", "released", "quarantined", "deadletter", "dropped")),
    )
    return Group(table, *_sentences(summary))


def _sentences(summary: dict[str, Any]) -> list[Text]:
    out, audit, acc = summary["outcomes"], summary["audit"], summary["accounted"]
    bands = " · ".join(f"{k} {_n(v)}" for k, v in out["sink_by_age_band"].items())
    lines = [
        f"On the sinks, by ward-age-band: {bands} ({_n(out['sink_redacted'])} redacted).",
        f"Quarantine: {_n(out['quarantine_open'])} events held, {_n(out['released'])} released "
        f"after a new consent. Why held: {_reasons(out['quarantine_by_reason'])}.",
        f"Dropped: {_reasons(out['dropped_by_reason']) or 'none'}.",
        f"Audit: {_n(audit['records'])} records in {audit['chains']} hash chains, "
        + ("[green]all intact[/green]" if audit["chains_intact"] else "[red]BROKEN[/red]")
        + f"; {_n(audit['adult_passes_in_summaries'])} adults' passes counted in SUMMARY records.",
        f"Deletion requests issued: {_n(summary['deletions'])}"
        + (f" ({_reasons(summary['deletions_by_reason'])})." if summary["deletions"] else "."),
    ]
    lines.extend(f"  [red]break[/red]: {b}" for b in audit["breaks"][:3])
    if audit["break_count"] > 3:
        lines.append(f"  ... {audit['break_count'] - 3} more breaks (wardstream audit verify)")
    mark = "[green]✓[/green]" if acc["complete"] else "[red]✗[/red]"
    lines.append(
        f"{mark} {_n(acc['produced'])} events produced; the topics account for "
        f"{_n(acc['by_topics'])} (sink − released + quarantined + dead-lettered + dropped) "
        f"and the audit trail for {_n(acc['by_audit'])}."
    )
    return [Text.from_markup(line) for line in lines]


def _reasons(counts: Mapping[str, int], top: int = 4) -> str:
    items = list(counts.items())
    text = ", ".join(f"{k} {_n(v)}" for k, v in items[:top])
    return text + (f", {len(items) - top} more" if len(items) > top else "")
