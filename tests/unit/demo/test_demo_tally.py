"""The demo's ledger: how outcomes add up, how /metrics is read, how the summary renders."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rich.console import Console

from wardstream.audit.verify import VerifyResult
from wardstream.demo import generate
from wardstream.demo.produce import Written
from wardstream.demo.readback import OutputTopics
from wardstream.demo.scrape import parse, rate
from wardstream.demo.summary import RunInfo, build, render
from wardstream.demo.tally import Tally
from wardstream.domain.audit import AuditRecord

AT = datetime(2030, 1, 1, tzinfo=UTC)


def audit(action: str, pipeline: str = "p", **kw: object) -> AuditRecord:
    return AuditRecord(
        audit_id="a", at=AT, worker="w", pipeline=pipeline, action=action, chain="p/0", seq=0,
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def ledger() -> Tally:
    """Ten events of pipeline p: 5 adults passed, 1 child tagged, 2 quarantined (1 of them
    released later), 1 dropped, 1 dead-lettered."""
    t = Tally()
    for band in ["adult"] * 5 + ["child", "child"]:  # the second child is the release
        t.on_sink("p", {"ward-age-band": band.encode()})
    t.on_audit(audit("SUMMARY", counts={"PASSED": 5}))
    t.on_audit(audit("TAGGED"))
    for _ in range(2):
        t.on_quarantine({"pipeline": "p", "status": "QUARANTINED", "reason": "AGE_UNKNOWN"})
        t.on_audit(audit("QUARANTINED", reason="AGE_UNKNOWN"))
    t.on_quarantine({"pipeline": "p", "status": "RELEASED", "reason": "AGE_UNKNOWN"})
    t.on_audit(audit("RELEASED"))
    t.on_audit(audit("DROPPED", reason="DEREGISTERED"))
    t.on_deadletter({"pipeline": "p"})
    t.on_audit(audit("DEADLETTERED"))
    return t


@pytest.mark.parametrize(("produced", "complete"), [(10, True), (9, False), (11, False)])
def test_both_ways_of_counting_must_equal_what_was_produced(produced: int, complete: bool) -> None:
    t = ledger()
    assert t.decided("p") == 10 and t.audit_decided["p"] == 10
    assert t.complete({"p": produced}) is complete
    assert t.quarantine_open() == 1
    assert t.summary_passes["p"] == 5 and t.drop_reasons == {"DEREGISTERED": 1}


def test_a_summary_not_yet_written_leaves_the_audit_count_short() -> None:
    t = ledger()
    t.audit_decided["p"] -= 5  # as if the SUMMARY record were still pending
    assert not t.complete({"p": 10})


METRICS = """\
# TYPE wardstream_events_in_total counter
wardstream_events_in_total{pipeline="a"} 12.0
wardstream_events_out_total{destination="sink",pipeline="a"} 7.0
wardstream_events_out_total{destination="quarantine",pipeline="a"} 3.0
wardstream_events_out_total{destination="sink",pipeline="b"} 2.0
wardstream_events_held 2.0
wardstream_quarantine_size 3.0
wardstream_state_age_seconds 0.25
"""


def test_metrics_snapshot_and_rate() -> None:
    snap = parse(METRICS, at=10.0)
    assert (snap.events_in, snap.decided, snap.held, snap.quarantine_size) == (12, 12, 2, 3)
    assert snap.out == {"sink": 9, "quarantine": 3}
    assert rate(snap, parse(METRICS.replace(" 7.0", " 1.0"), at=8.0)) == pytest.approx(3.0)
    assert rate(snap, None) == 0.0


def test_summary_figures_come_from_the_tally_and_render() -> None:
    written = Written()
    written.by_pipeline["p"] = 10
    topics = OutputTopics({"p": "p.sink"}, "q", "dl", "au", "del")
    verdict = VerifyResult(breaks=(), chains=(), checked=0, skipped=0, notes=())
    info = RunInfo("demo-x", 1, 20.0, "b:9092", True, 12.0)
    summary = build(info, generate(1, 10), written, ledger(), verdict, topics, {"p": "p.src"})
    row = summary["outcomes"]["by_pipeline"]["p"]
    assert row == {"produced": 10, "sink": 7, "released": 1, "quarantined": 2,
                   "deadletter": 1, "dropped": 1, "accounted": 10}  # fmt: skip
    assert summary["accounted"]["complete"] and summary["audit"]["chains_intact"]
    console = Console(record=True, width=120)
    console.print(render(summary))
    text = console.export_text()
    assert "adult 5 · child 2" in text and "10 events produced" in text
