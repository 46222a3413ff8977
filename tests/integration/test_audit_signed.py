"""Signed audit checkpoints on a real Kafka: what whoever can write the audit topic can no
longer do unseen (issue 20), and pseudonym key rotation between two worker runs.

A worker with a signing key decides children's events; the tests then forge, cut and
re-sign its audit topic (or copies of it) and run `wardstream audit verify
--public-keys` / `--anchor` through the real CLI.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from tests.integration.harness import TEST_KEY, TEST_MASTER_KEY, Workspace
from typer.testing import CliRunner, Result

from wardstream.audit.chain import ChainWriter
from wardstream.cli.main import app
from wardstream.crypto.signing import SigningKey
from wardstream.domain.audit import AuditRecord
from wardstream.kafka.admin import TopicSpec, ensure_topics
from wardstream.serde import AvroCodec, Origin, record_schema

pytestmark = pytest.mark.integration

CODEC = AvroCodec(record_schema("AuditRecord"))
SIGNING = "62c3adb552e4f25a33bcccde85c875e43360f306433590b2abe3b91de666b61e"  # fictional
NEW_HMAC = "4c462ba4c36a0fcde54b1f0b9e93b7ef75d9e9951717113da9ecbadbc14e1815"
APPROVAL = ["--approved-by", "dpo@example.com", "--purpose", "ticket T-20"]
PROJECT = Path(__file__).resolve().parents[2]


def decode(value: bytes) -> AuditRecord:
    return AuditRecord.from_dict(CODEC.decode(value, origin=Origin.unknown()))


def read_all(bootstrap: str, topic: str) -> list[Any]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        isolation_level="read_committed",
    )  # fmt: skip
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        out: list[Any] = []
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend(batch)
        return sorted(out, key=lambda m: (m.partition, m.offset))
    finally:
        consumer.close()


def publish(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    ensure_topics({"bootstrap_servers": bootstrap}, [TopicSpec(topic, 1)])
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def cli(ws: Workspace, *args: str, topic: str | None = None, **env: str) -> Result:
    base = {
        "WARDSTREAM__KAFKA__BOOTSTRAP_SERVERS": ws.bootstrap,
        "WARDSTREAM__TOPICS__AUDIT": topic or ws.topics["audit"],
        "WARDSTREAM__AUDIT__HMAC_KEY": TEST_KEY,
        "WARDSTREAM__LIFECYCLE__MASTER_KEY": TEST_MASTER_KEY,
        **ws.env,
        **env,
    }
    return CliRunner().invoke(app, [*args, "-c", str(ws.root / "wardstream.yaml")], env=base)


def verify(ws: Workspace, keys: Path, *extra: str, topic: str | None = None) -> tuple[int, Any]:
    """``audit verify --public-keys --json``; on a frozen copy (``topic``) nothing is pending:
    records past its last checkpoint are not reported for an hour."""
    grace = ["--max-unanchored", "3600"] if topic else []
    args = ["audit", "verify", "--public-keys", str(keys), "--json", *grace, *extra]
    result = cli(ws, *args, topic=topic)
    return result.exit_code, json.loads(result.stdout)


def kinds(data: Any) -> list[tuple[str, str, int]]:
    return [(f["kind"], f["chain"], f["seq"]) for f in data["findings"]]


def child_event(ws: Workspace, subject: str) -> None:
    record = {
        "event_id": uuid.uuid4().hex, "user_id": subject, "ts": datetime.now(UTC),
        "session_id": "s-1", "action": "SEARCH", "page": "/search", "referrer": None,
        "search_query": "maths", "duration_ms": 900, "experiment_group": "",
        "device": {"device_id": "d-1", "os": "android", "app_version": "5.1", "ip": None},
        "geo": None,
    }  # fmt: skip
    ws.event("clickstream", record, key=subject.encode())


def signed_up_to_date(ws: Workspace, quarantined: int = 1) -> dict[str, int]:
    """Wait until ``quarantined`` QUARANTINED records are written and every chain's last
    record is covered by a checkpoint; the chains' tails."""
    deadline = time.monotonic() + 60
    while True:
        records = [decode(m.value) for m in read_all(ws.bootstrap, ws.topics["audit"])]
        if sum(r.action == "QUARANTINED" for r in records) < quarantined:
            assert time.monotonic() < deadline, "the worker wrote too few QUARANTINED records"
            time.sleep(0.5)
            continue
        tails: dict[str, int] = {}
        signed: dict[str, int] = {}
        for r in records:
            if r.chain.startswith("_checkpoint/"):
                for chain, head in json.loads(r.attrs["heads"]).items():
                    signed[chain] = max(signed.get(chain, -1), head[0])
            else:
                tails[r.chain] = max(tails.get(r.chain, -1), r.seq)
        if tails and all(signed.get(c, -1) >= s for c, s in tails.items()):
            return tails
        assert time.monotonic() < deadline, f"no checkpoint covers {tails} ({signed})"
        time.sleep(0.5)


def workspace(tmp: Path, bootstrap: str, engine: str | None = None, every: str = "1") -> Workspace:
    ws = Workspace(
        tmp, bootstrap, f"sig{uuid.uuid4().hex[:8]}", PROJECT, engine=engine,
        state_lateness_s=0.3,
    )  # fmt: skip
    ws.env = {
        "WARDSTREAM__AUDIT__SIGNING_KEY": SIGNING,
        "WARDSTREAM__AUDIT__CHECKPOINT_INTERVAL_S": every,
    }
    return ws


@pytest.mark.parametrize("engine", ["faust", "fast"])
def test_a_clean_stop_signs_what_the_worker_wrote(
    kafka_bootstrap: str, tmp_path: Path, engine: str
) -> None:
    ws = workspace(tmp_path, kafka_bootstrap, engine, every="3600")  # no periodic checkpoint
    try:
        subjects = children(ws, 3)
        ws.start()
        for s in subjects:
            child_event(ws, s)
        ws.flush()
        deadline = time.monotonic() + 60
        while sum(decode(m.value).action == "QUARANTINED"
                  for m in read_all(ws.bootstrap, ws.topics["audit"])) < 3:  # fmt: skip
            assert time.monotonic() < deadline, ws.log_tail()
            time.sleep(0.5)
        keys = ws.root / "audit-keys.pub"
        keys.write_text(cli(ws, "audit", "public-key").stdout)
        code, data = verify(ws, keys, "--max-unanchored", "0")
        assert code == 3 and data["state"] == "unanchored"  # nothing signed yet
        ws.stop()
        code, data = verify(ws, keys, "--max-unanchored", "0")
        assert (code, data["state"], data["findings"]) == (0, "intact", []), data["findings"]
    finally:
        ws.close()


def children(ws: Workspace, n: int) -> list[str]:
    subjects = [f"u-child-{uuid.uuid4().hex[:10]}" for _ in range(n)]
    for s in subjects:  # children without consent: each event is QUARANTINED and audited
        ws.subject(s, birth=datetime.now(UTC).date() - timedelta(days=9 * 365))
    ws.flush()
    return subjects


@pytest.fixture(scope="module")
def signed(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    ws = workspace(tmp_path_factory.mktemp("signed"), kafka_bootstrap)
    ws.start()
    try:
        subject = children(ws, 1)[0]
        time.sleep(1)
        for _ in range(5):
            child_event(ws, subject)
        ws.flush()
        signed_up_to_date(ws, 5)
        out = cli(ws, "audit", "public-key")
        assert out.exit_code == 0, out.output
        keys = ws.root / "audit-keys.pub"
        keys.write_text(out.stdout)
        yield ws, keys, subject
    finally:
        ws.close()


def test_public_key_prints_the_public_half_only(signed: Any) -> None:
    ws, keys, _ = signed
    key = SigningKey.from_text(SIGNING)
    assert keys.read_text().strip() == key.public_line()
    assert SIGNING not in keys.read_text() and base64.b64encode(bytes.fromhex(SIGNING)).decode() \
        not in keys.read_text()  # fmt: skip


def test_copies_cut_resigned_or_checked_with_another_key_fail(signed: Any) -> None:
    ws, keys, _ = signed
    messages = [(m.key, m.value) for m in read_all(ws.bootstrap, ws.topics["audit"])]
    code, data = verify(ws, keys)
    assert (code, data["state"], data["findings"]) == (0, "intact", [])
    # the last 3 records of the event chain cut (the topic rewritten without them)
    chain = next(decode(v).chain for _, v in messages if decode(v).action == "QUARANTINED")
    seqs = sorted(decode(v).seq for _, v in messages if decode(v).chain == chain)
    top = seqs[-1]
    cut = [
        (k, v) for k, v in messages if not (decode(v).chain == chain and decode(v).seq > top - 3)
    ]
    topic = f"{ws.prefix}.cut"
    publish(ws.bootstrap, topic, cut)
    code, data = verify(ws, keys, topic=topic)
    assert code == 1 and data["state"] == "tampered"
    assert kinds(data) == [("TRUNCATED", chain, top - 2)]
    assert f"seqs {top - 2}..{top} were cut off" in data["findings"][0]["message"]
    # one flipped signature byte in the last checkpoint, re-hashed like a forger would
    cps = [(i, decode(v)) for i, (_, v) in enumerate(messages) if decode(v).action == "CHECKPOINT"]
    (i, last), before = cps[-1], cps[-2][1] if len(cps) > 1 else None
    sig = bytearray(base64.b64decode(last.attrs["sig"]))
    sig[10] ^= 0x01
    resealed = ChainWriter(last.chain, CODEC.encode, before).append(
        at=last.at, worker=last.worker, pipeline=last.pipeline, action=last.action,
        attrs={**last.attrs, "sig": base64.b64encode(bytes(sig)).decode()},
    )  # fmt: skip
    flipped = [
        *messages[:i],
        (messages[i][0], CODEC.encode(resealed.to_dict())),
        *messages[i + 1 :],
    ]
    topic = f"{ws.prefix}.flip"
    publish(ws.bootstrap, topic, flipped)
    code, data = verify(ws, keys, topic=topic)
    assert code == 1 and ("BAD_SIGNATURE", last.chain, last.seq) in kinds(data)
    # a key not in the public-keys file
    other = ws.root / "other.pub"
    other.write_text(SigningKey.generate().public_line() + "\n")
    code, data = verify(ws, other, "--max-unanchored", "0")
    assert code == 1 and {k for k, _, _ in kinds(data)} >= {"UNKNOWN_KEY", "UNANCHORED"}


def test_a_forged_record_is_unanchored_then_not_signed_after_the_next_checkpoint(
    signed: Any,
) -> None:
    ws, keys, subject = signed
    messages = read_all(ws.bootstrap, ws.topics["audit"])
    last = max(
        (decode(m.value) for m in messages if decode(m.value).action == "QUARANTINED"),
        key=lambda r: r.seq,
    )
    forged = ChainWriter(last.chain, CODEC.encode, last).write(
        at=datetime.now(UTC), worker=last.worker, pipeline=last.pipeline, action="PASSED",
        rule=last.rule, reason=last.reason, subject_ref=last.subject_ref,
    )  # fmt: skip
    producer = KafkaProducer(bootstrap_servers=ws.bootstrap, acks="all")
    meta = producer.send(ws.topics["audit"], key=last.chain.encode(), value=forged).get(30)
    producer.close()
    plain = cli(ws, "audit", "verify")
    assert plain.exit_code == 0 and "signatures not checked" in plain.output  # the old gap
    plain = cli(ws, "audit", "verify", "--json")
    assert json.loads(plain.stdout)["signatures"].startswith("not checked")
    code, data = verify(ws, keys, "--max-unanchored", "0")
    assert code == 3 and data["state"] == "unanchored"
    (found,) = data["findings"]
    assert (found["kind"], found["chain"], found["seq"]) == ("UNANCHORED", last.chain, last.seq + 1)
    assert (found["partition"], found["offset"]) == (meta.partition, meta.offset)
    # the worker goes on writing the chain (from its own tail) and signs its next record
    child_event(ws, subject)
    ws.flush()
    signed_up_to_date(ws, 6)
    code, data = verify(ws, keys)
    assert code == 1 and data["state"] == "tampered"
    not_signed = [f for f in data["findings"] if f["kind"] == "NOT_SIGNED"]
    assert [(f["seq"], f["offset"]) for f in not_signed] == [(last.seq + 1, meta.offset)]
    # the hash chains alone see a fork, but blame the worker's record (it came second);
    # only the signature says which of the two the worker wrote
    assert [(b["kind"], b["signed"]) for b in data["breaks"]] == [("INSERTED", True)]


@pytest.fixture(scope="module")
def rotated(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Two runs of a worker: the first under pseudonym key k1, the second under k2."""
    ws = workspace(tmp_path_factory.mktemp("rotated"), kafka_bootstrap)
    subject = children(ws, 1)[0]
    try:
        ws.start()
        child_event(ws, subject)
        ws.flush()
        signed_up_to_date(ws)
        ws.stop()
        ws.env |= {
            "WARDSTREAM__AUDIT__HMAC_KEY": NEW_HMAC,
            "WARDSTREAM__AUDIT__KEY_ID": "k2",
            "WARDSTREAM__AUDIT__EARLIER_HMAC_KEYS": f"k1 {TEST_KEY}",
        }
        ws.start()
        child_event(ws, subject)
        ws.flush()
        signed_up_to_date(ws, 2)
        ws.stop()
        keys = ws.root / "audit-keys.pub"
        keys.write_text(cli(ws, "audit", "public-key").stdout)
        yield ws, keys, subject
    finally:
        ws.close()


def test_a_rotation_between_runs_verifies_and_lookup_finds_both_keys(rotated: Any) -> None:
    ws, keys, subject = rotated
    code, data = verify(ws, keys)
    assert (code, data["state"], data["breaks"], data["findings"]) == (0, "intact", [], [])
    out = cli(ws, "audit", "lookup", "--subject", subject, "--records", "--json", *APPROVAL)
    assert out.exit_code == 0, out.output
    found = json.loads(out.stdout)
    assert list(found["refs"]) == ["k2", "k1"] and found["subject_ref"].startswith("k2:")
    quarantined = {r["key_id"] for r in found["records"] if r["action"] == "QUARANTINED"}
    assert quarantined == {"k1", "k2"}
    assert subject not in out.stdout
    code, data = verify(ws, keys)  # the lookup's ACCESS record is signed by the CLI
    assert (code, data["findings"]) == (0, [])
    report = cli(ws, "audit", "report", "--public-keys", str(keys), "--out", str(ws.root / "r"))
    assert report.exit_code == 0, report.output
    anchoring = json.loads((ws.root / "r" / "report.json").read_text())["anchoring"]
    assert anchoring["state"] == "intact" and anchoring["unanchored"] == 0
    assert list(anchoring["pseudonym_keys"]) == ["k1", "k2"]
    assert len(anchoring["last_checkpoints"]) == 2  # the worker's and the operators'
    assert 'id="anchor-state" class="ok">intact' in (ws.root / "r" / "report.html").read_text()


def test_an_anchor_catches_a_rewritten_topic_and_names_retention_as_retention(
    rotated: Any,
) -> None:
    from kafka import KafkaAdminClient

    ws, keys, _ = rotated
    anchor = ws.root / "anchor.json"
    made = cli(ws, "audit", "anchor", "--public-keys", str(keys), "--out", str(anchor))
    assert made.exit_code == 0, made.output
    data = json.loads(anchor.read_text())
    assert data["heads"] and all(c.startswith("_checkpoint/") for c in data["checkpoints"])
    assert len(anchor.read_text()) < 4000
    code, out = verify(ws, keys, "--anchor", str(anchor))
    assert (code, out["findings"]) == (0, [])
    # the topic rewritten without its newest records: signatures and chains agree, the anchor not
    messages = [(m.key, m.value) for m in read_all(ws.bootstrap, ws.topics["audit"])]
    chain, head = next(iter(data["heads"].items()))
    kept = [
        (k, v)
        for k, v in messages
        if not (decode(v).chain == chain and decode(v).seq >= head["seq"])
    ]
    topic = f"{ws.prefix}.rewritten"
    publish(ws.bootstrap, topic, kept)
    copy = ws.root / "anchor-copy.json"
    copy.write_text(json.dumps({**data, "topic": topic}))
    result = cli(ws, "audit", "verify", "--anchor", str(copy), "--json", topic=topic)
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)["findings"]
    assert ("TRUNCATED", chain, head["seq"]) in [(f["kind"], f["chain"], f["seq"]) for f in found]
    # retention removes everything the anchor covers: reported as retention, not tampering
    admin = KafkaAdminClient(bootstrap_servers=ws.bootstrap)
    try:
        ends = read_ends(ws.bootstrap, ws.topics["audit"])
        admin.delete_records(ends)  # what retention does: the log start moves
    finally:
        admin.close()
    result = cli(ws, "audit", "verify", "--anchor", str(anchor), "--allow-trimmed", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)["findings"]
    assert found and {f["kind"] for f in found} == {"RETAINED"}
    assert all(not f["tampered"] for f in found)


def read_ends(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return dict(consumer.end_offsets(tps))
    finally:
        consumer.close()
