"""The lifecycle's share of ``Enforcer.tick`` (``wardstream.enforce.hooks.LifecycleHook``).

Each tick the lifecycle leader dead-letters the state records that could not be
applied, and every worker runs the issuer (which sends only on the leader) over
what is due and over the deletions that compensation owes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from wardstream.domain.enums import AuditAction
from wardstream.domain.reasons import ReasonCode
from wardstream.enforce.auditor import CONTROL, CONTROL_CHAIN, Auditor
from wardstream.enforce.records import OutRecord
from wardstream.lifecycle.applier import Rejected, StateApplier
from wardstream.lifecycle.compensation import PassLog
from wardstream.lifecycle.issuer import LifecycleIssuer
from wardstream.serde import AvroCodec, dead_letter_record, record_schema

_DEAD_LETTERS = AvroCodec(record_schema("DeadLetter"))


class LifecycleDriver:
    def __init__(
        self,
        applier: StateApplier,
        issuer: LifecycleIssuer,
        passes: PassLog,
        auditor: Auditor,
        deadletter_topic: str | None,
    ) -> None:
        self.applier, self.issuer, self.passes = applier, issuer, passes
        self.auditor, self.deadletter_topic = auditor, deadletter_topic

    def tick(self, now: float, *, leader: bool) -> list[OutRecord]:
        out: list[OutRecord] = []
        if self.applier.rejects:
            rejects, self.applier.rejects = self.applier.rejects, []
            if leader:  # every worker reads every state record: one of them reports it
                out.extend(self._dead_letter_state(rejects, now))
        out.extend(self.issuer.due(leader=leader))
        owed = self.passes.take(datetime.fromtimestamp(now, UTC), now)
        out.extend(self.issuer.issue_own(owed, leader=leader))
        return out

    def _dead_letter_state(self, rejects: list[Rejected], now: float) -> list[OutRecord]:
        """State records that could not be applied: to the dead-letter topic, audited on
        ``_control/0``. A restarted leader reads them again and reports them again."""
        if self.deadletter_topic is None:  # no pipelines
            return []
        topic, at = self.deadletter_topic, datetime.fromtimestamp(now, UTC)
        out: list[OutRecord] = []
        for r in rejects:
            o = r.origin
            datum = dead_letter_record(
                r.error,
                key=r.key,
                value=r.value,
                headers=None,
                timestamp_ms=None,
                pipeline=None,
                at=at,
            )
            out.append(OutRecord(topic, r.key, _DEAD_LETTERS.encode(datum)))
            out.append(
                self.auditor.write(
                    CONTROL_CHAIN,
                    CONTROL,
                    AuditAction.DEADLETTERED,
                    reason=ReasonCode.DECODE_ERROR.value,
                    event_ref=f"{o.topic}/{o.partition}/{o.offset}",
                )
            )
        return out
