"""`wardstream audit` and `wardstream quarantine` on a real Kafka (R15, R16, R17).

One worker decides a known set of events; the tests then report on, verify,
look up and release from its audit and quarantine topics through the real CLI,
and check tampered copies of audit logs written with ``ChainWriter``.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from tests.integration.harness import TEST_KEY, TEST_MASTER_KEY, Workspace, header
from typer.testing import CliRunner, Result

from wardstream.audit.chain import ChainWriter
from wardstream.audit.pseudonym import SubjectPseudonymizer, parse_key
from wardstream.cli.main import app
from wardstream.domain.audit import AuditRecord
from wardstream.kafka.admin import TopicSpec, ensure_topics
from wardstream.serde import AvroCodec, Origin, record_schema

pytestmark = pytest.mark.integration

CODEC = AvroCodec(record_schema("AuditRecord"))
REFS = SubjectPseudonymizer(parse_key(TEST_KEY), "k1")
ALL = ["identifier", "behaviour", "device", "location", "content", "technical"]
NOW = datetime.now(UTC)
APPROVAL = ["--approved-by", "dpo@example.com", "--purpose", "ticket T-381"]
Message = tuple[bytes | None, bytes]  # key, value of one audit record


# -- running the CLI and reading topics ----------------------------------------------------


def cli(
    bootstrap: str, audit_topic: str, *args: str, config: Path | None = None, input_: str = ""
) -> Result:
    env = {
        "WARDSTREAM__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "WARDSTREAM__TOPICS__AUDIT": audit_topic,
        "WARDSTREAM__AUDIT__HMAC_KEY": TEST_KEY,
        "WARDSTREAM__LIFECYCLE__MASTER_KEY": TEST_MASTER_KEY,
    }
    extra = ["-c", str(config)] if config else []
    return CliRunner().invoke(app, [*args, *extra], env=env, input=input_)


def read_all(bootstrap: str, topic: str) -> list[Any]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
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


def decode(value: bytes) -> AuditRecord:
    return AuditRecord.from_dict(CODEC.decode(value, origin=Origin.unknown()))


def publish(bootstrap: str, topic: str, messages: list[Message]) -> None:
    ensure_topics({"bootstrap_servers": bootstrap}, [TopicSpec(topic, 1)])
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def breaks(result: Result) -> list[tuple[str, int, int]]:
    data = json.loads(result.stdout)
    return [(b["kind"], b["partition"], b["offset"]) for b in data["breaks"]]


# -- a run of the worker whose inputs the test knows ----------------------------------------


@dataclass
class Run:
    ws: Workspace
    people: dict[str, dict[str, str]]  # subject id -> name, phone, birth date
    poison_key: bytes

    @property
    def audit(self) -> str:
        return self.ws.topics["audit"]

    def cli(self, *args: str, input_: str = "") -> Result:
        config = self.ws.root / "wardstream.yaml"
        return cli(self.ws.bootstrap, self.audit, *args, config=config, input_=input_)


EXPECTED = {
    "PASSED": 2,
    "TAGGED": 1,
    "REDACTED": 1,
    "QUARANTINED": 2,
    "DROPPED": 1,
    "DEADLETTERED": 1,
}


def _birthday(years: int) -> date:
    today = NOW.date()
    return today.replace(year=today.year - years, day=min(today.day, 28)) - timedelta(days=3)


def _click(ws: Workspace, subject: str, person: dict[str, str], *, geo: bool = False) -> None:
    record = {
        "event_id": uuid.uuid4().hex,
        "user_id": subject,
        "ts": datetime.now(UTC),
        "session_id": "s-1",
        "action": "SEARCH",
        "page": "/search",
        "referrer": f"https://example.com/profile?phone={person['phone']}",
        "search_query": f"{person['name']} {person['phone']} {person['birth']}",
        "duration_ms": 900,
        "experiment_group": "",
        "device": {"device_id": "d-1", "os": "android", "app_version": "5.1", "ip": None},
        "geo": {"lat": 31.2, "lon": 121.5, "city": None, "country": "CN"} if geo else None,
    }
    ws.event("clickstream", record, key=subject.encode())


def _drive(ws: Workspace) -> Run:
    names = ["Zhang Xiaoming", "Li Meimei", "Wang Fang", "Chen Jie", "Liu Yang", "Zhao Lei"]
    kinds = ["adult", "adult", "tagged", "redacted", "no_consent", "deregistered", "no_profile"]
    people: dict[str, dict[str, str]] = {}
    for i, kind in enumerate(kinds):
        s = f"u-{kind}-{uuid.uuid4().hex[:10]}"
        birth = _birthday(35 if kind == "adult" else 9)
        people[s] = {"kind": kind, "name": names[i % 6], "phone": f"1380013{8000 + i}",
                     "birth": birth.isoformat()}  # fmt: skip
        if kind == "no_profile":
            continue
        gone = NOW - timedelta(days=1) if kind == "deregistered" else None
        ws.subject(s, birth=birth, deregistered_at=gone)
        if kind in ("tagged", "redacted", "deregistered"):
            cats = [c for c in ALL if c != "location"] if kind == "redacted" else ALL
            ws.consent(s, f"consent-{uuid.uuid4().hex[:12]}", categories=cats)
    ws.flush()
    time.sleep(1.5)
    for s, person in people.items():
        _click(ws, s, person, geo=person["kind"] == "redacted")
    poison = f"poison-{uuid.uuid4().hex[:6]}".encode()
    ws.event("clickstream", raw=b"\x00\xffnot avro", key=poison)
    ws.flush()
    return Run(ws, people, poison)


def _decisions(records: list[AuditRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        for action, n in r.counts.items() if r.action == "SUMMARY" else [(str(r.action), 1)]:
            counts[action] = counts.get(action, 0) + n
    return {a: n for a, n in counts.items() if a in EXPECTED}


@pytest.fixture(scope="module")
def run(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    project = Path(__file__).resolve().parents[2]
    ws = Workspace(
        tmp_path_factory.mktemp("auditcli"), kafka_bootstrap, f"acl{uuid.uuid4().hex[:8]}",
        project, state_lateness_s=0.5, max_hold_s=8.0,
    )  # fmt: skip
    ws.start()
    try:
        result = _drive(ws)
        deadline = time.monotonic() + 45
        seen: dict[str, int] = {}
        while time.monotonic() < deadline and seen != EXPECTED:
            time.sleep(0.5)
            seen = _decisions([decode(m.value) for m in read_all(kafka_bootstrap, result.audit)])
        assert seen == EXPECTED, f"the worker decided {seen}:\n{ws.log_tail()}"
        yield result
    finally:
        ws.close()


# -- R17: report totals equal the decisions made; the untampered log verifies ---------------


def test_report_totals_equal_the_decisions_of_the_run(run: Run, tmp_path: Path) -> None:
    result = run.cli("audit", "report", "--out", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decisions"] == sum(EXPECTED.values())
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["decisions"] == sum(EXPECTED.values()) == 8
    assert {a: report["by_action"].get(a) for a in EXPECTED} == EXPECTED
    assert (
        report["by_reason"]["NO_GUARDIAN_CONSENT"] == 1 and report["by_reason"]["AGE_UNKNOWN"] == 1
    )
    assert report["by_pipeline"] == {"clickstream": 8}
    assert report["quarantine"]["open"] == 2
    assert report["verification"]["ok"] is True and report["verification"]["breaks"] == []
    csv_rows = (tmp_path / "report.csv").read_text().splitlines()
    assert "totals,decisions,,8" in csv_rows and "verification,status,,intact" in csv_rows
    html = (tmp_path / "report.html").read_text()
    assert '<dd id="total-decisions">8</dd>' in html and 'id="verify-status" class="ok"' in html


def test_the_untampered_log_verifies_and_exits_0(run: Run) -> None:
    result = run.cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "no breaks" in result.stderr and result.stdout == ""


# -- R15: staff access to the quarantine is approved and audited -----------------------------


def _access_records(run: Run, operation: str) -> list[AuditRecord]:
    records = [decode(m.value) for m in read_all(run.ws.bootstrap, run.audit)]
    return [r for r in records if r.attrs.get("operation") == operation]


def test_quarantine_list_without_approver_is_refused_and_audited(run: Run) -> None:
    result = run.cli("quarantine", "list", "--purpose", "curiosity")
    assert result.exit_code == 2
    assert "refused" in result.stderr and "--approved-by" in result.stderr
    assert result.stdout == "", "nothing is listed"
    [refusal] = [r for r in _access_records(run, "quarantine list") if r.reason == "REFUSED"]
    assert refusal.action == "ACCESS" and refusal.chain == "_operator/0"
    assert refusal.attrs["missing"] == "--approved-by" and refusal.worker.startswith("cli:")


def test_quarantine_list_shows_refs_never_ids_and_is_audited(run: Run) -> None:
    result = run.cli("quarantine", "list", *APPROVAL, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    held = {s for s, p in run.people.items() if p["kind"] in ("no_consent", "no_profile")}
    assert {r["subject_ref"] for r in rows} == {REFS.ref(s) for s in held}
    assert {r["reason"] for r in rows} == {"NO_GUARDIAN_CONSENT", "AGE_UNKNOWN"}
    assert all(
        set(r) >= {"quarantine_id", "pipeline", "age_hours", "expires_in_hours"} for r in rows
    )
    assert not any("value" in r or "key" in r for r in rows), "no payloads"
    table = run.cli("quarantine", "list", *APPROVAL)
    for text in (result.output, table.output):
        assert not any(s in text for s in run.people), "no raw subject id is shown"
    [access, _] = [r for r in _access_records(run, "quarantine list") if r.reason != "REFUSED"]
    assert access.attrs["approved_by"] == "dpo@example.com"
    assert access.attrs["purpose"] == "ticket T-381" and access.attrs["entries_shown"] == "2"


def test_release_is_an_audited_override_that_needs_a_reason(run: Run) -> None:
    rows = json.loads(run.cli("quarantine", "list", *APPROVAL, "--json").stdout)
    row = next(r for r in rows if r["reason"] == "NO_GUARDIAN_CONSENT")
    subject = next(s for s, p in run.people.items() if p["kind"] == "no_consent")
    refused = run.cli("quarantine", "release", "--id", row["quarantine_id"], *APPROVAL)
    assert refused.exit_code == 2 and "--reason" in refused.stderr
    named = run.cli("quarantine", "release", "--id", row["quarantine_id"], *APPROVAL,
                    "--reason", f"guardian of {subject.upper()} called")  # fmt: skip
    assert named.exit_code == 2 and "--reason" in named.stderr and subject not in named.stderr
    [refusal] = [r for r in _access_records(run, "quarantine release")
                 if r.reason == "REFUSED_TEXT_NAMES_SUBJECT"]  # fmt: skip
    assert refusal.subject_ref == REFS.ref(subject) and subject not in str(refusal).lower()
    result = run.cli(
        "quarantine", "release", "--id", row["quarantine_id"], *APPROVAL,
        "--reason", "paper consent form verified", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        subject not in result.output and json.loads(result.stdout)["event_ref"] == row["event_ref"]
    )
    out = run.ws.wait_for(run.ws.sink("clickstream"), lambda r: r.key == subject.encode())
    assert len(out) == 1 and header(out[0], "ward-decision") == b"RELEASED_BY_OPERATOR"
    [released] = [r for r in _access_records(run, "quarantine release") if r.action == "RELEASED"]
    assert released.subject_ref == REFS.ref(subject) and released.event_ref == row["event_ref"]
    assert released.attrs["approved_by"] == "dpo@example.com"
    assert released.attrs["release_reason"] == "paper consent form verified"
    after = json.loads(run.cli("quarantine", "list", *APPROVAL, "--json").stdout)
    assert row["quarantine_id"] not in {r["quarantine_id"] for r in after}
    again = run.cli("quarantine", "release", "--id", row["quarantine_id"], *APPROVAL,
                    "--reason", "twice")  # fmt: skip
    assert again.exit_code == 1 and "no open quarantine entry" in again.stderr


# -- R16: lookup for an authorised user; no personal data anywhere in the trail --------------


def test_lookup_prints_the_ref_and_continues_the_control_chain(run: Run) -> None:
    subject = next(s for s, p in run.people.items() if p["kind"] == "tagged")
    before = [r for r in _all(run) if r.chain == "_operator/0"]
    result = run.cli("audit", "lookup", "--subject", "-", *APPROVAL, "--json", input_=subject)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["subject_ref"] == REFS.ref(subject)
    assert (data["chain"], data["seq"]) == ("_operator/0", len(before))
    [access] = [r for r in _all(run) if r.audit_id == data["audit_id"]]
    assert access.action == "ACCESS" and access.subject_ref == REFS.ref(subject)
    assert access.prev_hash == before[-1].hash
    assert run.cli("audit", "lookup", "--subject", subject).exit_code == 2


def _all(run: Run) -> list[AuditRecord]:
    return [decode(m.value) for m in read_all(run.ws.bootstrap, run.audit)]


def _forms(person: dict[str, str], subject: str) -> list[str]:
    birth = date.fromisoformat(person["birth"])
    return [
        subject, person["name"], person["phone"], person["birth"],
        birth.strftime("%Y%m%d"), birth.strftime("%Y/%m/%d"), birth.strftime("%d.%m.%Y"),
    ]  # fmt: skip


def test_no_raw_id_name_phone_or_birth_date_in_the_audit_trail_or_report(
    run: Run, tmp_path: Path
) -> None:
    assert run.cli("audit", "report", "--out", str(tmp_path)).exit_code == 0
    messages = read_all(run.ws.bootstrap, run.audit)
    assert len(messages) >= 9
    blobs = [(m.key or b"") + b"|" + m.value for m in messages]
    blobs += [p.read_bytes() for p in sorted(tmp_path.iterdir())]
    needles = [f for s, p in run.people.items() for f in _forms(p, s)]
    found = [n for n in needles if any(n.encode() in blob for blob in blobs)]
    assert found == [], f"personal data in the audit trail or report: {found}"
    assert all(
        r.subject_ref is None or r.subject_ref.startswith("k1:")
        for r in map(decode, [m.value for m in messages])
    )


def test_the_log_with_every_operator_record_still_verifies(run: Run) -> None:
    result = run.cli("audit", "verify", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    control = next(c for c in data["chains"] if c["chain"] == "_operator/0")
    assert control["records"] >= 6 and control["last_seq"] == control["records"] - 1


# -- R17: every tampering is named by topic, partition and offset ----------------------------

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
CHAINS = ("clickstream/0", "clickstream/1", "_operator/0")


def chain_log(n: int = 40, seed: int = 11) -> list[AuditRecord]:
    """``n`` records spread over three chains, in topic order."""
    rng = random.Random(seed)
    writers = {c: ChainWriter(c, CODEC.encode) for c in CHAINS}
    return [
        writers[c].append(
            at=T0 + timedelta(minutes=i), worker="worker-1", pipeline=c.split("/")[0],
            action=rng.choice(["QUARANTINED", "REDACTED", "DROPPED"]),
            rule="CN-CPI-2019/art9", reason="NO_GUARDIAN_CONSENT",
            subject_ref=f"k1:{i:064x}", event_ref=f"app.clickstream/0/{i}",
        )
        for i, c in ((i, rng.choice(CHAINS)) for i in range(n))
    ]  # fmt: skip


def encoded(records: list[AuditRecord]) -> list[Message]:
    return [(r.chain.encode(), CODEC.encode(r.to_dict())) for r in records]


def offsets(records: list[AuditRecord], chain: str) -> list[int]:
    return [i for i, r in enumerate(records) if r.chain == chain]


def _alter(log: list[AuditRecord]) -> tuple[list[Message], list[tuple[str, int]]]:
    at = offsets(log, "clickstream/1")[3]
    datum = {**log[at].to_dict(), "reason": "ADULT"}  # contents changed, hash kept
    messages = encoded(log)
    messages[at] = (messages[at][0], CODEC.encode(datum))
    return messages, [("ALTERED", at)]


def _delete(log: list[AuditRecord]) -> tuple[list[Message], list[tuple[str, int]]]:
    mine = offsets(log, "_operator/0")
    gone, after = mine[2], mine[3]
    return encoded(log[:gone] + log[gone + 1 :]), [("MISSING", after - 1)]


def _insert(log: list[AuditRecord]) -> tuple[list[Message], list[tuple[str, int]]]:
    parent = log[offsets(log, "clickstream/0")[4]]
    forger = ChainWriter(parent.chain, CODEC.encode, last=parent)
    forged = forger.append(at=parent.at, worker="intruder", pipeline="clickstream", action="PASSED")
    at = offsets(log, "clickstream/0")[4] + 1
    return encoded(log[:at] + [forged] + log[at:]), [("INSERTED", at)]


def _reorder(log: list[AuditRecord]) -> tuple[list[Message], list[tuple[str, int]]]:
    mine = offsets(log, "clickstream/1")
    moved = log[mine[2]]
    rest = log[: mine[2]] + log[mine[2] + 1 :]
    dst = mine[7]  # after removal, the old index of its 8th chain-mate is one past the 7th
    return encoded(rest[:dst] + [moved] + rest[dst:]), [("REORDERED", dst)]


def _garble(log: list[AuditRecord]) -> tuple[list[Message], list[tuple[str, int]]]:
    mine = offsets(log, "clickstream/0")
    messages = encoded(log)
    messages[mine[1]] = (messages[mine[1]][0], b"\x07garbage that is not an audit record")
    return messages, [("ALTERED", mine[1]), ("MISSING", mine[2])]


TAMPERINGS: dict[str, Callable[[list[AuditRecord]], tuple[list[Message], list[tuple[str, int]]]]]
TAMPERINGS = {
    "alter": _alter,
    "delete": _delete,
    "insert": _insert,
    "reorder": _reorder,
    "garble": _garble,
}


@pytest.mark.parametrize("kind", TAMPERINGS)
def test_verify_names_the_exact_tampered_record(
    kind: str, kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    log = chain_log()
    messages, expected = TAMPERINGS[kind](log)
    topic = unique_topic(kind)
    publish(kafka_bootstrap, topic, messages)
    result = cli(kafka_bootstrap, topic, "audit", "verify", "--json")
    assert result.exit_code == 1, result.output
    assert breaks(result) == [(k, 0, offset) for k, offset in expected]
    text = cli(kafka_bootstrap, topic, "audit", "verify")
    assert text.exit_code == 1 and "BROKEN" in text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == len(expected)
    for line, (kind_name, offset) in zip(lines, expected, strict=True):
        assert line.startswith(f"{kind_name} topic={topic} partition=0 offset={offset} chain=")
        assert " seq=" in line


def test_an_altered_copy_of_the_workers_own_log_is_named(
    run: Run, unique_topic: Callable[[str], str]
) -> None:
    messages = [(m.key, m.value) for m in read_all(run.ws.bootstrap, run.audit)]
    at = next(i for i, (_, v) in enumerate(messages) if decode(v).action == "QUARANTINED")
    datum = {**decode(messages[at][1]).to_dict(), "action": "PASSED"}
    messages[at] = (messages[at][0], CODEC.encode(datum))
    topic = unique_topic("copy")
    publish(run.ws.bootstrap, topic, messages)
    result = cli(run.ws.bootstrap, topic, "audit", "verify", "--json")
    assert result.exit_code == 1 and breaks(result) == [("ALTERED", 0, at)]


def test_an_untampered_copy_verifies_and_time_bounds_trust_the_first_record(
    kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    topic = unique_topic("clean")
    publish(kafka_bootstrap, topic, encoded(chain_log()))
    assert cli(kafka_bootstrap, topic, "audit", "verify").exit_code == 0
    mid = (T0 + timedelta(minutes=20)).isoformat()
    result = cli(kafka_bootstrap, topic, "audit", "verify", "--from", mid, "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["checked"] == 20 and data["skipped"] == 20
    assert len(data["notes"]) == 3
