"""Events waiting for the consent-consistent hold (``PipelineProcessor``), in arrival order.

A subject's later event of a partition waits behind its earlier one. Events leave in
their order of arrival: ``release`` stops at the first one not past the hold, so it costs
what it releases, not what waits; an event whose own time is earlier than one before it
waits with it, at most ``state_lateness`` longer (never past its arrival plus
``state_lateness``). One that waited ``max_hold`` leaves regardless (it never reaches a
sink, so its order is not at stake).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, KeysView
from typing import TYPE_CHECKING, Any, NamedTuple

from wardstream.enforce.records import InRecord
from wardstream.serde.lazy import Envelope

if TYPE_CHECKING:
    from wardstream.enforce.lane import Hint

Held = tuple[int, str]
"""(partition, subject id): a subject's events of one partition keep their order."""


class Waiting(NamedTuple):
    """An event waiting: decoded (``value``), or a lane's hint's (undecoded)."""

    record: InRecord
    value: dict[str, Any] | None
    envelope: Envelope
    ready_at: float
    give_up_at: float
    hint: Hint | None
    held: Held


class Queue:
    """The waiting events of one pipeline processor."""

    def __init__(self) -> None:
        self._events: deque[Waiting] = deque()
        self._held: dict[Held, int] = {}  # events waiting
        self._subjects: dict[str, int] = {}  # subject -> its entries in _held

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Waiting]:
        return iter(self._events)

    def holds(self, held: Held) -> bool:
        """Whether an event of ``held`` waits (a later one must wait behind it)."""
        return held in self._held

    @property
    def subjects(self) -> KeysView[str]:
        """The subjects with an event waiting."""
        return self._subjects.keys()

    def add(self, w: Waiting) -> None:
        self._events.append(w)
        n = self._held.get(w.held, 0)
        self._held[w.held] = n + 1
        if not n:
            subject = w.held[1]
            self._subjects[subject] = self._subjects.get(subject, 0) + 1

    def release(
        self,
        now: float,
        caught_up: float,
        decided: Callable[[Waiting], bool],
        stale: Callable[[Waiting], None],
    ) -> bool:
        """Hand ``decided`` each event past the hold (False: it keeps waiting, and its
        subject's later events of the partition with it) and ``stale`` each that waited
        too long, in order; whether a subject no longer has any event waiting."""
        events, kept, left = self._events, [], False
        behind: set[Held] = set()  # of the kept ones
        while events:
            w = events[0]
            if caught_up >= w.ready_at and w.held not in behind:
                if not decided(w):
                    kept.append(events.popleft())
                    behind.add(w.held)
                    continue
            elif now >= w.give_up_at:
                stale(w)
            elif w.held in behind:
                kept.append(events.popleft())
                continue
            else:
                break  # not past the hold: those behind it wait too
            events.popleft()
            left = self._gone(w.held) or left
        events.extendleft(reversed(kept))
        return left

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop the events of ``partitions`` (revoked: their new owner reads them again)."""
        gone = set(partitions)
        kept = [w for w in self._events if w.record.partition not in gone]
        self._events, self._held, self._subjects = deque(), {}, {}
        for w in kept:
            self.add(w)

    def _gone(self, held: Held) -> bool:
        """One event of ``held`` left: whether it was its subject's last one."""
        n = self._held[held] - 1
        if n:
            self._held[held] = n
            return False
        del self._held[held]
        subject = held[1]
        if self._subjects[subject] > 1:
            self._subjects[subject] -= 1
            return False
        del self._subjects[subject]
        return True
