"""`wardstream check --registry URL`: the pipelines against the registered schemas.

For each pipeline, the latest schema registered under ``<source>-value`` (the
topic-name strategy producers use by default) is compared with the pipeline's
``fields``: a field of that schema the pipeline does not map is removed from
children's events (minimisation), and a mapped field the schema no longer has
classifies nothing; both are reported as warnings naming the fields, never
values. A registry that cannot be asked is an error.
"""

from __future__ import annotations

from pathlib import Path

from wardstream.config.errors import Problem
from wardstream.config.pipeline import load_pipelines
from wardstream.config.settings import Settings
from wardstream.kafka.registry import registry_access
from wardstream.serde import (
    AvroSchema,
    HttpSchemaRegistry,
    RegistryAccess,
    RegistryError,
    SchemaLoadError,
    SchemaNotFound,
    field_paths,
    parse_schema_text,
    unmapped_paths,
)


def registry_problems(
    url: str, settings: Settings | None, directory: Path, base: Path
) -> list[Problem]:
    access = registry_access(settings.kafka.schema_registry_client) if settings else None
    try:
        registry = HttpSchemaRegistry(url, access=access or RegistryAccess(), retry_after_s=0)
    except RegistryError as exc:
        return [Problem("--registry", 0, "", str(exc), "pass the registry's API root URL")]
    policy = settings.policy if settings else None
    problems: list[Problem] = []
    for p in load_pipelines(directory, policy, base):
        subject, where = f"{p.source}-value", f"pipeline {p.name}"
        try:
            schema = parse_schema_text(registry.latest(subject), source=f"registry {subject}")
        except SchemaNotFound:
            if p.format == "avro-confluent":
                problems.append(_warn(where, f"no schema is registered under {subject}",
                                      "produce to the source once, or check the URL"))  # fmt: skip
            continue
        except SchemaLoadError as exc:
            problems.append(_warn(where, str(exc), "register an Avro record schema"))
            continue
        except RegistryError as exc:
            fix = "check --registry, the registry's credentials and that it runs"
            problems.append(Problem("--registry", 0, "", str(exc), fix))
            break
        problems.extend(_compare(where, subject, list(p.fields), schema))
    return problems


def _compare(where: str, subject: str, fields: list[str], schema: AvroSchema) -> list[Problem]:
    out = []
    missing = unmapped_paths(schema, fields)
    if missing:
        out.append(_warn(
            where,
            f"the latest schema under {subject} has field(s) the pipeline does not map: "
            f"{', '.join(missing)}; they are removed from children's events",
            "map each under fields: with its data category (or leave it, to drop it)",
        ))  # fmt: skip
    paths = field_paths(schema)
    gone = [f for f in fields if f not in paths]
    if gone:
        out.append(_warn(
            where,
            f"the pipeline maps field(s) the latest schema under {subject} lacks: "
            f"{', '.join(gone)}",
            "rename them as the schema does (or keep them while older events still flow)",
        ))  # fmt: skip
    return out


def _warn(where: str, message: str, fix: str) -> Problem:
    return Problem(where, 0, "fields", message, fix, severity="warning")
