"""What the compact store gives a snapshot, and takes back from one (``SnapshotSource``).

Profiles that are not deregistered need nothing but storing on a restart (no hook
does anything before the first event, and a deregistration is what triggers a
deletion): they are written in the table's own form and put back without being
decoded (``stored`` / ``load_stored``, or ``load_run`` for a run of them at once,
natively), which is most of a restore. Deregistered
and pinned profiles, and every consent event (a withdrawal triggers, a grant with
an expiry is swept), are written as the records they came in and applied again
through the ``StateApplier`` (``records``).
"""

from __future__ import annotations

from collections.abc import Iterator

from wardstream.state.maps import LedgerMap, ProfileMap
from wardstream.state.profile_codec import id_head
from wardstream.state.snapshot import NotSnapshotable


class ProfileSource:
    def __init__(self, profiles: ProfileMap) -> None:
        self.map = profiles

    def stored(self) -> Iterator[tuple[bytes, bytes]]:
        gone = self.map.gone
        for key, stored in self.map.table.items():
            if key not in gone:
                yield key, stored

    def records(self) -> Iterator[tuple[bytes, bytes]]:
        m = self.map
        for subject_id, profile in list(m._pinned.items()):  # noqa: SLF001 - its own package
            key = subject_id.encode()
            value = m._encoded(subject_id, profile, id_head(key) + key)  # noqa: SLF001
            if value is None:
                raise NotSnapshotable("a profile that does not survive encoding is held")
            yield key, value
        for key in list(m.gone):
            stored = m.table.get(key)
            if stored is not None:
                yield key, id_head(key) + key + stored

    def load_stored(self, key: bytes, stored: bytes) -> None:
        self.map.load_stored(key, stored)

    def load_run(self, chunk: bytes, head: int, start: int) -> tuple[int, int]:
        return self.map.load_stored_run(chunk, head, start)


class LedgerSource:
    def __init__(self, ledgers: LedgerMap) -> None:
        self.map = ledgers

    def stored(self) -> Iterator[tuple[bytes, bytes]]:
        return iter(())

    def records(self) -> Iterator[tuple[bytes, bytes]]:
        """(subject id, consent value) per event in order, as on ``ward.consents``."""
        m = self.map
        for subject_id, ledger in list(m._pinned.items()):  # noqa: SLF001 - its own package
            for event in ledger.events:
                value = m._encoded(event)  # noqa: SLF001
                if value is None:
                    raise NotSnapshotable("a consent that does not survive encoding is held")
                yield subject_id.encode(), value
        for key, stored in m.table.items():
            for value in m.values_of(key, stored):
                yield key, value

    def load_stored(self, key: bytes, stored: bytes) -> None:
        raise NotSnapshotable("consent ledgers are restored by applying their events")

    def load_run(self, chunk: bytes, head: int, start: int) -> tuple[int, int]:
        return start, 0  # nothing stored: each record goes to load_stored, which refuses it
