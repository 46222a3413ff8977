"""``encrypt: true`` sink fields: the token format, the sealer, the processor and the checks."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from tests.unit.config.test_pipeline_config import GOOD, POLICY, SCHEMA
from tests.unit.conftest import REFS
from tests.unit.policy.test_policy_support import (
    ALL_CATEGORIES,
    T0,
    born,
    grant,
    ledger,
    policy,
    subject,
)

from wardstream.audit.pseudonym import SubjectPseudonymizer
from wardstream.config.pipeline import check_pipelines, load_pipelines
from wardstream.config.settings import Settings
from wardstream.crypto import KeyUnavailable, MasterKey, SealBroken
from wardstream.domain.enums import AuditAction
from wardstream.domain.pipeline import Pipeline
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.datakeys import KeyDestroyed, KeyRing, KeyStore
from wardstream.enforce.processor import PipelineProcessor
from wardstream.enforce.quarantine import QuarantineBook
from wardstream.enforce.records import InRecord
from wardstream.enforce.sink_fields import (
    FieldSealer,
    NotSealed,
    SinkEncryptionUnavailable,
    SinkKeys,
    field_sealer,
    is_sealed,
    open_field,
    parse_token,
)
from wardstream.enforce.state import StateStore
from wardstream.engines.keysetup import StartupError, key_ring
from wardstream.lifecycle.shredding import shredder
from wardstream.serde import AvroCodec, Origin
from wardstream.serde.schemas import parse_schema_dict

EVENT_SCHEMA = {
    "type": "record",
    "name": "Ping",
    "fields": [
        {"name": "user_id", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "city", "type": ["null", "string"], "default": None},
        {"name": "blob", "type": ["null", "bytes"], "default": None},
        {"name": "page", "type": "string"},
        {
            "name": "device",
            "type": {
                "type": "record",
                "name": "Device",
                "fields": [{"name": "ip", "type": ["null", "string"], "default": None}],
            },
        },
    ],
}
FIELDS = {
    "user_id": "identifier",
    "ts": "technical",
    "city": "location",
    "blob": "content",
    "page": "behaviour",
    "device.ip": "identifier",
}
SEALED = frozenset({"city", "blob", "device.ip"})


def _event(sid: str = "kid-1", **extra: Any) -> dict[str, Any]:
    return {
        "user_id": sid,
        "ts": T0,
        "city": "Hangzhou",
        "blob": b"\x00\x01raw",
        "page": "/lesson/3",
        "device": {"ip": "192.0.2.7"},
        **extra,
    }


# -- the token ------------------------------------------------------------------------------
def test_string_and_bytes_fields_round_trip_and_keep_their_type(ring: KeyRing) -> None:
    sealer = FieldSealer(ring, SEALED)
    out = sealer.seal("kid-1", _event())
    assert isinstance(out["city"], str) and out["city"].startswith("wsenc1:k-")
    assert isinstance(out["blob"], bytes) and out["blob"].startswith(b"wsenc1:k-")
    assert "Hangzhou" not in out["city"] and b"raw" not in out["blob"]
    key_id, blob = parse_token(out["city"])
    assert out["city"] == f"wsenc1:{key_id}:{base64.b64encode(blob).decode()}"
    assert open_field(ring, "city", out["city"]) == "Hangzhou"
    assert open_field(ring, "blob", out["blob"], subject_id="kid-1") == b"\x00\x01raw"
    assert open_field(ring, "device.ip", out["device"]["ip"]) == "192.0.2.7"
    assert out["page"] == "/lesson/3" and out["user_id"] == "kid-1"  # unmarked: untouched


def test_the_input_is_not_changed_and_nothing_to_seal_gives_the_same_object(
    ring: KeyRing,
) -> None:
    sealer = FieldSealer(ring, SEALED)
    event = _event()
    sealer.seal("kid-1", event)
    assert event == _event()
    empty = _event("kid-2", city=None, blob=None, device={"ip": None})
    assert sealer.seal("kid-2", empty) is empty
    assert REFS.ref("kid-2") not in sealer.ring.store.by_owner  # no field to seal: no key made


def test_one_sink_key_per_subject_written_once_wrapped_by_the_sink_key_not_the_master(
    ring: KeyRing,
) -> None:
    sealer = FieldSealer(ring, SEALED)
    sealer.seal("kid-1", _event())
    [key_record] = sealer.take()
    assert key_record.topic == "ward.keys" and key_record.key is not None
    assert key_record.key.startswith(REFS.ref("kid-1").encode() + b"|k-")
    assert b"kid-1" not in key_record.key + (key_record.value or b"")
    assert json.loads(key_record.value or b"")["by"] == ring.sink.key_id != ring.master.key_id
    sealer.seal("kid-1", _event())
    assert sealer.take() == []  # the same key again
    [key_id] = ring.store.by_owner[REFS.ref("kid-1")]
    _, quarantine_key_id, new = ring.seal("kid-1", "q-1", InRecord("t", 0, 0, b"kid-1", b"v", None))
    assert quarantine_key_id != key_id and len(new) == 1, "quarantine uses a master-wrapped key"


def test_a_token_moved_to_another_field_or_altered_does_not_open(ring: KeyRing) -> None:
    out = FieldSealer(ring, SEALED).seal("kid-1", _event())
    with pytest.raises(SealBroken):
        open_field(ring, "device.ip", out["city"])
    key_id, blob = parse_token(out["blob"])
    altered = f"wsenc1:{key_id}:".encode() + blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(SealBroken):
        open_field(ring, "blob", altered)


@pytest.mark.parametrize("value", ["Hangzhou", "wsenc1:", "wsenc1:k-1:not base64!", b"raw"])
def test_a_plain_value_is_not_a_token(value: str | bytes, ring: KeyRing) -> None:
    with pytest.raises(NotSealed):
        open_field(ring, "city", value)
    assert is_sealed("wsenc1:k-1:AAAA") and not is_sealed("Hangzhou") and not is_sealed(7)


def test_after_the_subject_is_shredded_its_sink_fields_no_longer_open(
    ring: KeyRing, master_key: MasterKey
) -> None:
    sealer = FieldSealer(ring, SEALED)
    out = sealer.seal("kid-1", _event())
    downstream = KeyStore()  # a holder that read the keys topic, with the sink key only
    for r in sealer.take():
        downstream.apply(r.key or b"", r.value)
    holder = SinkKeys(ring.sink, downstream)
    assert open_field(holder, "city", out["city"]) == "Hangzhou"
    with pytest.raises(KeyUnavailable):  # the master key is no sink key
        open_field(SinkKeys(master_key, downstream), "city", out["city"])
    audit = Auditor("ward.audit", "w1", SubjectPseudonymizer(b"k" * 32, "k1"))
    writes = shredder(ring, lambda *a, **k: audit.write("_control/0", "_control", *a, **k))
    records = writes("kid-1", "del-1")
    for r in records:
        if r.topic == "ward.keys":
            assert r.key is not None
            downstream.apply(r.key, r.value)  # the tombstone reaches the holder
    with pytest.raises(KeyDestroyed):
        open_field(holder, "city", out["city"])
    with pytest.raises(KeyDestroyed):
        open_field(ring, "blob", out["blob"])
    with pytest.raises(KeyUnavailable):
        open_field(SinkKeys(ring.sink, KeyStore()), "city", out["city"])  # never read the key


def test_without_a_key_ring_a_pipeline_with_encrypted_fields_cannot_run() -> None:
    p = _pipeline()
    with pytest.raises(SinkEncryptionUnavailable, match="WARDSTREAM__LIFECYCLE__MASTER_KEY"):
        field_sealer(p, None)
    assert field_sealer(_pipeline(encrypted_fields=frozenset()), None) is None
    off = Settings(lifecycle={"encrypt_quarantine": False})
    with pytest.raises(StartupError, match="lifecycle.encrypt_quarantine: true"):
        key_ring(off, [p])
    with pytest.raises(StartupError, match="WARDSTREAM__LIFECYCLE__MASTER_KEY"):
        key_ring(Settings(), [p])
    assert key_ring(off, [_pipeline(encrypted_fields=frozenset())]) is None


# -- the processor --------------------------------------------------------------------------
def _pipeline(**overrides: Any) -> Pipeline:
    values: dict[str, Any] = {
        "name": "pings",
        "source": "app.pings",
        "sink": "app.pings.lawful",
        "purpose": "analytics",
        "subject": "user_id",
        "event_time": "ts",
        "fields": FIELDS,
        "jurisdiction": "CN",
        "policy_version": 1,
        "encrypted_fields": SEALED,
    }
    values.update(overrides)
    return Pipeline(**values)


def _processor(ring: KeyRing, categories: tuple[str, ...] = ALL_CATEGORIES) -> PipelineProcessor:
    schema = parse_schema_dict(EVENT_SCHEMA, source="test")
    codec = AvroCodec(schema)
    state = StateStore(caught_up_at=T0.timestamp() + 3600)
    state.put_subject("kid-1", subject(born(10)))
    state.put_subject("adult-1", subject(born(30), subject_id="adult-1"))
    state.consents["kid-1"] = ledger(grant("c1", categories=(*categories, "content")))
    auditor = Auditor("ward.audit", "w1", SubjectPseudonymizer(b"k" * 32, "k1"))
    book = QuarantineBook("ward.quarantine", ring, refs=REFS.ref)
    return PipelineProcessor(_pipeline(), policy(), codec, schema, state, auditor, book, "ward.dl")


def _submit(p: PipelineProcessor, sid: str) -> tuple[bytes, Any]:
    value = p.codec.encode(_event(sid))
    rec = InRecord("app.pings", 0, 7, sid.encode(), value, int(T0.timestamp() * 1000))
    outcome = p.submit(rec)
    assert outcome is not None and outcome.destination == "sink", outcome
    return value, outcome


def test_a_childs_marked_fields_reach_the_sink_sealed_after_their_key(ring: KeyRing) -> None:
    p = _processor(ring)
    original, outcome = _submit(p, "kid-1")
    topics = [o.topic for o in outcome.outputs]
    assert topics[:2] == ["ward.keys", "app.pings.lawful"], topics
    sink = outcome.outputs[1]
    assert sink.value != original and b"Hangzhou" not in sink.value
    decoded = p.codec.decode(sink.value, origin=Origin("sink", 0, 0))
    assert decoded["page"] == "/lesson/3" and decoded["user_id"] == "kid-1"
    assert open_field(ring, "city", decoded["city"]) == "Hangzhou"
    assert open_field(ring, "device.ip", decoded["device"]["ip"]) == "192.0.2.7"
    _, again = _submit(p, "kid-1")
    assert [o.topic for o in again.outputs][0] == "app.pings.lawful"  # the key exists now


def test_a_redacted_childs_event_is_sealed_too(ring: KeyRing) -> None:
    p = _processor(ring, categories=("identifier", "behaviour"))  # no location: city goes
    _, outcome = _submit(p, "kid-1")
    audit = p.auditor.decode(outcome.outputs[-1].value, Origin("ward.audit", 0, 0))
    assert audit.action == AuditAction.REDACTED
    sink = next(o for o in outcome.outputs if o.topic == "app.pings.lawful")
    decoded = p.codec.decode(sink.value, origin=Origin("sink", 0, 0))
    assert decoded["city"] is None
    assert open_field(ring, "blob", decoded["blob"]) == b"\x00\x01raw"


def test_an_adults_event_passes_byte_for_byte(ring: KeyRing) -> None:
    p = _processor(ring)
    original, outcome = _submit(p, "adult-1")
    [sink] = [o for o in outcome.outputs if o.topic == "app.pings.lawful"]
    assert sink.value == original
    assert all(o.topic != "ward.keys" for o in outcome.outputs)
    assert REFS.ref("adult-1") not in ring.store.by_owner


# -- load-time checks -----------------------------------------------------------------------
def _project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "schemas").mkdir()
    schema = {**SCHEMA, "fields": [*SCHEMA["fields"], {"name": "raw", "type": "bytes"}]}
    (tmp_path / "schemas" / "click.avsc").write_text(json.dumps(schema))
    (tmp_path / "pipelines" / "c.yaml").write_text(text)
    return tmp_path / "pipelines"


def test_the_long_form_marks_fields_and_the_short_form_still_works(tmp_path: Path) -> None:
    text = GOOD.replace("  geo: location", "  geo: {category: location, encrypt: true}")
    text += "  raw:\n    category: content\n    encrypt: true\n"
    [pipe] = load_pipelines(_project(tmp_path, text), POLICY)
    assert pipe.encrypted_fields == frozenset({"geo", "raw"})
    assert pipe.fields["geo"].value == "location" and pipe.fields["page"].value == "behaviour"


@pytest.mark.parametrize(
    ("entry", "kind"),
    [("ts: {category: technical, encrypt: true}", "long/timestamp-millis")],
)
def test_a_field_that_cannot_hold_a_ciphertext_is_refused(
    tmp_path: Path, entry: str, kind: str
) -> None:
    text = GOOD.replace("ts: technical", entry)
    [problem] = check_pipelines(_project(tmp_path, text), POLICY)
    assert problem.key == "fields.ts" and problem.line == text.splitlines().index(f"  {entry}") + 1
    assert kind in problem.message and "string or bytes" in problem.fix


def test_a_bad_long_form_names_the_key(tmp_path: Path) -> None:
    text = GOOD.replace("geo: location", "geo: {category: location, encrypted: true}")
    [problem] = check_pipelines(_project(tmp_path, text), POLICY)
    assert problem.key == "fields.geo.encrypted" and "did you mean 'encrypt'" in problem.fix


def test_the_field_entry_model_is_described_frozen_and_strict() -> None:
    from wardstream.config.pipeline import FieldSpec

    assert FieldSpec.model_config.get("frozen") and FieldSpec.model_config.get("extra") == "forbid"
    assert all(info.description for info in FieldSpec.model_fields.values())
