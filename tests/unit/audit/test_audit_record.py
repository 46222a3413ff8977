"""The AuditRecord value: validation, normalisation, to_dict/from_dict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from wardstream.domain.audit import AuditRecord, AuditRecordError
from wardstream.domain.enums import AuditAction
from wardstream.errors import WardstreamError

AT = datetime(2026, 5, 17, 9, 30, 15, 123456, tzinfo=UTC)


def make(**changes: object) -> AuditRecord:
    fields: dict[str, object] = dict(
        audit_id="a1", at=AT, worker="w", pipeline="p", action="DROPPED", chain="p/0", seq=0
    )
    fields.update(changes)
    return AuditRecord(**fields)


def test_times_are_utc_and_cut_to_milliseconds() -> None:
    shanghai = timezone(timedelta(hours=8))
    record = make(at=AT.astimezone(shanghai), deadline=AT)
    assert record.at == AT.replace(microsecond=123000) and record.at.tzinfo is UTC
    assert record.deadline == record.at


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"at": datetime(2026, 1, 1)}, "naive"),  # noqa: DTZ001 - the point of the test
        ({"seq": -1}, "seq"),
        ({"seq": True}, "seq"),
        ({"chain": ""}, "chain"),
        ({"action": ""}, "action"),
        ({"counts": {"PASSED": "3"}}, "counts"),
        ({"attrs": {"k": 1}}, "attrs"),
    ],
)
def test_malformed_records_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(AuditRecordError, match=message) as info:
        make(**changes)
    assert isinstance(info.value, WardstreamError)


def test_known_actions_become_the_enum_and_unknown_ones_stay_text() -> None:
    assert make(action="QUARANTINED").action is AuditAction.QUARANTINED
    assert make(action="NEW_THING").action == "NEW_THING"


def test_maps_are_read_only_and_in_key_order() -> None:
    record = make(counts={"b": 1, "a": 2})
    assert list(record.counts) == ["a", "b"]
    with pytest.raises(TypeError):
        record.counts["c"] = 3
    assert hash(record) == hash(make(counts={"a": 2, "b": 1}))


def test_to_dict_and_from_dict_round_trip() -> None:
    record = make(fields_redacted=["geo"], counts={"PASSED": 4}, attrs={"x": "y"}, deadline=AT)
    data = record.to_dict()
    assert data["action"] == "DROPPED" and type(data["action"]) is str
    assert data["fields_redacted"] == ["geo"] and data["at"].tzinfo is UTC
    assert AuditRecord.from_dict(data) == record


@pytest.mark.parametrize(
    "at", [AT, int(AT.timestamp() * 1000), AT.isoformat(), "2026-05-17T09:30:15.123+00:00"]
)
def test_from_dict_reads_datetimes_millis_and_iso_text(at: object) -> None:
    data = make().to_dict() | {"at": at}
    assert AuditRecord.from_dict(data).at == AT.replace(microsecond=123000)


def test_from_dict_fills_defaults_ignores_newer_fields_and_names_missing_ones() -> None:
    data = {"audit_id": "a", "at": AT, "worker": "w", "pipeline": "p", "action": "DROPPED"}
    data |= {"chain": "p/0", "seq": 3, "a_newer_field": 1}
    record = AuditRecord.from_dict(data)
    assert record.rule is None and record.counts == {} and record.hash == ""
    del data["chain"]
    with pytest.raises(AuditRecordError, match="'chain'"):
        AuditRecord.from_dict(data)
    with pytest.raises(AuditRecordError, match="ISO-8601"):
        AuditRecord.from_dict(make().to_dict() | {"at": "yesterday"})
