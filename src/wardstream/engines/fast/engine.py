"""The fast engine: the enforcer on confluent-kafka (librdkafka), one loop, one thread.

Glue only, like the Faust engine: source records become ``InRecord``, the
``Enforcer`` decides, every ``OutRecord`` is produced as is. The loop takes a
batch (wait for the first record, then whatever is already fetched), hands it to
``batch.Batches`` (the lane for the whole batch, ``submit`` for the rest),
releases held events that may leave after every batch, ticks the enforcer every
``tick_interval_s`` and commits every
``commit_interval_s``. Held events (waiting for current state) are not
decided, so a partition's committed offset stops at its lowest held event;
the commit's metadata names the events after it that are decided, so a
restart skips those (see ``fast_offsets``). With exactly_once the outputs and
offsets commit in one transaction; with at_least_once offsets commit after
the producer confirmed the outputs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from wardstream.enforce.auditor import chains_of
from wardstream.enforce.enforcer import Enforcer
from wardstream.enforce.records import Outcome
from wardstream.engines.fast.batch import Batches, EngineStopped
from wardstream.engines.fast.delivery import Delivery
from wardstream.engines.fast.state_feed import StateFeed, StateReaderFailed
from wardstream.engines.health import Probe, liveness, readiness
from wardstream.engines.offsets import CommitPoint, Progress
from wardstream.engines.snapshots import Snapshots
from wardstream.kafka.librdkafka import FastEngineSettings

log = logging.getLogger(__name__)
Key = tuple[str, int]


class FastEngine:
    def __init__(
        self,
        enforcer: Enforcer,
        consumer: Consumer,
        producer: Producer,
        feed: StateFeed,
        delivery: Delivery,
        fast: FastEngineSettings,
        *,
        exactly_once: bool,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
        reload_audit: Callable[[], object] | None = None,
        state_stall_s: float = 120.0,
        snapshots: Snapshots | None = None,
    ) -> None:
        self.enforcer, self.consumer, self.producer = enforcer, consumer, producer
        self.feed, self.delivery, self.fast = feed, delivery, fast
        self.exactly_once = exactly_once
        self.wall, self.clock = wall, clock
        self.reload_audit = reload_audit
        """Reads the audit topic (read_committed) to its end into ``auditor.resume``."""
        self.progress: dict[Key, Progress] = {}
        self._committed: dict[Key, CommitPoint] = {}
        self._paused: set[Key] = set()
        self.registry_waiting: set[Key] = set()  # partitions paused for the schema registry
        self.stopping = False
        self._failure: str | None = None
        self.state_stall_s = state_stall_s
        self.snapshots = snapshots
        self.batches = Batches(enforcer, producer, delivery, self.progress, wall)
        self.assigned = False  # the group assigned this worker its partitions once
        self.turned_at = clock()  # the loop's last turn, for /livez

    # -- lifecycle ------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to finish (a signal handler may call this)."""
        self.stopping = True

    def run(self) -> None:
        if self.snapshots is not None:  # with the probes up: a long restore keeps /livez 200
            self.feed.read_from(self.snapshots.load(self._turn))
        self.feed.start()
        if not self.feed.wait_ready(self.state_stall_s, lambda: self.stopping, self._turn):
            if self.stopping:
                return
            p = self.feed.progress()
            raise EngineStopped(
                f"the state read made no progress for {self.state_stall_s:.0f} s "
                f"({p.records_read} records read, {p.lag} left): check that the brokers "
                "answer, or raise worker.state_stall_s"
            )
        self.consumer.subscribe(
            self.enforcer.sources,
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        next_tick = next_commit = self.clock()
        last_commit = 0.0
        idle_commit = self.fast.idle_commit_s if self.exactly_once else None
        try:
            while not self.stopping:
                self._turn()
                caught_up = self._step()
                now = self.clock()
                if now < next_tick:
                    self._decided(self.enforcer.release())  # as soon as they may leave
                else:
                    self._tick()
                    next_tick = now + self.fast.tick_interval_s
                    if self.snapshots is not None and self.snapshots.due():
                        self.snapshots.write()
                soon = idle_commit is not None and caught_up and now - last_commit >= idle_commit
                if now >= next_commit or soon:
                    self._commit()
                    last_commit = now
                    next_commit = now + self.fast.commit_interval_s
            if self._failure:
                raise EngineStopped(self._failure)
            self._finish()
        except BaseException:
            self.delivery.abort()
            raise
        finally:
            self.feed.stop()

    def _finish(self) -> None:
        """A clean stop: commit what is decided; held events go to the next owner."""
        self.batches.send(self.enforcer.auditor.summaries(flush=True))
        self._commit()
        self.stopping = True
        self.consumer.close()
        self.producer.flush(30)
        if self.snapshots is not None:
            self._last_snapshot(self.snapshots)

    def _last_snapshot(self, snapshots: Snapshots) -> None:
        """At a clean stop: apply what the reader handed over, then write the snapshot."""
        try:
            self.feed.apply_pending()
        except StateReaderFailed:
            log.warning("no snapshot at this stop: the state reader had stopped")
            return
        snapshots.write()

    # -- the loop -------------------------------------------------------------------
    def _step(self) -> bool:
        """One batch; True when it did not fill (the engine has caught up with its sources)."""
        self.feed.apply_pending()
        first = self.consumer.poll(self.fast.poll_timeout_s)
        taken = 0
        if first is not None:
            batch = [first, *self.consumer.consume(self.fast.consume_batch - 1, 0)]
            taken = len(batch)
            self.batches.handle(batch)
        self.producer.poll(0)
        return taken < self.fast.consume_batch

    def _tick(self) -> None:
        self._note_lag()
        tick = self.enforcer.tick(self._owns)
        self.registry_waiting = self.enforcer.waiting_for_registry()
        for key in self.registry_waiting:
            if key in self.progress:
                self._pause(key)  # resumed by a commit once its events are decoded
        self._decided(tick.outcomes)
        self.batches.send(tick.outputs)

    def _decided(self, outcomes: list[Outcome]) -> None:
        """Send held events' outcomes; their offsets may be committed after them."""
        for outcome in outcomes:
            self.batches.send(outcome.outputs)
            r = outcome.record
            prog = self.progress.get((r.topic, r.partition))
            if prog is not None:
                prog.held.discard(r.offset)

    def _note_lag(self) -> None:
        """Records behind each source's log end, from the watermarks librdkafka already
        has (cached: no request); partitions not read yet count from nothing."""
        lag: dict[str, int] = {}
        for (topic, partition), prog in self.progress.items():
            try:
                _, high = self.consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), cached=True
                )
            except KafkaException:
                continue
            if high is not None and high >= 0 and prog.next >= 0:
                lag[topic] = lag.get(topic, 0) + max(0, high - prog.next)
        self.enforcer.metrics.lag = lag

    def _owns(self, topic: str, partition: int) -> bool:
        return (topic, partition) in self.progress

    # -- commits ----------------------------------------------------------------------
    def _commit(self, *, revoking: bool = False) -> None:
        offsets: list[TopicPartition] = []
        points: dict[Key, CommitPoint] = {}
        blocked: set[Key] = set()
        for key, prog in self.progress.items():
            point = prog.commit_point()
            if point is None or self._committed.get(key) == point:
                continue
            if len(point.metadata) > self.fast.max_commit_metadata_bytes:
                blocked.add(key)
                self._pause(key)
                continue
            points[key] = point
            offsets.append(TopicPartition(*key, point.offset, metadata=point.metadata))
        if blocked and self.exactly_once:
            # the transaction holds outputs of the blocked partitions' decided events:
            # it may only commit together with their offsets
            if revoking:
                self.delivery.abort()
                self._failure = "a revoked partition's commit metadata did not fit; restarting"
                self.stopping = True
            return
        self.delivery.commit(offsets)
        self._committed.update(points)
        waiting = self.registry_waiting
        ready = [k for k in self._paused if k not in blocked and k not in waiting]
        if ready:
            self.consumer.resume([TopicPartition(*k) for k in ready if k in self.progress])
            self._paused.difference_update(ready)

    def _pause(self, key: Key) -> None:
        if key not in self._paused:
            log.warning("pausing %s[%s] until its held events are decided", *key)
            self.consumer.pause([TopicPartition(*key)])
            self._paused.add(key)

    # -- rebalances (called from inside poll, on this thread) ------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        committed = consumer.committed(partitions, timeout=30) if partitions else []
        for tp in committed:
            prog = Progress()
            if tp.offset >= 0:
                prog.resume_from(tp.offset, tp.metadata)
            self.progress[(tp.topic, tp.partition)] = prog
        if partitions and self.reload_audit is not None:
            # continue each chain from the tail its previous owner committed, not from memory
            self.reload_audit()
        self.assigned = True
        log.info("assigned %s", [f"{tp.topic}[{tp.partition}]" for tp in partitions])

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        gone = {(tp.topic, tp.partition) for tp in partitions}
        if not self._failure:
            self.batches.send(self.enforcer.auditor.summaries(flush=True))
            self._commit(revoking=True)
        self._forget(gone)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        gone = {(tp.topic, tp.partition) for tp in partitions}
        if self.exactly_once:
            # the open transaction holds outputs of partitions another worker now owns
            self._failure = "partitions were lost to the group (session timeout); restarting"
            self.stopping = True
        self._forget(gone)

    def _forget(self, gone: set[Key]) -> None:
        self.enforcer.forget(gone)
        pipelines = {s: p.pipeline.name for s, p in self.enforcer.by_source.items()}
        self.enforcer.auditor.hand_over(chains_of(pipelines, gone))
        for key in gone:
            self.progress.pop(key, None)
            self._committed.pop(key, None)
            self._paused.discard(key)

    # -- health -----------------------------------------------------------------------
    def _turn(self) -> None:
        self.turned_at = self.clock()

    def livez(self) -> Probe:
        return liveness(self.clock() - self.turned_at)

    def readyz(self) -> Probe:
        age = self.wall() - self.enforcer.state.caught_up_at
        return readiness(state=self.feed.progress(), state_age_s=age, assigned=self.assigned)

    def health(self) -> tuple[bool, dict[str, Any]]:
        age = self.wall() - self.enforcer.state.caught_up_at
        problem = self.enforcer.registry_problem()
        ok = self.feed.ready and age < 30 and problem is None
        held = self.enforcer.held()
        body: dict[str, Any] = {
            "status": "ok" if ok else "degraded",
            "state_age_s": round(age, 3),
            "held": held,
        }
        if problem is not None:
            body["schema_registry"] = f"unreachable: {problem}"
        return ok, body
