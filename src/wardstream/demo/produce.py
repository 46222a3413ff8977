"""Write a plan to Kafka: resolve its relative times against a start, encode, send.

``write_plan`` is engine- and client-neutral (it calls ``send``); ``KafkaSender``
is the confluent-kafka ``send`` the demo uses. Time: a step at plan second
``at`` is stamped ``start + at * scale`` (event time, Kafka timestamp, consent
and profile times), and with ``pace`` it is written at that moment too, so
the run takes ``span_s * scale`` seconds of wall-clock time.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from wardstream.demo.errors import DemoError
from wardstream.demo.events import event_record
from wardstream.demo.plan import ConsentStep, EventStep, Plan, PoisonStep, Step, SubjectStep
from wardstream.domain.pipeline import Pipeline
from wardstream.kafka.librdkafka import KEY_PARTITIONER
from wardstream.serde import (
    AvroCodec,
    Codec,
    SchemaRegistry,
    load_schema,
    make_codec,
    record_schema,
)


class Send(Protocol):
    def __call__(self, topic: str, key: bytes | None, value: bytes, timestamp_ms: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Source:
    topic: str
    codec: Codec


@dataclass(frozen=True, slots=True)
class Targets:
    subjects: str
    consents: str
    sources: Mapping[str, Source]
    """Pipeline name -> its source topic and codec; plan pipelines missing here are skipped."""


def targets_for(
    subjects: str,
    consents: str,
    pipelines: Iterable[Pipeline],
    base_dir: Path,
    registry: SchemaRegistry | None = None,
) -> Targets:
    """``registry``: for avro-confluent pipelines, registered under ``<source>-value``."""
    sources = {}
    for p in pipelines:
        schema = load_schema(base_dir / (p.schema or ""))
        codec = make_codec(p.format, schema, registry=registry, subject=f"{p.source}-value")
        sources[p.name] = Source(p.source, codec)
    return Targets(subjects, consents, sources)


@dataclass(slots=True)
class Written:
    by_pipeline: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    """Source records of pipelines the target configuration does not have."""
    state: int = 0

    @property
    def events(self) -> int:
        return sum(self.by_pipeline.values())


class Resolver:
    """Turns plan steps into the records they stand for, against ``start``."""

    def __init__(self, plan: Plan, start: datetime, scale: float) -> None:
        self.seed, self.start, self.scale = plan.seed, start, scale
        self._subject = AvroCodec(record_schema("SubjectProfile"))
        self._consent = AvroCodec(record_schema("ConsentEvent"))

    def time(self, at: float) -> datetime:
        return self.start + timedelta(seconds=at * self.scale)

    def subject(self, s: SubjectStep) -> bytes:
        when = self.time(s.at)
        birth = None if s.age_days is None else self.start.date() - timedelta(days=s.age_days)
        return self._subject.encode(
            {
                "subject_id": s.subject_id,
                "birth_date": birth,
                "age_band": s.age_band,
                "jurisdiction": s.jurisdiction,
                "verification": s.verification,
                "vulnerable": s.vulnerable,
                "deregistered_at": when if s.deregistered else None,
                "updated_at": when,
            }
        )

    def consent(self, c: ConsentStep) -> bytes:
        if c.days_before_start is None:
            effective = self.time(c.at)
        else:
            effective = self.start - timedelta(days=c.days_before_start)
        return self._consent.encode(
            {
                "consent_id": c.consent_id,
                "subject_id": c.subject_id,
                "granted_by": c.granted_by,
                "guardian_ref": c.guardian_ref,
                "action": c.action,
                "purposes": list(c.purposes),
                "data_categories": list(c.categories),
                "third_party_recipients": list(c.recipients),
                "public_disclosure": False,
                "policy_version": c.policy_version,
                "effective_at": effective,
                "expires_at": None if c.expires_at is None else self.time(c.expires_at),
                "evidence": c.evidence,
            }
        )

    def event(self, e: EventStep, codec: Codec) -> bytes:
        return codec.encode(event_record(e.pipeline, e.subject_id, e.n, self.seed, self.time(e.at)))

    def poison(self, p: PoisonStep, codec: Codec) -> tuple[bytes | None, bytes]:
        """Key and value of a record the enforcer must dead-letter."""
        if p.kind == "bad_json":
            return b"poison", b'{"message_id": "m-%d", "user_id": ' % p.n
        if p.kind == "garbage":
            return b"poison", b"\x00\xff this is not an event #%d" % p.n
        whole = codec.encode(
            event_record(p.pipeline, "demo-poison", p.n, self.seed, self.time(p.at))
        )
        if p.kind == "truncated":
            return b"poison", whole[: len(whole) // 2]
        return None, whole  # no_key: the pipeline takes the subject from the key


def write_plan(
    plan: Plan,
    targets: Targets,
    send: Send,
    *,
    start: datetime,
    scale: float = 1.0,
    pace: bool = False,
    stop: threading.Event | None = None,
    progress: Callable[[Written], None] | None = None,
) -> Written:
    """Write every step of ``plan``; return what was written. ``stop`` ends early."""
    resolver = Resolver(plan, start, scale)
    written = Written()
    began = time.monotonic()
    for i, step in enumerate(plan.steps):
        if pace and not _wait(began + step.at * scale, stop):
            break
        if stop is not None and stop.is_set():
            break
        _write(step, resolver, targets, send, written)
        if progress is not None and i % 200 == 0:
            progress(written)
    if progress is not None:
        progress(written)
    return written


def _wait(due: float, stop: threading.Event | None) -> bool:
    """Sleep until ``due`` (monotonic); False when ``stop`` was set meanwhile."""
    delay = due - time.monotonic()
    if delay <= 0:
        return True
    if stop is None:
        time.sleep(delay)
        return True
    return not stop.wait(delay)


def _write(step: Step, r: Resolver, targets: Targets, send: Send, written: Written) -> None:
    if isinstance(step, SubjectStep):
        send(targets.subjects, step.subject_id.encode(), r.subject(step), _ms(r.time(step.at)))
        written.state += 1
        return
    if isinstance(step, ConsentStep):
        send(targets.consents, step.subject_id.encode(), r.consent(step), _ms(r.time(step.at)))
        written.state += 1
        return
    source = targets.sources.get(step.pipeline)
    if source is None:
        written.skipped[step.pipeline] += 1
        return
    if isinstance(step, EventStep):
        key: bytes | None = step.subject_id.encode()
        value = r.event(step, source.codec)
    else:
        key, value = r.poison(step, source.codec)
    send(source.topic, key, value, _ms(r.time(step.at)))
    written.by_pipeline[step.pipeline] += 1


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class KafkaSender:
    """A ``Send`` on confluent-kafka: idempotent, acks=all, errors counted not lost."""

    def __init__(self, bootstrap: str, config: Mapping[str, Any] | None = None) -> None:
        from confluent_kafka import Producer

        self._producer = Producer(
            {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 10,
             "log_level": 3, **KEY_PARTITIONER, **(config or {})}
        )  # fmt: skip
        self.failed = 0
        self.first_error: str | None = None

    def __call__(self, topic: str, key: bytes | None, value: bytes, timestamp_ms: int) -> None:
        while True:
            try:
                self._producer.produce(
                    topic, value, key, timestamp=timestamp_ms, on_delivery=self._delivered
                )
                break
            except BufferError:  # the local queue is full: let it drain
                self._producer.poll(0.05)
        self._producer.poll(0)

    def _delivered(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self.failed += 1
            self.first_error = self.first_error or str(err)

    def flush(self, timeout: float = 60.0) -> None:
        """Wait for every record to be acknowledged; DemoError if any was not."""
        left = self._producer.flush(timeout)
        if left or self.failed:
            raise DemoError(
                f"{left + self.failed} record(s) were not written to Kafka "
                f"({self.first_error or 'timed out'}); check that the broker is reachable"
            )
