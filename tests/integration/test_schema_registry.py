"""Confluent Avro against a real schema registry (Apicurio, started by the project).

Schema evolution on a live stream: the producer moves from v1 to v2 mid-stream (a new
optional field, a removed field, a field renamed with an alias); every event is
decided, none lost, and the field the pipeline does not map never reaches the sink in a
child's event. Registry down: events whose schema is not cached wait, nothing passes
undecided or is dead-lettered, /health and a metric say so, and the worker resumes by
itself when the registry is back. `wardstream check --registry` names unmapped fields.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.harness import Workspace, header

from wardstream.local.registry import LocalRegistry
from wardstream.serde import ConfluentAvroCodec, HttpSchemaRegistry, Origin
from wardstream.serde.schemas import parse_schema_dict

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
V1: dict[str, Any] = json.loads((PROJECT / "schemas/examples/clickstream.avsc").read_text())
ALL = ["identifier", "behaviour", "device", "location", "content", "technical"]


def _v2() -> dict[str, Any]:
    """v1 without search_query, page renamed page_path (alias page), plus campaign."""
    schema = copy.deepcopy(V1)
    fields = [f for f in schema["fields"] if f["name"] != "search_query"]
    for f in fields:
        if f["name"] == "page":
            f["name"], f["aliases"] = "page_path", ["page"]
    fields.append({"name": "campaign", "type": ["null", "string"], "default": None})
    schema["fields"] = fields
    return schema


V2 = _v2()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    local = LocalRegistry(tmp_path_factory.mktemp("registry"), persistent=True)
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module", params=["faust", "fast"])
def ws(
    request: pytest.FixtureRequest,
    kafka_bootstrap: str,
    registry: LocalRegistry,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Workspace]:
    """A worker of each engine: the same scenarios hold for both."""
    root = tmp_path_factory.mktemp("registry-ws")
    (root / "v2.avsc").write_text(json.dumps(V2))
    clickstream = json.loads(json.dumps(_pipeline_fields()))
    evolve = {
        "format": "avro-confluent",
        "schema": str(root / "v2.avsc"),
        "fields": clickstream,
    }
    workspace = Workspace(
        root,
        kafka_bootstrap,
        f"reg{uuid.uuid4().hex[:8]}",
        PROJECT,
        {"evolve": evolve},
        engine=request.param,
        kafka={"schema_registry_url": registry.url},
        state_lateness_s=0.5,
        max_hold_s=600.0,  # the registry-down test holds events for a registry restart
    )
    try:
        workspace.start()
        yield workspace
    finally:
        workspace.close()


def _pipeline_fields() -> dict[str, str]:
    import yaml

    fields: dict[str, str] = yaml.safe_load((PROJECT / "pipelines/clickstream.yaml").read_text())[
        "fields"
    ]
    fields.pop("search_query")
    fields["page_path"] = fields.pop("page")
    return fields  # campaign is left unmapped on purpose


def producer(ws: Workspace, url: str, schema: dict[str, Any]) -> ConfluentAvroCodec:
    subject = f"{ws.pipelines['evolve']['source']}-value"
    return ConfluentAvroCodec(
        HttpSchemaRegistry(url), schema=parse_schema_dict(schema, source="test"), subject=subject
    )


def click(subject: str, version: int, **extra: Any) -> dict[str, Any]:
    event = {
        "event_id": uuid.uuid4().hex,
        "user_id": subject,
        "ts": datetime.now(UTC),
        "session_id": "s-1",
        "action": "VIEW",
        "referrer": None,
        "duration_ms": 900,
        "experiment_group": "",
        "device": {"device_id": "d-1", "os": "android", "app_version": "5.1", "ip": None},
        "geo": None,
    }
    if version == 1:
        event |= {"page": f"/v1/{extra.pop('n', 0)}", "search_query": "fractions"}
    else:
        event |= {"page_path": f"/v2/{extra.pop('n', 0)}", "campaign": extra.pop("campaign", None)}
    return event | extra


def people(ws: Workspace) -> tuple[str, str]:
    child, adult = f"c-{uuid.uuid4().hex[:10]}", f"a-{uuid.uuid4().hex[:10]}"
    today = datetime.now(UTC).date()
    ws.subject(child, birth=today.replace(year=today.year - 9) - timedelta(days=3))
    ws.subject(adult, birth=today.replace(year=today.year - 35))
    ws.consent(child, f"k-{child}", categories=ALL)
    ws.flush()
    return child, adult


def sink_of(ws: Workspace, subject: str, count: int, timeout: float = 60) -> list[Any]:
    key = subject.encode()
    found = ws.wait_for(ws.sink("evolve"), lambda r: r.key == key, count, timeout)
    assert len(found) == count, f"{len(found)} of {count} on the sink:\n{ws.log_tail()}"
    return found


def dead_letters(ws: Workspace) -> list[Any]:
    return ws.records(ws.topics["deadletter"])


def decode(url: str, value: bytes) -> dict[str, Any]:
    return ConfluentAvroCodec(HttpSchemaRegistry(url)).decode(value, origin=Origin("s", 0, 0))


def test_a_producer_moving_from_v1_to_v2_mid_stream(ws: Workspace, registry: LocalRegistry) -> None:
    child, adult = people(ws)
    v1, v2 = producer(ws, registry.url, V1), producer(ws, registry.url, V2)
    before = len(dead_letters(ws))
    sent_adult = []
    for n, (codec, version) in enumerate([(v1, 1), (v1, 1), (v2, 2), (v2, 2), (v1, 1)]):
        ws.event(
            "evolve",
            raw=codec.encode(click(child, version, n=n, campaign="spring")),
            key=child.encode(),
        )
        raw = codec.encode(click(adult, version, n=n, campaign="spring"))
        sent_adult.append(raw)
        ws.event("evolve", raw=raw, key=adult.encode())
    ws.flush()
    kids = [decode(registry.url, r.value) for r in sink_of(ws, child, 5)]
    pages = [f"/v{v}/{n}" for n, v in enumerate([1, 1, 2, 2, 1])]
    assert sorted(k["page_path"] for k in kids) == sorted(pages)  # v1's page, by its alias
    assert all(k.get("campaign") is None for k in kids), "an unmapped field reached the sink"
    assert all("search_query" not in k for k in kids)
    adults = sink_of(ws, adult, 5)
    assert sorted(r.value for r in adults) == sorted(sent_adult)  # adults: byte for byte
    assert all(header(r, "ward-age-band") == b"child" for r in sink_of(ws, child, 5))
    assert len(dead_letters(ws)) == before, "an event was dead-lettered"


def test_check_reports_the_fields_the_pipeline_does_not_map(
    ws: Workspace, registry: LocalRegistry
) -> None:
    producer(ws, registry.url, V1).encode(click("x", 1))
    producer(ws, registry.url, V2).encode(click("x", 2))  # latest: v2
    done = ws.cli("check", "--registry", registry.url)
    assert done.returncode == 0, done.stderr
    assert "campaign" in done.stderr and "pipeline evolve" in done.stderr
    assert "page_path" not in done.stderr.split("campaign")[0].split("evolve")[-1]


def _health(ws: Workspace) -> dict[str, Any]:
    url = f"http://127.0.0.1:{ws.web_port}/health"
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310
            return dict(json.loads(reply.read()))
    except urllib.error.HTTPError as exc:
        return dict(json.loads(exc.read()))


def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def test_registry_down_events_wait_then_resume(ws: Workspace, registry: LocalRegistry) -> None:
    child, adult = people(ws)
    v3 = copy.deepcopy(V2)
    v3["fields"].append({"name": "lesson", "type": ["null", "string"], "default": None})
    codec = producer(ws, registry.url, v3)  # registered now; the worker has not seen it
    events = [(s, codec.encode(click(s, 2, n=n))) for n in range(3) for s in (child, adult)]
    before = len(dead_letters(ws))
    registry.stop()
    try:
        for subject, raw in events:
            ws.event("evolve", raw=raw, key=subject.encode())
        ws.flush()
        _until(lambda: "schema_registry" in _health(ws), 60, "/health never named the registry")
        assert "wardstream_schema_registry_unreachable 1.0" in ws.metrics()
        # the partition stops being fetched: the events behind do not pile up in memory
        _until(lambda: "pausing" in ws.log_tail(2000), 30, "the partition was not paused")
        on_sink = [
            r for r in ws.records(ws.sink("evolve")) if r.key in (child.encode(), adult.encode())
        ]
        assert on_sink == [], "an event passed while its schema could not be read"
        assert len(dead_letters(ws)) == before
    finally:
        registry.start()
    sink_of(ws, child, 3, timeout=120)
    sink_of(ws, adult, 3, timeout=120)
    _until(lambda: "schema_registry" not in _health(ws), 60, "/health still names the registry")
    assert "wardstream_schema_registry_unreachable 0.0" in ws.metrics()
    assert len(dead_letters(ws)) == before


def test_the_demo_runs_on_the_confluent_format(
    kafka_bootstrap: str, registry: LocalRegistry, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDSTREAM__")}
    env["TMPDIR"] = str(tmp_path)  # the run directory lives under pytest's basetemp
    cmd = [sys.executable, "-m", "wardstream", "demo", "--format", "avro-confluent",
           "--registry", registry.url, "--bootstrap", kafka_bootstrap, "--events", "3000",
           "--duration", "10", "--json"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)  # noqa: S603
    assert proc.returncode == 0 and proc.stdout.startswith("{"), proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    assert summary["accounted"]["complete"] and summary["audit"]["chains_intact"]
    prefix = summary["run"]["prefix"]
    with urllib.request.urlopen(registry.url + "/subjects", timeout=5) as reply:  # noqa: S310
        subjects = json.loads(reply.read())
    assert f"{prefix}.app.clickstream-value" in subjects  # the producers registered v1 there
