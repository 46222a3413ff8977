"""BlobTable (native) behaves like a dict of bytes to bytes, through growth, removals,
compaction and odd entries."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.lifecycle.test_state_apply import SUBJECTS
from tests.unit.state.test_state_codecs import mutate, mutations, profiles, usual_profiles

from wardstream.state.profile_codec import id_head
from wardstream.state.table import BlobTable

EPOCH_2024 = datetime(2024, 1, 1, tzinfo=UTC)
KEYS = st.one_of(
    st.binary(max_size=12),
    st.sampled_from([b"", b"\0", b"a\0b", b"kid-1", b"kid-10", b"kid-1\0"]),
)
VALUES = st.one_of(st.binary(max_size=40), st.just(b"x" * 70_000))
OPS = st.lists(
    st.tuples(st.sampled_from(["put", "put", "pop", "get", "compact"]), KEYS, VALUES),
    max_size=300,
)


def same(table: BlobTable, model: dict[bytes, bytes]) -> None:
    assert len(table) == len(model)
    assert dict(table.items()) == model
    assert sorted(table.keys()) == sorted(model)
    assert sorted(table) == sorted(model)
    for key, value in model.items():
        assert table.get(key) == value
        assert key in table


def run(table: BlobTable, ops: list[tuple[str, bytes, bytes]]) -> dict[bytes, bytes]:
    """Applies ``ops`` to ``table`` and to a dict, checking each answer; the dict."""
    model: dict[bytes, bytes] = {}
    for op, key, value in ops:
        if op == "put":
            assert table.put(key, value) == model.get(key)
            model[key] = value
        elif op == "pop":
            assert table.pop(key) == model.pop(key, None)
        elif op == "compact":
            table.compact()
        else:
            assert table.get(key) == model.get(key)
            assert (key in table) == (key in model)
    same(table, model)
    return model


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_it_answers_like_a_dict(ops: list[tuple[str, bytes, bytes]]) -> None:
    run(BlobTable(), ops)


def test_it_keeps_every_entry_through_growth_and_compaction() -> None:
    rng = random.Random(1)
    table, model = BlobTable(), {}
    for i in range(60_000):
        key = b"s-%d" % rng.randrange(15_000)
        if i % 3 == 0:
            assert table.pop(key) == model.pop(key, None)
        else:
            value = rng.randbytes(rng.randrange(30))
            assert table.put(key, value) == model.get(key)
            model[key] = value
    same(table, model)
    assert table.get(b"s-absent") is None
    assert table.pop(b"s-absent") is None


def test_iteration_is_in_insertion_order_and_sees_values_set_meanwhile() -> None:
    table = BlobTable()
    for key in (b"c", b"a", b"b"):
        table.put(key, b"old")
    seen = []
    for key, value in table.items():
        seen.append((key, value))
        table.put(b"b", b"new")  # same length: in place, nothing moves
    assert seen == [(b"c", b"old"), (b"a", b"old"), (b"b", b"new")]


def test_an_iteration_ends_with_an_error_when_the_table_moves_its_records() -> None:
    table = BlobTable()
    for key in (b"a", b"b", b"c"):
        table.put(key, b"v")
    keys = iter(table)
    assert next(keys) == b"a"
    table.pop(b"c")  # the last record is cut off
    with pytest.raises(RuntimeError):
        next(keys)
    items = table.items()
    table.compact()
    with pytest.raises(RuntimeError):
        next(items)


def test_it_takes_only_bytes() -> None:
    table = BlobTable()
    with pytest.raises(TypeError):
        table.put("text", b"v")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        table.get(1)  # type: ignore[arg-type]


def test_it_holds_a_few_bytes_beyond_the_data_per_entry() -> None:
    table = BlobTable()
    for i in range(100_000):
        table.put(b"subject-%08d" % i, b"v" * 20)
    assert table.nbytes() < 100_000 * (16 + 20 + 40)


# -- a profile table: values packed, handed out as they were put -------------------------
def rest(data: dict[str, object], key: bytes = b"kid-1") -> bytes:
    """A profile's value as ``ProfileMap`` stores it: without its subject id."""
    return SUBJECTS.encode({**data, "subject_id": key.decode()})[len(id_head(key)) + len(key) :]


PROFILE_VALUES = st.one_of(
    usual_profiles.map(rest),
    usual_profiles.map(rest),
    profiles.map(rest),
    st.tuples(usual_profiles.map(rest), mutations).map(lambda vs: mutate(*vs)),
    st.binary(max_size=40),
).filter(lambda v: not v or v[0] < 0xE0)  # no value a decoder accepts starts so (test_state_codecs)
PROFILE_OPS = st.lists(
    st.tuples(st.sampled_from(["put", "put", "pop", "get", "compact"]), KEYS, PROFILE_VALUES),
    max_size=100,
)


@settings(max_examples=300, deadline=None)
@given(PROFILE_OPS)
def test_a_profile_table_answers_like_a_dict_and_keeps_no_word_it_does_not_use(
    ops: list[tuple[str, bytes, bytes]],
) -> None:
    table = BlobTable(profile_bands=3)
    model = run(table, ops)
    for key in list(model):
        table.pop(key)
    assert table.words() == 0  # nothing of a removed subject stays behind


def test_a_usual_profile_is_stored_in_about_half_its_bytes() -> None:
    data = {
        "birth_date": None, "age_band": "CHILD", "jurisdiction": "CN",
        "verification": "guardian_declared", "vulnerable": False, "deregistered_at": None,
        "updated_at": EPOCH_2024,
    }  # fmt: skip
    plain, packed = BlobTable(), BlobTable(profile_bands=3)
    for i in range(1000):
        key, value = b"kid-%04d" % i, rest(data, b"kid-%04d" % i)
        plain.put(key, value)
        packed.put(key, value)
        assert packed.get(key) == value
    assert packed.footprint()[0] < 0.6 * plain.footprint()[0]  # keys and heads included
    assert packed.words() == 2


def test_a_profile_table_refuses_a_value_that_starts_as_a_packed_one() -> None:
    with pytest.raises(ValueError, match="packed"):
        BlobTable(profile_bands=3).put(b"k", b"\xe0\x00")
    assert BlobTable().put(b"k", b"\xe0\x00") is None  # any other table takes any bytes


def test_room_reserved_for_a_bulk_read_and_not_used_is_given_back() -> None:
    reserved, grown = BlobTable(), BlobTable()
    reserved.reserve(200_000)
    big = reserved.footprint()[2]
    for i in range(1000):
        for t in (reserved, grown):
            t.put(b"s-%d" % i, b"v%d" % i)
    assert reserved.footprint()[2] == big  # no growth while the keys came
    reserved.shrink_index()
    assert reserved.footprint()[2] < big / 50
    same(reserved, {b"s-%d" % i: b"v%d" % i for i in range(1000)})
    before = grown.footprint()[2]
    grown.shrink_index()  # a table that grew by itself is at least half full: kept as it is
    assert grown.footprint()[2] == before
