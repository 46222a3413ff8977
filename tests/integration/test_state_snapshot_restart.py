"""The state snapshot on a real broker, for both engines: a clean stop writes it, a restart
reads only the state topics' tail after it, and decides as a worker that read everything.

Between the stop and the restart: a tombstone, a deregistration and a withdrawal land
on the state topics. The restarted worker must honour all three (and issue the
deregistration's deletion); then the snapshot is removed and a third start reads
everything: its decisions must be the same.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from tests.integration.harness import Workspace
from tests.integration.test_enforcer import ALL, audits, birthday, click, on_sink

from wardstream.engines.snapshot_file import snapshot_path
from wardstream.serde import AvroCodec, Origin, record_schema

pytestmark = pytest.mark.integration
DELETION = AvroCodec(record_schema("DeletionRequest"))
FILLER = 150  # adults before the snapshot: a restart from it does not read them again


@pytest.fixture(params=["fast", "faust"])
def ws(request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path: Path) -> Iterator[Workspace]:
    project = Path(__file__).resolve().parents[2]
    prefix = f"snap{uuid.uuid4().hex[:8]}"
    workspace = Workspace(tmp_path, kafka_bootstrap, prefix, project, engine=request.param)
    config_file = tmp_path / "wardstream.yaml"
    config = yaml.safe_load(config_file.read_text())
    config["state"] = {"snapshot_dir": str(tmp_path / "snapshot"), "snapshot_interval": "1h"}
    config_file.write_text(yaml.safe_dump(config))
    try:
        yield workspace
    finally:
        workspace.close()


def state_read(ws: Workspace) -> int:
    """Records the state reader read from Kafka (/readyz; not those the snapshot held)."""
    url = f"http://127.0.0.1:{ws.web_port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310
            body = r.read()
    except urllib.error.HTTPError as exc:  # 503 while not ready: the body says the same
        body = exc.read()
    return int(json.loads(body)["state"]["records_read"])


def decide_round(ws: Workspace, n: int) -> None:
    """One event per subject; each decision observed (sink or audit), the n-th time."""
    for s in ("kid-keep", "adult", "adult-gone", "kid-dereg", "kid-withdrawn"):
        ws.event("clickstream", click(s), key=s.encode())
    ws.flush()
    on_sink(ws, "clickstream", "kid-keep", count=n, timeout=60)
    on_sink(ws, "clickstream", "adult", count=n, timeout=60)
    for s, action in (
        ("adult-gone", "QUARANTINED"),  # no profile any more: age unknown, treated as a child
        ("kid-dereg", "DROPPED"),
        ("kid-withdrawn", "QUARANTINED"),
    ):
        found = [a for a in audits(ws, s, count=n, timeout=60) if a["action"] == action]
        assert len(found) >= n, (s, action, ws.log_tail())
    sink = [r.key for r in ws.records(ws.sink("clickstream"))]
    for blocked in (b"adult-gone", b"kid-dereg", b"kid-withdrawn"):
        assert blocked not in sink


def test_a_restart_reads_the_tail_and_decides_as_a_full_read(ws: Workspace) -> None:
    for s in ("kid-keep", "kid-dereg", "kid-withdrawn"):
        ws.subject(s, birth=birthday(9))
        ws.consent(s, f"c-{s}", categories=ALL)
    ws.subject("adult", birth=birthday(30))
    ws.subject("adult-gone", birth=birthday(30))
    for i in range(FILLER):
        ws.subject(f"filler-{i}", birth=birthday(40))
    ws.flush()
    ws.start()
    ws.stop()  # a clean stop writes the snapshot
    snapshot = snapshot_path(ws.root / "snapshot")
    assert snapshot.exists(), ws.log_tail()
    assert b"kid-keep" not in snapshot.read_bytes()

    ws.producer.send(ws.topics["subjects"], key=b"adult-gone", value=None)  # a tombstone
    ws.subject("kid-dereg", birth=birthday(9), deregistered_at=datetime.now(UTC) - timedelta(1))
    ws.consent(
        "kid-withdrawn", "c-kid-withdrawn", action="WITHDRAWN", effective_at=datetime.now(UTC)
    )
    ws.flush()

    ws.start()  # from the snapshot
    assert state_read(ws) < FILLER, "the restart read the state topics from the beginning"
    decide_round(ws, 1)
    deletions = [
        DELETION.decode(r.value, origin=Origin("d", 0, 0))
        for r in ws.records(ws.topics["deletions"])
    ]
    assert any(
        d["subject_id"] == "kid-dereg" and d["reason"] == "DEREGISTERED" for d in deletions
    ), "the deregistration between snapshot and restart was lost"
    ws.stop()

    snapshot.unlink()  # the same worker reading everything decides the same
    ws.start()
    assert state_read(ws) >= FILLER
    decide_round(ws, 2)
