"""Pipeline: one stream that wardstream enforces (the domain view of a pipeline file).

``fields`` maps field paths to data categories. ``fixed_fields`` are fields the
sink schema cannot omit (non-null without a default): a child's event that
would need one of them removed is quarantined (REDACTION_IMPOSSIBLE) instead.
``destination`` is ``internal``, ``public`` or ``third_party:<recipient>``.
``encrypted_fields`` (``encrypt: true`` in the file) are sealed with the
subject's data key on a child's or minor's event before it reaches the sink
(``enforce.sink_fields``). ``sink_tombstones`` makes the lifecycle write a
tombstone for the subject to the sink when a deletion covers all it holds
there (``policy.tombstones``); it needs a sink keyed by subject id, i.e.
``subject == "key"`` (the sink keeps the source key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from wardstream.domain import _coerce as c
from wardstream.domain.enums import (
    DataCategory,
    DestinationKind,
    EventFormat,
    MissingConsent,
    UnknownAge,
)
from wardstream.domain.errors import InvalidRecordError

_R = "Pipeline"


def parse_destination(text: str) -> tuple[DestinationKind, str | None]:
    """Split ``third_party:<recipient>`` into kind and recipient; ValueError if bad."""
    kind, sep, recipient = text.partition(":")
    if kind == DestinationKind.THIRD_PARTY and sep and recipient.strip():
        return DestinationKind.THIRD_PARTY, recipient.strip()
    if not sep and kind in (DestinationKind.INTERNAL, DestinationKind.PUBLIC):
        return DestinationKind(kind), None
    raise ValueError("use internal, public or third_party:<recipient>")


@dataclass(frozen=True, slots=True, kw_only=True)
class Pipeline:
    name: str
    source: str
    sink: str
    purpose: str
    fields: Mapping[str, DataCategory] = field(default_factory=dict, hash=False)
    format: EventFormat = EventFormat.AVRO
    schema: str | None = None
    subject: str = "key"
    event_time: str = "timestamp"
    destination: str = "internal"
    jurisdiction: str | None = None
    retention: timedelta = timedelta(days=30)
    policy_version: int = 1
    on_missing_consent: MissingConsent = MissingConsent.QUARANTINE
    unknown_age: UnknownAge = UnknownAge.CHILD
    fixed_fields: frozenset[str] = frozenset()
    encrypted_fields: frozenset[str] = frozenset()
    sink_tombstones: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        cats = {
            c.text(_R, "fields", path): c.member(_R, "fields", DataCategory, cat)
            for path, cat in dict(self.fields).items()
        }
        set_(self, "fields", MappingProxyType(cats))
        set_(self, "format", c.member(_R, "format", EventFormat, self.format))
        set_(
            self,
            "on_missing_consent",
            c.member(_R, "on_missing_consent", MissingConsent, self.on_missing_consent),
        )
        set_(self, "unknown_age", c.member(_R, "unknown_age", UnknownAge, self.unknown_age))
        set_(self, "fixed_fields", frozenset(self.fixed_fields))
        set_(self, "encrypted_fields", frozenset(self.encrypted_fields))
        unknown = sorted(self.encrypted_fields - set(cats))
        if unknown:
            raise InvalidRecordError(_R, "encrypted_fields", f"not in fields: {unknown}")
        if self.sink_tombstones and self.subject != "key":
            raise InvalidRecordError(_R, "sink_tombstones", "needs subject 'key'")
        if self.jurisdiction is not None:
            set_(self, "jurisdiction", self.jurisdiction.strip().upper())
        try:
            parse_destination(self.destination)
        except ValueError as exc:
            raise InvalidRecordError(_R, "destination", str(exc)) from None
        if self.retention <= timedelta(0):
            raise InvalidRecordError(_R, "retention", "must be positive")

    @property
    def destination_kind(self) -> DestinationKind:
        return parse_destination(self.destination)[0]

    @property
    def recipient(self) -> str | None:
        """The third-party recipient, for ``third_party:<recipient>`` destinations."""
        return parse_destination(self.destination)[1]
