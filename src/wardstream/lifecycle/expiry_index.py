"""``ExpiryIndex``: which subjects have a grant expiring when, a few bytes per grant.

A sweep looks only at subjects whose grant is due, not at every ledger (a worker
may hold millions), so every grant with an expiry is noted as the state is read.
Half of the children's grants may carry one: as a heap of ``(datetime, str)``
tuples that cost some 170 bytes each, 20 bytes per subject of the whole state
(measured in ``docs/scaling.md``). Here each grant is one packed entry -
``int64`` microseconds since the epoch, ``u32`` id length, the id's UTF-8 bytes -
appended to the bucket of its expiry's hour; a heap orders the hours. ``due``
empties the buckets of the hours that ended and picks what is due from the
current hour's, so each expiry is handed out once, exactly when it is due.
"""

from __future__ import annotations

import heapq
import struct
from datetime import UTC, datetime, timedelta

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.enums import ConsentAction
from wardstream.policy.ledger import ConsentLedger

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
HOUR_US = 3_600_000_000
_ENTRY = struct.Struct("<qI")


def _micros(at: datetime) -> int:
    return (at - EPOCH) // US


class ExpiryIndex:
    """Subjects by the expiry of their grants; ``due(now)`` hands each out once."""

    def __init__(self) -> None:
        self._buckets: dict[int, bytearray] = {}
        self._hours: list[int] = []
        self._count = 0

    def note(self, before: ConsentLedger | None, event: ConsentEvent) -> None:
        """A StateApplier ``on_consent`` hook."""
        if event.action is not ConsentAction.GRANTED or event.expires_at is None:
            return
        sid = event.subject_id.encode()
        self.note_packed(_ENTRY.pack(_micros(event.expires_at), len(sid)) + sid)

    def note_packed(self, entries: bytes) -> None:
        """Note grants packed as entries (``LedgerMap.absorb`` packs them natively)."""
        i, end = 0, len(entries)
        buckets = self._buckets
        while i < end:
            at, n = _ENTRY.unpack_from(entries, i)
            j = i + _ENTRY.size + n
            hour = at // HOUR_US
            bucket = buckets.get(hour)
            if bucket is None:
                bucket = buckets[hour] = bytearray()
                heapq.heappush(self._hours, hour)
            bucket += entries[i:j]
            self._count += 1
            i = j

    def due(self, now: datetime) -> set[str]:
        """Subjects with a grant that expired by ``now``; each expiry is handed out once."""
        found: set[str] = set()
        cut = _micros(now)
        while self._hours and self._hours[0] <= cut // HOUR_US:
            hour = self._hours[0]
            kept = self._take(self._buckets[hour], cut, found)
            if kept:  # the current hour: what is not due yet stays
                self._buckets[hour] = kept
                break
            heapq.heappop(self._hours)
            del self._buckets[hour]
        return found

    def _take(self, bucket: bytearray, cut: int, found: set[str]) -> bytearray:
        """Adds the bucket's subjects due by ``cut`` to ``found``; the entries left."""
        kept, i, end = bytearray(), 0, len(bucket)
        while i < end:
            at, n = _ENTRY.unpack_from(bucket, i)
            j = i + _ENTRY.size + n
            if at <= cut:
                found.add(bucket[i + _ENTRY.size : j].decode())
                self._count -= 1
            else:
                kept += bucket[i:j]
            i = j
        return kept

    def __len__(self) -> int:
        return self._count
