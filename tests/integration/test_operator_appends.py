"""Operator commands that run at the same moment never fork the operator chain.

Each command reads the chain's tail and continues it (``quarantine_log.append_audit``).
Without a lock two commands read the same tail and both write its next seq: a fork,
which ``audit verify`` reports as a break. The appends are serialised by a Kafka
transactional id per chain; a fenced command reads the tail again and retries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from wardstream.domain.enums import AuditAction
from wardstream.kafka.admin import TopicSpec, ensure_topics
from wardstream.kafka.audit_log import read_audit, verify_topic
from wardstream.kafka.quarantine_log import OPERATOR_CHAIN, append_audit

COMMANDS = 8


def test_concurrent_operator_appends_make_one_unbroken_chain(
    kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    topic = unique_topic("audit")
    config = {"bootstrap_servers": kafka_bootstrap}
    ensure_topics(config, [TopicSpec(topic, 3)])
    append_audit(config, topic, OPERATOR_CHAIN, **_fields("first"))
    start = threading.Barrier(COMMANDS)
    failures: list[BaseException] = []

    def command(n: int) -> None:
        try:
            start.wait()
            append_audit(config, topic, OPERATOR_CHAIN, **_fields(f"op-{n}"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=command, args=(n,)) for n in range(COMMANDS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []

    records = [e.record for e in read_audit(config, topic) if e.record is not None]
    assert sorted(r.seq for r in records) == list(range(COMMANDS + 1))
    workers = ["first", *(f"op-{n}" for n in range(COMMANDS))]
    assert sorted(r.worker for r in records) == sorted(workers)
    result = verify_topic(config, topic)
    assert result.ok, result.breaks


def _fields(worker: str) -> dict[str, object]:
    return {
        "at": datetime.now(UTC),
        "worker": worker,
        "pipeline": "_control",
        "action": AuditAction.ACCESS,
    }
