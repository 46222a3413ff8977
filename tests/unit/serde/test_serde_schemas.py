"""Every schema parses with fastavro and Apache avro; the records match SPEC.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import avro.schema
import fastavro
import pytest
from tests.unit.serde.test_serde_strategies import EXAMPLE_FILES, ROOT, SCHEMA_FILES, schema_id

from wardstream.domain import enums
from wardstream.serde import FORMATS, SchemaLoadError, load_schema, parse_schema_text, record_schema
from wardstream.serde.paths import field_index

# SPEC.md "Topics": the minimum fields of each record, never renamed.
SPEC_FIELDS = {
    "SubjectProfile": "subject_id birth_date age_band jurisdiction verification vulnerable "
    "deregistered_at updated_at",
    "ConsentEvent": "consent_id subject_id granted_by guardian_ref action purposes "
    "data_categories third_party_recipients public_disclosure policy_version effective_at "
    "expires_at evidence",
    "GuardianRequest": "request_id subject_id kind scope received_at",
    "DeletionRequest": "deletion_id subject_id reason pipelines data_categories "
    "collected_before issued_at deadline",
    "GuardianNotice": "notice_id subject_id kind message issued_at",
    "QuarantinedEvent": "quarantine_id pipeline subject_id reason key value headers "
    "origin_topic origin_partition origin_offset origin_timestamp quarantined_at expires_at",
    "DeadLetter": "key value headers origin_topic origin_partition origin_offset "
    "origin_timestamp error_type error_message",
    "Correction": "correction_id request_id subject_id pipelines issued_at",
}
ENUMS = {
    ("ConsentEvent", "granted_by"): enums.GrantedBy,
    ("ConsentEvent", "action"): enums.ConsentAction,
    ("GuardianRequest", "kind"): enums.RequestKind,
    ("DeletionRequest", "reason"): enums.DeletionReason,
    ("GuardianNotice", "kind"): enums.NoticeKind,
}
INSTANTS = {
    "SubjectProfile": ["deregistered_at", "updated_at"],
    "ConsentEvent": ["effective_at", "expires_at"],
    "DeletionRequest": ["collected_before", "issued_at", "deadline"],
    "GuardianRequest": ["received_at"],
    "QuarantinedEvent": ["origin_timestamp", "quarantined_at", "expires_at"],
}


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=schema_id)
def test_parses_with_fastavro_and_apache_avro(path: str) -> None:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    fastavro.parse_schema(raw)
    parsed = avro.schema.parse(json.dumps(raw))
    assert parsed.type == "record"
    assert load_schema(path).name == parsed.fullname


def _non_null(field: dict[str, Any]) -> Any:
    kind = field["type"]
    if isinstance(kind, list):
        (kind,) = [branch for branch in kind if branch != "null"]
    return kind


@pytest.mark.parametrize("name", sorted(SPEC_FIELDS))
def test_records_have_spec_fields_and_added_ones_have_defaults(name: str) -> None:
    schema = record_schema(name)
    assert schema.name == f"wardstream.{name}"
    fields = {field["name"]: field for field in schema.parsed["fields"]}
    spec = SPEC_FIELDS[name].split()
    assert set(spec) <= set(fields), set(spec) - set(fields)
    for extra in set(fields) - set(spec):
        assert "default" in fields[extra], f"{name}.{extra} was added without a default"


@pytest.mark.parametrize(("record", "field"), sorted(ENUMS))
def test_enum_symbols_match_enums_py(record: str, field: str) -> None:
    fields = {f["name"]: f for f in record_schema(record).parsed["fields"]}
    assert _non_null(fields[field])["symbols"] == [member.value for member in ENUMS[record, field]]


def test_formats_match_event_format() -> None:
    assert FORMATS == tuple(member.value for member in enums.EventFormat)


def test_age_band_is_nullable_enum_of_verified_bands() -> None:
    fields = {f["name"]: f for f in record_schema("SubjectProfile").parsed["fields"]}
    band = _non_null(fields["age_band"])
    assert set(band["symbols"]) <= {member.value for member in enums.AgeBand}
    assert fields["birth_date"]["type"] == ["null", {"type": "int", "logicalType": "date"}]


@pytest.mark.parametrize(("record", "names"), sorted(INSTANTS.items()))
def test_instants_are_timestamp_millis(record: str, names: list[str]) -> None:
    fields = {f["name"]: f for f in record_schema(record).parsed["fields"]}
    for name in names:
        assert _non_null(fields[name])["logicalType"] == "timestamp-millis", name


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=schema_id)
def test_examples_have_subject_time_nullable_and_required_fields(path: str) -> None:
    index = field_index(load_schema(path))
    assert "user_id" in index
    assert _non_null({"type": index["ts"].type})["logicalType"] == "timestamp-millis"
    top = [info for info in index.values() if info.parent is None]
    assert any(info.nullable for info in top)
    assert any(not info.nullable and not info.has_default for info in top)


def test_load_schema_is_cached() -> None:
    assert load_schema(EXAMPLE_FILES[0]) is load_schema(Path(EXAMPLE_FILES[0]))
    assert record_schema("ConsentEvent") is record_schema("ConsentEvent")


def test_record_schema_comes_from_the_package() -> None:
    packaged = ROOT / "src" / "wardstream" / "schemas" / "DeadLetter.avsc"
    assert packaged.resolve() == (ROOT / "schemas" / "DeadLetter.avsc").resolve()
    assert record_schema("DeadLetter").name == "wardstream.DeadLetter"


def test_unknown_record_name_lists_the_known_ones() -> None:
    with pytest.raises(SchemaLoadError, match="ConsentEvent"):
        record_schema("Nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"type": "record",\n "name": }', "line 2 column"),
        ('"string"', "not a record"),
        (
            '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "strin"}]}',
            "valid Avro",
        ),
        (
            '{"type": "record", "name": "X", "fields": '
            '[{"name": "a", "type": "int", "default": "x"}]}',
            "valid Avro",
        ),
    ],
)
def test_bad_schema_text_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(SchemaLoadError, match=message) as info:
        parse_schema_text(text, source="pipelines/x.avsc")
    assert "pipelines/x.avsc" in str(info.value)
    assert "Fix:" in str(info.value)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SchemaLoadError, match="cannot read"):
        load_schema(tmp_path / "absent.avsc")


WALKED = {
    "type": "record",
    "name": "E",
    "namespace": "app",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "page", "type": ["null", "string"]},
        {"name": "n", "type": "int", "default": 0},
        {
            "name": "dev",
            "type": {"type": "record", "name": "D", "fields": [{"name": "ip", "type": "bytes"}]},
        },
        {"name": "dev2", "type": ["null", "D"]},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["A", "B"]}},
        {"name": "kind2", "type": ["null", "app.K"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "either", "type": ["null", "string", "long"], "default": None},
    ],
}


def test_the_field_walker_knows_which_fields_can_be_dropped_and_their_kinds() -> None:
    index = field_index(parse_schema_text(json.dumps(WALKED), source="t"))
    assert {path: info.droppable for path, info in index.items()} == {
        "id": False, "page": True, "n": True, "dev": False, "dev.ip": False, "dev2": True,
        "dev2.ip": False, "ts": False, "kind": False, "kind2": True, "tags": False,
        "either": True,
    }  # fmt: skip
    assert {path: info.kinds for path, info in index.items()} == {
        "id": {"string"}, "page": {"string"}, "n": {"int"}, "dev": {"record"},
        "dev.ip": {"bytes"}, "dev2": {"record"}, "dev2.ip": {"bytes"},
        "ts": {"long/timestamp-millis"}, "kind": {"enum"}, "kind2": {"enum"},
        "tags": {"array"}, "either": {"string", "long"},
    }  # fmt: skip
