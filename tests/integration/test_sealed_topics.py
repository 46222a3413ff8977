"""Sealed dead letters read by an approved, audited command, and the master key rotated,
on a real Kafka (issue #23, 3 and 4)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.integration.harness import TEST_KEY, TEST_MASTER_KEY, Workspace
from tests.integration.test_enforcer import (
    ALL,
    audit_codec,
    audits,
    birthday,
    click,
    dead_letter_codec,
    on_sink,
    quarantine_codec,
    sid,
)

from wardstream.audit.pseudonym import SubjectPseudonymizer, parse_key
from wardstream.config.settings import AuditSettings
from wardstream.crypto import KeyUnavailable, MasterKey
from wardstream.enforce.datakeys import KeyRing
from wardstream.enforce.keystore import KeyStore
from wardstream.kafka.audit_log import scan_topic
from wardstream.serde import Origin

pytestmark = pytest.mark.integration

APPROVAL = ("--approved-by", "dpo@example.com", "--purpose", "ticket T-23")
NEW_MASTER_KEY = "5e0b7c2d9a4f61e83b2c7d0e9f1a6b4c8d3e2f7a0b5c9d1e6f3a8b2c4d7e0f19"
REFS = SubjectPseudonymizer(parse_key(TEST_KEY), AuditSettings().key_id)


@pytest.fixture
def ws(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Workspace]:
    project = Path(__file__).resolve().parents[2]
    workspace = Workspace(
        tmp_path, kafka_bootstrap, f"sea{uuid.uuid4().hex[:8]}", project, max_hold_s=8.0
    )
    try:
        workspace.start()
        yield workspace
    finally:
        workspace.close()


def _access(ws: Workspace, operation: str) -> list[dict[str, Any]]:
    def wanted(r: Any) -> bool:
        a = audit_codec.decode(r.value, origin=Origin("a", 0, 0))
        return a["action"] == "ACCESS" and (a.get("attrs") or {}).get("operation") == operation

    found = ws.wait_for(ws.topics["audit"], wanted, count=2, timeout=10)
    return [audit_codec.decode(r.value, origin=Origin("a", 0, 0)) for r in found]


def test_dead_letters_are_sealed_and_read_only_approved_and_audited(ws: Workspace) -> None:
    s = sid()
    poison = b"\x00\xffnot avro " + s.encode()
    ws.event("clickstream", raw=poison, key=s.encode())
    ws.flush()
    [letter] = ws.wait_for(ws.topics["deadletter"], lambda r: True, timeout=30)
    assert letter.key is None and s.encode() not in letter.value and poison not in letter.value
    datum = dead_letter_codec.decode(letter.value, origin=Origin("d", 0, 0))
    origin = f"{datum['origin_topic']}/{datum['origin_partition']}/{datum['origin_offset']}"

    refused = ws.cli("deadletter", "show", "--origin", origin)
    assert refused.returncode == 2 and "--approved-by" in refused.stderr
    listed = ws.cli("deadletter", "list", *APPROVAL, "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert row["origin"] == origin and row["sealed"] and s not in listed.stdout
    shown = ws.cli("deadletter", "show", "--origin", origin, *APPROVAL)
    assert shown.returncode == 0, shown.stderr
    opened = json.loads(shown.stdout)
    assert base64.b64decode(opened["value"]) == poison
    assert base64.b64decode(opened["key"]) == s.encode()
    refusal, access = _access(ws, "deadletter show")  # the refusal is audited too
    assert refusal["reason"] == "REFUSED" and access["reason"] == "APPROVED_ACCESS"
    assert access["attrs"]["origin"] == origin and access["attrs"]["purpose"] == "ticket T-23"
    assert s not in json.dumps(access, default=str)
    assert _access(ws, "deadletter list")


def test_a_rotated_master_key_opens_every_payload_and_the_retired_one_none(
    ws: Workspace,
) -> None:
    s = sid()
    ws.subject(s, birth=birthday(9))
    ws.flush()
    value = ws.codec("clickstream").encode(click(s))
    ws.event("clickstream", raw=value, key=s.encode())
    ws.flush()
    assert audits(ws, s)[0]["action"] == "QUARANTINED"
    [held] = ws.wait_for(ws.topics["quarantine"], lambda r: r.key == REFS.ref(s).encode())
    key_id = quarantine_codec.decode(held.value, origin=Origin("q", 0, 0))["encryption"]["key_id"]
    ws.stop()
    ws.env.update(
        WARDSTREAM__LIFECYCLE__MASTER_KEY=NEW_MASTER_KEY,
        WARDSTREAM__LIFECYCLE__RETIRED_MASTER_KEY=TEST_MASTER_KEY,
    )
    rotated = ws.cli("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert "no key is left under the retired key" in rotated.stdout + rotated.stderr
    del ws.env["WARDSTREAM__LIFECYCLE__RETIRED_MASTER_KEY"]  # the old key retired
    store = KeyStore(refs=REFS.ref)
    for r in scan_topic({"bootstrap_servers": ws.bootstrap}, _keys_topic(ws), "keys"):
        store.apply(r.key, r.value)
    old = KeyRing(MasterKey(parse_key(TEST_MASTER_KEY)), "keys", store, refs=REFS.ref)
    with pytest.raises(KeyUnavailable):
        old.data_key_by_id(key_id)
    new = KeyRing(MasterKey(parse_key(NEW_MASTER_KEY)), "keys", store, refs=REFS.ref)
    assert len(new.data_key_by_id(key_id)) == 32
    ws.start()  # with the new key only: the held event still opens and is released
    ws.consent(s, f"c-{s}", categories=ALL, effective_at=datetime.now(UTC))
    ws.flush()
    [out] = on_sink(ws, "clickstream", s, timeout=30)
    assert out.value == value


def _keys_topic(ws: Workspace) -> str:
    return ws.topics["subjects"].rpartition(".")[0] + ".keys"
