"""The lane: a batch's adults' and consented children's events decided and routed in
one native call.

Most events of a stream are adults'; their decision depends only on the subject's
profile and the policy, never on consents, fields or holds (``policy.decide``,
steps 1-4). The Python policy compiles that into one table entry per subject:
:func:`~wardstream.policy.routes.adult_pass_from` says from which event time on
``decide`` passes the subject's events as an adult's, and with which decision. A
consented child's decision also rests on one grant: over the event times
:func:`~wardstream.policy.routes.consented_route_between` gives, ``decide`` passes
every event of the subject with one decision, or (see below) redacts by the fields it
holds; such an entry is *held*: its events pass only once past the consent-consistent
hold (the state was caught up at or after ``min(event time, arrival) +
state_lateness``). A held entry's event that is not past it yet is *hinted* (a
:class:`Hint` that waits): the Python path keeps it, undecoded, with the entry's
decision, and sends it with that decision once past the hold unless the subject's state
or the policy changed meanwhile (then it decodes and decides it as any other). From then
on until none of its events waits, the subject's events are hinted too, so they keep
their order.

The native side (``wardstream._native.LaneTable``) only evaluates the table: for a
batch of schemaless Avro values it validates every record completely, finds subject
and event time, and says which records pass; for those the engine produces the
original bytes with the decision's headers. The lane accounts for adults in bulk (the
audit SUMMARY counters, the compensation pass log, metrics) and writes each child's
event its own audit record, as the Python path does, plus the pass log and
``ward.seen`` marks per subject and batch.

A child whose consent leaves out a category gets a *shaped* entry:
:func:`~wardstream.policy.routes.consented_route_between` gives the few fields whose
presence decides (those the grant leaves out) and ``decide``'s decision for each
combination of them; the native side reads which of them an event holds, picks that
decision, and sends the value with the removed fields set to null (the redaction plan's
steps, ``serde.redact``), which for a canonical value is byte for byte the Python path's
decode, redact and re-encode (``_native.LaneTable.shape`` refuses schemas where it would
not be: a union of several non-null types, a removal to a default).

A child whose events are all quarantined or dropped alike for a while (no usable
consent: :func:`~wardstream.policy.routes.blocked_between`) gets an *aside* entry: its
events do not pass; the engine hands them to ``submit`` with the decision (a
:class:`Hint`), so the Python path carries out the quarantine without decoding the
event or deciding again. Everything else (unknown ages, children without a simple
consent, non-canonical values, undecodable bytes, subjects not in the table) takes the
Python path, unchanged.

Entries are learnt from the Python path's own decisions, and compiled ahead for the
subjects of a batch that have none (from the state alone, as the Python path would after
deciding their first event; the batch is then screened again), and dropped whenever the
subject's state changes (a state listener) or the policy object is replaced (a stop
marker): a table entry is never older than the state it was compiled from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

import wardstream._native as _native
from wardstream.domain.decision import Decision
from wardstream.enforce.hooks import Routed, RouteObserver
from wardstream.enforce.lane_table import I64_MAX, I64_MIN, Entries, Host
from wardstream.enforce.records import SINK, Headers, OutRecord, forwarded_headers
from wardstream.serde import AvroCodec, UnsupportedFormat
from wardstream.serde.lazy import EPOCH, SUBJECT_FROM_KEY, Envelope
from wardstream.serde.native import NativeLocator

Hinted = tuple[int, int, str, int, bool, bytes | None]
"""A hinted record as ``_native.AvroLocator.screen`` gives it: index, code, subject id,
event time (epoch micros), whether it waits, the value to send instead or None."""


@dataclass(frozen=True, slots=True)
class Screened:
    """A batch screened: ``codes[i]`` is non-zero for a record in the lane, ``by_reason``
    counts them by the reason of their decision (for metrics), ``outputs`` are the
    records to send with them (children's audit records, ``ward.seen`` marks), and
    ``redacted[i]`` the value to send instead of record ``i``'s (fields removed), and
    ``hints[i]`` what ``submit`` is to do with record ``i`` (code 0) without deciding."""

    codes: Sequence[int]
    by_reason: dict[str, int]
    outputs: list[OutRecord] = field(default_factory=list)
    redacted: dict[int, bytes] = field(default_factory=dict)
    hints: dict[int, Hint] = field(default_factory=dict)


class Hint(NamedTuple):
    """A record the lane hands to ``submit`` undecoded: who and when, and the decision
    ``decide`` gives it (compiled from the same state), which ``Lane.decision`` gives
    while the hint stands: neither the subject's state nor the policy changed since
    (else the record is decided afresh). An aside entry's is carried out at once unless
    one of the subject's events waits; one that ``waits`` is kept until past the hold.
    ``value``: what to send instead of the record's value (a shaped entry's fields
    removed)."""

    envelope: Envelope
    decision: Decision
    waits: bool = False
    value: bytes | None = None
    stamp: int = 0


class Lane(Entries):
    """The lane of one pipeline processor; see the module doc."""

    def __init__(self, processor: Host, locator: NativeLocator) -> None:
        super().__init__(processor, locator)
        self.sink = processor.pipeline.sink
        processor.state.listen(self.forget, self.knows_nobody)

    @classmethod
    def of(cls, processor: Host) -> Lane | None:
        """The lane for ``processor``, or None where the native path cannot read its
        events as the Python path does: JSON, Confluent framing, a reader schema, a
        subject taken from the key (such adults are never decoded at all)."""
        codec, pipeline = processor.codec, processor.pipeline
        if type(codec) is not AvroCodec or codec.reader is not None:
            return None
        if pipeline.subject == SUBJECT_FROM_KEY:
            return None
        try:
            locator = NativeLocator(
                processor.schema, pipeline.subject, pipeline.event_time, canonical=codec.canonical
            )
        except UnsupportedFormat:
            return None
        return cls(processor, locator)

    # -- a batch --------------------------------------------------------------------
    def screen(
        self,
        values: Sequence[bytes | None],
        timestamps: Sequence[int | None],
        partitions: Sequence[int],
        offsets: Sequence[int],
        arrival: float,
    ) -> Screened | None:
        """Which records of a batch pass in the lane (None: none, take the Python path),
        with their audit records and counts, pass-log spans and seen marks made
        (``Enforcer.screen`` records the metrics). The caller sends ``outputs``, then
        each passed record's value unchanged to the sink, with :meth:`headers`."""
        self._current()
        if self.p.schema_wait.queues:
            return None  # partitions wait behind the registry
        cutoff = self._cutoff(arrival)
        found = self.locator.screen(values, timestamps, partitions, self.table, cutoff)
        if found[6] and self._ahead(found[6]):  # their records screened with the entries
            again = self.locator.screen(
                values, timestamps, partitions, self.table, cutoff, found[7]
            )
            found = _merged(found, again)
        raw, counts, spans, held, redacted, hinted, _, _ = found
        codes = memoryview(raw).cast("I")
        hints = self._hints(hinted) if hinted else {}
        if not counts:
            return Screened(codes, {}, hints=hints) if hints else None
        name, auditor = self.p.pipeline.name, self.p.auditor
        by_reason: dict[str, int] = {}
        for partition, code, n in counts:
            decision = self.decisions[code - 1]
            if not decision.needs_own_audit_record:
                auditor.count_adult(f"{name}/{partition}", name, decision.rule, n)
            reason = decision.reason.value
            by_reason[reason] = by_reason.get(reason, 0) + n
        outputs: list[OutRecord] = []
        source = self.p.pipeline.source
        children: dict[int, int] = {}  # span -> its subject's code
        by_chain: dict[int, list[tuple[str, Decision, str]]] = {}
        for i, at in held:  # children: an audit record each, as on the Python path
            part, code = partitions[i], codes[i]
            children[at] = code
            event = (spans[at][0], self.decisions[code - 1], f"{source}/{part}/{offsets[i]}")
            by_chain.setdefault(part, []).append(event)
        for part, events in by_chain.items():
            outputs += auditor.decisions(f"{name}/{part}", name, events)
        adults = [span for at, span in enumerate(spans) if at not in children]
        for observer in self.p.observers:
            if adults:
                observer.adults_passed(name, adults, arrival)
            for at, code in children.items():
                outputs += self._routed(observer, spans[at], code, arrival)
        return Screened(codes, by_reason, outputs, dict(redacted), hints)

    def _hints(self, hinted: list[Hinted]) -> dict[int, Hint]:
        """The hints of a batch; the subjects of those that wait are marked."""
        stamp, decisions, marked = self.stamp, self.decisions, self.marked
        hints = {}
        for i, code, sid, us, waits, value in hinted:
            when = EPOCH + timedelta(microseconds=us)
            hints[i] = Hint(Envelope(sid, when), decisions[code - 1], waits, value, stamp)
            if waits:
                marked.add(sid)  # the native table marked it waiting
        return hints

    def decision(self, hint: Hint) -> Decision | None:
        """``hint``'s decision while it stands (``still``), else None."""
        return hint.decision if self.still(hint.stamp, hint.envelope.subject_id) else None

    def _routed(
        self, observer: RouteObserver, span: tuple[str, int, int], code: int, arrival: float
    ) -> list[OutRecord]:
        """A child's events of the batch, as the pass log and the seen marks take them:
        the first and the last (what they keep of a subject is its span)."""
        subject_id, first, last = span
        decision, name = self.decisions[code - 1], self.p.pipeline.name
        out: list[OutRecord] = []
        for micros in sorted({first, last}):
            when = EPOCH + timedelta(microseconds=micros)
            out += observer.routed(Routed(name, subject_id, when, SINK, decision, arrival))
        return out

    def _cutoff(self, arrival: float) -> int:
        """The latest event time (epoch micros) past the hold now: every event when the
        batch arrived before it, none before the state was first caught up."""
        caught_up = self.p.state.caught_up_at
        if caught_up <= 0:
            return I64_MIN
        ready = caught_up - self.p.timing.state_lateness
        return I64_MAX if arrival <= ready else int(ready * 1_000_000)

    def headers(self, code: int, original: Headers | None) -> list[tuple[str, bytes | None]]:
        """The sink record's headers for a record of ``code`` (``original``: the
        source record's); one list per code when there are none (do not change it)."""
        ward = self.ward[code - 1]
        return list(forwarded_headers(original, tuple(ward))) if original else ward


def _merged(first: _native.Screen, again: _native.Screen) -> _native.Screen:
    """A batch's screen with its unplaced records screened again (``only``): what one
    screen with those entries would give (a subject's outcome rests on its own records;
    these had none in ``first``)."""
    raw = bytearray(first[0])
    codes, later = memoryview(raw).cast("I"), memoryview(again[0]).cast("I")
    for i in first[7]:
        codes[i] = later[i]
    counts: dict[tuple[int, int], int] = {}
    for partition, code, n in (*first[1], *again[1]):
        counts[(partition, code)] = counts.get((partition, code), 0) + n
    shift = len(first[2])
    held = sorted([*first[3], *((i, at + shift) for i, at in again[3])])
    return (
        bytes(raw),
        sorted((p, c, n) for (p, c), n in counts.items()),
        first[2] + again[2],
        held,
        first[4] + again[4],
        first[5] + again[5],
        again[6],
        again[7],
    )
