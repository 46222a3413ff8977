"""The audit record: one hash-chained entry of the ``ward.audit`` topic.

A record never carries personal information: subjects appear only as keyed
HMAC refs (``subject_ref``), events only by their Kafka coordinates
(``event_ref`` = ``topic/partition/offset``). ``attrs`` is for non-personal
context (who approved a staff access, a deletion id, a summary window) and
must never hold record contents.

``to_dict`` gives the Avro datum of ``schemas/AuditRecord.avsc`` (datetimes
stay aware UTC ``datetime`` objects, as fastavro and Apache ``avro`` expect);
``from_dict`` reads one back, also accepting epoch milliseconds or ISO-8601
strings for the timestamps. Timestamps are cut to whole milliseconds, the
precision of ``timestamp-millis``, so that a record equals its decoded copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from wardstream.domain.enums import AuditAction
from wardstream.errors import WardstreamError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EMPTY: Mapping[str, Any] = MappingProxyType({})


class AuditRecordError(WardstreamError, ValueError):
    """An audit record, or a mapping meant to become one, is malformed."""


def epoch_millis(when: datetime) -> int:
    """Milliseconds since 1970-01-01 UTC of an aware datetime (exact; no float)."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def to_utc_millis(value: datetime, name: str) -> datetime:
    """``value`` in UTC, cut to whole milliseconds; naive datetimes are refused."""
    if value.tzinfo is UTC and not value.microsecond % 1000:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise AuditRecordError(
            f"{name} is a naive datetime; pass a timezone-aware UTC datetime "
            "(e.g. datetime.now(UTC))"
        )
    utc = value.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond - utc.microsecond % 1000)


def _parse_time(value: object, name: str) -> datetime:
    if isinstance(value, datetime):
        return to_utc_millis(value, name)
    if isinstance(value, int) and not isinstance(value, bool):
        return _EPOCH + timedelta(milliseconds=value)
    if isinstance(value, str):
        try:
            return to_utc_millis(datetime.fromisoformat(value), name)
        except ValueError as exc:
            raise AuditRecordError(f"{name} is not an ISO-8601 timestamp") from exc
    raise AuditRecordError(f"{name} must be a datetime, epoch milliseconds or ISO-8601 text")


def _action(value: object) -> AuditAction | str:
    if isinstance(value, AuditAction):
        return value
    if not isinstance(value, str) or not value:
        raise AuditRecordError("action must be a non-empty string, e.g. 'QUARANTINED'")
    try:
        return AuditAction(value)
    except ValueError:
        # A newer writer's action: kept verbatim so that the hash still verifies.
        return value


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit entry; ``chain``/``seq``/``prev_hash``/``hash`` tie it to its chain.

    ``chain`` names the hash chain (``"<pipeline>/<input partition>"`` or
    ``"_control/0"``) and ``seq`` is the 0-based position in it. ``counts``
    holds, for SUMMARY records, decisions per AuditAction name. ``deadline``
    is, for DELETION_ISSUED records, the DeletionRequest's deadline.
    """

    audit_id: str
    at: datetime
    worker: str
    pipeline: str
    action: AuditAction | str
    chain: str
    seq: int
    rule: str | None = None
    reason: str | None = None
    subject_ref: str | None = None
    event_ref: str | None = None
    consent_id: str | None = None
    fields_redacted: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    deadline: datetime | None = None
    attrs: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    prev_hash: str = ""
    hash: str = ""

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "at", to_utc_millis(self.at, "at"))
        if self.deadline is not None:
            setattr_(self, "deadline", to_utc_millis(self.deadline, "deadline"))
        setattr_(self, "action", _action(self.action))
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or self.seq < 0:
            raise AuditRecordError("seq must be an int >= 0 (the record's place in its chain)")
        if not self.chain:
            raise AuditRecordError("chain must name the record's hash chain, e.g. 'clickstream/3'")
        setattr_(self, "fields_redacted", tuple(self.fields_redacted))
        setattr_(self, "counts", _frozen_map(self.counts, int, "counts"))
        setattr_(self, "attrs", _frozen_map(self.attrs, str, "attrs"))

    def __hash__(self) -> int:
        return hash((self.chain, self.seq, self.hash, self.audit_id))

    def to_dict(self) -> dict[str, Any]:
        """The Avro datum of AuditRecord.avsc (maps in key order, for canonical bytes)."""
        return {
            "audit_id": self.audit_id,
            "at": self.at,
            "worker": self.worker,
            "pipeline": self.pipeline,
            "chain": self.chain,
            "seq": self.seq,
            "action": str(self.action),
            "rule": self.rule,
            "reason": self.reason,
            "subject_ref": self.subject_ref,
            "event_ref": self.event_ref,
            "consent_id": self.consent_id,
            "fields_redacted": list(self.fields_redacted),
            "counts": dict(self.counts),
            "deadline": self.deadline,
            "attrs": dict(self.attrs),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditRecord:
        """Build a record from a decoded datum; unknown keys (newer fields) are ignored."""
        try:
            deadline = data.get("deadline")
            return cls(
                audit_id=str(data["audit_id"]),
                at=_parse_time(data["at"], "at"),
                worker=str(data["worker"]),
                pipeline=str(data["pipeline"]),
                action=data["action"],
                chain=str(data["chain"]),
                seq=data["seq"],
                rule=data.get("rule"),
                reason=data.get("reason"),
                subject_ref=data.get("subject_ref"),
                event_ref=data.get("event_ref"),
                consent_id=data.get("consent_id"),
                fields_redacted=tuple(data.get("fields_redacted") or ()),
                counts=data.get("counts") or _EMPTY,
                deadline=None if deadline is None else _parse_time(deadline, "deadline"),
                attrs=data.get("attrs") or _EMPTY,
                prev_hash=str(data.get("prev_hash", "")),
                hash=str(data.get("hash", "")),
            )
        except KeyError as exc:
            raise AuditRecordError(f"audit record has no {exc.args[0]!r} field") from exc


def _frozen_map(value: Mapping[str, Any], kind: type, name: str) -> Mapping[str, Any]:
    if not value:
        return _EMPTY
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, kind) or isinstance(item, bool):
            raise AuditRecordError(f"{name} maps strings to {kind.__name__} values")
    return MappingProxyType(dict(sorted(value.items())))
