"""The audit, quarantine and keys readers see committed records only (no Kafka)."""

from __future__ import annotations

from typing import Any

import pytest
from kafka import TopicPartition

from wardstream.kafka import audit_log
from wardstream.kafka.audit_log import AuditLogError, reader_config

SECURE = {
    "bootstrap_servers": "kafka-1.example.com:9093",
    "security_protocol": "SASL_SSL",
    "sasl_mechanism": "SCRAM-SHA-512",
    "sasl_plain_username": "ward-reader",
    "ssl_cafile": "/etc/ward/ca.pem",
}


def test_the_reader_asks_for_committed_records_and_keeps_security() -> None:
    config = reader_config(SECURE)
    assert config["isolation_level"] == "read_committed"
    assert config["group_id"] is None and config["enable_auto_commit"] is False
    assert {k: config[k] for k in SECURE} == SECURE


def test_every_reader_is_built_from_that_config(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, Any]] = []
    monkeypatch.setattr(audit_log, "KafkaConsumer", lambda **kw: made.append(kw))
    audit_log._consumer(SECURE)
    assert made == [reader_config(SECURE)]


class SkippingConsumer:
    """Polls return no records while the position moves over aborted batches and markers."""

    def __init__(self, steps: int) -> None:
        self.offset, self.steps = 0, steps

    def position(self, tp: TopicPartition) -> int:
        return self.offset

    def poll(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Any]]:
        self.offset += self.steps
        return {}


TP = TopicPartition("audit", 0)


def test_skipping_an_aborted_transaction_is_progress_not_idleness() -> None:
    consumer = SkippingConsumer(steps=1)
    assert list(audit_log._until_end(consumer, TP, 500, None)) == []  # type: ignore[arg-type]
    assert consumer.offset == 500


def test_a_partition_that_does_not_move_is_reported() -> None:
    with pytest.raises(AuditLogError, match="no records came"):
        list(audit_log._until_end(SkippingConsumer(steps=0), TP, 1, None))  # type: ignore[arg-type]
