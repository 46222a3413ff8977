"""Hypothesis strategies for records of any Avro schema, shared by the serde tests.

Imported by the other ``test_serde_*`` modules (tests/unit has no
``__init__``, so pytest puts this directory on ``sys.path``). The tests at the
bottom check the strategies themselves: what they draw is valid for the schema.
"""

from __future__ import annotations

import glob
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastavro.validation import validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wardstream.serde import AvroSchema, load_schema

ROOT = Path(__file__).resolve().parents[3]
SCHEMA_FILES = sorted(glob.glob(str(ROOT / "schemas" / "*.avsc"))) + sorted(
    glob.glob(str(ROOT / "schemas" / "examples" / "*.avsc"))
)
EXAMPLE_FILES = [path for path in SCHEMA_FILES if "/examples/" in path]
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_PRIMITIVES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(width=32, allow_nan=False, allow_infinity=False),
    "double": st.floats(allow_nan=False, allow_infinity=False),
    "string": _TEXT,
    "bytes": st.binary(max_size=12),
}
_TIMESTAMPS = st.datetimes(  # hypothesis takes naive bounds and adds the timezone
    min_value=datetime(1950, 1, 1),  # noqa: DTZ001
    max_value=datetime(2150, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))


def strategy_for(node: Any, named: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of one (fastavro-parsed) Avro type."""
    if isinstance(node, str):
        return _PRIMITIVES[node] if node in _PRIMITIVES else strategy_for(named[node], named)
    if isinstance(node, list):
        return st.one_of([strategy_for(branch, named) for branch in node])
    logical, kind = node.get("logicalType"), node["type"]
    if logical == "timestamp-millis":
        return _TIMESTAMPS
    if logical == "date":
        return st.dates()
    if kind == "record":
        named.setdefault(node["name"], node)
        fields = {f["name"]: strategy_for(f["type"], named) for f in node["fields"]}
        return st.fixed_dictionaries(fields)
    if kind == "enum":
        named.setdefault(node["name"], node)
        return st.sampled_from(node["symbols"])
    if kind == "array":
        return st.lists(strategy_for(node["items"], named), max_size=3)
    if kind == "map":
        return st.dictionaries(_TEXT, strategy_for(node["values"], named), max_size=3)
    if kind == "fixed":
        return st.binary(min_size=node["size"], max_size=node["size"])
    return strategy_for(kind, named)


def records(schema: AvroSchema) -> st.SearchStrategy[dict[str, Any]]:
    """Records valid for ``schema``."""
    return strategy_for(schema.parsed, dict(schema.named_types))


def schema_id(path: str) -> str:
    return Path(path).stem


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=schema_id)
def test_drawn_records_are_valid(path: str) -> None:
    schema = load_schema(path)

    @SETTINGS
    @given(record=records(schema))
    def check(record: dict[str, Any]) -> None:
        assert validate(record, schema.parsed, raise_errors=False)

    check()
