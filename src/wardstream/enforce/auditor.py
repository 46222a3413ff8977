"""Audit records for the stream layer: one hash chain per input partition.

A chain is ``<pipeline>/<partition>`` for events, ``_control/0`` for state and
lifecycle records (the lifecycle leader's), ``_worker/<name>`` for deletions only
one worker owes (compensation). Each chain has one writer at a time — the worker
that owns the partition — and continues from the chain's last record read back
from the audit topic at start-up and after each assignment (``resume``; on a
revoke ``hand_over`` drops the writer), so neither restarts nor rebalances fork
it. Records are keyed by chain id, so a chain lives in one audit partition, in order.

With a signing key, ``summaries`` also returns, every checkpoint interval and on
``flush`` (a clean stop, a revoke), a signed CHECKPOINT over the heads of the chains
this worker wrote since its previous one (``audit.checkpoint``): no cost per record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import wardstream._native as _native
from wardstream.audit.chain import ChainWriter, Row, Sealer
from wardstream.audit.checkpoint import (
    CheckpointClock,
    Head,
    Signer,
    checkpoint_chain,
    sign_checkpoint,
)
from wardstream.audit.encode import encode_audit
from wardstream.audit.pseudonym import SubjectPseudonymizer
from wardstream.audit.summary import AdultPassCounter
from wardstream.domain.audit import AuditRecord
from wardstream.domain.decision import Decision
from wardstream.domain.enums import AuditAction
from wardstream.enforce.records import OutRecord
from wardstream.serde import AvroCodec, Origin, record_schema

CONTROL = "_control"
"""The pipeline name of lifecycle and state records."""
CONTROL_CHAIN = "_control/0"
MAX_COMMONS = 100_000
"""Decisions whose audit fields an auditor keeps made (a consented child's names its
consent: about one per child); past it, it starts afresh."""
Common = tuple[str, str | None, str, str | None, tuple[str, ...]]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def worker_chain(worker: str) -> str:
    """The chain only ``worker`` writes (deletions it alone owes: compensation)."""
    return f"_worker/{worker}"


def chains_of(pipelines: Mapping[str, str], partitions: Iterable[tuple[str, int]]) -> set[str]:
    """The chains the owner of these source partitions writes: ``<pipeline>/<partition>``,
    and ``_control/0`` with partition 0 of the first source (the lifecycle leader's).
    ``pipelines`` maps each source topic to its pipeline name."""
    first = min(pipelines, default=None)
    out: set[str] = set()
    for topic, partition in partitions:
        if topic in pipelines:
            out.add(f"{pipelines[topic]}/{partition}")
            if topic == first and partition == 0:
                out.add(CONTROL_CHAIN)
    return out


class Auditor:
    def __init__(
        self,
        topic: str,
        worker: str,
        pseudonymizer: SubjectPseudonymizer,
        *,
        summary_interval: timedelta = timedelta(seconds=10),
        clock: Clock = utc_now,
        signer: Signer | None = None,
        checkpoint_interval: timedelta = timedelta(seconds=60),
    ) -> None:
        self.topic = topic
        self.worker = worker
        self.pseudonymizer = pseudonymizer
        self.clock = clock
        self._codec = AvroCodec(record_schema("AuditRecord"))
        # records are encoded and hashed natively (the same bytes; None: in Python)
        self.sealer: Sealer | None = _native.seal_audit
        self._chains: dict[str, ChainWriter] = {}
        self._last: dict[str, AuditRecord] = {}
        self._counters: dict[str, AdultPassCounter] = {}
        self._interval = summary_interval
        self.signer = signer
        self._checkpoints = CheckpointClock(checkpoint_interval, clock)
        self._signed: dict[str, int] = {}  # chain -> seq vouched for up to (signed or taken over)
        self._unsigned: dict[str, Head] = {}  # heads of handed-over chains not yet signed
        self._commons: dict[int, tuple[Decision, Common]] = {}  # see _common

    # -- start-up -------------------------------------------------------------------
    def resume(self, records: Iterable[AuditRecord]) -> None:
        """Remember each chain's last record, so writing continues the chain."""
        for record in records:
            last = self._last.get(record.chain)
            if last is None or record.seq > last.seq:
                self._last[record.chain] = record

    def hand_over(self, chains: Iterable[str]) -> None:
        """Stop writing ``chains``: their partitions moved to another worker. Their writers
        are dropped, so a later write continues from what ``resume`` reads back from the
        audit topic then, not from this worker's memory (which would fork the chain).
        Send ``summaries(flush=True)`` first: uncounted adult passes are dropped too."""
        for chain in chains:
            writer, start = self._chains.get(chain), self._signed.get(chain, -1)
            if writer is not None and start < writer.next_seq - 1:
                self._unsigned[chain] = (writer.next_seq - 1, writer.last_hash, start)
            self._signed.pop(chain, None)
            self._chains.pop(chain, None)
            self._last.pop(chain, None)
            self._counters.pop(chain, None)

    def decode(self, value: bytes, origin: Origin) -> AuditRecord:
        return AuditRecord.from_dict(self._codec.decode(value, origin=origin))

    # -- writing --------------------------------------------------------------------
    def write(
        self,
        chain: str,
        pipeline: str,
        action: AuditAction,
        *,
        subject_id: str | None = None,
        subject_ref: str | None = None,
        rule: str | None = None,
        reason: str | None = None,
        event_ref: str | None = None,
        consent_id: str | None = None,
        fields_redacted: Sequence[str] = (),
        counts: Mapping[str, int] | None = None,
        deadline: datetime | None = None,
        attrs: Mapping[str, str] | None = None,
    ) -> OutRecord:
        """Seal the next record of ``chain``; ``subject_id`` is pseudonymised here (or the
        ref is given as ``subject_ref``, when only the ref is known)."""
        writer = self._writer(chain)
        ref = self.pseudonymizer.ref(subject_id) if subject_id else subject_ref
        written = writer.write(
            at=self.clock(),
            worker=self.worker,
            pipeline=pipeline,
            action=action,
            subject_ref=ref,
            rule=rule,
            reason=reason,
            event_ref=event_ref,
            consent_id=self.consent_ref(consent_id),
            fields_redacted=fields_redacted,
            counts=counts,
            deadline=deadline,
            attrs=attrs,
        )
        return OutRecord(self.topic, chain.encode(), written)

    def decision(
        self,
        chain: str,
        pipeline: str,
        subject_id: str,
        decision: Decision,
        event_ref: str,
        action: AuditAction | None = None,
    ) -> OutRecord:
        """The audit record of one decision (``action``: instead of the decision's own)."""
        return self.decisions(chain, pipeline, [(subject_id, decision, event_ref)], action)[0]

    def decisions(
        self,
        chain: str,
        pipeline: str,
        items: list[tuple[str, Decision, str]],
        action: AuditAction | None = None,
    ) -> list[OutRecord]:
        """The audit records of several events of ``chain`` (``(subject id, decision,
        event ref)`` each, in order), written at one moment and sealed at once."""
        rows: list[Row] = []
        ref, commons = self.pseudonymizer.ref, self._commons
        for subject_id, decision, event_ref in items:
            kept = commons.get(id(decision)) if action is None else None
            common = kept[1] if kept is not None and kept[0] is decision else None
            if common is None:
                common = self._common(decision, action)
            name, rule, reason, consent, removed = common
            rows.append((name, rule, reason, ref(subject_id), event_ref, consent, removed))
        writer = self._writer(chain)
        written = writer.write_many(
            at=self.clock(), worker=self.worker, pipeline=pipeline, rows=rows
        )
        key = chain.encode()
        return [OutRecord(self.topic, key, value) for value in written]

    def _common(self, decision: Decision, action: AuditAction | None) -> Common:
        """What every audit record of ``decision`` holds (kept per decision object)."""
        done = action or decision.audit_action or AuditAction.DROPPED
        common = (
            str(done),
            decision.rule,
            decision.reason.value,
            self.consent_ref(decision.consent_id),
            tuple(sorted(decision.remove_fields)),
        )
        if action is None:
            if len(self._commons) >= MAX_COMMONS:
                self._commons.clear()
            self._commons[id(decision)] = (decision, common)  # kept alive: its id stays its
        return common

    def consent_ref(self, consent_id: str | None) -> str | None:
        """Consent ids are the operator's and may embed a subject id: pseudonymise them too."""
        return self.pseudonymizer.ref("consent:" + consent_id) if consent_id else None

    def count_adult(self, chain: str, pipeline: str, rule: str, n: int = 1) -> None:
        counter = self._counters.get(chain)
        if counter is None:
            counter = self._counters[chain] = AdultPassCounter(self._interval, self.clock)
        counter.count(pipeline, n=n, rule=rule)

    def summaries(self, *, flush: bool = False) -> list[OutRecord]:
        """SUMMARY records for every chain whose interval elapsed (all, with ``flush``)."""
        out = []
        for chain, counter in self._counters.items():
            for summary in counter.flush() if flush else counter.due():
                summary.append_to(self._writer(chain), self.worker)
                out.append(OutRecord(self.topic, chain.encode(), self._writer(chain).last_written))
        out.extend(self.checkpoint(flush=flush))
        return out

    def checkpoint(self, *, flush: bool = False) -> list[OutRecord]:
        """A signed CHECKPOINT when one is due (always with ``flush``) and this worker
        wrote anything since its last one; none without a signing key."""
        if self.signer is None or not (flush or self._checkpoints.due()):
            return []
        self._checkpoints.done()
        own = checkpoint_chain(self.worker)
        heads = dict(self._unsigned)
        for chain, writer in self._chains.items():
            seq, start = writer.next_seq - 1, self._signed.get(chain, -1)
            if chain != own and seq > start:
                heads[chain] = (seq, writer.last_hash, start)
        if not heads:
            return []
        writer = self._writer(own)
        written = sign_checkpoint(writer, self.signer, self.worker, self.clock(), heads)
        self._unsigned.clear()
        for chain, (seq, _, _) in heads.items():
            if chain in self._chains:
                self._signed[chain] = seq
        return [OutRecord(self.topic, own.encode(), written)]

    def _writer(self, chain: str) -> ChainWriter:
        writer = self._chains.get(chain)
        if writer is None:
            last = self._last.pop(chain, None)
            batch = None if self.sealer is None else _native.seal_audits
            writer = ChainWriter(chain, encode_audit, last, sealer=self.sealer, batch=batch)
            self._chains[chain] = writer
            # vouched for from here on: the record continued from is not this worker's
            self._signed[chain] = -1 if last is None else last.seq
        return writer
