"""The Faust engine's Kafka clients: an idempotent producer, and commits that never pass an
undecided event.

Both were found by tests/integration/test_cluster_faults.py: without idempotence a produce
request retried after a broker is lost wrote audit records twice (7 in one run, reported by
`audit verify` as replays); and Faust committed past a child's event held for state, which
was lost when its partition moved at a rebalance.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from faust.transport.drivers.aiokafka import Consumer as FaustAIOKafkaConsumer
from faust.types import TP

from wardstream.engines.faust.clients import (
    EngineCommitConsumer,
    IdempotentProducer,
    WardstreamApp,
    make_app,
)
from wardstream.engines.faust.engine import DecidedOffsets

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


def test_commits_follow_the_engine_not_fausts_acks(tmp_path: Path) -> None:
    """Faust's own choice from its acked offsets steps over an unacked event twice over:
    one unacked offset at the head is let go, and after a gap in the offsets read the next
    event counts as acked. Either lost an event at a rebalance (1-2 of 200,000)."""
    faust_app = app(tmp_path)
    consumer = faust_app.consumer
    assert isinstance(consumer, EngineCommitConsumer)
    consumer._committed_offset[SOURCE] = 997
    consumer._acked[SOURCE] = [998, 999, 1000]  # 997: not decided
    consumer._acked_index[SOURCE] = {998, 999, 1000}
    assert FaustAIOKafkaConsumer._new_offset(consumer, SOURCE) == 1001  # Faust: past 997

    consumer._acked[SOURCE] = [997, 998, 1001]  # 1000: not decided
    consumer._acked_index[SOURCE] = {997, 998, 1001}
    asyncio.run(consumer._add_gap(SOURCE, 998 + 1, 1000))  # read 998, then 1000 (as Faust)
    assert FaustAIOKafkaConsumer._new_offset(consumer, SOURCE) == 1002  # Faust: past 1000

    faust_app.commit_point = lambda tp: 997 if tp == SOURCE else None
    consumer._acked[SOURCE] = [998, 999, 1000]
    consumer._acked_index[SOURCE] = {998, 999, 1000}
    assert consumer._new_offset(SOURCE) == 997
    faust_app.commit_point = lambda tp: 1000 if tp == SOURCE else None
    assert consumer._new_offset(SOURCE) == 1000
    assert consumer._acked[SOURCE] == [1000]  # Faust's list is trimmed below the commit
    faust_app.commit_point = lambda tp: None
    assert consumer._new_offset(SOURCE) is None


def test_the_engine_commits_up_to_its_lowest_held_event() -> None:
    offsets = DecidedOffsets()
    assert offsets.point(*SOURCE) is None  # nothing read since the assignment
    offsets.handed_over({SOURCE: 1005}, [(*SOURCE, 1001), (*SOURCE, 1003)])
    assert offsets.point(*SOURCE) == 1001
    offsets.decided(*SOURCE, 1001)
    assert offsets.point(*SOURCE) == 1003
    offsets.handed_over({SOURCE: 1010}, [])
    assert offsets.point(*SOURCE) == 1003  # later batches never step over a held event
    offsets.decided(*SOURCE, 1003)
    assert offsets.point(*SOURCE) == 1010
    offsets.forget([SOURCE])  # revoked, or assigned again: restarts at its committed offset
    assert offsets.point(*SOURCE) is None
    offsets.decided(*SOURCE, 1003)  # a late decision of a forgotten partition is moot
    assert offsets.point(*SOURCE) is None


def test_a_revoked_partition_is_never_committed_until_it_is_assigned_again(
    tmp_path: Path,
) -> None:
    """An agent's batch under way at a revoke may still finish; the broker accepts a commit
    of the old generation, past an event the engine just forgot. Found by the 1->2->1
    rebalance test."""
    faust_app = app(tmp_path)
    faust_app.commit_point = lambda tp: 999
    consumer = faust_app.consumer
    assert isinstance(consumer, EngineCommitConsumer)

    async def rebalance_callback(*_: object) -> None:
        return None

    consumer._on_partitions_revoked = rebalance_callback
    consumer._on_partitions_assigned = rebalance_callback
    assert consumer._new_offset(SOURCE) == 999
    asyncio.run(consumer.on_partitions_revoked({SOURCE}))
    assert consumer._new_offset(SOURCE) is None
    asyncio.run(consumer.on_partitions_assigned({SOURCE}))
    assert consumer._new_offset(SOURCE) == 999
