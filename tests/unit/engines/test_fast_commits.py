"""The fast engine's commit step, with fakes for Kafka: held events, metadata, pausing."""

from __future__ import annotations

from typing import Any

from wardstream.engines.fast.engine import FastEngine
from wardstream.engines.offsets import Progress, decode
from wardstream.kafka.librdkafka import FastEngineSettings


class FakeConsumer:
    def __init__(self) -> None:
        self.paused: list[tuple[str, int]] = []
        self.resumed: list[tuple[str, int]] = []

    def pause(self, tps: list[Any]) -> None:
        self.paused += [(tp.topic, tp.partition) for tp in tps]

    def resume(self, tps: list[Any]) -> None:
        self.resumed += [(tp.topic, tp.partition) for tp in tps]


class FakeDelivery:
    def __init__(self) -> None:
        self.commits: list[list[Any]] = []
        self.aborted = False

    def start(self) -> None: ...
    def before_produce(self) -> None: ...

    def commit(self, offsets: list[Any]) -> None:
        self.commits.append(offsets)

    def abort(self) -> None:
        self.aborted = True


def engine(eos: bool, max_bytes: int = 4000) -> tuple[FastEngine, FakeConsumer, FakeDelivery]:
    consumer, delivery = FakeConsumer(), FakeDelivery()
    fast = FastEngineSettings(max_commit_metadata_bytes=max_bytes)
    e = FastEngine(None, consumer, None, None, delivery, fast, exactly_once=eos)  # type: ignore[arg-type]
    return e, consumer, delivery


def test_offsets_stop_at_held_events_and_name_the_rest() -> None:
    e, _, delivery = engine(eos=True)
    e.progress[("src", 0)] = Progress(next=100, held={40, 70})
    e.progress[("src", 1)] = Progress(next=7)
    e._commit()
    [offsets] = delivery.commits
    by_part = {tp.partition: tp for tp in offsets}
    assert by_part[1].offset == 7 and by_part[1].metadata == ""
    assert by_part[0].offset == 40
    assert decode(by_part[0].metadata, 40) == (100, frozenset({40, 70}))


def test_an_unchanged_partition_is_not_committed_again() -> None:
    e, _, delivery = engine(eos=False)
    e.progress[("src", 0)] = Progress(next=5)
    e._commit()
    e._commit()
    assert [len(o) for o in delivery.commits] == [1, 0]


def test_metadata_too_big_pauses_the_partition_and_defers_the_transaction() -> None:
    e, consumer, delivery = engine(eos=True, max_bytes=10)
    e.progress[("src", 0)] = Progress(next=100, held={40, 70})
    e.progress[("src", 1)] = Progress(next=7)
    e._commit()
    assert delivery.commits == [] and consumer.paused == [("src", 0)]
    e.progress[("src", 0)].held.clear()  # the held events were decided
    e._commit()
    assert [tp.offset for tp in delivery.commits[0]] == [100, 7]
    assert consumer.resumed == [("src", 0)]


def test_at_least_once_commits_the_partitions_that_fit() -> None:
    e, consumer, delivery = engine(eos=False, max_bytes=10)
    e.progress[("src", 0)] = Progress(next=100, held={40})
    e.progress[("src", 1)] = Progress(next=7)
    e._commit()
    assert [(tp.partition, tp.offset) for tp in delivery.commits[0]] == [(1, 7)]
    assert consumer.paused == [("src", 0)]


def test_a_revoke_that_cannot_commit_aborts_and_stops_under_exactly_once() -> None:
    e, _, delivery = engine(eos=True, max_bytes=10)
    e.progress[("src", 0)] = Progress(next=100, held={40})
    e._commit(revoking=True)
    assert delivery.aborted and e.stopping


def test_a_partition_paused_for_the_schema_registry_stays_paused_until_it_answers() -> None:
    e, consumer, delivery = engine(eos=False)
    e.progress[("src", 0)] = Progress(next=10, held={4})
    e.registry_waiting = {("src", 0)}
    e._pause(("src", 0))
    e._commit()
    assert consumer.resumed == []  # still waiting: the events behind would pile up in memory
    e.registry_waiting = set()
    e.progress[("src", 0)].held.clear()
    e._commit()
    assert consumer.resumed == [("src", 0)]
