"""A mixed clickstream workload and exact accounting of where each event went.

Used by the accounting test and the fault tests: subjects (70% adults, 20%
consented children, 5% children whose consent lacks location, 5% children
without consent), events with a skew towards a few busy subjects and one
poison record in a thousand, and a census of sink, quarantine, dead-letter and
dropped-with-audit that counts losses, duplicates and leaks (an event quarantined
and later released counts once, on the sink). ``produce_paced`` spreads the
events over time for fault tests; ``fault_table`` prints their census.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.harness import TEST_KEY, Workspace, header
from typer.testing import CliRunner

from wardstream.audit.linkage import Position
from wardstream.audit.verify import BreakKind, verify_all
from wardstream.cli.main import app
from wardstream.domain.audit import AuditRecord
from wardstream.serde import AvroCodec, DecodeError, Origin, record_schema

ALL = ["identifier", "behaviour", "device", "location", "content", "technical"]
NO_GEO = ["identifier", "behaviour", "device", "technical", "content"]


def seed_subjects(ws: Workspace, rng: random.Random, n: int = 2000) -> dict[str, str]:
    """Profiles and consents for ``n`` subjects; returns subject -> kind."""
    today = datetime.now(UTC).date()
    kinds: dict[str, str] = {}
    for i in range(n):
        s, roll = f"s{i:05d}", rng.random()
        if roll < 0.70:
            kinds[s] = "adult"
            ws.subject(s, birth=today.replace(year=today.year - 30))
        else:
            ws.subject(s, birth=today.replace(year=today.year - 9))
            if roll < 0.90:
                kinds[s] = "consented"
                ws.consent(s, f"c-{s}", categories=ALL)
            elif roll < 0.95:
                kinds[s] = "redacted"
                ws.consent(s, f"c-{s}", categories=NO_GEO)
            else:
                kinds[s] = "no-consent"
    ws.flush()
    return kinds


def wait_accounted(
    ws: Workspace, expected: dict[str, str], kinds: dict[str, str], timeout: float
) -> Counter[str]:
    """Census until nothing is missing (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    codec = ws.codec("clickstream")
    while True:
        totals = _account(ws, codec, expected, kinds)
        if totals["lost"] == 0 or time.monotonic() > deadline:
            return totals
        time.sleep(2)


def produce(
    ws: Workspace, subjects: list[str], rng: random.Random, n: int, start: int = 0
) -> dict[str, str]:
    """``n`` events (ids from ``start``); returns event id -> subject ("" for poison)."""
    expected: dict[str, str] = {}
    now = datetime.now(UTC)
    for i in range(start, start + n):
        event_id = f"e{i:06d}"
        if i % 1000 == 999:
            ws.event("clickstream", raw=b"\x02garbage" + event_id.encode(), key=event_id.encode())
            expected[event_id] = ""
            continue
        busy = min(int(rng.paretovariate(1.2)) - 1, len(subjects) - 1)
        s = subjects[busy] if i % 3 == 0 else rng.choice(subjects)
        geo = {"lat": 1.0, "lon": 2.0, "city": None, "country": None} if i % 2 else None
        record = {
            "event_id": event_id,
            "user_id": s,
            "ts": now - timedelta(seconds=rng.randint(0, 60)),
            "session_id": None,
            "action": "VIEW",
            "page": "/p",
            "referrer": None,
            "search_query": None,
            "duration_ms": None,
            "experiment_group": "",
            "device": {"device_id": "d", "os": "ios", "app_version": None, "ip": None},
            "geo": geo,
        }
        ws.event("clickstream", record, key=s.encode())
        expected[event_id] = s
    ws.flush()
    return expected


def produce_paced(
    ws: Workspace,
    subjects: list[str],
    rng: random.Random,
    n: int,
    seconds: float,
    start: int = 0,
    step_s: float = 0.25,
) -> dict[str, str]:
    """Like ``produce``, but spread evenly over about ``seconds`` (a flush every step), so
    that faults injected meanwhile hit a worker with events still arriving."""
    steps = max(1, int(seconds / step_s))
    expected: dict[str, str] = {}
    began = time.monotonic()
    for k in range(steps):
        lo, hi = start + n * k // steps, start + n * (k + 1) // steps
        expected.update(produce(ws, subjects, rng, hi - lo, start=lo))
        time.sleep(max(0.0, began + (k + 1) * step_s - time.monotonic()))
    return expected


def account(ws: Workspace, expected: dict[str, str], kinds: dict[str, str]) -> Counter[str]:
    """One census now (see ``_account``)."""
    return _account(ws, ws.codec("clickstream"), expected, kinds)


def fault_table(rows: list[dict[str, object]]) -> str:
    """The census of fault runs as a text table: one row per run."""
    cols = [
        ("run", "run"),
        ("guarantee", "guarantee"),
        ("faults", "faults injected"),
        ("in", "events in"),
        ("sink", "sink"),
        ("released", "of which released"),
        ("quarantine", "quarantine"),
        ("deadletter", "deadletter"),
        ("dropped", "dropped"),
        ("leaks", "leaks"),
        ("lost", "lost"),
        ("duplicates", "duplicates"),
        ("chains", "audit chains"),
        ("seconds", "s"),
    ]
    cells = [[str(row.get(key, "")) for key, _ in cols] for row in rows]
    widths = [max(len(title), *(len(c[i]) for c in cells)) for i, (_, title) in enumerate(cols)]
    line = "+".join("-" * (w + 2) for w in widths)
    out = [" | ".join(title.ljust(w) for (_, title), w in zip(cols, widths, strict=True)), line]
    out += [" | ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)) for cell in cells]
    return "\n".join(out)


def audit_chains(ws: Workspace) -> tuple[str, str]:
    """Every chain of the audit topic as the workspace reads it (read_committed under EOS):
    ``("ok, ...", "")``, or a summary and, when every break shows two writers of a chain
    (a fork, or a branch linked to no record near it), those breaks."""
    items = []
    for r in ws.records(ws.topics["audit"]):
        pos = Position(r.topic, r.partition, r.offset)
        data = AUDIT.decode(r.value, origin=Origin(*pos))
        items.append((pos, AuditRecord.from_dict(data), r.value))
    result = verify_all(items, AUDIT.encode)
    if result.ok:
        return f"ok, {len(result.chains)} chains, {result.checked} records", ""
    kinds = sorted({str(b.kind) for b in result.breaks})
    summary = f"BROKEN: {len(result.breaks)} {'/'.join(kinds)} in {len(result.chains)} chains"
    two_writers = all(
        b.kind == BreakKind.FORKED
        or (b.kind == BreakKind.INSERTED and "links to no record" in b.message)
        for b in result.breaks
    )
    return summary, "; ".join(str(b) for b in result.breaks) if two_writers else ""


def audit_verify_cli(ws: Workspace) -> str | None:
    """`wardstream audit verify`, as an auditor runs it; None when it passes."""
    result = CliRunner().invoke(
        app,
        ["audit", "verify", "-c", str(ws.root / "wardstream.yaml")],
        env={"WARDSTREAM__AUDIT__HMAC_KEY": TEST_KEY},
    )
    return None if result.exit_code == 0 else result.output.strip()[:2000]


def wait_decided(ws: Workspace, n: int, timeout: float) -> None:
    """Until the worker's metrics count ``n`` decisions (one worker, no restarts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        decided = sum(
            float(line.rsplit(" ", 1)[1])
            for line in ws.metrics().splitlines()
            if line.startswith("wardstream_events_out_total{")
        )
        if decided >= n:
            return
        time.sleep(0.5)


def _account(
    ws: Workspace, codec: AvroCodec, expected: dict[str, str], kinds: dict[str, str]
) -> Counter[str]:
    """One census: lost, twice (duplicates), leaks, and a count per destination."""
    seen: Counter[str] = Counter()
    where: dict[str, str] = {}
    totals: Counter[str] = Counter()
    by_offset = {
        (r.partition, r.offset): _event_id(codec, r)
        for r in ws.records(ws.pipelines["clickstream"]["source"])
    }

    def mark(pos: tuple[int, int], destination: str) -> None:
        key = by_offset.get(pos)
        if key is not None:
            seen[key] += 1
            where[key] = destination

    for r in ws.records(ws.sink("clickstream")):
        v = codec.decode(r.value, origin=Origin("sink", 0, 0))
        seen[v["event_id"]] += 1
        where[v["event_id"]] = "sink"
        child = header(r, "ward-age-band") != b"adult"
        if child and kinds[v["user_id"]] not in ("consented", "redacted"):
            totals["leaks"] += 1
        if kinds[v["user_id"]] == "redacted" and v["geo"] is not None:
            totals["leaks"] += 1
    quarantined, released = [], set()
    for r in ws.records(ws.topics["quarantine"]):
        q = QUARANTINE.decode(r.value, origin=Origin("q", 0, 0))
        if q["status"] == "QUARANTINED":
            quarantined.append(q)
        elif q["status"] == "RELEASED":
            released.add(q["quarantine_id"])
    for q in quarantined:
        pos = (q["origin_partition"], q["origin_offset"])
        if q["quarantine_id"] in released:
            # held, then released to the sink: one event, not a duplicate (counted as sink)
            released.discard(q["quarantine_id"])
            totals["released"] += 1
            continue
        mark(pos, "quarantine")
    for r in ws.records(ws.topics["deadletter"]):
        d = DEADLETTER.decode(r.value, origin=Origin("d", 0, 0))
        mark((d["origin_partition"], d["origin_offset"]), "deadletter")
    for r in ws.records(ws.topics["audit"]):
        a = AUDIT.decode(r.value, origin=Origin("a", 0, 0))
        if a["action"] == "DROPPED" and a["event_ref"]:
            _, part, off = a["event_ref"].rsplit("/", 2)
            mark((int(part), int(off)), "dropped")
    on_source = set(by_offset.values())
    for event_id in expected:
        count = seen[event_id]
        if event_id not in on_source:
            totals["unsent"] += 1  # never reached the source topic: the test's producer failed
        totals["lost" if count == 0 else where[event_id]] += 1
        totals["duplicates"] += max(0, count - 1)
    return totals


QUARANTINE = AvroCodec(record_schema("QuarantinedEvent"))
DEADLETTER = AvroCodec(record_schema("DeadLetter"))
AUDIT = AvroCodec(record_schema("AuditRecord"))


def _event_id(codec: AvroCodec, record: Any) -> str:
    try:
        return str(codec.decode(record.value, origin=Origin("s", 0, 0))["event_id"])
    except DecodeError:
        return str(record.key.decode())  # the poison records carry their id as the key
