"""The example pipelines follow SPEC.md "Pipelines" and fit their schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.unit.serde.test_serde_strategies import ROOT

from wardstream.domain.enums import DataCategory
from wardstream.serde import FORMATS, check_paths, load_schema, unredactable
from wardstream.serde.paths import field_index

KEYS = [
    "name", "source", "sink", "format", "schema", "subject", "event_time", "purpose",
    "destination", "jurisdiction", "retention", "policy_version", "on_missing_consent",
    "unknown_age", "fields",
]  # fmt: skip
PURPOSES = {"analytics", "learning", "targeted_ads", "payments"}
PIPELINES = sorted((ROOT / "pipelines").glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(params=PIPELINES, ids=lambda path: path.stem)
def pipeline(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _load(request.param)


def test_there_are_four_example_pipelines() -> None:
    assert [path.stem for path in PIPELINES] == [
        "chat_message", "clickstream", "location_ping", "purchase",
    ]  # fmt: skip


def test_keys_are_exactly_the_spec_ones(pipeline: dict[str, Any]) -> None:
    assert list(pipeline) == KEYS


def test_values_are_in_their_vocabularies(pipeline: dict[str, Any]) -> None:
    assert pipeline["format"] in FORMATS
    assert pipeline["purpose"] in PURPOSES
    assert pipeline["on_missing_consent"] in ("quarantine", "drop")
    assert pipeline["unknown_age"] in ("child", "quarantine", "adult")
    kind = pipeline["destination"].split(":", 1)[0]
    assert kind in ("internal", "third_party", "public")
    assert isinstance(pipeline["policy_version"], int)
    assert pipeline["retention"][-1] in "dhm" and pipeline["retention"][:-1].isdigit()
    categories = {member.value for member in DataCategory}
    assert set(pipeline["fields"].values()) <= categories


def test_paths_exist_in_the_schema(pipeline: dict[str, Any]) -> None:
    schema = load_schema(ROOT / pipeline["schema"])
    check_paths(schema, pipeline["fields"])
    if pipeline["subject"] != "key":
        check_paths(schema, [pipeline["subject"]])
    if pipeline["event_time"] != "timestamp":
        check_paths(schema, [pipeline["event_time"]])


def test_every_top_level_field_is_classified(pipeline: dict[str, Any]) -> None:
    index = field_index(load_schema(ROOT / pipeline["schema"]))
    for info in index.values():
        covered = any(info.path == p or info.path.startswith(f"{p}.") for p in pipeline["fields"])
        below = any(p.startswith(f"{info.path}.") for p in pipeline["fields"])
        assert covered or below, f"{pipeline['name']}: {info.path} has no category"


def test_some_personal_field_cannot_be_redacted(pipeline: dict[str, Any]) -> None:
    schema = load_schema(ROOT / pipeline["schema"])
    personal = [
        p for p, cat in pipeline["fields"].items() if cat not in ("technical", "identifier")
    ]
    assert unredactable(schema, personal), "REDACTION_IMPOSSIBLE could never happen"


def test_formats_and_lazy_path_are_all_exercised() -> None:
    loaded = [_load(path) for path in PIPELINES]
    assert {"json", "avro"} <= {p["format"] for p in loaded}
    assert any(p["subject"] == "key" and p["event_time"] == "timestamp" for p in loaded)
    assert {p["purpose"] for p in loaded} == PURPOSES
