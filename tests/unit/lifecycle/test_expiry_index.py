"""The expiry index: a sweep looks only at subjects whose grant is due, each expiry once."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.policy.test_policy_support import T0, grant, withdraw

from wardstream.lifecycle.sweeps import ExpiryIndex

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
