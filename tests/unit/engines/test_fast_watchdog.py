"""The exactly-once watchdog: a transactional call that hangs ends the worker with code 75."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from wardstream.engines.fast.delivery import (
    EXIT_STALLED,
    DeliveryErrors,
    DeliveryFailed,
    Transactions,
    Watchdog,
)

LIMIT_S = 0.05
QUIET_LIMIT_S = 0.2  # room for a loaded machine where nothing may fire


class FakeProducer:
    """A transactional producer whose ``hang`` call blocks until ``release`` is set."""

    def __init__(self, hang: str = "", fail: str = "") -> None:
        self.hang, self.fail = hang, fail
        self.release = threading.Event()
        self.calls: list[str] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name == self.hang:
            self.release.wait(10)
        if name == self.fail:
            raise KafkaException(KafkaError(KafkaError._FATAL))

    def init_transactions(self, timeout: float) -> None:
        self._call("init_transactions")

    def begin_transaction(self) -> None:
        self._call("begin_transaction")

    def send_offsets_to_transaction(self, offsets: Any, metadata: Any, timeout: float) -> None:
        self._call("send_offsets_to_transaction")

    def commit_transaction(self, timeout: float) -> None:
        self._call("commit_transaction")

    def abort_transaction(self, timeout: float) -> None:
        self._call("abort_transaction")


class FakeConsumer:
    def consumer_group_metadata(self) -> object:
        return object()


def transactions(producer: FakeProducer, limit_s: float) -> tuple[Transactions, list[int]]:
    exits: list[int] = []

    def exit(code: int) -> None:
        exits.append(code)
        producer.release.set()

    t = Transactions(
        producer,  # type: ignore[arg-type]
        FakeConsumer(),  # type: ignore[arg-type]
        DeliveryErrors(),
        stall_after_s=limit_s,
        exit=exit,
    )
    return t, exits


def abort(t: Transactions) -> None:
    t.before_produce()
    t.abort()


OFFSETS = [TopicPartition("src", 0, 7)]
RUNS: dict[str, Callable[[Transactions], None]] = {
    "init_transactions": lambda t: t.start(),
    "send_offsets_to_transaction": lambda t: t.commit(OFFSETS),
    "commit_transaction": lambda t: t.commit(OFFSETS),
    "abort_transaction": abort,
}


@pytest.mark.parametrize("call", list(RUNS))
def test_a_hanging_call_exits_once_with_75(call: str, caplog: pytest.LogCaptureFixture) -> None:
    producer = FakeProducer(hang=call)
    t, exits = transactions(producer, LIMIT_S)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR):
        RUNS[call](t)
    assert time.monotonic() - started >= LIMIT_S
    time.sleep(3 * LIMIT_S)
    assert exits == [EXIT_STALLED] == [75]
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert call in record.getMessage()
    assert "#5456" in record.getMessage() and "init_transactions fences" in record.getMessage()


def test_calls_that_return_in_time_never_exit() -> None:
    producer = FakeProducer()
    t, exits = transactions(producer, QUIET_LIMIT_S)
    t.start()
    for _ in range(3):
        t.commit(OFFSETS)
    abort(t)
    time.sleep(3 * QUIET_LIMIT_S)
    assert exits == []
    assert producer.calls.count("commit_transaction") == 3


def test_a_failed_call_disarms_the_watchdog() -> None:
    producer = FakeProducer(fail="commit_transaction")
    t, exits = transactions(producer, QUIET_LIMIT_S)
    with pytest.raises(DeliveryFailed):
        t.commit(OFFSETS)
    assert producer.calls[-1] == "abort_transaction"
    time.sleep(3 * QUIET_LIMIT_S)
    assert exits == []


def test_the_guard_disarms_on_any_exception() -> None:
    exits: list[int] = []
    watchdog = Watchdog(QUIET_LIMIT_S, exits.append)
    with pytest.raises(ValueError), watchdog.guard("init_transactions"):
        raise ValueError("boom")
    time.sleep(3 * QUIET_LIMIT_S)
    assert exits == []
