"""The Faust engine's state reader waits out a broker that does not answer (found by the
full-size broker-loss run: a 40 s ListOffsets timeout while a node restarted stopped the
worker for good, and every later event was lost to it); a fast worker whose state reader
stopped asks its supervisor for a restart."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError, UnsupportedVersionError
from confluent_kafka import KafkaException

from wardstream.enforce.state import StateStore
from wardstream.engines.fast.state_feed import StateFeed
from wardstream.engines.faust import state_reader
from wardstream.engines.faust.state_reader import StateReader
from wardstream.errors import RestartNeeded


class Applier:
    topics = ("subjects",)

    def __init__(self) -> None:
        self.applied: list[tuple[str, int, int]] = []
        self.expected: list[dict[str, int]] = []

    def expect(self, counts: dict[str, int]) -> None:
        self.expected.append(dict(counts))

    def apply(self, topic: str, partition: int, offset: int, key: Any, value: Any) -> None:
        self.applied.append((topic, partition, offset))

    def apply_rows(self, rows: list[Any]) -> None:
        for row in rows:
            self.apply(*row)


class Consumer:
    """Two records on subjects[0]; ``end_offsets`` fails with ``failures`` first."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures, self.pos = failures, 0

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def assign(self, tps: Any) -> None: ...
    async def seek_to_beginning(self, *tps: Any) -> None: ...

    async def end_offsets(self, tps: Any) -> dict[Any, int]:
        if self.failures:
            raise self.failures.pop(0)
        return {tp: 2 for tp in tps}

    async def position(self, tp: Any) -> int:
        return self.pos

    async def getmany(self, *tps: Any, **_: Any) -> dict[Any, list[Any]]:
        msgs = [type("M", (), {"offset": o, "key": None, "value": b""}) for o in (0, 1)]
        self.pos = 2
        return {tps[0]: msgs}


def reader(consumer: Consumer, applier: Applier, state: StateStore) -> StateReader:
    return StateReader(lambda: consumer, applier, {"subjects": 1}, state, wall=lambda: 42.0)  # type: ignore[arg-type, return-value]


def test_a_timeout_is_waited_out_and_the_reader_catches_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_reader, "RETRY_S", 0.01)
    applier, state = Applier(), StateStore()
    r = reader(Consumer([KafkaTimeoutError(), KafkaTimeoutError()]), applier, state)

    async def main() -> None:
        task = asyncio.create_task(r.run())
        await asyncio.wait_for(r.ready.wait(), 5)
        task.cancel()

    asyncio.run(main())
    assert applier.applied == [("subjects", 0, 0), ("subjects", 0, 1)]
    assert applier.expected == [{"subjects": 2}]  # room for the first read, told once
    assert state.caught_up_at == 42.0


def test_an_error_a_retry_cannot_fix_stops_the_reader() -> None:
    r = reader(Consumer([UnsupportedVersionError()]), Applier(), StateStore())
    with pytest.raises(UnsupportedVersionError):
        asyncio.run(r.run())


def test_the_fast_engines_state_reader_failure_asks_for_a_restart() -> None:
    """The fast engine's reader thread hands its failure over; ``wardstream worker`` then
    exits with EXIT_RESTART (75), as for every other failure a restart fixes."""
    feed = StateFeed(lambda: None, Applier(), StateStore())  # type: ignore[arg-type, return-value]
    feed._queue.put(KafkaException("the brokers do not answer"))
    with pytest.raises(RestartNeeded, match="the state reader stopped"):
        feed.apply_pending()
