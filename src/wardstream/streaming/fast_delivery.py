"""How the fast engine makes its outputs and source offsets durable together.

``Transactions`` (exactly_once): the outputs of decided events and the source
offsets that cover them are committed in one Kafka transaction
(consume-transform-produce, KIP-447 fencing through the consumer's group
metadata). ``AfterDelivery`` (at_least_once): offsets are committed after the
producer confirmed every output sent before them.

A transaction that cannot commit is aborted and the worker stops: its memory
(audit chains, quarantine book) already counts the aborted records, so only a
restart, which rebuilds that memory from the committed topics, is safe.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from wardstream.errors import WardstreamError

log = logging.getLogger(__name__)
TIMEOUT_S = 30.0
RETRIES = 5


class DeliveryFailed(WardstreamError):
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


class Transactions:
    def __init__(self, producer: Producer, consumer: Consumer, errors: DeliveryErrors) -> None:
        self.producer, self.consumer, self.errors = producer, consumer, errors
        self.open = False

    def start(self) -> None:
        """Fence this worker's earlier incarnation and abort its open transaction."""
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
                _retry(
                    lambda: self.producer.send_offsets_to_transaction(offsets, metadata, TIMEOUT_S)
                )
            _retry(lambda: self.producer.commit_transaction(TIMEOUT_S))
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
                self.producer.abort_transaction(TIMEOUT_S)
            except KafkaException as exc:
                log.error("aborting the transaction failed: %s", exc.args[0].str())


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
