"""The Faust engine's Kafka clients: an idempotent producer, and commits that never pass a
held event.

Both were found by tests/integration/test_cluster_faults.py: without idempotence a produce
request retried after a broker is lost wrote audit records twice (7 in one run, reported by
`audit verify` as replays); and Faust committed past a child's event held for state, which
was lost when its partition moved at a rebalance.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from faust.types import TP

from wardstream.streaming.faust_engine import (
    HeldAwareConsumer,
    IdempotentProducer,
    WardstreamApp,
    make_app,
)

SOURCE = TP("app.clickstream", 3)


def app(tmp_path: Path, guarantee: str = "at_least_once") -> WardstreamApp:
    made = make_app(
        "t",
        "b:9092",
        web_port=0,
        datadir=str(tmp_path),
        guarantee=guarantee,
        security={},
        batch_size=10,
    )
    assert isinstance(made, WardstreamApp)
    return made


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_the_producer_is_idempotent(guarantee: str, tmp_path: Path) -> None:
    producer = app(tmp_path, guarantee).producer
    assert isinstance(producer, IdempotentProducer)
    extra = producer._settings_extra()
    assert extra["enable_idempotence"] is True and extra["acks"] == "all"


@pytest.mark.parametrize(
    ("held", "acked", "expected"),
    [
        (None, [998, 999, 1000], 1001),  # Faust alone: past unacked 997 (its one-offset slack)
        (997, [998, 999, 1000], None),  # 997 is held: nothing is committed yet
        (999, [997, 998, 1000], 999),  # up to the held event, not past it
        (None, [997, 998], 999),
    ],
)
def test_commits_stop_at_the_lowest_held_event(
    held: int | None, acked: list[int], expected: int | None, tmp_path: Path
) -> None:
    faust_app = app(tmp_path)
    faust_app.held_floor = lambda tp: held if tp == SOURCE else None
    consumer = faust_app.consumer
    assert isinstance(consumer, HeldAwareConsumer)
    consumer._committed_offset[SOURCE] = 997
    consumer._acked[SOURCE] = list(acked)
    consumer._acked_index[SOURCE] = set(acked)
    assert consumer._new_offset(SOURCE) == expected


def test_a_revoked_partition_is_never_committed_until_it_is_assigned_again(
    tmp_path: Path,
) -> None:
    """An agent's batch under way at a revoke acks its events after Faust dropped the
    partition's offsets; Faust would commit them (the broker accepts a commit of the old
    generation) past the held event the engine just forgot, and the next owner would start
    after it. Found by the 1->2->1 rebalance test."""
    faust_app = app(tmp_path)
    consumer = faust_app.consumer
    assert isinstance(consumer, HeldAwareConsumer)

    async def rebalance_callback(*_: object) -> None:
        return None

    consumer._on_partitions_revoked = rebalance_callback
    consumer._on_partitions_assigned = rebalance_callback
    consumer._committed_offset[SOURCE] = 997  # 997 is held by the engine, not acked
    asyncio.run(consumer.on_partitions_revoked({SOURCE}))  # the engine forgets 997
    consumer._acked[SOURCE].extend([998, 999])  # the batch under way acks late
    consumer._acked_index[SOURCE].update([998, 999])
    assert consumer._new_offset(SOURCE) is None
    asyncio.run(consumer.on_partitions_assigned({SOURCE}))  # back: restarts at 997
    assert consumer._new_offset(SOURCE) is None  # the stale acks were dropped
    consumer._acked[SOURCE].extend([997, 998])
    assert consumer._new_offset(SOURCE) == 999
