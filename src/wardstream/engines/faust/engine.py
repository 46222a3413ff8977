"""The Faust engine: one agent per pipeline source, a 100 ms timer, Faust's web for health.

Glue only: each agent turns Faust events into ``InRecord``, hands them to the
``Enforcer`` and sends what comes back. What is committed is the engine's call,
not Faust's (``DecidedOffsets``, asked by ``faust_clients.EngineCommitConsumer``): a source
partition's offset goes past an event only once the event's outputs were handed
to the producer (Faust flushes it before it commits), and never past an event that
waits for current state until the timer decides it, so a crash never loses one
(at-least-once). Faust's acked-offset commit lost an event now and then at a
rebalance: it lets one unacked offset at the head go, and counts the first offset
after a gap as acked. The producer is idempotent (``IdempotentProducer``), so a
retry after a lost broker never writes an audit record twice.

At a rebalance the audit chains change hands: on revoke the engine stops deciding,
flushes and drops the revoked partitions' chain writers; on assign it reads the
chains' tails back from the audit topic and only then decides events again. Events
fetched before the last rebalance and still in a batch are skipped: their partition
restarts at its committed offset, here or at its new owner. aiokafka's group protocol
is eager: a rebalance revokes every partition, and each assigned one is read again
from its committed offset.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.types import TP, EventT, StreamT
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from wardstream.enforce.auditor import chains_of
from wardstream.enforce.enforcer import Enforcer
from wardstream.enforce.records import OutRecord
from wardstream.engines.faust.batch import in_record, lanes, registry_pauses
from wardstream.engines.faust.clients import WardstreamApp
from wardstream.engines.faust.state_reader import StateReader
from wardstream.engines.health import liveness, readiness
from wardstream.engines.offsets import Progress
from wardstream.engines.snapshots import Snapshots
from wardstream.errors import RestartNeeded

log = logging.getLogger(__name__)
TICK_S = 0.1
Part = tuple[str, int]
Key = tuple[str, int, int]


@dataclass(slots=True)
class DecidedOffsets:
    """How far each source partition may be committed: to its lowest held event, else
    past the last event whose outputs were handed to the producer. Pure."""

    progress: dict[Part, Progress] = field(default_factory=dict)

    def handed_over(self, read: Mapping[Part, int], held: Iterable[Key]) -> None:
        """A batch's outputs are with the producer: ``read`` maps each partition to the
        offset after its last event in the batch; ``held`` are the batch's held events."""
        for part, end in read.items():
            self.progress.setdefault(part, Progress()).next = end
        for topic, partition, offset in held:
            self.progress[(topic, partition)].held.add(offset)

    def decided(self, topic: str, partition: int, offset: int) -> None:
        """A held event's outputs are with the producer."""
        prog = self.progress.get((topic, partition))
        if prog is not None:
            prog.held.discard(offset)

    def forget(self, parts: Iterable[Part]) -> None:
        for part in parts:
            self.progress.pop(part, None)

    def point(self, topic: str, partition: int) -> int | None:
        """The offset to commit, or None: nothing read since the partition was assigned."""
        prog = self.progress.get((topic, partition))
        point = None if prog is None else prog.commit_point()
        return None if point is None else point.offset


class FaustEngine:
    def __init__(
        self,
        app: faust.App,
        enforcer: Enforcer,
        reader: StateReader,
        batch_size: int = 1000,
        reload_audit: Callable[[], object] | None = None,
        snapshots: Snapshots | None = None,
    ) -> None:
        self.app, self.enforcer, self.reader = app, enforcer, reader
        self.snapshots = snapshots
        self.batch_size = batch_size
        self.reload_audit = reload_audit
        """Reads the audit topic to its end into ``auditor.resume`` (blocking; run aside)."""
        self._waiting: dict[Key, EventT] = {}
        self.offsets = DecidedOffsets()
        # Audit records are sealed (seq, prev_hash) when created: whoever creates
        # records must send them before anyone else creates more, or a chain's
        # records reach the topic out of order. The agents and the timer take turns.
        self._order = asyncio.Lock()
        # The partitions this worker decides: assigned, and their chains' tails read back.
        # Between a revoke and that read nothing is decided (``_settled`` is clear): an
        # event of a revoked partition left in a batch under way, or of a new one before
        # its tail is known, would start a second line of its audit chain (a fork).
        self._owned: set[tuple[str, int]] = set()
        self._registry_paused: set[tuple[str, int]] = set()  # waiting for the schema registry
        self._settled = asyncio.Event()
        self._generation = 0  # bumped by every revoke and assignment: a stale re-read is moot
        self._reading = asyncio.Lock()  # one re-read of the audit tails at a time
        self._reload_task: asyncio.Future[None] | None = None
        self._stopping = False
        self.assigned = False  # the group assigned this worker its partitions once
        self.turned_at = time.monotonic()  # the tick timer's last turn, for /livez
        if isinstance(app, WardstreamApp):
            app.commit_point = self._commit_point  # type: ignore[method-assign]
        for source in enforcer.sources:
            topic = app.topic(source, key_serializer="raw", value_serializer="raw")
            app.agent(topic, name=f"wardstream.enforce.{source}")(self._agent)
        app.timer(TICK_S, name="wardstream.tick")(self._tick)
        app.task(self._run_reader)
        app.on_before_shutdown.connect(self._on_shutdown)  # type: ignore[arg-type]
        app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]
        app.on_partitions_assigned.connect(self._on_assigned)  # type: ignore[arg-type]
        app.page("/health")(_view(self._health))
        app.page("/livez")(_view(self._livez))
        app.page("/readyz")(_view(self._readyz))
        app.page("/metrics")(_view(self._metrics))

    # -- agents -------------------------------------------------------------------
    async def _agent(self, stream: StreamT[bytes]) -> None:
        await self.reader.ready.wait()
        manual: Any = stream.noack()  # type: ignore[attr-defined]  # StreamT lacks noack
        async for events in manual.take_events(self.batch_size, within=0.05):
            await self._settled.wait()
            now = time.time()
            done: list[EventT] = []
            read: dict[Part, int] = {}
            held: list[Key] = []
            async with self._order:  # a rebalance may have come while this batch waited
                generation, fetched = self._generation, self.app.consumer_generation_id
                # fetched before a rebalance: read again from the commit
                events = [e for e in events if self._current(e.message, fetched)]
                passes, outputs, hints = lanes(self.enforcer, events, now)
                for i, (event, passed) in enumerate(zip(events, passes, strict=True)):
                    m = event.message
                    if passed is not None:  # the lane: sent as it came
                        outputs.append(passed)
                        read[(m.topic, m.partition)] = m.offset + 1
                        done.append(event)
                        continue
                    record = in_record(event, now)
                    outcome = self.enforcer.submit(record, hints.get(i))
                    read[(m.topic, m.partition)] = m.offset + 1
                    if outcome is None:
                        key = (m.topic, m.partition, m.offset)
                        self._waiting[key] = event
                        held.append(key)
                    else:
                        outputs.extend(outcome.outputs)
                        done.append(event)
                await self._send(outputs)
                if generation == self._generation:  # else its partitions restart (eager)
                    self.offsets.handed_over(read, held)
            for event in done:
                event.ack()  # Faust's bookkeeping only: the engine decides what is committed

    def _current(self, m: Any, fetched: int) -> bool:
        return bool(m.generation_id == fetched and (m.topic, m.partition) in self._owned)

    async def _tick(self) -> None:
        self.turned_at = time.monotonic()
        snaps = self.snapshots
        if snaps is not None and self.reader.ready.is_set() and snaps.due():
            snaps.write()  # between the reader's batches: the state matches its offsets
        if not self._settled.is_set():
            return
        async with self._order:
            tick = self.enforcer.tick(self._owns)
            await self._send([out for outcome in tick.outcomes for out in outcome.outputs])
            await self._send(tick.outputs)
            self._pause_for_registry()
        for outcome in tick.outcomes:
            r = outcome.record
            event = self._waiting.pop((r.topic, r.partition, r.offset), None)
            if event is not None:
                self.offsets.decided(r.topic, r.partition, r.offset)
                event.ack()

    async def _send(self, outputs: list[OutRecord]) -> None:
        producer = self.app.producer
        for out in outputs:
            await producer.send(
                out.topic,
                out.key,
                out.value,
                None,
                None if out.timestamp_ms is None else out.timestamp_ms / 1000,
                list(out.headers),  # type: ignore[arg-type]  # None values are valid Kafka headers
            )

    def _pause_for_registry(self) -> None:
        """Stop fetching a partition while one of its events waits for the schema registry
        (the events behind it would only pile up in memory); resume once none does."""
        waiting = self.enforcer.waiting_for_registry() & self._owned
        pause, resume = registry_pauses(waiting, self._registry_paused, self._owned)
        consumer = self.app.consumer
        if pause:
            log.warning("pausing %s until the schema registry answers", sorted(pause))
            consumer.pause_partitions({TP(*key) for key in pause})
        if resume:
            consumer.resume_partitions({TP(*key) for key in resume})
        self._registry_paused = waiting

    def _commit_point(self, tp: TP) -> int | None:
        return self.offsets.point(tp.topic, tp.partition)

    def _owns(self, topic: str, partition: int) -> bool:
        return (topic, partition) in self._owned

    async def _on_shutdown(self, app: Any, **_: Any) -> None:
        """A clean stop (the consumer is stopped, the producer not yet flushed): the last
        summaries and the final signed checkpoint go out with everything else, and the
        state snapshot is written (the reader's last batch was applied whole)."""
        async with self._order:
            await self._send(self.enforcer.auditor.summaries(flush=True))
        if self.snapshots is not None and self.reader.ready.is_set():
            self.snapshots.write()

    async def _on_revoked(self, app: Any, revoked: set[TP], **_: Any) -> None:
        gone = {(tp.topic, tp.partition) for tp in revoked}
        self._generation += 1
        self.assigned = True
        self._settled.clear()
        self._owned -= gone
        self.offsets.forget(gone)
        self.enforcer.forget(gone)
        for key in [k for k in self._waiting if (k[0], k[1]) in gone]:
            del self._waiting[key]
        async with self._order:
            await self._send(self.enforcer.auditor.summaries(flush=True))
            # the next owner of these chains reads their tails once it is assigned them:
            # everything written to them must be on the topic by then
            await self.app.producer.flush()
            self.enforcer.auditor.hand_over(chains_of(self._pipelines, gone))

    async def _on_assigned(self, app: Any, assigned: set[TP], **_: Any) -> None:
        """Continue each chain from the tail its previous owner left, not from memory;
        then decide the assigned partitions' events. The audit topic is read in a task of
        its own: inside the rebalance callback a long read kept the group rebalancing (38
        rebalances in 14 minutes in a full-size run)."""
        self._generation += 1
        self.assigned = True
        self._settled.clear()
        self._owned = set()
        owned = {(tp.topic, tp.partition) for tp in assigned}
        self.offsets.forget(owned)  # each restarts at its committed offset
        self._reload_task = asyncio.ensure_future(self._reload(self._generation, owned))

    async def _reload(self, generation: int, owned: set[tuple[str, int]]) -> None:
        # Not under ``_order``: a revoke must not wait for a read. Nothing is decided or
        # audited meanwhile (``_settled`` is clear), and ``resume`` only moves tails forward.
        async with self._reading:
            if generation != self._generation:
                return  # another rebalance came first; its own re-read follows
            if self.reload_audit is not None:
                await asyncio.get_running_loop().run_in_executor(None, self.reload_audit)
            if generation == self._generation:
                self._owned = owned
                self._settled.set()

    @property
    def _pipelines(self) -> dict[str, str]:
        return {s: p.pipeline.name for s, p in self.enforcer.by_source.items()}

    async def _run_reader(self) -> None:
        _quiet_client_loggers()
        try:
            await self.reader.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("the state reader failed; stopping the worker (state would go stale)")
            await self.app.crash(
                RestartNeeded(
                    f"the state reader stopped ({type(exc).__name__}); check that the state "
                    f"topics {', '.join(self.reader.applier.topics)} exist and the brokers answer"
                )
            )

    # -- web ----------------------------------------------------------------------
    async def _health(self, web: Any) -> Any:
        age = time.time() - self.enforcer.state.caught_up_at
        problem = self.enforcer.registry_problem()
        ok = self.reader.ready.is_set() and age < 30 and problem is None
        body: dict[str, Any] = {
            "status": "ok" if ok else "degraded",
            "state_age_s": round(age, 3),
            "held": self.enforcer.held(),
        }
        if problem is not None:
            body["schema_registry"] = f"unreachable: {problem}"
        return web.json(body, status=200 if ok else 503)

    async def _livez(self, web: Any) -> Any:
        ok, body = liveness(time.monotonic() - self.turned_at)
        return web.json(body, status=200 if ok else 503)

    async def _readyz(self, web: Any) -> Any:
        ok, body = readiness(
            state=self.reader.progress(),
            state_age_s=time.time() - self.enforcer.state.caught_up_at,
            assigned=self.assigned,
            settled=self._settled.is_set(),
        )
        return web.json(body, status=200 if ok else 503)

    async def _metrics(self, web: Any) -> Any:
        data = generate_latest(self.enforcer.metrics.registry)
        # aiohttp refuses a charset inside content_type; Prometheus text is ASCII
        return web.bytes(data, content_type=CONTENT_TYPE_LATEST.split(";")[0] + "; version=0.0.4")


def _quiet_client_loggers() -> None:
    """aiokafka's loggers end up at DEBUG under mode's logging set-up, and then format a
    record for every produce request: about a tenth of the worker's CPU (py-spy)."""
    for name in ("aiokafka", "kafka"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


def _view(handler: Callable[[Any], Awaitable[Any]]) -> Callable[[Any, Any], Awaitable[Any]]:
    async def view(web: Any, request: Any) -> Any:
        return await handler(web)

    return view
