"""Confluent Avro on a live stream.

Registry down, fail closed: an event whose writer schema is not cached waits, and every
later event of its partition waits behind it; nothing is dead-lettered or passed
undecided; once the registry answers, the events are decided in order by themselves.
A newer writer schema's field the pipeline's schema lacks never reaches the sink in a
child's event."""

from __future__ import annotations

from tests.unit.enforce.test_processor_order import LATENESS, NOW, SCHEMA, Clock, processor, sunk
from tests.unit.policy.test_policy_support import T0

from wardstream.enforce.records import InRecord, Outcome
from wardstream.serde import (
    ConfluentAvroCodec,
    InMemorySchemaRegistry,
    Origin,
    RegistryError,
    RegistryUnavailable,
)
from wardstream.serde.schemas import parse_schema_dict

ORIGIN = Origin("app.taps.lawful", 0, 0)


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
    reader = ConfluentAvroCodec(registry, schema=SCHEMA, subject="app.taps.lawful-value")
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


# -- schema evolution: a newer writer schema's extra field never rides along -------------
V2 = parse_schema_dict(
    {
        "type": "record",
        "name": "Tap",
        "fields": [
            {"name": "user_id", "type": "string"},
            {"name": "page", "type": ["null", "string"], "default": None},
            {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "campaign", "type": ["null", "string"], "default": None},
        ],
    },
    source="v2",
)


def test_a_childs_event_in_a_newer_schema_leaves_without_the_field_the_pipeline_lacks() -> None:
    registry, _, reader, clock = setup()
    producer_v2 = ConfluentAvroCodec(registry, schema=V2, subject="app.taps-value")
    p = processor(clock)
    p.codec = reader
    p.state.caught_up_at = NOW + LATENESS
    raw = producer_v2.encode({"user_id": "kid-1", "page": "/p", "ts": T0, "campaign": "spring"})
    outcome = p.submit(InRecord("app.taps", 0, 1, b"kid-1", raw, None, arrival=NOW))
    assert outcome is not None and outcome.destination == "sink"
    [out] = [o for o in outcome.outputs if o.topic == "app.taps.lawful"]
    assert out.value != raw
    sent = ConfluentAvroCodec(registry).decode(out.value or b"", origin=ORIGIN)
    assert "campaign" not in sent and sent["page"] == "/p"


def test_an_adults_event_in_a_newer_schema_passes_byte_for_byte() -> None:
    registry, _, reader, clock = setup()
    producer_v2 = ConfluentAvroCodec(registry, schema=V2, subject="app.taps-value")
    p = processor(clock)
    p.codec = reader
    raw = producer_v2.encode({"user_id": "adult-1", "page": "/p", "ts": T0, "campaign": "x"})
    outcome = p.submit(InRecord("app.taps", 0, 1, b"adult-1", raw, None, arrival=NOW))
    assert outcome is not None
    assert [o.value for o in outcome.outputs if o.topic == "app.taps.lawful"] == [raw]
