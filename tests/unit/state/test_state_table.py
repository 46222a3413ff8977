"""BlobTable behaves like a dict of bytes to bytes, through growth, removals and odd entries."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from wardstream.state.table import BlobTable

KEYS = st.one_of(
    st.binary(max_size=12),
    st.sampled_from([b"", b"\0", b"a\0b", b"kid-1", b"kid-10", b"kid-1\0"]),
)
VALUES = st.one_of(st.binary(max_size=40), st.just(b"x" * 70_000))
OPS = st.lists(st.tuples(st.sampled_from(["put", "pop", "get"]), KEYS, VALUES), max_size=300)


def same(table: BlobTable, model: dict[bytes, bytes]) -> None:
    assert len(table) == len(model)
    assert dict(table.items()) == model
    assert sorted(table.keys()) == sorted(model)
    for key, value in model.items():
        assert table.get(key) == value


@settings(max_examples=200, deadline=None)
@given(OPS)
def test_it_answers_like_a_dict(ops: list[tuple[str, bytes, bytes]]) -> None:
    table, model = BlobTable(load=2, buckets=1), {}
    for op, key, value in ops:
        if op == "put":
            assert table.put(key, value) == model.get(key)
            model[key] = value
        elif op == "pop":
            assert table.pop(key) == model.pop(key, None)
        else:
            assert table.get(key) == model.get(key)
    same(table, model)


def test_it_grows_one_bucket_at_a_time_and_keeps_every_entry() -> None:
    rng = random.Random(1)
    table, model = BlobTable(load=4, buckets=2), {}
    for i in range(20_000):
        key = b"s-%d" % rng.randrange(15_000)
        if i % 7 == 0:
            assert table.pop(key) == model.pop(key, None)
        else:
            value = rng.randbytes(rng.randrange(30))
            assert table.put(key, value) == model.get(key)
            model[key] = value
    same(table, model)
    assert table.get(b"s-absent") is None
    assert table.pop(b"s-absent") is None


def test_a_key_that_is_a_part_of_another_is_not_confused_with_it() -> None:
    table = BlobTable(buckets=1)
    table.put(b"kid-10", b"ten")
    table.put(b"id-1", b"one")
    assert table.get(b"kid-1") is None
    assert table.get(b"d-1") is None
    table.put(b"", b"empty")
    assert table.get(b"") == b"empty"
    assert table.pop(b"kid-10") == b"ten"
    assert dict(table.items()) == {b"id-1": b"one", b"": b"empty"}


def test_values_that_outgrow_a_bucket_entry_move_aside_and_back() -> None:
    table = BlobTable()
    table.put(b"big", b"a")
    assert table.put(b"big", b"b" * 70_000) == b"a"
    assert table.get(b"big") == b"b" * 70_000
    assert table.put(b"big", b"c") == b"b" * 70_000
    assert table.get(b"big") == b"c"
    assert len(table) == 1


def test_a_key_with_a_nul_never_matches_keys_in_the_buckets() -> None:
    """A bucket stores "kid-N" then the empty key as ``\\0kid-N\\0\\0``: looking up the
    missing key "kid-N\\0" (kept apart, in the side dict) must not find or remove them."""
    probe = BlobTable(buckets=4)
    same = (
        kid
        for kid in (b"kid-%d" % n for n in range(100_000))
        if probe._bucket(kid) == probe._bucket(kid + b"\0") == probe._bucket(b"")
    )
    kid = next(same)  # hashes vary per process: find a key that shares the bucket
    table = BlobTable(buckets=4)
    table.put(kid, b"v1")
    table.put(b"", b"v0")
    assert table.get(kid + b"\0") is None
    assert table.pop(kid + b"\0") is None
    assert table.get(kid) == b"v1" and table.get(b"") == b"v0" and len(table) == 2
    table.put(kid + b"\0", b"odd")
    assert table.pop(kid + b"\0") == b"odd" and table.get(kid) == b"v1"
