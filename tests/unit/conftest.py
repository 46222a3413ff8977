"""Fixtures shared by unit tests."""

from __future__ import annotations

import pytest
from tests.unit.reach import Reach

from wardstream.audit.pseudonym import SubjectPseudonymizer
from wardstream.crypto import MasterKey
from wardstream.enforce.datakeys import KeyRing
from wardstream.lifecycle.records import LifecycleRecords

REFS = SubjectPseudonymizer(bytes(range(100, 132)), "k1")
"""A fixed, fictional pseudonym key: the subject refs the keys and quarantine topics use."""
RECORDS = LifecycleRecords(REFS.ref, bytes(range(200, 232)))
"""Keys and sealed values of ``ward.seen`` and ``ward.holds`` under a fictional key."""


@pytest.fixture
def master_key() -> MasterKey:
    """A fixed, fictional master key (32 bytes)."""
    return MasterKey(bytes(range(32)))


@pytest.fixture
def ring(master_key: MasterKey) -> KeyRing:
    """A fresh key ring on ``ward.keys``, as a worker with that master key holds it."""
    return KeyRing(master_key, "ward.keys", refs=REFS.ref)


@pytest.fixture
def reach() -> Reach:
    """A fresh :class:`Reach` for the property defined inside the test."""
    return Reach()
