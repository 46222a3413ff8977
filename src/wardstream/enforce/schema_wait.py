"""Events whose writer schema the registry cannot give yet: they wait, in order.

A Confluent-framed event names its writer schema by id; the first event of a
new id needs the registry. When the registry is unreachable (or refuses the
worker), the event cannot be decoded, so it cannot be decided either: it waits
here, and every later event of its partition waits behind it (their subjects are
unknown until they are decoded, so order is kept per partition). The engine
commits nothing past a waiting event and pauses the partition when the list
of events decided after it grows too long. ``drain`` retries the oldest event of
each partition on every tick; the registry client answers at once while it
backs off, so a registry that stays down costs no time per tick. Nothing waits
forever silently: ``problem`` says why, for ``/health`` and the metrics.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from wardstream.enforce.records import InRecord, Outcome
from wardstream.serde import RegistryError

Submit = Callable[[InRecord], Outcome | None]


class SchemaWait:
    def __init__(self) -> None:
        self.queues: dict[int, deque[InRecord]] = {}
        self.problem: str | None = None  # why the last lookup failed; None once one worked

    def __len__(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def blocks(self, partition: int) -> bool:
        return partition in self.queues

    def add(self, record: InRecord, error: RegistryError | None = None) -> None:
        self.queues.setdefault(record.partition, deque()).append(record)
        if error is not None:
            self.problem = error.message

    def drain(self, submit: Submit) -> list[Outcome]:
        """Outcomes of waiting events the registry now lets us decode, oldest first."""
        done: list[Outcome] = []
        for partition in list(self.queues):
            queue = self.queues[partition]
            while queue:
                try:
                    outcome = submit(queue[0])
                except RegistryError as exc:
                    self.problem = exc.message
                    break
                self.problem = None
                queue.popleft()
                if outcome is not None:
                    done.append(outcome)
            if not queue:
                del self.queues[partition]
        return done

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop the events of revoked partitions: unacknowledged, the new owner redoes them."""
        for partition in partitions:
            self.queues.pop(partition, None)
