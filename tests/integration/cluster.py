"""Broker faults on a three-node ``LocalKafka``: which node to stop, and when it is back.

``lose_broker`` stops one node (SIGKILL or SIGTERM), keeps it down, starts it
again and waits until every node is registered and every partition has all
its replicas in sync, so that the next fault never takes a second replica of
a partition away (with ``min.insync.replicas=2`` that would stop producers).
"""

from __future__ import annotations

import json
import time
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from wardstream.local.kafka import LocalKafka, metadata_ok


def lose_broker(kafka: LocalKafka, node: int, *, hard: bool, down_s: float, role: str) -> str:
    """Stop ``node`` for ``down_s`` seconds, start it again, wait until it is in sync;
    returns a line for the census table."""
    stopped = time.monotonic()
    kafka.stop_node(node, hard=hard)
    time.sleep(down_s)
    kafka.start_node(node)
    back = wait_in_sync(kafka, timeout=120) - stopped
    signal = "SIGKILL" if hard else "SIGTERM"
    return f"node {node} ({role}) {signal}, restarted after {down_s:.0f}s, in sync at {back:.0f}s"


def active_controller(kafka: LocalKafka) -> int:
    """The KRaft quorum leader, from the nodes' quorum-state files (the newest epoch wins)."""
    best = (-1, -1)
    for node in kafka.nodes:
        path = node.directory / "data" / "__cluster_metadata-0" / "quorum-state"
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        best = max(best, (int(state.get("leaderEpoch", -1)), int(state.get("leaderId", -1))))
    assert best[1] > 0, "no quorum-state file names a leader"
    return best[1]


def leader_of(kafka: LocalKafka, topic: str, partition: int) -> int:
    for p in partitions(kafka):
        if p["topic"] == topic and p["partition_index"] == partition:
            return int(p["leader_id"])
    raise AssertionError(f"{topic}[{partition}] has no leader")


def partitions(kafka: LocalKafka, timeout: float = 30) -> list[dict[str, Any]]:
    """Every partition of the cluster: topic, partition_index, leader_id, replica_nodes,
    isr_nodes (asking again while a node that was just restarted refuses connections)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=kafka.bootstrap_servers, request_timeout_ms=5000
            )
            try:
                topics = admin.describe_topics()
            finally:
                admin.close()
            return [p | {"topic": t["name"]} for t in topics for p in t["partitions"]]
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def wait_in_sync(kafka: LocalKafka, timeout: float) -> float:
    """Until every node is registered and every partition has all its replicas in sync;
    returns the ``time.monotonic()`` of that moment."""
    deadline = time.monotonic() + timeout
    lagging: list[str] = ["not every node registered"]
    while time.monotonic() < deadline:
        if metadata_ok(kafka.bootstrap_servers, len(kafka.nodes)):
            lagging = [
                f"{p['topic']}[{p['partition_index']}]"
                for p in partitions(kafka)
                if len(p["isr_nodes"]) < len(p["replica_nodes"])
            ]
            if not lagging:
                return time.monotonic()
        time.sleep(0.5)
    raise AssertionError(f"replicas not back in sync after {timeout:.0f}s: {lagging[:5]}")
