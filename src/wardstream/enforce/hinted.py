"""Events decided on the lane's hints, accounted together.

The lane hands the Python path some events with their decision (``enforce.lane``
``Hint``): a blocked child's, quarantined or dropped at once, and a child's that waited
for the consent-consistent hold, released with its decision once past it. Their records
are made one by one, in order (a pass sends the original bytes, a shaped entry's
redaction the bytes the lane made, a quarantine its sealed record); their audit records
(one sealing call per chain) and what the route observers make of them (the pass log and
``ward.seen`` marks, which keep a subject's first and last event: they are told those
of each subject and decision) once for all of a batch or a poll, as the lane does. Those
are sealed after every other record of the batch or poll, so they leave with its last
outcome: a chain's records must reach the audit topic in their order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wardstream.domain.decision import Decision
from wardstream.domain.enums import Action
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.hooks import Routed, RouteObserver
from wardstream.enforce.lane import Hint
from wardstream.enforce.records import SINK, InRecord, Outcome
from wardstream.enforce.sink import SinkWriter


def sends(decision: Decision, hint: Hint) -> bool:
    """Whether ``hint``'s event goes to the sink on ``decision`` with bytes at hand (no
    re-encoding)."""
    action = decision.action
    return action is Action.PASS or (action is Action.REDACT and hint.value is not None)


@dataclass
class Hinted:
    """The outcomes of one batch or poll decided on hints, to account for at its end."""

    sink: SinkWriter
    events: list[tuple[Outcome, Hint, Decision]] = field(default_factory=list)

    def send(self, rec: InRecord, hint: Hint, decision: Decision) -> Outcome:
        """The outcome of ``rec`` sent to the sink on ``hint``'s ``decision``
        (``sends``); its audit record comes with ``account``."""
        value = rec.value if hint.value is None else hint.value
        outcome = Outcome(rec, SINK, self.sink.record(rec, decision, value), decision.reason.value)
        self.events.append((outcome, hint, decision))
        return outcome

    def add(self, outcome: Outcome, hint: Hint, decision: Decision) -> Outcome:
        """An outcome made elsewhere (a quarantine, a drop), to account for."""
        self.events.append((outcome, hint, decision))
        return outcome

    def account(self, auditor: Auditor, observers: list[RouteObserver], last: Outcome) -> None:
        """The events' audit records, then the observers' records, after the outputs of
        ``last``, the outcome that leaves last."""
        name, out = self.sink.pipeline.name, last.outputs
        by_chain: dict[int, list[tuple[Outcome, Hint, Decision]]] = {}
        for event in self.events:
            by_chain.setdefault(event[0].record.partition, []).append(event)
        for partition, events in by_chain.items():
            rows = [(h.envelope.subject_id, d, o.record.ref) for o, h, d in events]
            out += auditor.decisions(f"{name}/{partition}", name, rows)
        if observers:
            for routed in self._routed(name):
                for observer in observers:
                    out += observer.routed(routed)

    def _routed(self, name: str) -> list[Routed]:
        """Each subject's first and last event of each decision and destination."""
        spans: dict[tuple[str, Decision, str], tuple[Outcome, Hint, Hint]] = {}
        for outcome, hint, decision in self.events:
            key = (hint.envelope.subject_id, decision, outcome.destination)
            seen = spans.get(key)
            if seen is None:
                spans[key] = (outcome, hint, hint)
                continue
            first, last = seen[1], seen[2]
            if hint.envelope.event_time < first.envelope.event_time:
                first = hint
            if hint.envelope.event_time > last.envelope.event_time:
                last = hint
            spans[key] = (outcome, first, last)
        return [
            Routed(name, sid, hint.envelope.event_time, where, decision, outcome.record.arrival)
            for (sid, decision, where), (outcome, first, last) in spans.items()
            for hint in ((first, last) if last is not first else (first,))
        ]
