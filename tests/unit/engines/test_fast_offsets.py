"""The fast engine's commit points: held events stop the offset, the metadata lists the rest."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wardstream.engines.offsets import CommitPoint, Progress, decode, encode


def test_nothing_read_commits_nothing() -> None:
    assert Progress().commit_point() is None


def test_nothing_held_commits_past_the_last_read() -> None:
    p = Progress(next=42)
    assert p.commit_point() == CommitPoint(42)


def test_a_held_event_stops_the_offset_and_the_metadata_names_it() -> None:
    p = Progress(next=20, held={12, 15})
    point = p.commit_point()
    assert point is not None and point.offset == 12
    assert decode(point.metadata, 12) == (20, frozenset({12, 15}))


def test_a_restart_skips_what_was_decided_and_redoes_what_was_held() -> None:
    p = Progress()
    p.resume_from(12, encode(12, 20, {12, 15}))
    assert [o for o in range(12, 22) if p.is_done_before(o)] == [13, 14, 16, 17, 18, 19]


def test_a_second_commit_before_the_old_end_keeps_the_old_skip_list() -> None:
    p = Progress()
    p.resume_from(12, encode(12, 20, {12, 15}))
    p.next = 13  # read 12 again and decided it; 15 not reached yet
    point = p.commit_point()
    assert point is not None and point.offset == 15
    assert decode(point.metadata, 15) == (20, frozenset({15}))


def test_once_the_old_held_ones_are_decided_the_offset_jumps_to_the_old_end() -> None:
    p = Progress()
    p.resume_from(12, encode(12, 20, {12}))
    p.next = 13
    assert p.commit_point() == CommitPoint(20)


def test_foreign_or_stale_metadata_is_ignored() -> None:
    for metadata in ("", "faust", "w1:1:2", "w1:3:9:!!", encode(5, 9, {5})):
        p = Progress()
        p.resume_from(6, metadata)
        assert p.skip_end == -1


@given(st.integers(0, 10**12), st.sets(st.integers(0, 5000), min_size=1))
def test_metadata_round_trips(base: int, rel: set[int]) -> None:
    start = base + min(rel)
    undecided = {base + r for r in rel}
    end = base + max(rel) + 1 + 7
    assert decode(encode(start, end, undecided), start) == (end, frozenset(undecided))


def test_30_percent_held_over_20000_offsets_fits_the_default_broker_limit() -> None:
    import random

    rng = random.Random(7)
    held = {o for o in range(20_000) if rng.random() < 0.3} | {0}
    assert len(encode(0, 20_000, held)) < 4000
