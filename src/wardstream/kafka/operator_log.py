"""What operator commands write: audit records on the operator chain, and records sent
with every acknowledgement awaited.

``write_access`` (and ``append_audit`` under it) appends an operator's record to
``OPERATOR_CHAIN``, continuing the chain from its last record read back from the
audit topic; ``send`` produces records and waits for every acknowledgement.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from kafka.errors import (
    KafkaError,
    KafkaTimeoutError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailedError,
)

from wardstream.audit.chain import ChainWriter
from wardstream.audit.checkpoint import Signer
from wardstream.domain.audit import AuditRecord
from wardstream.domain.enums import AuditAction
from wardstream.enforce.records import OutRecord
from wardstream.kafka.audit_log import AuditLogError, audit_codec, chain_tail, unreachable
from wardstream.kafka.audit_sign import operator_checkpoint

log = logging.getLogger(__name__)
APPEND_ATTEMPTS = 10
OPERATOR_CHAIN = "_operator/0"  # the worker never writes it: no fork between CLI and worker
"""The chain operator sessions (the CLI) write ACCESS and RELEASED records to."""
CONTROL_PIPELINE = "_control"
ACCESS_RULE = "CN-CPI-2019/art15"  # staff access: approved, for a purpose, each access recorded


def write_access(
    config: Mapping[str, Any],
    audit_topic: str,
    operator: str,
    reason: str,
    attrs: Mapping[str, str],
    signer: Signer | None = None,
    **fields: Any,
) -> AuditRecord:
    """One operator record on ``OPERATOR_CHAIN``: ACCESS of ``_control`` under
    ``ACCESS_RULE`` unless ``fields`` says otherwise. Empty ``attrs`` values are left out.
    With ``signer``, a CHECKPOINT vouching for it goes in the same transaction."""
    fields.setdefault("action", AuditAction.ACCESS)
    fields.setdefault("pipeline", CONTROL_PIPELINE)
    fields.setdefault("rule", ACCESS_RULE)
    return append_audit(
        config,
        audit_topic,
        OPERATOR_CHAIN,
        signer,
        at=datetime.now(UTC),
        worker=operator,
        reason=reason,
        attrs={k: v for k, v in attrs.items() if v},
        **fields,
    )


def append_audit(
    config: Mapping[str, Any], topic: str, chain: str, signer: Signer | None = None, **fields: Any
) -> AuditRecord:
    """Continue ``chain`` from its last record with one record and produce it (acks=all).

    ``fields`` are those of ``ChainWriter.append``. Raises ``AuditLogError`` if
    the chain's last record does not match its hash (run ``audit verify``) or the
    record cannot be produced.

    Operator commands may run at the same moment, and two that read the same tail
    would both continue it: a fork, which ``audit verify`` reports as a break. So each
    append is a Kafka transaction under one transactional id per chain
    (``append_id``), initialised *before* the tail is read. A second command's
    ``init_transactions`` fences the first: the first one's commit fails and it starts
    again from the tail the second one leaves. A fenced attempt's record is aborted,
    and readers of the audit topic read committed records only.
    """
    from wardstream.audit.errors import ChainError

    codec = audit_codec()
    tid = append_id(topic, chain)
    failure: KafkaError | None = None
    for attempt in range(APPEND_ATTEMPTS):
        if attempt:  # jittered backoff: commands that keep fencing each other spread out
            time.sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))  # noqa: S311
        producer = _transactional(config, tid)
        try:
            producer.init_transactions()
            writer = ChainWriter(chain, codec.encode, chain_tail(config, topic, chain))
            record = writer.append(**fields)
            signed = (
                []
                if signer is None
                else [operator_checkpoint(config, topic, record, signer, record.at)]
            )
            producer.begin_transaction()
            producer.send(topic, key=chain.encode(), value=writer.last_written)
            for key, value in signed:  # vouches for the record (kafka/audit_sign.py)
                producer.send(topic, key=key, value=value)
            producer.commit_transaction()
            return record
        except ChainError as exc:
            raise AuditLogError(str(exc)) from None
        except (TransactionalIdAuthorizationFailedError, TopicAuthorizationFailedError):
            raise AuditLogError(
                f"this user may not write to {topic} with transactional id {tid}; grant Write "
                "on the topic and Write and Describe on the transactional id prefix "
                "wardstream-append. (docs/security.md)"
            ) from None
        except KafkaTimeoutError as exc:
            raise unreachable(exc) from None
        except KafkaError as exc:
            # Fenced by another command's append (ProducerFencedError, or the error state a
            # fence leaves the producer in), or a passing broker error: read the tail again
            # and retry. The attempt's record was aborted; if its commit went through and
            # only the answer was lost, the retry continues after it (a second record,
            # never a fork).
            failure = exc
            log.info("appending to %s: %s; trying again", chain, type(exc).__name__)
        finally:
            with contextlib.suppress(Exception):
                producer.close(timeout=5)
    raise AuditLogError(
        f"Kafka did not take the audit record in {APPEND_ATTEMPTS} attempts (last: "
        f"{type(failure).__name__}); check that the brokers at kafka.bootstrap_servers are up, "
        "or try again if other operator commands were writing to the audit topic"
    )


def append_id(topic: str, chain: str) -> str:
    """The transactional id that serialises appends to one chain of one audit topic."""
    return f"wardstream-append.{topic}.{chain}"


def _transactional(config: Mapping[str, Any], transactional_id: str) -> KafkaProducer:
    try:
        return KafkaProducer(transactional_id=transactional_id, acks="all", **config)
    except KafkaError as exc:
        raise unreachable(exc) from None


def send(config: Mapping[str, Any], records: Sequence[OutRecord], timeout: float = 30) -> None:
    """Produce ``records`` in order and wait until the brokers acknowledge each one."""
    try:
        producer = KafkaProducer(
            acks="all", retries=5, max_in_flight_requests_per_connection=1, **config
        )
    except KafkaError as exc:
        raise unreachable(exc) from None
    try:
        futures = [
            producer.send(
                r.topic, key=r.key, value=r.value, headers=list(r.headers),
                timestamp_ms=r.timestamp_ms,
            )
            for r in records
        ]  # fmt: skip
        producer.flush(timeout=timeout)
        for future in futures:
            future.get(timeout=timeout)
    except KafkaError as exc:
        raise AuditLogError(
            f"Kafka did not accept the records ({type(exc).__name__}); check that the brokers at "
            "kafka.bootstrap_servers are up and this user may write to the topics"
        ) from None
    finally:
        with contextlib.suppress(Exception):
            producer.close(timeout=5)
