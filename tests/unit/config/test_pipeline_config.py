"""Pipeline files and the policy section: each kind of bad file names file, line, key, fix."""

from __future__ import annotations

import json
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import get_args

import pytest

from wardstream.config.errors import Problem, load_yaml
from wardstream.config.pipeline import (
    CategoryName,
    PipelineConfigError,
    check_pipelines,
    load_pipeline,
    load_pipelines,
)
from wardstream.config.policy import PolicyConfig, PolicyConfigError, load_policy_config
from wardstream.domain.enums import DataCategory, DestinationKind, MissingConsent, UnknownAge
from wardstream.domain.reasons import ReasonCode

SCHEMA = {
    "type": "record",
    "name": "Click",
    "fields": [
        {"name": "user_id", "type": "string"},
        {"name": "page", "type": ["null", "string"], "default": None},
        {"name": "geo", "type": ["null", "string"], "default": None},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}
GOOD = """\
name: clickstream
source: app.clickstream
sink: app.clickstream.lawful
format: avro
schema: schemas/click.avsc
subject: user_id
event_time: ts
purpose: analytics
destination: internal
jurisdiction: CN
retention: 30d
policy_version: 3
on_missing_consent: quarantine
unknown_age: child
fields:
  user_id: identifier
  page: behaviour
  geo: location
  ts: technical
"""
POLICY = PolicyConfig.model_validate(
    {
        "purposes": {"analytics": {}, "learning": {"essential": True}},
        "assessed_processors": ["partner-x"],
    }
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "click.avsc").write_text(json.dumps(SCHEMA))
    return tmp_path


def write(project: Path, text: str, name: str = "clickstream.yaml") -> Path:
    path = project / "pipelines" / name
    path.write_text(text)
    return path


def only_problem(project: Path) -> Problem:
    problems = [p for p in check_pipelines(project / "pipelines", POLICY) if p.severity == "error"]
    assert len(problems) == 1, problems
    return problems[0]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_spec_example_loads(project: Path) -> None:
    write(project, GOOD)
    assert check_pipelines(project / "pipelines", POLICY) == []
    (pipe,) = load_pipelines(project / "pipelines", POLICY)
    assert pipe.name == "clickstream" and pipe.retention == timedelta(days=30)
    assert pipe.fields["geo"] is DataCategory.LOCATION
    assert pipe.unknown_age is UnknownAge.CHILD
    assert pipe.on_missing_consent is MissingConsent.QUARANTINE
    assert pipe.destination_kind is DestinationKind.INTERNAL
    assert pipe.fixed_fields == frozenset({"user_id", "ts"})  # not nullable, no default
    assert load_pipeline(project / "pipelines" / "clickstream.yaml", POLICY) == pipe


def test_unknown_key_suggests_the_closest(project: Path) -> None:
    text = GOOD.replace("retention: 30d", "retension: 30d")
    path = write(project, text)
    problems = check_pipelines(project / "pipelines", POLICY)
    assert [p.key for p in problems] == ["retention", "retension"]  # missing, then unknown
    problem = problems[1]
    assert problem.file == str(path)
    assert problem.line == line_of(text, "retension")
    assert problem.key == "retension"
    assert "unknown key" in problem.message and "did you mean 'retention'" in problem.fix
    assert str(problem).startswith(f"{path}:{problem.line}: retension: unknown key")


def test_missing_required_key(project: Path) -> None:
    write(project, GOOD.replace("retention: 30d\n", ""))
    problem = only_problem(project)
    assert problem.key == "retention" and problem.line == 1
    assert "missing" in problem.message and "add 'retention:" in problem.fix


def test_unknown_category(project: Path) -> None:
    text = GOOD.replace("geo: location", "geo: gps_location")
    write(project, text)
    problem = only_problem(project)
    assert problem.key == "fields.geo" and problem.line == line_of(text, "gps_location")
    assert "unknown value 'gps_location'" in problem.message
    assert "did you mean 'location'" in problem.fix


@pytest.mark.parametrize("duration", ["30x", "1.5d", "30", "-1d"])
def test_bad_duration(project: Path, duration: str) -> None:
    text = GOOD.replace("retention: 30d", f"retention: {duration}")
    write(project, text)
    problem = only_problem(project)
    assert problem.key == "retention" and problem.line == line_of(text, "retention")
    assert "500ms, 10s, 15m, 12h, 30d or 2w" in problem.fix


def test_missing_schema_file(project: Path) -> None:
    text = GOOD.replace("schemas/click.avsc", "schemas/clik.avsc")
    write(project, text)
    problem = only_problem(project)
    assert problem.key == "schema" and problem.line == line_of(text, "schema:")
    assert "not found: schemas/clik.avsc" in problem.message and "path" in problem.fix


def test_avro_without_schema(project: Path) -> None:
    write(project, GOOD.replace("schema: schemas/click.avsc\n", ""))
    problem = only_problem(project)
    assert problem.key == "format" and "add 'schema:" in problem.fix


def test_field_not_in_schema(project: Path) -> None:
    text = GOOD.replace("  geo: location", "  geoo: location")
    write(project, text)
    problem = only_problem(project)
    assert problem.key == "fields.geoo" and problem.line == line_of(text, "geoo")
    assert "did you mean 'geo'" in problem.fix


def test_purpose_not_declared(project: Path) -> None:
    text = GOOD.replace("purpose: analytics", "purpose: analytcs")
    write(project, text)
    problem = only_problem(project)
    assert problem.key == "purpose" and problem.line == line_of(text, "purpose:")
    assert "not declared" in problem.message
    assert "did you mean 'analytics'" in problem.fix and "policy.purposes" in problem.fix


@pytest.mark.parametrize("destination", ["thirdparty", "third_party:", "partner", "internal:x"])
def test_bad_destination(project: Path, destination: str) -> None:
    text = GOOD.replace("destination: internal", f"destination: '{destination}'")
    write(project, text)
    problem = only_problem(project)
    assert problem.key == "destination" and problem.line == line_of(text, "destination")
    assert "third_party:<recipient>" in problem.fix


def test_unassessed_recipient_is_a_warning(project: Path) -> None:
    write(project, GOOD.replace("destination: internal", "destination: third_party:partner-z"))
    (problem,) = check_pipelines(project / "pipelines", POLICY)
    assert problem.severity == "warning" and "assessed" in problem.message
    assert load_pipelines(project / "pipelines", POLICY)[0].recipient == "partner-z"


def test_unknown_jurisdiction(project: Path) -> None:
    write(project, GOOD.replace("jurisdiction: CN", "jurisdiction: CX"))
    problem = only_problem(project)
    assert problem.key == "jurisdiction" and "policy.jurisdictions" in problem.fix


def test_yaml_syntax_error(project: Path) -> None:
    text = GOOD.replace("sink: app.clickstream.lawful", "sink: [app.clickstream.lawful")
    write(project, text)
    problem = only_problem(project)
    assert "invalid YAML" in problem.message and problem.line >= line_of(text, "sink")


def test_duplicate_keys_and_names(project: Path) -> None:
    write(project, GOOD + "purpose: learning\n")
    problem = only_problem(project)
    assert problem.message == "duplicate key" and problem.key == "purpose"
    (project / "pipelines" / "clickstream.yaml").write_text(GOOD)
    write(project, GOOD, "again.yml")
    problem = only_problem(project)
    assert "duplicate pipeline name" in problem.message


def test_load_raises_with_every_error(project: Path) -> None:
    write(project, GOOD.replace("purpose: analytics", "purpose: nope").replace("30d", "30x"))
    with pytest.raises(PipelineConfigError) as info:
        load_pipelines(project / "pipelines", POLICY)
    assert "retention" in str(info.value)
    assert info.value.problems


def test_missing_directory(tmp_path: Path) -> None:
    (problem,) = check_pipelines(tmp_path / "nope", POLICY)
    assert "not found" in problem.message


def test_category_literal_matches_the_enum() -> None:
    assert set(get_args(CategoryName)) == {c.value for c in DataCategory}


# --- the policy section ------------------------------------------------------

WARDSTREAM_YAML = """\
kafka:
  bootstrap_servers: localhost:9092
policy:
  default_jurisdiction: CN
  purposes:
    learning: {essential: true}
    targeted_ads: {kinds: [marketing, profiling]}
    contests: {closed_to_children: true}
  assessed_processors: [partner-x]
  consent_evidence_methods: [signed_form, payment_card]
  quarantine_window: 7d
  deletion_deadline: 15d
  jurisdictions:
    GB: {minor_closed_kinds: [marketing, profiling]}
    XK: {child_under: 16, rules: {NO_GUARDIAN_CONSENT: XK-LAW/art5}}
"""


def test_policy_section_loads_into_a_context(tmp_path: Path) -> None:
    path = tmp_path / "wardstream.yaml"
    path.write_text(WARDSTREAM_YAML)
    config = load_policy_config(path)
    context = config.to_context()
    assert context.purpose("learning").essential
    assert context.packs["XK"].child_under == 16
    assert context.packs["XK"].rule(ReasonCode.NO_GUARDIAN_CONSENT) == "XK-LAW/art5"
    assert context.packs["GB"].child_under == 13  # unset fields keep the built-in values
    assert context.accepted_evidence == {"signed_form", "payment_card"}
    assert context.deletion_deadline == timedelta(days=15)
    assert config.model_dump(mode="json")["quarantine_window"] == "1w"
    assert PolicyConfig.model_validate(config.model_dump(mode="json")) == config


@pytest.mark.parametrize(
    ("change", "key", "fix"),
    [
        ("quarantine_window: 7d", "policy.quarantine_window", "30d"),
        ("assessed_processors:", "policy.assesed_processors", "did you mean 'assessed_processors'"),
        ("kinds: [marketing, profiling]", "policy.purposes.targeted_ads.kinds.0", "marketing"),
        ("default_jurisdiction: CN", "policy.default_jurisdiction", "jurisdictions"),
        ("XK: {child_under: 16", "policy.jurisdictions", "child_under"),
    ],
)
def test_policy_section_problems_name_line_key_and_fix(
    tmp_path: Path, change: str, key: str, fix: str
) -> None:
    broken = {
        "quarantine_window: 7d": "quarantine_window: 7 days",
        "assessed_processors:": "assesed_processors:",
        "kinds: [marketing, profiling]": "kinds: [marketting, profiling]",
        "default_jurisdiction: CN": "default_jurisdiction: QQ",
        "XK: {child_under: 16": "XK: {minor_under: 16",
    }[change]
    text = WARDSTREAM_YAML.replace(change, broken, 1)
    path = tmp_path / "wardstream.yaml"
    path.write_text(text)
    with pytest.raises(PolicyConfigError) as info:
        load_policy_config(path)
    (problem,) = info.value.problems
    assert problem.key == key and fix in problem.fix
    assert problem.line == line_of(text, key.split(".")[-1] if key[-1] != "0" else "marketting")
    assert str(path) in str(info.value)


def test_policy_defaults() -> None:
    context = PolicyConfig.model_validate({}).to_context()
    assert context.default_jurisdiction == "CN"
    assert context.quarantine_window == timedelta(days=7)


def test_load_yaml_marks() -> None:
    data, marks, problems = load_yaml(textwrap.dedent("a:\n  b: 1\n  c:\n    - x\n"), "f")
    assert data == {"a": {"b": 1, "c": ["x"]}} and not problems
    assert marks[("a", "b")] == 2 and marks[("a", "c", 0)] == 4


def test_every_config_field_is_described_frozen_and_strict() -> None:
    from wardstream.config.pipeline import PipelineFile
    from wardstream.config.policy import PackConfig, PurposeConfig

    for model in (PipelineFile, PolicyConfig, PurposeConfig, PackConfig):
        assert model.model_config.get("frozen") and model.model_config.get("extra") == "forbid"
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"


def test_a_schema_beside_the_pipeline_file_is_the_one_check_and_the_worker_read(
    project: Path,
) -> None:
    """``check`` accepts a schema path relative to the pipeline file; the worker must then
    load that same file, whatever its working directory (it looked only relative to the
    config directory, and failed to start after a clean check)."""
    from wardstream.config.settings import Settings
    from wardstream.engines.bootstrap import build_enforcer

    (project / "pipelines" / "click.avsc").write_text(json.dumps(SCHEMA))
    (project / "schemas" / "click.avsc").unlink()
    write(project, GOOD.replace("schemas/click.avsc", "click.avsc"))
    assert check_pipelines(project / "pipelines", POLICY, base_dir=project) == []
    (pipe,) = load_pipelines(project / "pipelines", POLICY, base_dir=project)
    keys = {
        "audit": {"hmac_key": "8f2b0c6e4d1a9b7c3e5f0a2d4c6b8e1f3a5c7e9b0d2f4a6c8e0b1d3f5a7c9e1b"},
        "lifecycle": {"encrypt_quarantine": False},
    }
    settings = Settings.model_validate(keys)
    enforcer = build_enforcer(settings, [pipe], POLICY.to_context(), base_dir=str(project))
    [processor] = enforcer.by_source.values()
    assert processor.schema.name == "Click"
    assert pipe.schema == str((project / "pipelines" / "click.avsc").resolve())


def test_the_config_directory_comes_before_the_pipeline_files_directory(project: Path) -> None:
    (project / "pipelines" / "schemas").mkdir()
    (project / "pipelines" / "schemas" / "click.avsc").write_text(json.dumps(SCHEMA))
    write(project, GOOD)
    (pipe,) = load_pipelines(project / "pipelines", POLICY, base_dir=project)
    assert pipe.schema == str((project / "schemas" / "click.avsc").resolve())


# A union of several records and a recursive record: the two places where the walker of
# `check` and the one of redaction and the worker used to disagree.
TRICKY = {
    "type": "record",
    "name": "Post",
    "fields": [
        {"name": "user_id", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {
            "name": "media",
            "type": [
                "null",
                {"type": "record", "name": "Photo", "fields": [{"name": "url", "type": "string"}]},
                {
                    "type": "record",
                    "name": "Video",
                    "fields": [{"name": "url", "type": "string"}, {"name": "secs", "type": "int"}],
                },
            ],
            "default": None,
        },
        {"name": "reply", "type": ["null", "Post"], "default": None},
        {
            "name": "geo",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "Geo",
                    "fields": [{"name": "city", "type": ["null", "string"], "default": None}],
                },
            ],
            "default": None,
        },
    ],
}
CANDIDATES = [
    "media", "media.url", "media.secs", "reply", "reply.user_id", "reply.reply.ts", "geo",
    "geo.city",
]  # fmt: skip


@pytest.mark.parametrize("candidate", CANDIDATES)
def test_check_accepts_exactly_the_field_paths_the_worker_walks(
    project: Path, candidate: str
) -> None:
    from wardstream.serde import load_schema
    from wardstream.serde.paths import field_index

    schema_file = project / "schemas" / "post.avsc"
    schema_file.write_text(json.dumps(TRICKY))
    text = GOOD.replace("schemas/click.avsc", "schemas/post.avsc")
    text = text.replace("  page: behaviour\n  geo: location\n", f"  {candidate}: behaviour\n")
    write(project, text)
    errors = [p for p in check_pipelines(project / "pipelines", POLICY) if p.severity == "error"]
    walked = field_index(load_schema(schema_file))
    assert {"media", "reply", "geo", "geo.city"} <= set(walked)  # the walker sees these
    if candidate in walked:
        assert errors == []
    else:
        assert [(p.key, p.message) for p in errors] == [
            (f"fields.{candidate}", f"field '{candidate}' is not in the schema")
        ]


def test_a_schema_the_worker_cannot_load_fails_check(project: Path) -> None:
    (project / "schemas" / "click.avsc").write_text(json.dumps({"type": "string"}))
    write(project, GOOD)
    problem = only_problem(project)
    assert problem.key == "schema" and "not a record" in problem.message
    assert "fields" in problem.fix
