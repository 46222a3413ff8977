"""How the fast engine makes its outputs and source offsets durable together.

``Transactions`` (exactly_once): the outputs of decided events and the source
offsets that cover them are committed in one Kafka transaction
(consume-transform-produce, KIP-447 fencing through the consumer's group
metadata). ``AfterDelivery`` (at_least_once): offsets are committed after the
producer confirmed every output sent before them.

A transaction that cannot commit is aborted and the worker stops: its memory
(audit chains, quarantine book) already counts the aborted records, so only a
restart, which rebuilds that memory from the committed topics, is safe.

Exit code 75 (``EXIT_STALLED``, EX_TEMPFAIL): a transactional call did not
return within ``STALL_AFTER_S``. librdkafka 2.16 can ignore the timeout of
``send_offsets_to_transaction`` and ``commit_transaction`` when the coordinator
broker died (confluentinc/librdkafka#5456, #5511); the worker would then hang
for good, SIGTERM included, because Python runs signal handlers only between
bytecodes. ``Watchdog`` ends the process instead, so that its supervisor
restarts it: nothing is lost, since the open transaction's outputs and offsets
were not committed, and the restart's ``init_transactions`` fences this
incarnation and aborts that transaction.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from wardstream.errors import EXIT_RESTART, RestartNeeded

log = logging.getLogger(__name__)
TIMEOUT_S = 30.0
RETRIES = 5
STALL_AFTER_S = 2 * TIMEOUT_S
EXIT_STALLED = EXIT_RESTART  # a supervisor restarts the worker


class DeliveryFailed(RestartNeeded):
    """Outputs could not be made durable; the worker stops without committing past them."""


class DeliveryErrors:
    """The producer's ``on_delivery`` callback (errors only): remembers the first failure."""

    def __init__(self) -> None:
        self.first: str | None = None
        self.count = 0

    def __call__(self, err: KafkaError | None, msg: Any) -> None:
        if err is None:
            return
        self.count += 1
        if self.first is None:
            self.first = f"{msg.topic()}[{msg.partition()}]: {err.str()}"
            log.error("delivery failed to %s[%s]: %s", msg.topic(), msg.partition(), err.str())

    def check(self) -> None:
        if self.first is not None:
            raise DeliveryFailed(
                f"{self.count} output record(s) could not be delivered, first {self.first}; "
                "offsets were not committed past them, so a restart processes them again"
            )


class Delivery(Protocol):
    def start(self) -> None: ...
    def before_produce(self) -> None: ...
    def commit(self, offsets: list[TopicPartition]) -> None: ...
    def abort(self) -> None: ...


class AfterDelivery:
    def __init__(self, producer: Producer, consumer: Consumer, errors: DeliveryErrors) -> None:
        self.producer, self.consumer, self.errors = producer, consumer, errors

    def start(self) -> None:
        return None

    def before_produce(self) -> None:
        return None

    def commit(self, offsets: list[TopicPartition]) -> None:
        left = self.producer.flush(TIMEOUT_S)
        self.errors.check()
        if left:
            raise DeliveryFailed(f"{left} output record(s) still unconfirmed after {TIMEOUT_S}s")
        if offsets:
            self.consumer.commit(offsets=offsets, asynchronous=False)

    def abort(self) -> None:
        return None


class Watchdog:
    """Ends the process when a guarded call outlives ``limit_s`` (see the module docstring).

    One daemon thread, started by the first ``guard``, serves every call: the
    engine commits many times a second (``idle_commit_s``), where a
    ``threading.Timer`` per call would start a thread each time, and a Timer
    can still fire after ``cancel()`` once its wait ended. Here arming,
    disarming and the deadline check share one lock, so a call that returned
    in time never fires it. An ``exit`` that returns (tests) fires once; the
    thread then ends.
    """

    def __init__(self, limit_s: float, exit: Callable[[int], object] = os._exit) -> None:
        self.limit_s, self._exit = limit_s, exit
        self._cond = threading.Condition()
        self._call: str | None = None
        self._deadline = 0.0
        self._thread: threading.Thread | None = None

    @contextmanager
    def guard(self, call: str) -> Iterator[None]:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="eos-watchdog")
                self._thread.daemon = True
                self._thread.start()
            self._call, self._deadline = call, time.monotonic() + self.limit_s
            self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                self._call = None

    def _watch(self) -> None:
        with self._cond:
            while self._call is None or time.monotonic() < self._deadline:
                left = None if self._call is None else self._deadline - time.monotonic()
                self._cond.wait(left)
            log.error(
                "%s has not returned after %.1fs: librdkafka ignores its timeout when the "
                "transaction or group coordinator broker died (confluentinc/librdkafka#5456, "
                "#5511). The worker exits with code %d so that its supervisor restarts it; the "
                "restart's init_transactions fences this worker and aborts the open transaction, "
                "whose outputs and offsets were not committed, so a restart redoes them",
                self._call,
                self.limit_s,
                EXIT_STALLED,
            )
            _flush_logs()
            self._exit(EXIT_STALLED)


class Transactions:
    def __init__(
        self,
        producer: Producer,
        consumer: Consumer,
        errors: DeliveryErrors,
        *,
        stall_after_s: float = STALL_AFTER_S,
        exit: Callable[[int], object] = os._exit,
    ) -> None:
        self.producer, self.consumer, self.errors = producer, consumer, errors
        self.open = False
        self.watchdog = Watchdog(stall_after_s, exit)

    def start(self) -> None:
        """Fence this worker's earlier incarnation and abort its open transaction."""
        with self.watchdog.guard("init_transactions"):
            self.producer.init_transactions(TIMEOUT_S)

    def before_produce(self) -> None:
        if not self.open:
            self.producer.begin_transaction()
            self.open = True

    def commit(self, offsets: list[TopicPartition]) -> None:
        if not self.open and not offsets:
            return
        self.before_produce()
        try:
            if offsets:
                metadata = self.consumer.consumer_group_metadata()
                _retry(lambda: self._send_offsets(offsets, metadata))
            _retry(self._commit)
        except KafkaException as exc:
            self.abort()
            raise DeliveryFailed(
                f"the transaction could not commit ({exc.args[0].str()}); it was aborted and the "
                "worker stops so that a restart resumes from the last committed transaction"
            ) from exc
        self.open = False

    def abort(self) -> None:
        if self.open:
            self.open = False
            try:
                with self.watchdog.guard("abort_transaction"):
                    self.producer.abort_transaction(TIMEOUT_S)
            except KafkaException as exc:
                log.error("aborting the transaction failed: %s", exc.args[0].str())

    def _send_offsets(self, offsets: list[TopicPartition], metadata: Any) -> None:
        with self.watchdog.guard("send_offsets_to_transaction"):
            self.producer.send_offsets_to_transaction(offsets, metadata, TIMEOUT_S)

    def _commit(self) -> None:
        with self.watchdog.guard("commit_transaction"):
            self.producer.commit_transaction(TIMEOUT_S)


def _retry(call: Any) -> None:
    for attempt in range(RETRIES):
        try:
            call()
            return
        except KafkaException as exc:
            err: KafkaError = exc.args[0]
            if not err.retriable() or attempt == RETRIES - 1:
                raise
            log.warning("retrying a transactional call: %s", err.str())


def _flush_logs() -> None:
    """Flush every handler ``log`` reaches: ``os._exit`` skips the interpreter's own flush."""
    logger: logging.Logger | None = log
    while logger is not None:
        for handler in logger.handlers:
            handler.flush()
        logger = logger.parent if logger.propagate else None
    sys.stdout.flush()
    sys.stderr.flush()
