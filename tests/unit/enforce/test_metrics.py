"""The enforcer's metrics: plain counters on the event path, Prometheus families on scrape."""

from __future__ import annotations

from prometheus_client import generate_latest

from wardstream.enforce.metrics import Metrics
from wardstream.enforce.records import InRecord, Outcome

RECORD = InRecord("app.clicks", 0, 7, b"k", b"v", None, (), 100.0)


def test_counts_latency_buckets_and_gauges_are_scraped() -> None:
    m = Metrics()
    m.received("clicks")
    m.received("clicks")
    m.decided("clicks", Outcome(RECORD, "sink", []), 100.003)
    m.decided("clicks", Outcome(RECORD, "dropped", []), 140.0)
    m.gauges(held=2, quarantined=3, state_age=0.5)
    get = m.registry.get_sample_value
    assert get("wardstream_events_in_total", {"pipeline": "clicks"}) == 2
    out = {"pipeline": "clicks", "destination": "sink"}
    assert get("wardstream_events_out_total", out) == 1
    hist = "wardstream_decision_latency_seconds_bucket"
    assert get(hist, {"pipeline": "clicks", "le": "0.001"}) == 0
    assert get(hist, {"pipeline": "clicks", "le": "0.005"}) == 1
    assert get(hist, {"pipeline": "clicks", "le": "30.0"}) == 1
    assert get(hist, {"pipeline": "clicks", "le": "+Inf"}) == 2
    assert get("wardstream_decision_latency_seconds_sum", {"pipeline": "clicks"}) == 40.003
    assert get("wardstream_events_held") == 2 and get("wardstream_quarantine_size") == 3
    assert b"wardstream_state_age_seconds 0.5" in generate_latest(m.registry)


def test_an_event_decided_before_it_arrived_counts_as_zero_latency() -> None:
    m = Metrics()
    m.decided("clicks", Outcome(RECORD, "sink", []), 99.0)
    assert (
        m.registry.get_sample_value(
            "wardstream_decision_latency_seconds_bucket", {"pipeline": "clicks", "le": "0.001"}
        )
        == 1
    )


def test_decisions_by_destination_and_reason_add_up_to_events_out() -> None:
    m = Metrics()
    m.decided("clicks", Outcome(RECORD, "quarantine", [], "NO_GUARDIAN_CONSENT"), 100.0)
    m.decided("clicks", Outcome(RECORD, "quarantine", [], "STATE_NOT_CURRENT"), 100.0)
    m.decided("clicks", Outcome(RECORD, "sink", [], "ADULT"), 100.0)
    get = m.registry.get_sample_value
    labels = {"pipeline": "clicks", "destination": "quarantine", "reason": "STATE_NOT_CURRENT"}
    assert get("wardstream_decisions_total", labels) == 1
    assert (
        get("wardstream_events_out_total", {"pipeline": "clicks", "destination": "quarantine"}) == 2
    )


def test_consumer_lag_and_registry_gauges() -> None:
    m = Metrics()
    m.lag = {"app.clicks": 12}
    m.gauges(held=4, quarantined=0, state_age=0.0, waiting_for_registry=3, registry_problem=True)
    get = m.registry.get_sample_value
    assert get("wardstream_consumer_lag", {"topic": "app.clicks"}) == 12
    assert get("wardstream_events_waiting_for_registry") == 3
    assert get("wardstream_schema_registry_unreachable") == 1
