"""When a state snapshot may be used (SPEC, "State snapshots"); pure.

``why_unusable`` returns the reason a snapshot must be ignored (the worker
then reads the state topics from the beginning), or None. The reasons never
name a subject: they name topics, partitions, offsets and ages.

* written for other topics, or for other partitions of them;
* older than half the smallest ``delete.retention.ms`` of those topics: a
  tombstone written after the snapshot is kept at least that long, so a
  restart that reads the tail within half of it sees every tombstone (the
  other half is margin for the read itself and for clocks);
* a partition's earliest offset is past the recorded one: records after the
  snapshot were deleted (retention, or compaction of the head) before this
  worker read them, and one of them may have been a tombstone;
* a partition's earliest offset is past the oldest record the snapshot holds
  (``floor``): the topic deleted records by retention that the snapshot still
  holds, so it would decide differently from a worker that read the topic;
* a partition's latest offset is before the recorded one (the topic was recreated);
* written in the future by more than ``skew_s`` (a wrong clock: its age is unknown).
"""

from __future__ import annotations

from collections.abc import Mapping

from wardstream.state.snapshot import SnapshotMeta

CLOCK_SKEW_S = 60.0


def why_unusable(
    meta: SnapshotMeta,
    *,
    topics: tuple[str, ...],
    partitions: Mapping[str, list[int]],
    earliest: Mapping[tuple[str, int], int],
    delete_retention_ms: Mapping[str, int],
    now_s: float,
    latest: Mapping[tuple[str, int], int] | None = None,
    skew_s: float = CLOCK_SKEW_S,
) -> str | None:
    if meta.topics != topics:
        return f"it was written for the topics {', '.join(meta.topics)}, not {', '.join(topics)}"
    for topic in topics:
        have = sorted(meta.offsets.get(topic, {}))
        if have != sorted(partitions.get(topic, [])):
            return f"topic {topic} has other partitions than when it was written"
    known = [delete_retention_ms.get(t) for t in topics]
    if any(ms is None or ms <= 0 for ms in known):
        return "the state topics' delete.retention.ms could not be read"
    limit_s = min(ms for ms in known if ms is not None) / 2000.0
    age = now_s - meta.written_at
    if age < -skew_s:
        return f"it was written {-age:.0f} s in the future (check this host's clock)"
    if age > limit_s:
        return (
            f"it is {age:.0f} s old, older than half the state topics' delete.retention.ms "
            f"({limit_s:.0f} s): a tombstone written since may be compacted away"
        )
    for topic in topics:
        for partition, offset in meta.offsets[topic].items():
            first = earliest.get((topic, partition))
            if first is None:
                return f"the earliest offset of {topic}[{partition}] could not be read"
            if first > offset:
                return (
                    f"{topic}[{partition}] now starts at offset {first}, past the snapshot's "
                    f"{offset}: records after it were deleted before they were read"
                )
            held = meta.floor.get(topic, {}).get(partition)
            if held is not None and first > held:
                return (
                    f"{topic}[{partition}] now starts at offset {first}, past the oldest record "
                    f"the snapshot holds ({held}): a worker reading from the beginning would not "
                    "know it. Records of a state topic must not expire: set retention.ms=-1 "
                    "on it (or compaction)"
                )
            end = None if latest is None else latest.get((topic, partition))
            if latest is not None and (end is None or end < offset):
                return (
                    f"{topic}[{partition}] now ends at offset {end}, before the snapshot's "
                    f"{offset}: the topic was recreated or truncated"
                )
    return None
