"""A schema registry in a dict, for tests and single-process demos.

It answers like the HTTP client (:mod:`wardstream.serde.registry`):
:class:`SchemaNotFound` for an unknown id or subject.
"""

from __future__ import annotations

import json

from wardstream.serde.errors import SchemaNotFound

SCHEMA_NOT_FOUND = 40403
SUBJECT_NOT_FOUND = 40401


def _canonical(schema: str) -> str:
    try:
        return json.dumps(json.loads(schema), sort_keys=True, separators=(",", ":"))
    except json.JSONDecodeError:
        return schema


class InMemorySchemaRegistry:
    """A registry in a dict.

    Ids start at 1; registering the same schema (ignoring JSON formatting) again
    returns its id. ``lookups`` counts ``get_schema`` calls, so tests can check
    that codecs cache.
    """

    def __init__(self) -> None:
        self._schemas: dict[int, str] = {}
        self._ids: dict[str, int] = {}
        self._subjects: dict[str, list[int]] = {}
        self.lookups = 0

    def get_schema(self, schema_id: int) -> str:
        self.lookups += 1
        try:
            return self._schemas[schema_id]
        except KeyError:
            pass
        raise SchemaNotFound(f"no schema with id {schema_id}", status=404, code=SCHEMA_NOT_FOUND)

    def register(self, subject: str, schema: str) -> int:
        key = _canonical(schema)
        schema_id = self._ids.get(key)
        if schema_id is None:
            schema_id = len(self._schemas) + 1
            self._ids[key] = schema_id
            self._schemas[schema_id] = schema
        versions = self._subjects.setdefault(subject, [])
        if schema_id not in versions:
            versions.append(schema_id)
        return schema_id

    def latest(self, subject: str) -> str:
        """The text of the schema registered last under ``subject``."""
        versions = self._subjects.get(subject)
        if not versions:
            raise SchemaNotFound(f"no subject {subject!r}", status=404, code=SUBJECT_NOT_FOUND)
        return self._schemas[versions[-1]]

    def subjects(self) -> list[str]:
        return sorted(self._subjects)
