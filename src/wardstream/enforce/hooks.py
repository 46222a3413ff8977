"""How the lifecycle plugs into the enforcer without the enforcer knowing it.

The enforcer calls these at fixed points; ``wardstream.lifecycle.wiring.attach``
provides them. Keeping them protocols keeps the import graph one-way: the
lifecycle imports the enforcer, never the other way round.

* ``RouteObserver.routed`` - once for every routed event, after its route is
  known (and for every release from quarantine): the compensation pass log and
  the ``ward.seen`` marks. It may return records to send with the event.
  ``adults_passed`` - the same for the adults the lane passed, one call per batch.
* ``StateTarget`` - what an engine's state reader feeds every state record to.
* ``LifecycleHook.tick`` - the lifecycle's periodic work in ``Enforcer.tick``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from wardstream.domain.decision import Decision
from wardstream.enforce.records import OutRecord
from wardstream.state.maps import Row


@dataclass(frozen=True, slots=True)
class Routed:
    """One routed event as observers see it: who, where, when and why; never its contents."""

    pipeline: str
    subject_id: str
    event_time: datetime
    destination: str  # processor.SINK, QUARANTINE, DEADLETTER or DROPPED
    decision: Decision
    wall: float  # the wall-clock moment it counts from: arrival, or the release
    released: bool = False  # a quarantined event released to the sink


Spans = list[tuple[str, int, int]]
"""Per subject: the first and last event time (epoch microseconds) of a batch's events."""


class RouteObserver(Protocol):
    def routed(self, event: Routed) -> list[OutRecord]: ...

    def adults_passed(self, pipeline: str, spans: Spans, wall: float) -> None:
        """The lane passed these adults' events to the sink (decisions
        without a consent; see ``wardstream.enforce.lane``)."""


class StateTarget(Protocol):
    @property
    def topics(self) -> tuple[str, ...]: ...

    @property
    def rejected(self) -> int: ...

    def apply(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> None: ...

    def apply_rows(self, rows: list[Row]) -> None: ...

    def expect(self, counts: Mapping[str, int]) -> None:
        """The read starting brings about this many records of each topic (or fewer)."""


class LifecycleHook(Protocol):
    def tick(self, now: float, *, leader: bool) -> list[OutRecord]: ...
