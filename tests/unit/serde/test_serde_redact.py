"""Redaction removes what it is asked to and keeps records valid for their schema."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastavro.validation import validate
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.reach import Reach
from tests.unit.serde.test_serde_interop import apache_read
from tests.unit.serde.test_serde_strategies import (
    EXAMPLE_FILES,
    ROOT,
    SCHEMA_FILES,
    SETTINGS,
    records,
    schema_id,
)

from wardstream.serde import (
    AvroCodec,
    RedactionImpossible,
    UnknownFieldPath,
    field_paths,
    fields_present,
    get_path,
    load_schema,
    presence_names,
    presence_probe,
    redact,
    redaction_plan,
    unredactable,
)
from wardstream.serde.paths import field_index

CLICKS = ROOT / "schemas" / "examples" / "clickstream.avsc"


def _under(path: str, cleared: tuple[str, ...]) -> bool:
    return any(path == c or path.startswith(f"{c}.") for c in cleared)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=schema_id)
def test_redacted_records_stay_valid(path: str, reach: Reach) -> None:
    schema = load_schema(path)
    index = field_index(schema)
    codec = AvroCodec(schema)

    every = field_paths(schema)
    removable = [p for p in every if not unredactable(schema, [p])]
    assert removable, "every schema has some field a consent may leave out"
    some_paths = st.one_of(st.sets(st.sampled_from(removable)), st.sets(st.sampled_from(every)))

    @SETTINGS
    @given(record=records(schema), paths=some_paths)
    def check(record: dict[str, Any], paths: set[str]) -> None:
        before = copy.deepcopy(record)
        plan = redaction_plan(schema, paths)
        if not plan.is_possible:
            with pytest.raises(RedactionImpossible) as info:
                redact(record, schema, paths)
            assert info.value.fields == plan.impossible <= paths
            return
        reach.reached("redacted")
        out = redact(record, schema, paths)
        assert record == before, "the input was mutated"
        assert validate(out, schema.parsed, raise_errors=False)
        assert apache_read(schema, codec.encode(out)) == out
        assert all(_under(p, plan.cleared) for p in paths)
        for cleared in plan.cleared:
            value = get_path(out, cleared)
            assert value is None or value == index[cleared].default
        for other in index:
            if not _under(other, plan.cleared) and not any(
                c.startswith(f"{other}.") for c in plan.cleared
            ):
                assert get_path(out, other) == get_path(record, other)

    check()
    reach.at_least_half(SETTINGS)  # the redaction itself, not only its refusal


def test_nullable_field_goes_to_null_and_defaulted_one_to_its_default() -> None:
    schema = load_schema(CLICKS)
    record = {"referrer": "/home", "experiment_group": "B", "page": "/p", "device": {"ip": "x"}}
    out = redact(record, schema, ["referrer", "experiment_group", "device.ip"])
    assert out == {"referrer": None, "experiment_group": "", "page": "/p", "device": {"ip": None}}
    assert record["device"] == {"ip": "x"}


def test_required_field_in_a_nullable_record_goes_with_the_record() -> None:
    schema = load_schema(CLICKS)
    plan = redaction_plan(schema, ["geo.lat", "geo.city"])
    assert plan.cleared == ("geo",)
    assert plan.apply({"geo": {"lat": 1.0, "lon": 2.0, "city": "c", "country": None}}) == {
        "geo": None
    }


def test_required_field_without_default_is_impossible() -> None:
    schema = load_schema(CLICKS)
    assert unredactable(schema, ["page", "device.device_id", "referrer"]) == {
        "page",
        "device.device_id",
    }
    with pytest.raises(RedactionImpossible, match="page") as info:
        redact({"page": "SECRET-PAGE"}, schema, ["page", "referrer"])
    assert info.value.code == "REDACTION_IMPOSSIBLE"
    assert "SECRET-PAGE" not in str(info.value)


def test_array_default_is_a_fresh_copy() -> None:
    schema = load_schema(ROOT / "schemas" / "examples" / "chat_message.avsc")
    first = redact({"attachments": [{"url": "u"}]}, schema, ["attachments"])
    first["attachments"].append("x")
    assert redact({"attachments": [1]}, schema, ["attachments"])["attachments"] == []


def test_plan_is_compiled_once_per_schema_and_paths() -> None:
    schema = load_schema(CLICKS)
    assert redaction_plan(schema, ["geo", "referrer"]) is redaction_plan(
        schema, ("referrer", "geo")
    )


def test_unknown_path_is_an_error() -> None:
    with pytest.raises(UnknownFieldPath, match="gps"):
        redaction_plan(load_schema(CLICKS), ["gps"])


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=schema_id)
def test_fields_present_skips_null_and_empty(path: str) -> None:
    schema = load_schema(path)
    empty: dict[str, Any] = {p: None for p in field_paths(schema) if "." not in p}
    assert fields_present(empty, field_paths(schema)) == frozenset()


def test_get_path_and_fields_present() -> None:
    record = {"geo": {"city": "c", "lat": 0.0}, "device": None, "mentions": [], "n": 0}
    assert get_path(record, "geo.city") == "c"
    assert get_path(record, "device.ip") is None
    assert get_path(record, "geo.nope.deeper") is None
    paths = ["geo", "geo.city", "geo.lat", "device", "device.ip", "mentions", "n"]
    assert fields_present(record, paths) == {"geo", "geo.city", "geo.lat", "n"}


@SETTINGS
@given(st.data())
def test_the_presence_probe_reports_only_presence_names(data: st.DataObject) -> None:
    """``presence_names`` is what the lane compiles its children's intervals over: every
    name the probe can report for a record of the schema (listed paths, unlisted
    top-level fields)."""
    schema = load_schema(CLICKS)
    listed = ["user_id", "ts", "page", "device.os", "geo"]
    names = presence_names(schema, listed)
    assert names == {*listed, *(p for p in field_paths(schema) if "." not in p)} - {"device"}
    probe = presence_probe(listed)
    assert probe(data.draw(records(schema))) <= names
