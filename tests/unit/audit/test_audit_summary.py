"""AdultPassCounter: summaries every interval of the injected clock, nothing lost."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fastavro
import pytest

from wardstream.audit.chain import ChainWriter
from wardstream.audit.summary import AdultPassCounter
from wardstream.domain.enums import AuditAction

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SCHEMA_PATH = Path(__file__).resolve().parents[3] / "schemas" / "AuditRecord.avsc"
SCHEMA = fastavro.parse_schema(json.loads(SCHEMA_PATH.read_text()))


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def encode(datum: object) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, SCHEMA, datum)
    return buf.getvalue()


def test_nothing_is_due_before_the_interval_and_everything_after() -> None:
    clock = FakeClock()
    counter = AdultPassCounter(timedelta(seconds=60), clock)
    for _ in range(5):
        counter.count("clickstream")
    counter.count("purchases", n=3)
    counter.count("clickstream", AuditAction.TAGGED)
    counter.count("clickstream", n=4, reason="AGE_UNKNOWN", rule="AADC/std2")
    clock.advance(59.999)
    assert counter.due() == [] and counter.pending == 13
    clock.advance(0.001)
    summaries = counter.due()
    assert [(s.pipeline, s.reason, s.rule, dict(s.counts)) for s in summaries] == [
        ("clickstream", "ADULT", None, {"PASSED": 5, "TAGGED": 1}),
        ("clickstream", "AGE_UNKNOWN", "AADC/std2", {"PASSED": 4}),
        ("purchases", "ADULT", None, {"PASSED": 3}),
    ]
    assert all(s.window_start == T0 and s.at == T0 + timedelta(seconds=60) for s in summaries)
    assert counter.pending == 0 and counter.due() == []


def test_windows_follow_each_other_without_gaps() -> None:
    clock = FakeClock()
    counter = AdultPassCounter(timedelta(seconds=10), clock)
    ends = []
    for step in range(1, 4):
        counter.count("p", n=step)
        clock.advance(10)
        (summary,) = counter.due()
        assert summary.total == step
        ends.append((summary.window_start, summary.at))
    assert all(a[1] == b[0] for a, b in zip(ends, ends[1:], strict=False))


def test_an_empty_window_emits_nothing_and_flush_emits_what_is_pending() -> None:
    clock = FakeClock()
    counter = AdultPassCounter(timedelta(minutes=1), clock)
    clock.advance(120)
    assert counter.due() == []
    counter.count("p", n=2)
    (summary,) = counter.flush()
    assert summary.total == 2 and counter.flush() == []


def test_a_summary_becomes_a_chained_summary_record() -> None:
    clock = FakeClock()
    counter = AdultPassCounter(timedelta(seconds=1), clock)
    counter.count("clickstream", n=7, rule="CN-CPI-2019/art2")
    clock.advance(1)
    writer = ChainWriter("clickstream/0", encode)
    record = counter.due()[0].append_to(writer, "worker-1")
    assert record.action is AuditAction.SUMMARY and record.counts == {"PASSED": 7}
    assert record.reason == "ADULT" and record.rule == "CN-CPI-2019/art2"
    assert record.attrs["window_start"] == T0.isoformat()
    assert record.seq == 0 and record.subject_ref is None


def test_a_bad_interval_or_a_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        AdultPassCounter(timedelta(0), FakeClock())
    with pytest.raises(ValueError, match="naive"):
        AdultPassCounter(timedelta(seconds=1), lambda: datetime(2026, 1, 1))  # noqa: DTZ001
