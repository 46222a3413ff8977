"""Configuration problems with their place: file, line, key, what is wrong, the fix.

The loaders collect :class:`Problem` values (errors are values until start-up
decides to stop); :class:`ConfigError` carries them when a caller wants an
exception. YAML is read with :func:`load_yaml`, which keeps the line of every
key so that a pydantic error's ``loc`` can be pointed at a line
(:func:`problems_from_validation`).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from wardstream.errors import WardstreamError

Loc = tuple[str | int, ...]
Marks = dict[Loc, int]


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    key: str
    message: str
    fix: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message} (fix: {self.fix})"


class ConfigError(WardstreamError):
    """Configuration that cannot be used; ``problems`` says where and how to fix it."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} configuration problem(s):\n{lines}")


class PipelineConfigError(ConfigError):
    """A pipeline file is invalid."""


class PolicyConfigError(ConfigError):
    """The ``policy:`` section of the operator configuration is invalid."""


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The closest valid spelling, if any is close enough."""
    found = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.5)
    return found[0] if found else None


def load_yaml(text: str, file: str) -> tuple[Any, Marks, list[Problem]]:
    """Parse YAML, returning data, the line of each key path, and syntax problems."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        fix = "correct the YAML syntax (indentation, colons, quotes)"
        return None, {}, [Problem(file, line, "", f"invalid YAML: {exc.problem}", fix)]
    finally:
        loader.dispose()
    marks: Marks = {(): 1 if node is None else node.start_mark.line + 1}
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), marks, problems, file)
    return data, marks, problems


def _walk(node: yaml.Node, path: Loc, marks: Marks, problems: list[Problem], file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                fix = "keep one of the entries"
                problems.append(Problem(file, line, _dotted((*path, key)), "duplicate key", fix))
            seen.add(key)
            marks[(*path, key)] = line
            _walk(value_node, (*path, key), marks, problems, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            marks[(*path, index)] = item.start_mark.line + 1
            _walk(item, (*path, index), marks, problems, file)


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


def line_of(marks: Marks, loc: Loc) -> int:
    """The line of ``loc``, or of its nearest ancestor that has one."""
    for end in range(len(loc), -1, -1):
        line = marks.get(tuple(loc[:end]))
        if line is not None:
            return line
    return 1


def problems_from_validation(
    exc: ValidationError, model: type[BaseModel], marks: Marks, file: str, prefix: Loc = ()
) -> list[Problem]:
    """One Problem per pydantic error, placed by ``marks`` (``prefix`` = where ``model`` sits)."""
    out = []
    for err in exc.errors():
        loc = tuple(part for part in err["loc"] if not isinstance(part, str) or part)
        message, fix = _explain(err, model, loc)
        full = (*prefix, *loc)
        out.append(Problem(file, line_of(marks, full), _dotted(full), message, fix))
    return out


def _explain(err: Any, model: type[BaseModel], loc: Loc) -> tuple[str, str]:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "ward_value":
        return ctx["problem"], ctx["fix"]
    if kind == "extra_forbidden":
        valid = allowed_keys(model, loc[:-1])
        guess = closest(str(loc[-1]), valid)
        hint = f"did you mean '{guess}'? " if guess else ""
        return f"unknown key '{loc[-1]}'", f"{hint}valid keys: {', '.join(sorted(valid))}"
    if kind == "missing":
        return "required key is missing", f"add '{loc[-1]}: ...' ({_describe(model, loc)})"
    if kind in ("literal_error", "enum"):
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        guess = closest(str(err.get("input")), choices)
        hint = f"did you mean '{guess}'? " if guess else ""
        return f"unknown value '{err.get('input')}'", f"{hint}use one of: {', '.join(choices)}"
    return str(err["msg"]), _describe(model, loc) or "see the documentation"


def _describe(model: type[BaseModel], loc: Loc) -> str:
    target = _model_at(model, loc[:-1])
    if target is None or not loc:
        return ""
    field = _field_by_key(target, str(loc[-1]))
    return field.description or "" if field is not None else ""


def allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the model nested at ``loc`` accepts (by alias)."""
    target = _model_at(model, loc)
    if target is None:
        return []
    return [f.alias or name for name, f in target.model_fields.items()]


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = _field_by_key(current, str(part))
            if field is None:
                return None
            current = _unwrap(field.annotation)
        else:
            current = _unwrap(_container_item(current))
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _container_item(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    return args[-1] if args else None


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated layers to reach a model class or a container."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            models = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = models[0] if len(models) == 1 else annotation
            if len(models) != 1:
                return annotation
        else:
            return annotation
