"""Pipeline files (``pipelines/*.yaml``): loader and ``check_pipelines``.

The file's model (its keys and the format, SPEC.md "Pipelines") is
``config.pipeline_model``; its names are importable from here too.

A file is checked in two steps: the model (keys, types, categories,
durations, destination), then the context (schema file and its fields,
declared purpose, known jurisdiction, assessed processor, unique names).
Each problem names the file, the line, the key and the fix. Schema paths are
relative to ``base_dir`` (by default the parent of the pipelines directory),
else to the pipeline file: :func:`resolve_schema` is the one place that decides,
and a loaded :class:`Pipeline` carries the absolute path it found, so the worker,
``wardstream check`` and the other commands read the same file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from wardstream.config.errors import (
    Marks,
    PipelineConfigError,
    Problem,
    closest,
    line_of,
    load_yaml,
    problems_from_validation,
)
from wardstream.config.pipeline_model import CategoryName, FieldSpec, PipelineFile
from wardstream.config.policy import PolicyConfig
from wardstream.domain.pipeline import Pipeline, parse_destination
from wardstream.policy.packs import normalise_code
from wardstream.serde.errors import SchemaLoadError
from wardstream.serde.paths import FieldInfo, field_index
from wardstream.serde.schemas import load_schema

__all__ = [
    "ENCRYPTABLE",
    "CategoryName",
    "FieldSpec",
    "PipelineConfigError",
    "PipelineFile",
    "check_pipelines",
    "load_pipeline",
    "load_pipelines",
    "resolve_schema",
]

ENCRYPTABLE = (frozenset({"string"}), frozenset({"bytes"}))
"""Schema types an ``encrypt: true`` field may have: it must hold the ciphertext."""


class _Checked:
    """One file's result: the pipeline (if valid) and its problems."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.pipeline: Pipeline | None = None
        self.problems: list[Problem] = []
        self.marks: Marks = {}

    def add(self, key: tuple[str, ...], message: str, fix: str, severity: str = "error") -> None:
        line = line_of(self.marks, key)
        self.problems.append(
            Problem(self.file, line, ".".join(key), message, fix, severity)  # type: ignore[arg-type]
        )


def _check_file(path: Path, policy: PolicyConfig | None, base_dir: Path) -> _Checked:
    result = _Checked(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        result.add((), f"cannot read: {exc.strerror}", "check the file's permissions")
        return result
    data, result.marks, syntax = load_yaml(text, result.file)
    result.problems.extend(syntax)
    if syntax:
        return result
    if not isinstance(data, dict):
        result.add((), "a pipeline file must be a mapping of keys", "see SPEC.md 'Pipelines'")
        return result
    try:
        model = PipelineFile.model_validate(data)
    except ValidationError as exc:
        found = problems_from_validation(exc, PipelineFile, result.marks, result.file)
        result.problems.extend(sorted(found, key=lambda p: p.line))
        return result
    fixed, schema = _check_schema(model, path, base_dir, result)
    _check_policy(model, policy, result)
    _check_tombstones(model, result)
    if not any(p.severity == "error" for p in result.problems):
        result.pipeline = model.to_pipeline(fixed, schema)
    result.problems.sort(key=lambda p: p.line)
    return result


def resolve_schema(schema: str, pipeline_file: Path, base_dir: Path) -> Path | None:
    """The absolute path of a pipeline's ``schema:``: as written when absolute, else
    relative to ``base_dir`` (the config file's directory), else to the pipeline file.
    None when no such file exists."""
    candidate = Path(schema)
    options = (
        [candidate]
        if candidate.is_absolute()
        else [base_dir / schema, pipeline_file.parent / schema]
    )
    return next((p.resolve() for p in options if p.is_file()), None)


def _check_schema(
    model: PipelineFile, path: Path, base_dir: Path, out: _Checked
) -> tuple[frozenset[str], str | None]:
    """Schema file present and parseable; pipeline fields in it. Returns the fixed fields
    and the schema file's absolute path."""
    if model.schema_path is None:
        if model.format == "avro":
            out.add(("format",), "format avro needs a schema file", "add 'schema: <file>.avsc'")
        for name in _encrypted(model):
            message = "encrypt: true needs a schema to check the field's type"
            out.add(("fields", name), message, "add 'schema: <file>.avsc'")
        return frozenset(), None
    found = resolve_schema(model.schema_path, path, base_dir)
    if found is None:
        fix = f"create it or correct the path (relative to {base_dir} or to the pipeline file)"
        out.add(("schema",), f"schema file not found: {model.schema_path}", fix)
        return frozenset(), None
    try:
        index = field_index(load_schema(found))  # as the worker loads and walks it
    except SchemaLoadError as exc:
        out.add(("schema",), f"schema {exc.source}: {exc.problem}", exc.fix)
        return frozenset(), None
    _check_paths(model, index, out)
    _check_encryptable(model, index, out)
    fixed = frozenset(name for name in model.fields if name in index and not index[name].droppable)
    return fixed, str(found)


def _check_paths(model: PipelineFile, paths: Mapping[str, FieldInfo], out: _Checked) -> None:
    wanted = [("fields", name) for name in model.fields]
    if model.subject != "key":
        wanted.append(("subject", model.subject))
    if model.event_time != "timestamp":
        wanted.append(("event_time", model.event_time))
    for key, name in wanted:
        if name not in paths:
            guess = closest(name, paths)
            hint = f"did you mean '{guess}'? " if guess else ""
            loc = (key, name) if key == "fields" else (key,)
            out.add(loc, f"field '{name}' is not in the schema", f"{hint}use a field of the schema")


def _encrypted(model: PipelineFile) -> list[str]:
    return [name for name, spec in model.fields.items() if spec.encrypt]


def _check_encryptable(model: PipelineFile, index: Mapping[str, FieldInfo], out: _Checked) -> None:
    """An ``encrypt: true`` field must hold the ciphertext: string (base64 text) or bytes."""
    for name in _encrypted(model):
        if name not in index:
            continue  # not in the schema: _check_paths said so
        found = index[name].kinds
        if found in ENCRYPTABLE:
            continue
        shown = " | ".join(sorted(found)) or "null"
        message = f"field '{name}' is {shown}: it cannot hold a ciphertext"
        fix = (
            "encrypt only string or bytes fields (optionally a union with null, no "
            "logicalType), or change the field's type in the schema"
        )
        out.add(("fields", name), message, fix)


def _check_tombstones(model: PipelineFile, out: _Checked) -> None:
    if model.sink_tombstones and model.subject != "key":
        message = (
            f"sink_tombstones needs a sink keyed by subject id, but the subject is the "
            f"field '{model.subject}' and the sink keeps the source key"
        )
        fix = (
            "key the source records by subject id (UTF-8) and set 'subject: key', "
            "or remove sink_tombstones"
        )
        out.add(("sink_tombstones",), message, fix)


def _check_policy(model: PipelineFile, policy: PolicyConfig | None, out: _Checked) -> None:
    policy = policy or PolicyConfig.model_validate({})
    if model.purpose not in policy.purposes:
        guess = closest(model.purpose, policy.purposes)
        hint = f"did you mean '{guess}'? or " if guess else ""
        fix = f"{hint}declare it under policy.purposes in wardstream.yaml"
        out.add(("purpose",), f"purpose '{model.purpose}' is not declared", fix)
    packs = policy.packs()
    if model.jurisdiction is not None and normalise_code(model.jurisdiction) not in packs:
        guess = closest(model.jurisdiction.upper(), packs)
        hint = f"did you mean {guess}? or " if guess else ""
        fix = f"{hint}add a pack under policy.jurisdictions"
        out.add(("jurisdiction",), f"no pack for jurisdiction '{model.jurisdiction}'", fix)
    recipient = parse_destination(model.destination)[1]
    if recipient is not None and recipient not in policy.assessed_processors:
        message = f"recipient '{recipient}' is not an assessed processor: children's events blocked"
        fix = "complete the assessment and add it to policy.assessed_processors"
        out.add(("destination",), message, fix, "warning")


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _check_all(
    directory: str | Path, policy: PolicyConfig | None, base_dir: str | Path | None
) -> tuple[list[Pipeline], list[Problem]]:
    directory = Path(directory)
    base = Path(base_dir) if base_dir is not None else directory.resolve().parent
    if not directory.is_dir():
        fix = "create it or set worker.pipelines_dir"
        return [], [Problem(str(directory), 1, "", "pipelines directory not found", fix)]
    results = [_check_file(path, policy, base) for path in _files(directory)]
    problems = [p for r in results for p in r.problems]
    if not results:
        fix = "add one YAML file per stream (see SPEC.md 'Pipelines')"
        problems.append(Problem(str(directory), 1, "", "no pipeline files", fix, "warning"))
    problems.extend(_cross_checks(results))
    return [r.pipeline for r in results if r.pipeline is not None], problems


def _cross_checks(results: list[_Checked]) -> list[Problem]:
    out: list[Problem] = []
    names: dict[str, str] = {}
    for r in results:
        p = r.pipeline
        if p is None:
            continue
        if p.name in names:
            fix = f"rename one; '{p.name}' is also the name in {names[p.name]}"
            r.add(("name",), "duplicate pipeline name", fix)
            out.append(r.problems[-1])
        names.setdefault(p.name, r.file)
        if p.source == p.sink:
            r.add(("sink",), "sink is the source topic", "write lawful events to another topic")
            out.append(r.problems[-1])
    return out


def check_pipelines(
    directory: str | Path, policy_config: PolicyConfig | None, base_dir: str | Path | None = None
) -> list[Problem]:
    """Every problem of every pipeline file in ``directory`` (errors and warnings)."""
    return _check_all(directory, policy_config, base_dir)[1]


def load_pipelines(
    directory: str | Path, policy_config: PolicyConfig | None, base_dir: str | Path | None = None
) -> tuple[Pipeline, ...]:
    """The pipelines of ``directory``; raises PipelineConfigError if any file has an error."""
    pipelines, problems = _check_all(directory, policy_config, base_dir)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise PipelineConfigError(errors)
    return tuple(pipelines)


def load_pipeline(
    path: str | Path, policy_config: PolicyConfig | None, base_dir: str | Path | None = None
) -> Pipeline:
    """One pipeline file; raises PipelineConfigError naming file, line, key and fix."""
    path = Path(path)
    base = Path(base_dir) if base_dir is not None else path.resolve().parent.parent
    result = _check_file(path, policy_config, base)
    errors = [p for p in result.problems if p.severity == "error"]
    if errors or result.pipeline is None:
        raise PipelineConfigError(errors)
    return result.pipeline
