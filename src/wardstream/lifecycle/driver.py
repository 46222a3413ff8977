"""The lifecycle's share of ``Enforcer.tick`` (``wardstream.enforce.hooks.LifecycleHook``).

Each tick the lifecycle leader dead-letters the state records that could not be
applied (sealed: ``enforce.letters``; each origin once, across restarts: origins
already on the dead-letter topic are skipped), writes first-format seen and holds
records again sealed (``lifecycle.records``), destroys data keys of deleted
subjects that arrived late and rolls the keys topic after a shred
(``lifecycle.shredding``); every worker runs the issuer (which sends only on the
leader) over what is due and over the deletions that compensation owes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from wardstream.domain.enums import AuditAction
from wardstream.domain.reasons import ReasonCode
from wardstream.enforce.auditor import CONTROL, CONTROL_CHAIN, Auditor
from wardstream.enforce.letters import LetterSealer
from wardstream.enforce.records import OutRecord
from wardstream.lifecycle.applier import Rejected, StateApplier
from wardstream.lifecycle.compensation import PassLog
from wardstream.lifecycle.issuer import LifecycleIssuer
from wardstream.lifecycle.shredding import Shredder
from wardstream.serde import AvroCodec, record_schema

_DEAD_LETTERS = AvroCodec(record_schema("DeadLetter"))


class LifecycleDriver:
    def __init__(
        self,
        applier: StateApplier,
        issuer: LifecycleIssuer,
        passes: PassLog,
        auditor: Auditor,
        deadletter_topic: str | None,
        shredder: Shredder | None = None,
    ) -> None:
        self.applier, self.issuer, self.passes = applier, issuer, passes
        self.auditor, self.deadletter_topic = auditor, deadletter_topic
        self.shredder = shredder
        self.letters = LetterSealer(shredder.ring if shredder is not None else None)
        names = applier.names
        self._subject_keyed = {names.subjects, names.consents, names.requests}

    def tick(self, now: float, *, leader: bool) -> list[OutRecord]:
        out: list[OutRecord] = []
        # dead-letter only once the reader is caught up: by then every origin already on
        # the dead-letter topic is known, so a restarted leader does not send it again
        if self.applier.rejects and self.applier.state.caught_up_at > 0:
            rejects, self.applier.rejects = self.applier.rejects, []
            if leader:  # every worker reads every state record: one of them reports it
                out.extend(self._dead_letter_state(rejects, now))
        if leader and self.applier.lifecycle.legacy and self.applier.state.caught_up_at > 0:
            out.extend(self._migrate())
        out.extend(self.issuer.due(leader=leader))
        owed = self.passes.take(datetime.fromtimestamp(now, UTC), now)
        out.extend(self.issuer.issue_own(owed, leader=leader))
        if self.shredder is not None:
            if leader:
                # other workers keep their late keys until the leader's tombstones reach
                # them, so a new leader destroys what the old one had not
                out.extend(self.shredder.destroy_late())
            out.extend(self.shredder.roll(now, leader=leader))
        return out

    def _migrate(self) -> list[OutRecord]:
        """First-format seen and holds records (raw subject ids in the clear) written again
        sealed, keyed by ref, and their old keys tombstoned (``lifecycle.records``). Other
        workers drop an entry when they read its tombstone; a deferred deletion keeps its
        key, so its sealed value replaces the old one."""
        lc, names = self.applier.lifecycle, self.applier.names
        legacy, lc.legacy = lc.legacy, {}
        out: list[OutRecord] = []
        for (topic, key), ident in sorted(legacy.items()):
            if topic == names.seen:
                pipeline = key.decode("utf-8").rpartition("|")[2]
                mark = lc.seen.get(ident, {}).get(pipeline)
                if mark is not None:
                    out.append(OutRecord(topic, *lc.codec.seen(ident, pipeline, mark)))
            elif key.startswith(b"hold|"):
                hold = lc.holds.get(ident)
                if hold is not None:
                    out.append(OutRecord(topic, *lc.codec.hold(hold)))
            else:
                deferred = lc.deferred.get(ident)
                if deferred is not None:
                    out.append(OutRecord(topic, *lc.codec.deferred(deferred)))
                continue  # the same key: nothing to tombstone
            out.append(OutRecord(topic, key, None))
        return out

    def _dead_letter_state(self, rejects: list[Rejected], now: float) -> list[OutRecord]:
        """State records that could not be applied: to the dead-letter topic, sealed, audited
        on ``_control/0``; an origin already dead-lettered is not sent again."""
        if self.deadletter_topic is None:  # no pipelines
            return []
        topic, at = self.deadletter_topic, datetime.fromtimestamp(now, UTC)
        done = self.applier.lifecycle.dead_lettered
        out: list[OutRecord] = []
        for r in rejects:
            o = r.origin
            if (o.topic, o.partition, o.offset) in done:
                continue
            done.add((o.topic, o.partition, o.offset))
            datum = self.letters.record(
                r.error,
                key=r.key,
                value=r.value,
                headers=None,
                timestamp_ms=None,
                pipeline=None,
                at=at,
                subject_id=self._subject_of(r),
            )
            out.append(OutRecord(topic, None, _DEAD_LETTERS.encode(datum)))
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

    def _subject_of(self, r: Rejected) -> str | None:
        """The subject id a rejected record is keyed by, when its topic is keyed so."""
        if r.origin.topic not in self._subject_keyed or not r.key:
            return None
        try:
            return r.key.decode("utf-8")
        except UnicodeDecodeError:
            return None
