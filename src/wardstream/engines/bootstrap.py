"""Build a running worker from settings: topics, keys, pipelines, audit resume, engine.

Everything here happens once at start-up, before the first event: a problem
stops the worker with a message that names the fix.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

from wardstream.config.secrets import SecretUnavailable
from wardstream.config.settings import Settings, derived
from wardstream.domain.pipeline import Pipeline
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.enforcer import Enforcer
from wardstream.enforce.metrics import Metrics
from wardstream.enforce.processor import PipelineProcessor, Timing
from wardstream.enforce.quarantine import QuarantineBook
from wardstream.enforce.state import StateStore
from wardstream.engines.keysetup import (
    StartupError,
    check_keys_topic,
    id_key,
    key_ring,
    keys_topic_config,
    master_key,
    pseudonymizer,
    signing_key,
    snapshot_key,
)
from wardstream.engines.snapshots import Snapshots
from wardstream.errors import WardstreamError
from wardstream.kafka.admin import TopicSpec, ensure_topics
from wardstream.kafka.librdkafka import common_config, state_consumer_config
from wardstream.kafka.registry import schema_registry
from wardstream.kafka.security import preflight, python_options
from wardstream.kafka.tail import Row, partitions_of, read_to_end
from wardstream.kafka.topic_facts import topic_facts
from wardstream.lifecycle.wiring import COMPACTED_KINDS, attach
from wardstream.policy.context import PolicyContext
from wardstream.serde import Origin, RegistryError, load_schema, make_codec
from wardstream.state.consent_codec import ConsentCodec
from wardstream.state.maps import LedgerMap

log = logging.getLogger(__name__)


def security_config(settings: Settings) -> dict[str, Any]:
    """kafka-python / aiokafka client options for the configured security protocol."""
    return python_options(settings.kafka)


def state_snapshots(
    settings: Settings, enforcer: Enforcer, *, load: bool = True
) -> Snapshots | None:
    """The snapshot (None when ``state.snapshot_dir`` is unset), restored unless ``load`` is
    False (then ``Snapshots.load`` restores it later): its ``start`` is where the state
    reader reads on from. Restore before the reader starts."""
    directory = settings.state.snapshot_dir
    if directory is None:
        return None
    if enforcer.applier is None:
        raise WardstreamError("build_enforcer attaches the lifecycle state; call it first")
    t = settings.topics
    snaps = Snapshots(
        directory,
        snapshot_key(settings),
        enforcer.applier,
        enforcer.state,
        (t.subjects, t.consents),
        settings.state.snapshot_interval.total_seconds(),
    )
    consumer = state_consumer_config(settings, settings.fast)
    snaps.facts = lambda: topic_facts(consumer, common_config(settings.kafka), snaps.mine)
    if load:
        snaps.load()
    return snaps


def topic_specs(settings: Settings, pipelines: Iterable[Pipeline]) -> list[TopicSpec]:
    k, t = settings.kafka, settings.topics
    compacted = {"cleanup.policy": "compact"}
    # a consent ledger needs every event of a subject (compaction by subject would keep only
    # the last), and the audit trail is the evidence: neither may age out under the broker's
    # default retention (7 days), or a restarted worker forgets consents and fails closed
    kept = {"retention.ms": "-1"}
    # held events stay readable for their whole window (and a day for the expiry to be read)
    window_ms = int(settings.policy.quarantine_window.total_seconds() * 1000) + 86_400_000

    def spec(name: str, config: dict[str, str] | None = None) -> TopicSpec:
        return TopicSpec(name, k.partitions, k.replication_factor, config or {})

    specs = [
        spec(t.subjects, compacted),
        spec(t.consents, kept),
        spec(t.requests),
        spec(t.quarantine, {"retention.ms": str(max(window_ms, 7 * 86_400_000))}),
        spec(t.deadletter, {"retention.ms": str(settings.lifecycle.deadletter_retention_ms)}),
        spec(t.deletions),
        spec(t.notices),
        spec(t.audit, kept),
        spec(t.corrections),
        spec(t.incidents),
    ]
    for p in pipelines:  # a sink that gets tombstones is created compacted
        specs += [spec(p.source), spec(p.sink, compacted if p.sink_tombstones else None)]
    specs += [
        spec(derived(settings, kind), keys_topic_config(settings) if kind == "keys" else compacted)
        for kind in COMPACTED_KINDS
    ]
    return specs


def read_audit_tails(settings: Settings, auditor: Auditor) -> int:
    """Read the audit topic's committed records so every chain continues from its last one.

    Records are keyed by chain id and a chain's records keep their order within a
    partition, so only the last record of each key in each partition is decoded (about
    20 us each); the others are only read. read_committed: never a record of an aborted
    exactly-once transaction. Returns the number of records read.
    """
    topic = settings.topics.audit
    last: dict[tuple[int, bytes | None], tuple[int, bytes]] = {}
    seen = 0

    def keep(rows: list[Row]) -> None:
        nonlocal seen
        seen += len(rows)
        for _, partition, offset, key, value in rows:
            if value is not None:
                last[(partition, key)] = (offset, value)

    consumer = Consumer(state_consumer_config(settings, settings.fast))
    try:
        tps = partitions_of(consumer, topic)
        consumer.assign([TopicPartition(topic, tp.partition, OFFSET_BEGINNING) for tp in tps])
        read_to_end(consumer, tps, {}, keep)
    finally:
        consumer.close()
    auditor.resume(
        auditor.decode(value, Origin(topic, partition, offset))
        for (partition, _), (offset, value) in last.items()
    )
    return seen


def build_enforcer(
    settings: Settings, pipelines: Sequence[Pipeline], policy: PolicyContext, base_dir: str = "."
) -> Enforcer:
    w = settings.worker
    if settings.state.snapshot_dir is not None:
        snapshot_key(settings)  # a missing or malformed key stops start-up before Kafka
    # the declared purposes stored as a byte each in consent ledgers
    state = StateStore(consents=LedgerMap(ConsentCodec(settings.policy.purposes)))
    signer = signing_key(settings)
    if signer is None:
        log.warning(
            "audit checkpoints are off: set WARDSTREAM__AUDIT__SIGNING_KEY or "
            "audit.signing_key_file (Ed25519) so auditors can tell this worker's audit "
            "records from anyone else's (`wardstream audit public-key` prints the public half)"
        )
    else:
        log.info("audit checkpoints signed with key %s", signer.key_id)
    ring = key_ring(settings, pipelines)  # a missing master key is named first
    refs = pseudonymizer(settings)
    book = QuarantineBook(settings.topics.quarantine, ring, refs=refs.ref)
    if policy.ids is None:  # ids derived from subjects are keyed (HKDF of the pseudonym key)
        policy = replace(policy, ids=id_key(settings))
    auditor = Auditor(
        settings.topics.audit,
        w.name,
        refs,
        summary_interval=timedelta(seconds=w.summary_interval_s),
        signer=signer,
        checkpoint_interval=timedelta(seconds=settings.audit.checkpoint_interval_s),
    )
    timing = Timing(w.state_lateness_s, w.max_hold_s, policy.quarantine_window)
    try:
        registry = schema_registry(settings.kafka)
    except (RegistryError, SecretUnavailable) as exc:
        raise StartupError(f"schema registry client: {exc}") from exc
    processors = []
    for p in pipelines:
        # load_pipelines stored the path config.pipeline.resolve_schema found (absolute),
        # the file `wardstream check` read; a hand-built relative path is from base_dir
        schema = load_schema(os.path.join(base_dir, p.schema)) if p.schema else None
        if schema is None:
            raise StartupError(f"pipeline {p.name}: a schema file is needed (schema: path/to.avsc)")
        codec = make_codec(p.format, schema, registry=registry, subject=f"{p.sink}-value")
        processors.append(
            PipelineProcessor(
                p, policy, codec, schema, state, auditor, book, settings.topics.deadletter, timing
            )
        )
    enforcer = Enforcer(processors, state, auditor, book, Metrics(), time.time)
    attach(settings, pipelines, policy, enforcer)
    return enforcer


def client_config(settings: Settings) -> dict[str, Any]:
    """kafka-python client options: bootstrap servers plus security."""
    return {"bootstrap_servers": settings.kafka.bootstrap_servers, **security_config(settings)}


def prepare(settings: Settings, pipelines: Iterable[Pipeline]) -> None:
    """Create the missing topics and check the keys topic's settings. Call it after
    ``build_enforcer``, which checks the keys and schemas without Kafka: configuration
    errors come first, then the network."""
    preflight(settings.kafka)  # a refused login or CA stops start-up now, with the fix
    where = f"Kafka at {settings.kafka.bootstrap_servers}"
    try:
        ensure_topics(client_config(settings), topic_specs(settings, pipelines))
    except (KafkaTimeoutError, KafkaConnectionError) as exc:
        raise StartupError(
            f"{where} did not answer ({type(exc).__name__}): check kafka.bootstrap_servers "
            "(WARDSTREAM__KAFKA__BOOTSTRAP_SERVERS), that the brokers are up and that this "
            "host can reach them"
        ) from exc
    except KafkaError as exc:
        raise StartupError(
            f"{where} refused to list or create the worker's topics ({type(exc).__name__}): "
            "give this worker's user DESCRIBE and CREATE on them (docs/security.md) or "
            "create them beforehand"
        ) from exc
    if settings.lifecycle.encrypt_quarantine:
        check_keys_topic(client_config(settings), settings)


__all__ = [
    "StartupError",
    "build_enforcer",
    "client_config",
    "id_key",
    "key_ring",
    "master_key",
    "prepare",
    "pseudonymizer",
    "read_audit_tails",
    "security_config",
    "topic_specs",
]
