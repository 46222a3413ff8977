"""Registry down, fail closed: an event whose writer schema is not cached waits, and
every later event of its partition waits behind it; nothing is dead-lettered or passed
undecided; once the registry answers, the events are decided in order by themselves."""

from __future__ import annotations

from test_policy_support import T0
from test_processor_order import LATENESS, NOW, SCHEMA, Clock, processor, sunk

from wardstream.enforce.records import InRecord, Outcome
from wardstream.serde import (
    ConfluentAvroCodec,
    InMemorySchemaRegistry,
    RegistryError,
    RegistryUnavailable,
)


class Flaky(InMemorySchemaRegistry):
    """An in-memory registry that can be switched off."""

    def __init__(self) -> None:
        super().__init__()
        self.down: RegistryError | None = None

    def get_schema(self, schema_id: int) -> str:
        if self.down is not None:
            raise self.down
        return super().get_schema(schema_id)


def setup() -> tuple[Flaky, ConfluentAvroCodec, ConfluentAvroCodec, Clock]:
    registry = Flaky()
    producer = ConfluentAvroCodec(registry, schema=SCHEMA, subject="app.taps-value")
    reader = ConfluentAvroCodec(registry, schema=SCHEMA)
    return registry, producer, reader, Clock()


def event(codec: ConfluentAvroCodec, offset: int, sid: str, partition: int = 0) -> InRecord:
    value = codec.encode({"user_id": sid, "page": f"/p/{offset}", "ts": T0})
    return InRecord("app.taps", partition, offset, sid.encode(), value, None, arrival=NOW)


def test_events_wait_while_the_registry_is_down_then_resume_in_order() -> None:
    registry, producer, reader, clock = setup()
    p = processor(clock)
    p.codec = reader
    p.state.caught_up_at = NOW + LATENESS  # state current: only the registry can hold them
    registry.down = RegistryUnavailable("cannot reach http://127.0.0.1:1")
    outcomes: list[Outcome | None] = [p.submit(event(producer, n, "adult-1")) for n in (1, 2)]
    outcomes.append(p.submit(event(producer, 3, "kid-1")))
    assert outcomes == [None, None, None]  # none decided, none dead-lettered
    assert list(p.poll()) == []  # still down: still waiting
    assert len(p.schema_wait) == 3 and p.schema_wait.problem is not None
    registry.down = None
    assert sunk(list(p.poll())) == [1, 2, 3]  # back: decided by themselves, in order
    assert len(p.schema_wait) == 0 and p.schema_wait.problem is None


def test_only_the_partition_of_the_waiting_event_waits() -> None:
    registry, producer, reader, clock = setup()
    p = processor(clock)
    p.codec = reader
    p.state.caught_up_at = NOW + LATENESS
    registry.down = RegistryUnavailable("down")
    assert p.submit(event(producer, 1, "adult-1", partition=0)) is None
    registry.down = None  # the id is now cached by the reader ...
    assert sunk([p.submit(event(producer, 1, "adult-1", partition=1))]) == [1]
    assert p.submit(event(producer, 2, "adult-1", partition=0)) is None  # ... but order holds
    assert sunk(list(p.poll())) == [1, 2]


def test_a_refusing_registry_also_holds_instead_of_dead_lettering() -> None:
    registry, producer, reader, clock = setup()
    p = processor(clock)
    p.codec = reader
    registry.down = RegistryError("the registry refused these credentials", status=401)
    assert p.submit(event(producer, 1, "adult-1")) is None
    assert "refused" in (p.schema_wait.problem or "")


def test_revoked_partitions_forget_their_waiting_events() -> None:
    registry, producer, reader, clock = setup()
    p = processor(clock)
    p.codec = reader
    registry.down = RegistryUnavailable("down")
    p.submit(event(producer, 1, "adult-1"))
    p.schema_wait.forget([0])
    registry.down = None
    assert list(p.poll()) == []
