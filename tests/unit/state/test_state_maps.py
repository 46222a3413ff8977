"""ProfileMap and LedgerMap: a mapping of decoded objects over compact bytes, with a small cache."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from tests.unit.policy.test_policy_support import grant, withdraw

from wardstream.domain.subject import SubjectProfile
from wardstream.policy.ledger import ConsentLedger
from wardstream.serde import AvroCodec, record_schema
from wardstream.state.maps import LedgerMap, ProfileMap, StateCorrupt

SUBJECTS = AvroCodec(record_schema("SubjectProfile"))
CONSENTS = AvroCodec(record_schema("ConsentEvent"))
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def profile(sid: str, years: int = 9, **extra: object) -> SubjectProfile:
    born = date(2026 - years, 3, 1)
    return SubjectProfile(subject_id=sid, birth_date=born, updated_at=T0, **extra)  # type: ignore[arg-type]


def raw(p: SubjectProfile) -> bytes:
    return SUBJECTS.encode(p.to_dict())


def test_lookup_replace_and_tombstone() -> None:
    m = ProfileMap()
    kid = profile("kid-1")
    assert m.swap("kid-1", kid, raw(kid)) is None
    assert m.get("kid-1") == kid and "kid-1" in m and len(m) == 1
    assert m.get("nobody") is None and "nobody" not in m
    with pytest.raises(KeyError):
        m["nobody"]
    older = profile("kid-1", years=19)
    assert m.swap("kid-1", older, raw(older)) == kid  # the profile before, for the hooks
    assert m["kid-1"] == older and len(m) == 1
    assert m.swap("kid-1", None) == older  # a tombstone
    assert "kid-1" not in m and m.get("kid-1") is None and len(m) == 0
    assert m.swap("kid-1", None) is None


def test_a_hot_subject_keeps_its_object_and_a_write_replaces_it() -> None:
    m = ProfileMap()
    m["kid-1"] = profile("kid-1")
    first = m.get("kid-1")
    assert m.get("kid-1") is first  # the policy memo on it stays valid
    newer = profile("kid-1", years=10)
    assert m.swap("kid-1", newer, raw(newer)) is first
    assert m.get("kid-1") is newer


def test_cache_eviction_keeps_every_answer_right() -> None:
    rng = random.Random(4)
    m, model = ProfileMap(cache_size=8), {}
    for i in range(3000):
        sid = f"s-{rng.randrange(300)}"
        if i % 11 == 0:
            assert m.pop(sid, None) == model.pop(sid, None)
        elif i % 3 == 0:
            p = profile(sid, years=rng.randrange(3, 40), jurisdiction=rng.choice(["CN", None]))
            m.swap(sid, p, raw(p))
            model[sid] = p
        else:
            assert m.get(sid) == model.get(sid)
    assert len(m) == len(model) and dict(m.items()) == model
    assert sorted(m.values(), key=lambda p: p.subject_id) == sorted(
        model.values(), key=lambda p: p.subject_id
    )


def test_objects_finer_than_avro_are_kept_as_they_are() -> None:
    m = ProfileMap()
    fine = SubjectProfile(subject_id="kid-2", updated_at=T0 + timedelta(microseconds=7))
    m["kid-2"] = fine
    assert m.get("kid-2") is fine and m["kid-2"].updated_at == fine.updated_at
    coarse = profile("kid-2")
    assert m.swap("kid-2", coarse, raw(coarse)) is fine
    assert m.get("kid-2") == coarse and len(m) == 1
    del m["kid-2"]
    assert len(m) == 0


def test_stored_bytes_that_no_longer_decode_stop_rather_than_guess() -> None:
    m = ProfileMap()
    kid = profile("kid-1")
    m.swap("kid-1", kid, raw(kid))
    m.table.put(b"kid-1", b"\x07garbage")  # never happens: stored values were accepted once
    with pytest.raises(StateCorrupt):
        m.get("kid-1")


def test_ledgers_fold_their_events_in_order() -> None:
    m = LedgerMap(cache_size=2)
    g, w = grant("c1"), withdraw("c1", at=T0)
    assert m.add(g, CONSENTS.encode(g.to_dict())) is None
    assert m.get(g.subject_id) == ConsentLedger(g.subject_id, (g,))
    before = m.add(w, CONSENTS.encode(w.to_dict()))
    assert before == ConsentLedger(g.subject_id, (g,))
    assert m[g.subject_id] == ConsentLedger(g.subject_id, (g, w))
    assert list(m.values()) == [ConsentLedger(g.subject_id, (g, w))]
    for i in range(10):  # others push it out of the cache: decoded again, equal
        m.add(grant(f"c{i}", subject_id=f"s{i}"))
    assert m[g.subject_id] == ConsentLedger(g.subject_id, (g, w))
    assert m.pop(g.subject_id) == ConsentLedger(g.subject_id, (g, w))
    assert g.subject_id not in m and len(m) == 10


def test_a_hot_ledger_keeps_its_object_until_an_event_replaces_it() -> None:
    m = LedgerMap()
    g = grant("c1")
    m.add(g)
    first = m.get(g.subject_id)
    assert m.get(g.subject_id) is first
    w = withdraw("c1", at=T0)
    assert m.add(w) is first
    assert m.get(g.subject_id) == first.apply(w)


def test_ledgers_set_whole_or_empty_read_back_equal() -> None:
    m = LedgerMap()
    m["kid-9"] = ConsentLedger.empty("kid-9")
    assert "kid-9" in m and m["kid-9"] == ConsentLedger.empty("kid-9")
    g = grant("c1", subject_id="kid-9")
    assert m.add(g) == ConsentLedger.empty("kid-9")
    assert m["kid-9"] == ConsentLedger("kid-9", (g,))
    whole = ConsentLedger("kid-8", (grant("c2", subject_id="kid-8"),))
    m["kid-8"] = whole
    assert m["kid-8"] == whole and len(m) == 2
