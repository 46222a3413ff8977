"""The expiry index: a sweep looks only at subjects whose grant is due, each expiry once."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.policy.test_policy_support import T0, grant, withdraw

from wardstream.lifecycle.expiry_index import ExpiryIndex

H = timedelta(hours=1)


def test_due_subjects_come_out_once_in_expiry_order() -> None:
    index = ExpiryIndex()
    index.note(None, grant("c1", expires_at=T0 + 2 * H))
    index.note(None, grant("c2", subject_id="kid-2", expires_at=T0 + H))
    index.note(None, grant("c3", subject_id="kid-3"))  # never expires: not indexed
    index.note(None, withdraw("c1"))  # not a grant: not indexed
    assert len(index) == 2
    assert index.due(T0) == set()
    assert index.due(T0 + H) == {"kid-2"}
    assert index.due(T0 + 3 * H) == {"kid-1"}
    assert index.due(T0 + 9 * H) == set() and len(index) == 0


MINUTES = st.integers(min_value=-180, max_value=600)
NOTES = st.lists(st.tuples(st.sampled_from(["kid-1", "kid-2", "kid-3", "kid-é"]), MINUTES))


@settings(max_examples=200, deadline=None)
@given(NOTES, st.lists(MINUTES, max_size=8), st.sampled_from([0, 1, 999_999]))
def test_each_expiry_comes_out_once_when_it_is_due(
    notes: list[tuple[str, int]], sweeps: list[int], micros: int
) -> None:
    index, left = ExpiryIndex(), []
    for subject_id, minutes in notes:
        at = T0 + timedelta(minutes=minutes, microseconds=micros)
        index.note(None, grant("c", subject_id=subject_id, expires_at=at))
        left.append((at, subject_id))
    assert len(index) == len(left)
    for minutes in sorted(sweeps):
        now = T0 + timedelta(minutes=minutes, microseconds=micros)
        due = {s for at, s in left if at <= now}
        left = [(at, s) for at, s in left if at > now]
        assert index.due(now) == due
        assert len(index) == len(left)
