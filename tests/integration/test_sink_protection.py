"""Sink protection on a real Kafka: tombstones on a compacted sink, encrypted sink fields.

The ``protected`` pipeline (a clickstream copy keyed by subject) opts in to
``sink_tombstones`` and marks three fields ``encrypt: true``. A deregistered
child gets a tombstone on its compacted sink (audited with the deletion), the
plain clickstream sink none. A child's marked fields reach the sink sealed:
they open with the subject's data key from the keys topic, and no longer once
a guardian DELETE request has destroyed that key. Adults' records pass byte
for byte, and no key is made for them. A child's held event that an operator
releases with `wardstream quarantine release` reaches the sink sealed too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from tests.integration.harness import TEST_MASTER_KEY, Workspace, header
from tests.integration.test_enforcer import (
    audits,
    birthday,
    child_with_consent,
    click,
    on_sink,
    refs,
    sid,
)

from wardstream.audit.pseudonym import parse_key
from wardstream.crypto import MasterKey
from wardstream.enforce.datakeys import SINK_KEY_LABEL, KeyDestroyed
from wardstream.enforce.keystore import KeyStore
from wardstream.enforce.sink_fields import SinkKeys, is_sealed, open_field
from wardstream.serde import AvroCodec, Origin, record_schema

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
MASTER = MasterKey(parse_key(TEST_MASTER_KEY))
SEALED = {"session_id": "identifier", "search_query": "content", "device.ip": "identifier"}


def _protected() -> dict[str, Any]:
    fields = yaml.safe_load((PROJECT / "pipelines" / "clickstream.yaml").read_text())["fields"]
    for name, category in SEALED.items():
        fields[name] = {"category": category, "encrypt": True}
    return {"subject": "key", "sink_tombstones": True, "fields": fields}


@pytest.fixture(scope="module")
def ws(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    workspace = Workspace(
        tmp_path_factory.mktemp("sinkprot"),
        kafka_bootstrap,
        f"snk{uuid.uuid4().hex[:8]}",
        PROJECT,
        {"protected": _protected()},
        state_lateness_s=0.5,
        max_hold_s=8.0,
    )
    workspace.env.update(WARDSTREAM__LIFECYCLE__SWEEP_EVERY_S="0.5")
    try:
        workspace.start()
        yield workspace
    finally:
        workspace.close()


def keys_topic(ws: Workspace) -> str:
    return ws.topics["subjects"].rpartition(".")[0] + ".keys"


def ring(ws: Workspace) -> SinkKeys:
    """What a downstream holder builds from the keys topic with the sink key (derived from
    the master key, as `wardstream keys sink-key` writes it out): never the master key."""
    store = KeyStore()
    for r in ws.records(keys_topic(ws)):
        try:
            store.apply(r.key, r.value)
        except ValueError:
            continue
    return SinkKeys(MasterKey(MASTER.derive(SINK_KEY_LABEL)), store)


def full_click(subject: str) -> dict[str, Any]:
    datum = click(subject)
    datum["session_id"], datum["search_query"] = "s-77", "how do volcanoes work"
    datum["device"]["ip"] = "192.0.2.44"
    return datum


def send(ws: Workspace, pipeline: str, datum: dict[str, Any]) -> bytes:
    raw = ws.codec(pipeline).encode(datum)
    ws.event(pipeline, raw=raw, key=datum["user_id"].encode())
    ws.flush()
    return raw


def decoded(ws: Workspace, record: Any) -> dict[str, Any]:
    origin = Origin(record.topic, record.partition, record.offset)
    value: dict[str, Any] = ws.codec("protected").decode(record.value, origin=origin)
    return value


def cleanup_policy(ws: Workspace, topic: str) -> str:
    admin = KafkaAdminClient(bootstrap_servers=ws.bootstrap)
    try:
        found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        admin.close()
    return _find(found, "cleanup.policy")


def _find(tree: Any, key: str) -> str:
    """The value of ``key`` anywhere in kafka-python's nested describe_configs answer."""
    if isinstance(tree, dict):
        if key in tree:
            entry = tree[key]
            return str(entry.get("value") if isinstance(entry, dict) else entry)
        return next((v for v in (_find(t, key) for t in tree.values()) if v), "")
    if isinstance(tree, list | tuple):
        return next((v for v in (_find(t, key) for t in tree) if v), "")
    return ""


def tombstones(ws: Workspace, pipeline: str, subject: str, timeout: float = 20) -> list[Any]:
    key = subject.encode()
    return ws.wait_for(ws.sink(pipeline), lambda r: r.key == key and r.value is None, 1, timeout)


def test_a_deregistered_childs_compacted_sink_gets_a_tombstone(ws: Workspace) -> None:
    assert cleanup_policy(ws, ws.sink("protected")) == "compact"
    assert cleanup_policy(ws, ws.sink("clickstream")) != "compact"
    s = child_with_consent(ws)
    send(ws, "protected", full_click(s))
    send(ws, "clickstream", full_click(s))
    on_sink(ws, "protected", s)
    on_sink(ws, "clickstream", s)
    time.sleep(1.0)  # the seen marks reach the issuer
    gone = datetime.now(UTC)
    ws.subject(s, birth=birthday(9), deregistered_at=gone, updated_at=gone)
    ws.flush()
    [tomb] = tombstones(ws, "protected", s)
    assert tomb.value is None
    issued = [a for a in audits(ws, s, 3, control=True) if a["action"] == "DELETION_ISSUED"]
    assert issued and issued[0]["chain"] == "_control/0"
    assert issued[0]["reason"] == "DEREGISTERED"
    assert issued[0]["attrs"]["sink_tombstones"] == "protected"
    assert not tombstones(ws, "clickstream", s, timeout=2), "not opted in: no tombstone"


def test_a_childs_encrypted_fields_open_until_the_key_is_destroyed(ws: Workspace) -> None:
    s = child_with_consent(ws)
    datum = full_click(s)
    raw = send(ws, "protected", datum)
    [out] = on_sink(ws, "protected", s)
    assert out.value != raw and header(out, "ward-age-band") == b"child"
    for secret in (b"s-77", b"volcanoes", b"192.0.2.44"):
        assert secret not in out.value
    sink = decoded(ws, out)
    assert all(is_sealed(sink[f]) for f in ("session_id", "search_query"))
    assert is_sealed(sink["device"]["ip"]) and sink["page"] == datum["page"]
    holder = ring(ws)
    assert open_field(holder, "session_id", sink["session_id"]) == "s-77"
    assert open_field(holder, "search_query", sink["search_query"]) == "how do volcanoes work"
    assert open_field(holder, "device.ip", sink["device"]["ip"], subject_id=s) == "192.0.2.44"
    time.sleep(1.0)  # the seen marks reach the issuer
    ws.request(s, f"r-{s}")
    ws.flush()
    destroyed = [a for a in audits(ws, s, 3, control=True) if a["action"] == "KEY_DESTROYED"]
    assert destroyed, "the subject's data key is destroyed"
    assert tombstones(ws, "protected", s), "a guardian DELETE tombstones the sink too"
    after = ring(ws)
    for path, value in (("session_id", sink["session_id"]), ("device.ip", sink["device"]["ip"])):
        with pytest.raises(KeyDestroyed):
            open_field(after, path, value)


def test_an_adults_record_passes_byte_for_byte_and_gets_no_key(ws: Workspace) -> None:
    s = sid()
    ws.subject(s, birth=birthday(30))
    ws.flush()
    time.sleep(1.5)
    raw = send(ws, "protected", full_click(s))
    [out] = on_sink(ws, "protected", s)
    assert out.value == raw and header(out, "ward-age-band") == b"adult"
    prefix = f"{refs.ref(s)}|".encode()
    assert not [r for r in ws.records(keys_topic(ws)) if r.key.startswith(prefix)]


def test_an_operator_release_seals_the_childs_encrypted_fields(ws: Workspace) -> None:
    s = sid()
    ws.subject(s, birth=birthday(9))  # a child, and no consent: held
    ws.flush()
    time.sleep(1.0)
    raw = send(ws, "protected", full_click(s))
    codec = AvroCodec(record_schema("QuarantinedEvent"))
    [held] = ws.wait_for(ws.topics["quarantine"], lambda r: r.key == refs.ref(s).encode())
    qid = codec.decode(held.value, origin=Origin.unknown())["quarantine_id"]
    approval = ["--approved-by", "dpo@example.com", "--purpose", "ticket T-9"]
    done = ws.cli("quarantine", "release", "--id", qid, *approval, "--reason", "paper form")
    assert done.returncode == 0, done.stderr[-2000:]
    [out] = on_sink(ws, "protected", s)
    assert header(out, "ward-decision") == b"RELEASED_BY_OPERATOR" and out.value != raw
    for secret in (b"s-77", b"volcanoes", b"192.0.2.44"):
        assert secret not in out.value
    sink = decoded(ws, out)
    assert all(is_sealed(v) for v in (sink["session_id"], sink["search_query"]))
    assert sink["session_id"].startswith("wsenc1:") and is_sealed(sink["device"]["ip"])
    holder = ring(ws)
    assert open_field(holder, "search_query", sink["search_query"]) == "how do volcanoes work"
    assert open_field(holder, "device.ip", sink["device"]["ip"], subject_id=s) == "192.0.2.44"
    assert sink["page"] == full_click(s)["page"]
