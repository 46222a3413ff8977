"""The model of a pipeline file (``pipelines/*.yaml``): step one of its check.

The format is SPEC.md "Pipelines"::

    name: clickstream
    source: app.clickstream
    sink: app.clickstream.lawful
    format: avro                      # avro | avro-confluent | json
    schema: schemas/examples/clickstream.avsc
    subject: user_id                  # field path, or "key"
    event_time: ts                    # field path, or "timestamp"
    purpose: analytics                # declared under policy.purposes
    destination: internal             # internal | third_party:<recipient> | public
    jurisdiction: CN                  # optional; default when the profile has none
    retention: 30d                    # required: no indefinite retention
    policy_version: 3
    on_missing_consent: quarantine    # quarantine | drop
    unknown_age: child                # child | quarantine | adult
    fields: {user_id: identifier, page: behaviour, geo: location, ts: technical}
    sink_tombstones: false            # true: tombstone the subject on the sink (compacted,
                                      # keyed by subject: needs subject: key)

A ``fields`` entry is a category, or ``{category: <category>, encrypt: true}``:
a child's or minor's value of that field is sealed with the subject's data key
on the sink (``enforce.sink_fields``); the field's type must be ``string`` or
``bytes`` (either may be a union with null) and the worker needs the key ring
(a master key, ``lifecycle.encrypt_quarantine`` on).

Required: name, source, sink, format, purpose, retention, fields (and schema
for ``format: avro``). This module checks what the file alone can tell (keys,
types, categories, durations, destination); ``config.pipeline`` loads files and
checks them against their context (schema, policy, the other pipelines).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wardstream.config.errors import closest
from wardstream.config.policy import Duration, ward_error
from wardstream.domain.enums import DataCategory
from wardstream.domain.pipeline import Pipeline, parse_destination

CategoryName = Literal[
    "identifier",
    "contact",
    "demographic",
    "behaviour",
    "location",
    "content",
    "device",
    "financial",
    "education",
    "health",
    "biometric",
    "technical",
]


class FieldSpec(BaseModel):
    """One ``fields`` entry: ``geo: location`` or ``geo: {category: location, encrypt: true}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: CategoryName = Field(description="Data category a consent must cover.")
    encrypt: bool = Field(
        default=False,
        description=(
            "Seal a child's or minor's value on the sink with the subject's data key "
            "(string or bytes fields; destroyed with the key on deletion)."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        names = get_args(CategoryName)
        if isinstance(value, str) and value in names:
            return {"category": value}
        guess = closest(str(value), names)
        hint = f"did you mean '{guess}'? " if guess else ""
        fix = f"{hint}use one of: {', '.join(names)}; or {{category: <one>, encrypt: true}}"
        raise ward_error(f"unknown value '{value}'", fix)


class PipelineFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Unique pipeline name.")
    source: str = Field(min_length=1, description="Topic the user-data events arrive on.")
    sink: str = Field(min_length=1, description="Topic lawful events are written to.")
    format: Literal["avro", "avro-confluent", "json"] = Field(description="Event wire format.")
    schema_path: str | None = Field(
        default=None,
        alias="schema",
        description="Avro schema file (.avsc); required for format avro.",
    )
    subject: str = Field(
        default="key", min_length=1, description="Subject id field path, or 'key'."
    )
    event_time: str = Field(
        default="timestamp", min_length=1, description="Event time field path, or 'timestamp'."
    )
    purpose: str = Field(min_length=1, description="Purpose declared under policy.purposes.")
    destination: str = Field(
        default="internal", description="internal, public or third_party:<recipient>."
    )
    jurisdiction: str | None = Field(default=None, description="Pack when the profile names none.")
    retention: Duration = Field(description="How long downstream may keep a child's data.")
    policy_version: int = Field(
        default=1, ge=1, description="Consents to older versions do not count."
    )
    on_missing_consent: Literal["quarantine", "drop"] = Field(
        default="quarantine", description="Where a child's event without covering consent goes."
    )
    unknown_age: Literal["child", "quarantine", "adult"] = Field(
        default="child", description="How to treat subjects of unknown age (child = fail closed)."
    )
    fields: dict[str, FieldSpec] = Field(
        min_length=1,
        description=(
            "Field path -> data category, or {category, encrypt}; unlisted fields are minimised."
        ),
    )
    sink_tombstones: bool = Field(
        default=False,
        description=(
            "Write a tombstone for the subject to the (compacted) sink when a deletion covers "
            "all the sink holds of it; needs subject: key (the sink keeps the source key)."
        ),
    )

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: str) -> str:
        try:
            parse_destination(value)
        except ValueError:
            raise ward_error(
                f"bad destination '{value}'", "use internal, public or third_party:<recipient>"
            ) from None
        return value

    def to_pipeline(
        self, fixed_fields: frozenset[str] = frozenset(), schema_file: str | None = None
    ) -> Pipeline:
        """The domain Pipeline the policy core decides with. ``schema_file``: the schema's
        path as ``config.pipeline.resolve_schema`` found it (else ``schema`` as written)."""
        return Pipeline(
            name=self.name,
            source=self.source,
            sink=self.sink,
            purpose=self.purpose,
            fields={k: DataCategory(v.category) for k, v in self.fields.items()},
            format=self.format,  # type: ignore[arg-type]
            schema=schema_file or self.schema_path,
            subject=self.subject,
            event_time=self.event_time,
            destination=self.destination,
            jurisdiction=self.jurisdiction,
            retention=self.retention,
            policy_version=self.policy_version,
            on_missing_consent=self.on_missing_consent,  # type: ignore[arg-type]
            unknown_age=self.unknown_age,  # type: ignore[arg-type]
            fixed_fields=fixed_fields,
            encrypted_fields=frozenset(k for k, v in self.fields.items() if v.encrypt),
            sink_tombstones=self.sink_tombstones,
        )
