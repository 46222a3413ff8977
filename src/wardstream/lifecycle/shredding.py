"""Crypto-shredding: destroy every data key of a deleted subject, audited, with a deadline.

``Shredder.shred`` (the issuer's ``shred`` hook) tombstones every key of the subject
on the keys topic (``wardstream.enforce.keystore``) and audits KEY_DESTROYED with a
receipt (sha256 of each wrapped key) and ``gone_by``: the time by which the wrapped
key is gone from the keys topic's log. The guarantee rests on the topic's settings
(``ShredBound``, checked at start-up by ``engines.bootstrap``):

* the tombstone's segment rolls at the first append whose timestamp is more than
  ``segment.ms`` after the segment's first record, which is no later than the
  tombstone: so ``segment.ms`` (plus ``ROLL_MARGIN_MS``) after each tombstone the
  leader writes it again (the same key, so the same partition: a quiet partition
  rolls too, and the repeated tombstone only says again that the key is destroyed).
  Every worker schedules these rolls for the tombstones it reads of keys still live in
  its store (``KeyStore.tombstoned``), so a new leader rolls what the old one had not;
  a repeated tombstone names a key already destroyed, so rolls do not beget rolls;
* a rolled segment whose oldest uncompacted record is older than
  ``max.compaction.lag.ms`` is compacted at the cleaner's next pass (broker
  ``log.cleaner.backoff.ms``, 15 s by default; ``CLEANER_MARGIN_MS``, 5 minutes, allows
  for it, for a busy broker (60 s was exceeded on a loaded 2-core test machine), for
  ``ROLL_MARGIN_MS`` and the leader's tick, and for a leader change);
* the compacted segment's old file is deleted from disk ``file.delete.delay.ms``
  later.

So ``gone_by = destroyed_at + segment.ms + max.compaction.lag.ms + CLEANER_MARGIN_MS
+ file.delete.delay.ms``.
Copies outside the log (backups, a lagging replica that is later removed, consumers'
own stores) are outside this bound (docs/security.md).

A key of a deleted subject that arrives later (another worker created it before it
read the deletion) is in ``KeyStore.late``: ``destroy_late`` tombstones it the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from wardstream.crypto import receipt
from wardstream.domain.enums import AuditAction
from wardstream.enforce.datakeys import KEY_DESTROYED, KeyRing
from wardstream.enforce.keystore import KeyStore
from wardstream.enforce.records import OutRecord

AuditWrite = Callable[..., OutRecord]
CLEANER_MARGIN_MS = 300_000
ROLL_MARGIN_MS = 1_000
"""A roll goes this long after ``segment.ms`` has passed since its tombstone: the
tombstone's own timestamp is taken a little after the leader decided to write it."""


@dataclass(frozen=True, slots=True)
class ShredBound:
    """The keys topic's settings that bound how long a tombstoned key stays readable."""

    segment_ms: int = 3_600_000
    max_compaction_lag_ms: int = 3_600_000
    delete_retention_ms: int = 86_400_000
    min_cleanable_dirty_ratio: float = 0.1
    file_delete_delay_ms: int = 60_000

    @property
    def bound(self) -> timedelta:
        lag = self.segment_ms + self.max_compaction_lag_ms + self.file_delete_delay_ms
        return timedelta(milliseconds=lag + CLEANER_MARGIN_MS)

    def topic_config(self) -> dict[str, str]:
        return {
            "cleanup.policy": "compact",
            "segment.ms": str(self.segment_ms),
            "max.compaction.lag.ms": str(self.max_compaction_lag_ms),
            "delete.retention.ms": str(self.delete_retention_ms),
            "min.cleanable.dirty.ratio": str(self.min_cleanable_dirty_ratio),
            "min.compaction.lag.ms": "0",
            "file.delete.delay.ms": str(self.file_delete_delay_ms),
        }

    def violations(self, config: dict[str, str]) -> list[str]:
        """What in an existing keys topic's ``config`` breaks the guarantee, with the fix."""
        wanted = self.topic_config()
        bad: list[str] = []
        if config.get("cleanup.policy", "").replace(" ", "") != "compact":
            bad.append(
                f"cleanup.policy={config.get('cleanup.policy')} (must be exactly compact: "
                "with delete, tombstones destroy nothing and live keys are deleted)"
            )
        limits = (("segment.ms", self.segment_ms),
                  ("max.compaction.lag.ms", self.max_compaction_lag_ms),
                  ("delete.retention.ms", self.delete_retention_ms),
                  ("file.delete.delay.ms", self.file_delete_delay_ms),
                  ("min.compaction.lag.ms", self.max_compaction_lag_ms))  # fmt: skip
        for name, limit in limits:
            try:
                value = int(config.get(name, "0"))
            except ValueError:
                value = limit + 1
            if value > limit:
                bad.append(f"{name}={value} (at most {limit}; set {wanted[name]})")
        return bad


class Shredder:
    """Destroys data keys on the leader: a deleted subject's, and late ones."""

    def __init__(
        self,
        ring: KeyRing,
        audit: AuditWrite,
        bound: ShredBound = ShredBound(),
        grace_s: float = 300.0,
    ) -> None:
        self.ring, self.audit, self.bound, self.grace_s = ring, audit, bound, grace_s
        self._rolls: dict[bytes, float] = {}
        """Record key -> when its tombstone is written again."""

    def __repr__(self) -> str:
        return f"Shredder({self.ring!r})"

    @property
    def store(self) -> KeyStore:
        return self.ring.store

    def shred(self, subject_id: str, deletion_id: str) -> list[OutRecord]:
        """The issuer's ``shred`` hook: tombstone every data key of the subject and audit
        KEY_DESTROYED (pseudonymous subject ref, key ids, receipts, gone_by; never a key)."""
        ref = self.ring.ref(subject_id)
        now = self.ring.clock()
        self.store.note_deleted(ref, deletion_id, int((now + self.grace_s) * 1000))
        return self._destroy(ref, [kid for kid, _ in self.store.of(ref)], deletion_id, now)

    def destroy_late(self) -> list[OutRecord]:
        """Keys of deleted subjects that arrived after the shred (or were re-written)."""
        late, self.store.late = self.store.late, {}
        by_owner: dict[tuple[str, str], list[str]] = {}
        for kid, deletion_id in sorted(late.items()):
            stored = self.store.keys.get(kid)
            if stored is not None:
                by_owner.setdefault((stored.owner, deletion_id), []).append(kid)
        out: list[OutRecord] = []
        for (owner, deletion_id), kids in sorted(by_owner.items()):
            out += self._destroy(owner, kids, deletion_id, self.ring.clock(), late=True)
        return out

    def roll(self, now: float, *, leader: bool = True) -> list[OutRecord]:
        """Each tombstone again, ``segment.ms`` after it: an append that rolls the active
        segment of its partition, so the cleaner can compact it. Every worker keeps the
        schedule; only the leader writes (another worker drops what is long overdue)."""
        wait = self._roll_wait
        for key in self.store.tombstoned:
            self._rolls.setdefault(key, now + wait)
        self.store.tombstoned.clear()
        due = sorted(key for key, at in self._rolls.items() if at <= now)
        if not leader:  # kept one more segment.ms for a leader change, then dropped
            due = [key for key in due if self._rolls[key] + wait <= now]
        for key in due:
            del self._rolls[key]
        return [OutRecord(self.ring.topic, key, None) for key in due] if leader else []

    @property
    def _roll_wait(self) -> float:
        return (self.bound.segment_ms + ROLL_MARGIN_MS) / 1000

    def _destroy(
        self, ref: str, kids: list[str], deletion_id: str, now: float, *, late: bool = False
    ) -> list[OutRecord]:
        keys = [(kid, self.store.keys[kid]) for kid in sorted(kids) if kid in self.store.keys]
        if not keys:
            return []
        out = [OutRecord(self.ring.topic, stored.record_key, None) for _, stored in keys]
        for kid, stored in keys:
            self._rolls[stored.record_key] = now + self._roll_wait
            self.store.forget(kid)
        gone_by = datetime.fromtimestamp(now, UTC) + self.bound.bound
        attrs = {
            "deletion_id": deletion_id,
            "key_ids": ",".join(kid for kid, _ in keys),
            "receipts": ",".join(receipt(stored.wrapped) for _, stored in keys),
            "keys_topic": self.ring.topic,
            "gone_by": gone_by.isoformat(timespec="seconds"),
        }
        if late:
            attrs["late"] = "true"
        out.append(
            self.audit(
                AuditAction.KEY_DESTROYED, subject_ref=ref, reason=KEY_DESTROYED, attrs=attrs
            )
        )
        return out


def shredder(
    ring: KeyRing, audit: AuditWrite, bound: ShredBound = ShredBound()
) -> Callable[[str, str], list[OutRecord]]:
    """The issuer's ``shred`` hook (kept for callers of the first version)."""
    return Shredder(ring, audit, bound).shred
