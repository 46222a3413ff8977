"""Faust events as the enforcer takes them (``InRecord``s, the lane per batch), and
which partitions wait for the schema registry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from faust.types import EventT

from wardstream.enforce.enforcer import Enforcer
from wardstream.enforce.lane import Hint
from wardstream.enforce.records import InRecord, OutRecord


def lanes(
    enforcer: Enforcer, events: list[EventT], now: float
) -> tuple[list[OutRecord | None], list[OutRecord], dict[int, Hint]]:
    """Per event, its sink record when the lane passes it (one native call per source in
    the batch; ``Enforcer.screen``), else None; the records to send first (children's
    audit records and seen marks); and the lane's hints for ``submit`` by event index."""
    out: list[OutRecord | None] = [None] * len(events)
    first: list[OutRecord] = []
    hints: dict[int, Hint] = {}
    by_source: dict[str, list[int]] = {}
    for i, event in enumerate(events):
        by_source.setdefault(event.message.topic, []).append(i)
    for topic, indices in by_source.items():
        ms = [events[i].message for i in indices]
        stamps = [_millis(m.timestamp) for m in ms]
        values, partitions = [m.value for m in ms], [m.partition for m in ms]
        found = enforcer.screen(topic, values, stamps, partitions, [m.offset for m in ms], now)
        if found is None:
            continue
        screened, lane = found
        first += screened.outputs
        hints.update((indices[j], hint) for j, hint in screened.hints.items())
        for j, code in enumerate(screened.codes):
            if code:
                m = ms[j]
                headers = tuple(lane.headers(code, _headers(m)))
                value = screened.redacted.get(j, m.value)  # a shaped entry's fields removed
                out[indices[j]] = OutRecord(lane.sink, m.key, value, headers, stamps[j])
    return out, first, hints


def in_record(event: EventT, now: float) -> InRecord:
    m = event.message
    return InRecord(
        m.topic, m.partition, m.offset, m.key, m.value, _millis(m.timestamp), _headers(m), now
    )


def _millis(ts: float | None) -> int | None:
    return None if ts is None else int(round(ts * 1000))


def _headers(m: Any) -> tuple[tuple[str, bytes | None], ...]:
    raw: Any = m.headers
    headers: Iterable[tuple[str, bytes | None]] = (
        raw.items() if isinstance(raw, dict) else raw or ()
    )
    return tuple((k, v) for k, v in headers)


Key = tuple[str, int]


def registry_pauses(
    waiting: set[Key], paused: set[Key], owned: set[Key]
) -> tuple[set[Key], set[Key]]:
    """Partitions to pause (newly waiting for the schema registry) and to resume (no
    longer waiting, still this worker's; a revoked one is Faust's to forget)."""
    return waiting - paused, (paused - waiting) & owned
