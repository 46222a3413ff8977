"""The encrypted state snapshot, for both engines (SPEC, "State snapshots").

``Snapshots`` sits between an engine's state reader and the ``StateApplier``:
it passes every record on and notes, for ``ward.subjects`` and
``ward.consents``, the next offset of each partition whose records are
applied (``apply``, and ``reached`` when a read round reached its end
offsets). ``write`` seals what the store holds for those two topics
(``state.snapshot``) with those offsets; ``restore`` checks a snapshot at
start (``state.snapshot_rules``), applies its records through the applier and
returns the offsets to read on from. Every other topic the applier tails
(quarantine, lifecycle, breach) is read from the beginning as before: their
state is small, and some of it (the quarantine book, the issued ids, the
triggers) is only rebuilt exactly by reading them.

The engine thread owns it, as it owns the state: ``write`` runs between batches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from wardstream._native import last_offsets
from wardstream.crypto import SealBroken
from wardstream.enforce.hooks import StateTarget
from wardstream.enforce.state import StateStore
from wardstream.engines.memory import collector_paused
from wardstream.engines.snapshot_file import (
    discard,
    read_chunks,
    remove_temporaries,
    snapshot_path,
    write_atomically,
)
from wardstream.errors import RestartNeeded
from wardstream.kafka.tail import Row
from wardstream.kafka.topic_facts import TopicFacts
from wardstream.state.snapshot import (
    CHUNK_BYTES,
    STORED,
    NotSnapshotable,
    SnapshotMeta,
    SnapshotSource,
    SnapshotUnreadable,
    decode_meta,
    decode_records,
    encode,
)
from wardstream.state.snapshot_rules import why_unusable
from wardstream.state.snapshot_source import LedgerSource, ProfileSource

log = logging.getLogger(__name__)
Start = dict[tuple[str, int], int]


class SnapshotBroken(RestartNeeded):
    """A snapshot whose tag verified did not apply to the end; it was removed, and the
    restart reads the state topics from the beginning."""


class Snapshots:
    def __init__(
        self,
        directory: Path,
        key: bytes,
        applier: StateTarget,
        state: StateStore,
        topics: tuple[str, str],
        interval_s: float,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.directory, self._key = directory, key
        self.applier, self.state, self.mine = applier, state, topics
        self.interval_s, self.wall = interval_s, wall
        self.positions: dict[tuple[str, int], int] = {}
        self.floor: dict[tuple[str, int], int] = {}  # the lowest offset applied, per partition
        self.partitions: dict[str, list[int]] = {}
        self.start: Start = {}  # where the state reader reads on from (empty: the beginning)
        self.facts: Callable[[], TopicFacts] | None = None  # reads them from Kafka (``load``)
        self.restored = 0  # records applied from the snapshot
        self.restore_s = self.write_s = 0.0  # how long the last restore and write took
        self.written = 0  # snapshots written
        self._due = wall() + interval_s
        self.chunk_bytes = CHUNK_BYTES

    # -- what the state reader feeds ------------------------------------------------
    @property
    def topics(self) -> tuple[str, ...]:
        return self.applier.topics

    @property
    def rejected(self) -> int:
        return self.applier.rejected

    def apply(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> None:
        self.applier.apply(topic, partition, offset, key, value)
        if topic in self.mine:
            tp = (topic, partition)
            self.positions[tp] = offset + 1
            if tp not in self.floor:
                self.floor[tp] = offset

    def expect(self, counts: Mapping[str, int]) -> None:
        self.applier.expect(counts)

    def apply_rows(self, rows: list[Row]) -> None:
        self.applier.apply_rows(rows)
        for tp, offset in last_offsets(rows).items():  # natively: millions at start-up
            if tp[0] in self.mine:
                self.positions[tp] = offset + 1
                if tp not in self.floor:
                    self.floor[tp] = next(o for t, p, o, _, _ in rows if (t, p) == tp)

    def reached(self, ends: Mapping[tuple[str, int], int]) -> None:
        """Every record before ``ends`` is applied (a read round reached them)."""
        for tp, end in ends.items():
            if tp[0] in self.mine and end > self.positions.get(tp, -1):
                self.positions[tp] = end

    # -- start-up -------------------------------------------------------------------
    def load(self, beat: Callable[[], None] = lambda: None) -> Start:
        """``restore`` with the facts read from Kafka now (``facts``); sets ``start``."""
        if self.facts is None:
            raise SnapshotUnreadable("no way to read the state topics' facts was given")
        with collector_paused():  # as during the first read (engines/memory.py)
            self.start = self.restore(self.facts(), beat)
        return self.start

    def restore(self, facts: TopicFacts, beat: Callable[[], None] = lambda: None) -> Start:
        """Apply a usable snapshot; the offsets to read on from (empty: from the beginning).
        ``beat`` is called between chunks (a long restore keeps the worker's loop alive)."""
        self.partitions = {t: list(facts.partitions.get(t, [])) for t in self.mine}
        remove_temporaries(self.directory)
        path = snapshot_path(self.directory)
        if not path.exists():
            log.info("no state snapshot in %s: reading the state topics from the beginning",
                     self.directory)  # fmt: skip
            return {}
        t0 = time.monotonic()
        try:
            meta = self._check(path, beat)  # every chunk's tag, before anything is applied
        except (SealBroken, SnapshotUnreadable, OSError) as exc:
            return self._ignore(f"{exc} (another master key, or the file was altered)")
        reason = why_unusable(
            meta,
            topics=self.mine,
            partitions=self.partitions,
            earliest=facts.earliest,
            delete_retention_ms=facts.delete_retention_ms,
            now_s=self.wall(),
            latest=facts.latest,
        )
        if reason is not None:
            return self._ignore(reason)
        try:
            self._apply(path, meta.topics, beat)
        except (SealBroken, SnapshotUnreadable, OSError) as exc:
            discard(self.directory)
            raise SnapshotBroken(
                f"the state snapshot {path} stopped applying part way ({exc}); it was removed, "
                "and the restart reads the state topics from the beginning"
            ) from exc
        self.restore_s = time.monotonic() - t0
        start = {(t, p): o for t, ps in meta.offsets.items() for p, o in ps.items()}
        self.positions.update(start)
        self.floor = {(t, p): o for t, ps in meta.floor.items() for p, o in ps.items()}
        log.info(
            "state snapshot applied: %d records in %.1f s; reading on from its offsets",
            self.restored,
            self.restore_s,
        )
        return start

    def _check(self, path: Path, beat: Callable[[], None]) -> SnapshotMeta:
        chunks = read_chunks(path, self._key)
        meta = decode_meta(next(chunks))
        for _ in chunks:
            beat()
        return meta

    def _sources(self) -> dict[str, SnapshotSource]:
        subjects, consents = self.mine
        return {
            subjects: ProfileSource(self.state.subjects),
            consents: LedgerSource(self.state.consents),
        }

    def _apply(self, path: Path, topics: tuple[str, ...], beat: Callable[[], None]) -> None:
        if len(self.state.subjects) or len(self.state.consents):
            raise SnapshotUnreadable("a snapshot is only applied to an empty store")
        chunks = read_chunks(path, self._key)
        next(chunks)  # the header
        apply_rows, sources = self.applier.apply_rows, self._sources()
        runs = [(i | STORED, sources[t].load_run) for i, t in enumerate(topics) if t in sources]
        for chunk in chunks:
            beat()
            at = 0
            for head, load_run in runs:  # a chunk's leading stored records, in one call
                at, loaded = load_run(chunk, head, at)
                self.restored += loaded
            rows: list[Row] = []  # records to apply, in order, in batches (grants natively)
            for topic, stored, key, value in decode_records(chunk, topics, at):
                if stored and key is not None:
                    apply_rows(rows)
                    rows = []
                    sources[topic].load_stored(key, value)
                else:
                    rows.append((topic, -1, -1, key, value))
                self.restored += 1
            apply_rows(rows)

    def _ignore(self, reason: str) -> Start:
        log.warning(
            "state snapshot in %s ignored and removed: %s; reading the state topics from the "
            "beginning",
            self.directory,
            reason,
        )
        discard(self.directory)
        return {}

    # -- writing --------------------------------------------------------------------
    def due(self, now: float | None = None) -> bool:
        return (self.wall() if now is None else now) >= self._due

    def write(self) -> Path | None:
        """Seal the state of ``mine`` with the offsets it covers; None when not complete yet
        (a partition never read to an end) or the store holds what cannot be written."""
        now, t0 = self.wall(), time.monotonic()
        self._due = now + self.interval_s
        offsets: dict[str, dict[int, int]] = {}
        for topic in self.mine:
            parts = self.partitions.get(topic) or sorted(
                p for (t, p) in self.positions if t == topic
            )
            if not parts or any((topic, p) not in self.positions for p in parts):
                log.info("state snapshot not written: %s was not read to an end yet", topic)
                return None
            offsets[topic] = {p: self.positions[(topic, p)] for p in parts}
        floor: dict[str, dict[int, int]] = {}
        for (topic, partition), offset in self.floor.items():
            floor.setdefault(topic, {})[partition] = offset
        stores = self._sources()
        try:
            path = write_atomically(
                self.directory,
                self._key,
                encode(self.mine, offsets, now, stores, self.chunk_bytes, floor),
            )
        except (NotSnapshotable, OSError) as exc:
            # the previous snapshot must not outlive its interval: a subject deleted since
            # would stay on disk. Without one, the next start reads from the beginning.
            discard(self.directory)
            log.error(
                "state snapshot not written (%s); the previous one was removed: check that "
                "%s is writable and has room",
                exc,
                self.directory,
            )
            return None
        self.write_s = time.monotonic() - t0
        self.written += 1
        return path
