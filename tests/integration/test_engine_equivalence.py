"""The Faust engine and the fast engine: the same inputs give the same outputs.

Three workers run side by side on topics of their own — Faust (at_least_once),
fast at_least_once and fast exactly_once — and receive byte-identical inputs
at the same moments: every decision of REQUIREMENTS.md's stream scenarios,
the withdrawal race, a release from quarantine, a poison record. Their sinks,
quarantine, dead letters and audit decisions must match, ids, timestamps and
hashes aside. Then the fast engine is killed mid-stream under exactly_once and
restarted: the sink (read_committed) holds every event exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from tests.integration.harness import KEYS, Workspace
from tests.integration.test_enforcer import ALL, birthday, click, refs

from wardstream.audit.linkage import Position
from wardstream.audit.verify import verify_all
from wardstream.domain.audit import AuditRecord
from wardstream.serde import AvroCodec, Origin, record_schema

pytestmark = pytest.mark.integration

AUDIT = AvroCodec(record_schema("AuditRecord"))
QUARANTINE = AvroCodec(record_schema("QuarantinedEvent"))
DEAD = AvroCodec(record_schema("DeadLetter"))
DELETION = AvroCodec(record_schema("DeletionRequest"))
ENGINES = {
    "faust": ("faust", {}),
    "fast": ("fast", {}),
    "fast-eos": ("fast", {"processing_guarantee": "exactly_once"}),
}


class EngineWorkspace(Workspace):
    """A Workspace whose worker runs ``--engine <engine>``."""

    def __init__(self, *args: Any, engine: str, **worker: Any) -> None:
        super().__init__(*args, engine=engine, **worker)
        self.engine: str = engine

    def launch(self) -> None:
        env = {**os.environ, **KEYS, **self.env}
        log = (self.root / "worker.log").open("ab")
        cmd = [sys.executable, "-m", "wardstream", "worker", "--engine", self.engine]
        self.proc = subprocess.Popen(  # noqa: S603
            [*cmd, "-c", str(self.root / "wardstream.yaml")],
            cwd=self.root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start(self, timeout: float = 90) -> None:
        self.launch()
        deadline = time.monotonic() + timeout
        while not self.healthy():
            assert self.proc is not None and self.proc.poll() is None, self.log_tail()
            assert time.monotonic() < deadline, f"not healthy in {timeout}s:\n{self.log_tail()}"
            time.sleep(0.3)

    def read(self, topic: str) -> list[Any]:
        """Every committed record of a topic (read_committed), in partition order."""
        return read_committed(self.bootstrap, self.topics.get(topic, topic))


def read_committed(bootstrap: str, topic: str) -> list[Any]:
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "unused",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        out, done = [], set()
        while len(done) < len(parts):
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                done.add(m.partition())
            else:
                out.append(m)
        return out
    finally:
        c.close()


@pytest.fixture(scope="module")
def trio(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, EngineWorkspace]]:
    project = Path(__file__).resolve().parents[2]
    run = uuid.uuid4().hex[:6]
    spaces = {
        name: EngineWorkspace(
            tmp_path_factory.mktemp(name),
            kafka_bootstrap,
            f"eq{run}{name.replace('-', '')}",
            project,
            engine=engine,
            state_lateness_s=1.0,
            max_hold_s=8.0,
            **extra,
        )
        for name, (engine, extra) in ENGINES.items()
    }
    try:
        with ThreadPoolExecutor(len(spaces)) as pool:
            list(pool.map(lambda ws: ws.start(), spaces.values()))
        yield spaces
    finally:
        for ws in spaces.values():
            ws.close()


# -- the inputs, built once and sent to every workspace ------------------------------
class Inputs:
    def __init__(self, spaces: dict[str, EngineWorkspace]) -> None:
        self.spaces = list(spaces.values())
        self.run = uuid.uuid4().hex[:6]

    def sid(self, name: str) -> str:
        return f"eq-{self.run}-{name}"

    def each(self, method: str, *args: Any, **kw: Any) -> None:
        for ws in self.spaces:
            getattr(ws, method)(*args, **kw)

    def event(self, pipeline: str, record: dict[str, Any], key: bytes | None = None) -> None:
        raw = self.spaces[0].codec(pipeline).encode(record)
        self.each("event", pipeline, raw=raw, key=key)

    def flush(self) -> None:
        self.each("flush")


def state(i: Inputs, now: datetime) -> None:
    adult, old = birthday(30), datetime(2020, 1, 1, tzinfo=UTC)
    for name, kw in {
        "adult": {"birth": adult},
        "eve14": {"birth": birthday(14, days=-1)},
        "day14": {"birth": birthday(14)},
        "nocons": {"birth": birthday(10)},
        "purpose": {"birth": birthday(9)},
        "oldver": {"birth": birthday(9)},
        "redact": {"birth": birthday(9)},
        "dereg": {"birth": birthday(9), "deregistered_at": now - timedelta(days=1)},
        "ads": {"birth": birthday(16)},
        "locadult": {"birth": adult, "jurisdiction": "US"},
        "chat": {"birth": birthday(11)},
        "chatnc": {"birth": birthday(11)},
        "gbchild": {"birth": birthday(12), "jurisdiction": "GB"},
        "forged": {"birth": birthday(9)},
        "race": {"birth": birthday(9)},
        "late": {"birth": birthday(8)},
    }.items():
        i.each("subject", i.sid(name), updated_at=old, **kw)
    consents: dict[str, dict[str, Any]] = {
        "eve14": {"categories": ALL},
        "day14": {"categories": ALL, "by": "SUBJECT"},
        "purpose": {"purposes": ["learning"], "categories": ALL},
        "oldver": {"categories": ALL, "version": 2},
        "redact": {"categories": ["identifier", "behaviour", "device", "technical"]},
        "dereg": {"categories": ALL},
        "ads": {"purposes": ["targeted_ads"], "categories": ALL, "recipients": ["ads.example.com"]},
        "chat": {"purposes": ["learning"], "categories": [*ALL, "demographic"]},
        "chatnc": {"purposes": ["learning"], "categories": ["identifier", "technical"]},
        "race": {"categories": ALL},
    }
    for name, kw in consents.items():
        by = kw.pop("by", "SUBJECT" if name == "ads" else "GUARDIAN")
        i.each("consent", i.sid(name), f"c-{i.sid(name)}", by=by, **kw)
    i.flush()


def events(i: Inputs, now: datetime) -> None:
    for name in ("adult", "eve14", "day14", "nocons", "purpose", "oldver", "dereg", "late"):
        i.event("clickstream", click(i.sid(name), when=now), key=i.sid(name).encode())
    for n in range(5):  # adults' passes are counted in SUMMARY records
        i.event("clickstream", click(i.sid("adult"), geo=n % 2 == 0, when=now), key=b"adult")
    i.event("clickstream", click(i.sid("unknown"), when=now), key=i.sid("unknown").encode())
    i.event("clickstream", click(i.sid("redact"), geo=True, when=now), key=i.sid("redact").encode())
    i.each("event", "clickstream", raw=b"\x00\xffnot avro", key=f"poison-{i.run}".encode())
    for name in ("ads", "locadult"):
        ping = {"ping_id": "p", "user_id": i.sid(name), "ts": now, "device_id": "d"}
        i.event("location_ping", {**ping, "lat": 1.0, "lon": 2.0}, key=i.sid(name).encode())
    for name in ("chat", "chatnc"):
        i.event("chat_message", chat(i.sid(name), now), key=i.sid(name).encode())
    for name in ("adult", "gbchild"):
        i.event("purchase", purchase(i.sid(name), now), key=i.sid(name).encode())
    forged = i.spaces[0].codec("clickstream").encode(click(i.sid("forged"), when=now))
    for ws in i.spaces:
        ws.producer.send(
            ws.pipelines["clickstream"]["source"],
            key=i.sid("forged").encode(),
            value=forged,
            headers=[("ward-age-band", b"adult"), ("trace", b"t-1")],
        )
    i.flush()


def chat(subject: str, now: datetime) -> dict[str, Any]:
    return {
        "message_id": f"m-{subject}",
        "user_id": subject,
        "ts": now,
        "conversation_id": "class-7",
        "text": "Is homework due Friday?",
        "language": "en",
    }


def purchase(subject: str, now: datetime) -> dict[str, Any]:
    item = {"sku": "b-1", "title": "Workbook", "quantity": 1, "unit_price_minor": 1200}
    return {
        "order_id": f"o-{subject}",
        "user_id": subject,
        "ts": now,
        "store_id": "s-1",
        "amount_minor": 1200,
        "currency": "GBP",
        "items": [item],
    }


def requests(i: Inputs) -> None:
    """Guardian DELETE and CORRECT requests: deletions and forwarded corrections."""
    time.sleep(1.0)
    i.each("request", i.sid("eve14"), f"r-{i.sid('eve14')}")
    i.each("request", i.sid("chat"), f"rc-{i.sid('chat')}", kind="CORRECT")
    i.flush()


def race_and_release(i: Inputs) -> None:
    """A withdrawal produced half a second after an event it must block; a late consent."""
    time.sleep(1.5)
    withdrawn_at = datetime.now(UTC)
    race = i.sid("race")
    i.event(
        "clickstream", click(race, when=withdrawn_at + timedelta(milliseconds=100)), race.encode()
    )
    i.flush()
    time.sleep(0.5)
    i.each(
        "consent", race, f"c-{race}", action="WITHDRAWN", categories=ALL, effective_at=withdrawn_at
    )
    i.flush()
    late = refs.ref(i.sid("late"))
    for ws in i.spaces:
        found = wait(lambda ws=ws: [a for a in audit_rows(ws) if a["subject_ref"] == late])
        assert found and found[0]["action"] == "QUARANTINED", (ws.engine, found)
    i.each(
        "consent",
        i.sid("late"),
        f"c-{i.sid('late')}",
        categories=ALL,
        effective_at=datetime.now(UTC),
    )
    i.flush()


def wait(probe: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


# -- the outputs, without ids, times and hashes ------------------------------------------
def audit_rows(ws: EngineWorkspace) -> list[dict[str, Any]]:
    return [
        AUDIT.decode(m.value(), origin=Origin(m.topic(), m.partition(), m.offset()))
        for m in ws.read("audit")
    ]


def outputs(ws: EngineWorkspace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, p in ws.pipelines.items():
        out[f"sink:{name}"] = sorted(
            (m.key(), m.value(), tuple(sorted(m.headers() or ()))) for m in ws.read(p["sink"])
        )
    q = [QUARANTINE.decode(m.value(), origin=Origin("q", 0, 0)) for m in ws.read("quarantine")]
    out["quarantine"] = sorted(
        # the payload is sealed with a fresh nonce: compare what it is about, not its bytes
        (d["subject_ref"] or d["subject_id"], d["pipeline"], d["reason"], d["status"])
        for d in q
    )
    dead = [DEAD.decode(m.value(), origin=Origin("d", 0, 0)) for m in ws.read("deadletter")]
    out["deadletter"] = sorted(  # sealed with a fresh nonce: compare the letter's clear part
        (d["pipeline"], d["error_type"], d["error_code"], d["encryption"] is not None) for d in dead
    )
    decisions: dict[str, list[tuple[Any, ...]]] = {}
    summaries: Counter[tuple[str, str]] = Counter()
    for a in audit_rows(ws):
        if a["action"] == "SUMMARY":
            for action, n in a["counts"].items():
                summaries[(a["pipeline"], action)] += n
            continue
        row = (a["pipeline"], a["action"], a["reason"], a["rule"], a["consent_id"])
        decisions.setdefault(a["subject_ref"] or a["action"], []).append(
            (*row, tuple(a["fields_redacted"]))
        )
    out["audit"] = {k: sorted(v) for k, v in decisions.items()}
    issued = [DELETION.decode(m.value(), origin=Origin("d", 0, 0)) for m in ws.read("deletions")]
    out["deletions"] = sorted(
        (d["subject_id"], d["reason"], tuple(d["pipelines"]), tuple(d["data_categories"]))
        for d in issued
    )
    out["corrections"] = sorted(m.key() for m in ws.read("corrections"))
    out["summaries"] = dict(summaries)
    return out


def settled(spaces: dict[str, EngineWorkspace], quiet: float = 4.0, timeout: float = 90) -> None:
    """Wait until every workspace's outputs stop changing and agree in size."""
    deadline, last, since = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() < deadline:
        sizes = tuple(
            tuple(len(ws.read(t)) for t in ("audit", "quarantine", "deadletter", "deletions"))
            + tuple(len(ws.read(p["sink"])) for p in ws.pipelines.values())
            for ws in spaces.values()
        )
        if sizes != last:
            last, since = sizes, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.5)


# -- the tests ---------------------------------------------------------------------------
def test_both_engines_give_the_same_outputs(trio: dict[str, EngineWorkspace]) -> None:
    i = Inputs(trio)
    now = datetime.now(UTC)
    state(i, now)
    events(i, now)
    race_and_release(i)
    requests(i)
    settled(trio)
    found = {name: outputs(ws) for name, ws in trio.items()}
    base = found["faust"]
    audit = {ref: {row[1:3] for row in rows} for ref, rows in base["audit"].items()}
    race = {a for a, _ in audit[refs.ref(i.sid("race"))]}
    assert "QUARANTINED" in race and "PASSED" not in race, race
    assert {"QUARANTINED", "RELEASED"} <= {a for a, _ in audit[refs.ref(i.sid("late"))]}
    assert ("QUARANTINED", "NO_GUARDIAN_CONSENT") in audit[refs.ref(i.sid("nocons"))]
    assert ("DROPPED", "MARKETING_TO_MINOR") in audit[refs.ref(i.sid("ads"))]
    assert len(base["deadletter"]) == 1 and base["summaries"], base
    reasons = {(d[0], d[1]) for d in base["deletions"]}
    assert {(i.sid("eve14"), "GUARDIAN_REQUEST"), (i.sid("race"), "CONSENT_WITHDRAWN")} <= reasons
    assert base["corrections"] == [i.sid("chat").encode()]
    for name in ("fast", "fast-eos"):
        for part in base:
            assert found[name][part] == base[part], f"{name} differs from faust in {part}"


def test_fast_engine_exactly_once_survives_sigkill(kafka_bootstrap: str, tmp_path: Path) -> None:
    project = Path(__file__).resolve().parents[2]
    ws = EngineWorkspace(
        tmp_path,
        kafka_bootstrap,
        f"eos{uuid.uuid4().hex[:8]}",
        project,
        engine="fast",
        processing_guarantee="exactly_once",
        state_lateness_s=1.0,
        max_hold_s=8.0,
    )
    # a SIGKILLed member's partitions move on after the session timeout
    ws.env["WARDSTREAM__FAST__CONSUMER_OVERRIDES"] = '{"session.timeout.ms": "6000"}'
    try:
        ws.start()
        ids = kill_and_restart_midstream(ws)
        sink = ws.sink("clickstream")
        codec = ws.codec("clickstream")
        seen = wait(lambda: len(ws.read(sink)) >= len(ids) and ws.read(sink), timeout=90)
        time.sleep(3)  # anything still to come would be a duplicate
        records = ws.read(sink)
        got = Counter(
            codec.decode(m.value(), origin=Origin(sink, 0, 0))["event_id"] for m in records
        )
        assert seen and set(got) == set(ids), f"{len(set(ids) - set(got))} missing"
        assert [e for e, n in got.items() if n > 1] == [], "duplicates on the sink"
        assert_audit_chains_verify(ws)
    finally:
        ws.close()


def kill_and_restart_midstream(ws: EngineWorkspace) -> list[str]:
    """Adults and consented children stream live; SIGKILL while children are held."""
    adults = [f"a-{n}-{uuid.uuid4().hex[:6]}" for n in range(12)]
    children = [f"c-{n}-{uuid.uuid4().hex[:6]}" for n in range(6)]
    for s in adults:
        ws.subject(s, birth=birthday(35))
    for s in children:
        ws.subject(s, birth=birthday(9))
        ws.consent(s, f"c-{s}", categories=ALL)
    ws.flush()
    time.sleep(1.5)
    ids: list[str] = []
    codec = ws.codec("clickstream")

    def stream() -> None:
        for n in range(2400):
            s = (adults + children)[n % 18]
            record = click(s, geo=n % 3 == 0)
            ids.append(record["event_id"])
            ws.event("clickstream", raw=codec.encode(record), key=s.encode())
            if n % 100 == 99:
                ws.flush()
                time.sleep(0.2)
        ws.flush()

    producer = threading.Thread(target=stream)
    producer.start()
    time.sleep(2.0)
    assert ws.proc is not None
    ws.proc.send_signal(signal.SIGKILL)
    ws.proc.wait()
    ws.start()
    producer.join()
    return ids


def assert_audit_chains_verify(ws: EngineWorkspace) -> None:
    items = []
    for m in ws.read("audit"):
        pos = Position(m.topic(), m.partition(), m.offset())
        data = AUDIT.decode(m.value(), origin=Origin(*pos))
        items.append((pos, AuditRecord.from_dict(data), m.value()))
    result = verify_all(items, AUDIT.encode)
    assert result.ok, [str(b) for b in result.breaks][:5]
    refs_seen = Counter(r.event_ref for _, r, _ in items if r.event_ref)
    assert [ref for ref, n in refs_seen.items() if n > 1] == [], "an event decided twice"
