"""No raw child identifier leaves the worker through its audit trail, logs or metrics,
nor through its own topics outside sealed bytes.

A worker (each engine in turn) at DEBUG log level decides a mixed workload whose identifiers are
distinctive strings: adults, children with consent and children without. Then
the audit topic's bytes, everything the worker wrote to stdout and stderr and a
scrape of its /metrics are searched for every child's subject id, guardian ref,
consent id and event field value. None may be there. The same scanner must
find the adults' ids and values on the sink topic, so a scan that finds
nothing is known to be able to find something.

The keys, quarantine and dead-letter topics are searched too (issue #23), with bad
input among the records: an undecodable event of a child and a state record that
cannot be applied, holding a child's id and birth date. Raw ids, birth dates and
event values may be there only inside sealed bytes, which the scan cannot see into.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.integration.harness import Workspace
from tests.integration.test_enforcer import birthday
from tests.integration.test_security import ENGINES, CliWorkspace

from wardstream.serde import AvroCodec, record_schema

pytestmark = pytest.mark.integration

ALL = ["identifier", "behaviour", "device", "location", "content", "technical"]
CONSENT = AvroCodec(record_schema("ConsentEvent"))


@dataclass
class Person:
    """One subject and the distinctive strings of their data."""

    kind: str  # adult | consented | unconsented
    subject: str
    guardian: str
    consent: str
    values: list[str]  # field values of their events

    @property
    def needles(self) -> list[str]:
        if self.kind == "adult":  # adults have no guardian or consent
            return [self.subject, *self.values]
        return [self.subject, self.guardian, self.consent, *self.values]


def person(kind: str, n: int) -> Person:
    tag = f"{kind[:5]}{n}{uuid.uuid4().hex[:10]}"
    subject = f"child-7f3a{tag}" if kind != "adult" else f"adult-{tag}"
    values = [f"dev-{tag}", f"/page-{tag}", f"sess-{tag}", f"query-{tag}", f"10.{n}.7.{n}"]
    return Person(kind, subject, f"guardian-{tag}", f"consent-{tag}", values)


def click(p: Person, i: int) -> dict[str, Any]:
    device, page, session, query, ip = p.values
    return {
        "event_id": f"evt-{i}-{p.subject}",
        "user_id": p.subject,
        "ts": datetime.now(UTC),
        "session_id": session,
        "action": "SEARCH",
        "page": page,
        "referrer": None,
        "search_query": query,
        "duration_ms": 900,
        "experiment_group": "",
        "device": {"device_id": device, "os": "ios", "app_version": "1.0", "ip": ip},
        "geo": {"lat": 31.2, "lon": 121.5, "city": None, "country": "CN"},
    }


def seed(ws: Workspace, people: list[Person]) -> None:
    for p in people:
        ws.subject(p.subject, birth=birthday(30 if p.kind == "adult" else 9))
        if p.kind == "consented":
            datum = {
                "consent_id": p.consent,
                "subject_id": p.subject,
                "granted_by": "GUARDIAN",
                "guardian_ref": p.guardian,
                "action": "GRANTED",
                "purposes": ["analytics"],
                "data_categories": ALL,
                "third_party_recipients": [],
                "public_disclosure": False,
                "policy_version": 3,
                "effective_at": datetime(2020, 1, 1, tzinfo=UTC),
                "expires_at": None,
                "evidence": "signed_form:doc-1",
            }
            ws.producer.send(
                ws.topics["consents"], key=p.subject.encode(), value=CONSENT.encode(datum)
            )
    ws.flush()


@dataclass
class Scan:
    source: str
    size: int  # bytes
    units: int  # lines or records
    hits: list[str]


def scan(source: str, chunks: Iterable[bytes], needles: list[str]) -> Scan:
    size = units = 0
    found: set[str] = set()
    for chunk in chunks:
        size, units = size + len(chunk), units + 1
        found.update(n for n in needles if n.encode() in chunk)
    return Scan(source, size, units, sorted(found))


def record_bytes(records: Iterable[Any]) -> Iterator[bytes]:
    for r in records:
        headers = b"".join(k.encode() + (v or b"") for k, v in r.headers or [])
        yield (r.key or b"") + b"\x00" + (r.value or b"") + b"\x00" + headers


@pytest.fixture(params=ENGINES)
def ws(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[CliWorkspace]:
    project = Path(__file__).resolve().parents[2]
    workspace = CliWorkspace(
        tmp_path_factory.mktemp(f"rawids-{request.param}"),
        kafka_bootstrap,
        f"raw{uuid.uuid4().hex[:8]}",
        project,
        engine=request.param,
        log_level="debug",
        state_lateness_s=0.5,
        max_hold_s=6.0,
    )
    try:
        yield workspace
    finally:
        workspace.close()


def test_no_raw_child_ids_in_audit_logs_or_metrics(ws: CliWorkspace) -> None:
    kinds = ("adult", "adult", "consented", "consented", "unconsented", "unconsented")
    people = [person(kind, n) for n, kind in enumerate(kinds, 1)]
    seed(ws, people)
    ws.start()
    for i in range(3):
        for p in people:
            ws.event("clickstream", click(p, i), key=p.subject.encode())
    bad_input = _bad_input(ws, people)
    ws.flush()
    passed = [p for p in people if p.kind != "unconsented"]
    held = [p for p in people if p.kind == "unconsented"]
    sink = ws.wait_for(ws.sink("clickstream"), lambda r: True, 3 * len(passed))
    quarantined = ws.wait_for(ws.topics["quarantine"], lambda r: True, 3 * len(held))
    assert len(sink) == 3 * len(passed) and len(quarantined) >= 3 * len(held), ws.log_tail()
    letters = ws.wait_for(ws.topics["deadletter"], lambda r: True, 2)
    assert len(letters) >= 2, ws.log_tail()
    kept = passed[-1].subject  # a legal hold on a consented child: ward.holds has a record
    placed = ws.cli("hold", "place", "--subject", kept, "--approved-by", "dpo", "--reason", "c-1")
    assert placed.returncode == 0, placed.stderr + placed.stdout
    own = ws.topics["subjects"].rpartition(".")[0]
    keys, seen, holds = (ws.records(f"{own}.{kind}") for kind in ("keys", "seen", "holds"))
    metrics = ws.metrics().encode()
    ws.stop()  # everything it will ever log is in the file now

    children = [n for p in people if p.kind != "adult" for n in p.needles] + bad_input
    adults = [n for p in people if p.kind == "adult" for n in p.needles]
    log = (ws.root / "worker.log").read_bytes()
    scans = [
        scan("audit topic", record_bytes(ws.records(ws.topics["audit"])), children),
        scan("worker stdout+stderr (DEBUG)", log.splitlines(), children),
        scan("/metrics", metrics.splitlines(), children),
        scan("sink topic (control: adults)", record_bytes(sink), adults),
        scan("keys topic", record_bytes(keys), children),
        scan("seen topic", record_bytes(seen), children),
        scan("holds topic", record_bytes(holds), children),
        scan("quarantine topic", record_bytes(ws.records(ws.topics["quarantine"])), children),
        scan("dead-letter topic", record_bytes(ws.records(ws.topics["deadletter"])), children),
    ]
    print(f"\n{'source':<30} {'bytes':>9} {'lines/records':>14} {'hits':>5}")
    for s in scans:
        print(f"{s.source:<30} {s.size:>9} {s.units:>14} {len(s.hits):>5}")
    audit, logs, scraped, control, *own = scans
    assert audit.units > 0 and logs.units > 0 and scraped.units > 0
    if "faust" in ws.worker_args:  # the fast engine has nothing to say at DEBUG
        assert b"DEBUG" in log, "the worker did not log at DEBUG"
    assert not audit.hits, f"raw child data in the audit topic: {audit.hits}"
    assert not logs.hits, f"raw child data in the worker's output: {logs.hits}"
    assert not scraped.hits, f"raw child data in /metrics: {scraped.hits}"
    assert control.hits == sorted(adults), "the scanner misses ids that are there"
    for topic in own:
        assert topic.units > 0 and not topic.hits, f"raw child data on the {topic.source}"


BIRTH = "2016-02-29"


def _bad_input(ws: CliWorkspace, people: list[Person]) -> list[str]:
    """An undecodable event of a child, and a child's profile that cannot be applied:
    both go to the dead-letter topic. Returns the extra strings to search for."""
    child = next(p for p in people if p.kind == "consented")
    junk = b"\x00\x07not avro " + json.dumps(click(child, 9), default=str).encode()
    ws.event("clickstream", raw=junk, key=child.subject.encode())
    stranger = f"child-7f3ajunk{uuid.uuid4().hex[:10]}"
    profile = f'{{"subject_id": "{stranger}", "birth_date": "{BIRTH}"'.encode()
    ws.producer.send(ws.topics["subjects"], key=stranger.encode(), value=profile)
    return [stranger, BIRTH]
