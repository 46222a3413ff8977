"""Which partitions the Faust engine pauses and resumes while events wait for the registry."""

from __future__ import annotations

from wardstream.engines.faust.batch import registry_pauses

A, B, C = ("src", 0), ("src", 1), ("src", 2)


def test_newly_waiting_partitions_pause_and_recovered_ones_resume() -> None:
    pause, resume = registry_pauses({A, B}, {B, C}, owned={A, B, C})
    assert (pause, resume) == ({A}, {C})


def test_a_partition_revoked_while_paused_is_not_resumed_here() -> None:
    assert registry_pauses(set(), {A, B}, owned={A}) == (set(), {A})


def test_nothing_changes_while_the_same_partitions_wait() -> None:
    assert registry_pauses({A}, {A}, owned={A, B}) == (set(), set())
