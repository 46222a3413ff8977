"""Everything an engine drives, with no engine in it: processors, state, audit, quarantine.

The engine calls ``submit`` per source record and ``tick`` about ten times a
second, sends every returned ``OutRecord`` and acknowledges each record of an
``Outcome`` after sending its outputs. ``owns`` says which source partitions
this worker holds (quarantine releases and expiry act only on those).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from wardstream.enforce.auditor import Auditor
from wardstream.enforce.hooks import LifecycleHook, StateTarget
from wardstream.enforce.lane import Hint, Lane, Screened
from wardstream.enforce.metrics import Metrics
from wardstream.enforce.processor import PipelineProcessor
from wardstream.enforce.quarantine import QuarantineBook
from wardstream.enforce.records import SINK, InRecord, Outcome, OutRecord
from wardstream.enforce.state import StateStore
from wardstream.serde import AvroCodec, record_schema

Owns = Callable[[str, int], bool]
EXPIRY_EVERY_S = 1.0
_DEAD_LETTERS = AvroCodec(record_schema("DeadLetter"))


@dataclass
class Tick:
    outcomes: list[Outcome] = field(default_factory=list)
    outputs: list[OutRecord] = field(default_factory=list)


class Enforcer:
    def __init__(
        self,
        processors: Iterable[PipelineProcessor],
        state: StateStore,
        auditor: Auditor,
        book: QuarantineBook,
        metrics: Metrics,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.by_source = {p.pipeline.source: p for p in processors}
        self.state, self.auditor, self.book, self.metrics = state, auditor, book, metrics
        self.wall = wall
        self._dirty: set[str] = set()
        self._last_expiry = 0.0
        self._revisited_all = False
        state.listen(self._changed, self.book.holds_nobody)
        # set by wardstream.lifecycle.wiring.attach
        self.applier: StateTarget | None = None  # what the engine's state reader feeds
        self.lifecycle: LifecycleHook | None = None  # its periodic work, in tick()

    def _changed(self, subject_id: str) -> None:
        # only subjects with quarantined events have anything to revisit: a recovery that
        # applies millions of state records must not queue millions of revisits
        if self.book.holds_subject(subject_id):
            self._dirty.add(subject_id)

    @property
    def sources(self) -> list[str]:
        return list(self.by_source)

    def submit(self, record: InRecord, hint: Hint | None = None) -> Outcome | None:
        processor = self.by_source[record.topic]
        self.metrics.received(processor.pipeline.name)
        outcome = processor.submit(record, hint)
        if outcome is not None:
            self.metrics.decided(processor.pipeline.name, outcome, self.wall())
        return outcome

    def carry_out(self, topic: str, items: list[tuple[InRecord, Hint]]) -> list[Outcome | None]:
        """``submit`` for the records of a batch of ``topic`` the lane hinted ready
        (``Hint.waits`` false), at once: their outcomes, in order (see
        ``PipelineProcessor.carry_out``)."""
        processor = self.by_source[topic]
        name = processor.pipeline.name
        self.metrics.received(name, len(items))
        outcomes = processor.carry_out(items)
        now = self.wall()
        for outcome in outcomes:
            if outcome is not None:
                self.metrics.decided(name, outcome, now)
        return outcomes

    def screen(
        self,
        topic: str,
        values: Sequence[bytes | None],
        timestamps: Sequence[int | None],
        partitions: Sequence[int],
        offsets: Sequence[int],
        arrival: float,
    ) -> tuple[Screened, Lane] | None:
        """The lane on a batch of ``topic`` (see ``enforce.lane``): which records the
        engine sends to ``pipeline.sink`` as they are, with ``lane.headers``, after
        ``Screened.outputs``; None when none. The others go through ``submit`` as before,
        in their order."""
        processor = self.by_source[topic]
        lane = processor.lane
        if lane is None:
            return None
        screened = lane.screen(values, timestamps, partitions, offsets, arrival)
        if screened is None:
            return None
        name, now, metrics = processor.pipeline.name, self.wall(), self.metrics
        metrics.received(name, sum(screened.by_reason.values()))
        for reason, n in screened.by_reason.items():
            metrics.decided_many(name, SINK, reason, arrival, now, n)
        return screened, lane

    def release(self) -> list[Outcome]:
        """Outcomes of waiting events that can now be decided or waited too long (also
        part of ``tick``; an engine may call it more often: it costs what it releases)."""
        outcomes: list[Outcome] = []
        for processor in self.by_source.values():
            if processor.waiting or processor.schema_wait.queues:
                for outcome in processor.poll():
                    self.metrics.decided(processor.pipeline.name, outcome, self.wall())
                    outcomes.append(outcome)
        return outcomes

    def tick(self, owns: Owns, *, flush: bool = False) -> Tick:
        tick = Tick(self.release())
        if not self._revisited_all and self.state.caught_up_at > 0:
            # once, after the first catch-up: entries loaded after their state was applied
            self._revisited_all = True
            self._dirty.update(self.book.subjects())
        dirty = sorted(self._dirty)
        self._dirty.clear()
        for subject_id in dirty:
            for p in self.by_source.values():
                tick.outputs.extend(p.releases.revisit(subject_id, _bind(owns, p.pipeline.source)))
        now = self.wall()
        if now - self._last_expiry >= EXPIRY_EVERY_S:
            self._last_expiry = now
            for p in self.by_source.values():
                tick.outputs.extend(p.releases.expire(_bind(owns, p.pipeline.source)))
        if self.lifecycle is not None:
            tick.outputs.extend(self.lifecycle.tick(now, leader=self.is_leader(owns)))
        tick.outputs.extend(self.auditor.summaries(flush=flush))
        self.metrics.gauges(
            held=self.held(),
            waiting_for_registry=sum(len(p.schema_wait) for p in self.by_source.values()),
            registry_problem=self.registry_problem() is not None,
            quarantined=len(self.book),
            state_age=max(0.0, now - self.state.caught_up_at),
        )
        return tick

    def held(self) -> int:
        """Events not decided yet: waiting for current state or for the schema registry."""
        return sum(len(p.waiting) + len(p.schema_wait) for p in self.by_source.values())

    def waiting_for_registry(self) -> set[tuple[str, int]]:
        """Source partitions with an event waiting for the schema registry: an engine
        pauses them (the events behind would only queue up in memory)."""
        return {
            (p.pipeline.source, partition)
            for p in self.by_source.values()
            for partition in p.schema_wait.queues
        }

    def registry_problem(self) -> str | None:
        """Why events wait for the schema registry (the last lookup failed), or None."""
        for p in self.by_source.values():
            if p.schema_wait.problem is not None and p.schema_wait.queues:
                return p.schema_wait.problem
        return None

    def is_leader(self, owns: Owns) -> bool:
        """The lifecycle issuer: whoever owns partition 0 of the first pipeline source."""
        return bool(self.by_source) and owns(min(self.by_source), 0)

    def forget(self, revoked: Iterable[tuple[str, int]]) -> None:
        """Drop waiting events of revoked partitions: unacked, the new owner redoes them."""
        gone = set(revoked)
        for p in self.by_source.values():
            parts = [part for topic, part in gone if topic == p.pipeline.source]
            p.forget(parts)
            p.schema_wait.forget(parts)


def _bind(owns: Owns, topic: str) -> Callable[[int], bool]:
    return lambda partition: owns(topic, partition)
