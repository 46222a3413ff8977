"""The demo's traffic generator: deterministic, varied, fictional, and valid for the schemas."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wardstream.config.pipeline import load_pipelines
from wardstream.config.settings import load_settings
from wardstream.demo import generate
from wardstream.demo.plan import ConsentStep, EventStep, PoisonStep, SubjectStep
from wardstream.demo.population import JURISDICTIONS, STORIES
from wardstream.demo.produce import targets_for, write_plan
from wardstream.serde import DecodeError, Origin

ROOT = Path(__file__).resolve().parents[3]
START = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    assert generate(7, 3000) == generate(7, 3000)
    assert generate(7, 3000) != generate(8, 3000)


@pytest.mark.parametrize("n", [1, 5, 999, 20_000])
def test_exactly_n_source_records(n: int) -> None:
    plan = generate(1, n)
    census = plan.census()
    assert census["events"] + census["poison"] == n == sum(plan.source_records().values())


def test_every_story_and_jurisdiction_and_the_hard_cases_occur() -> None:
    plan = generate(1, 20_000)
    assert set(plan.stories()) == set(STORIES)
    profiles = [s for s in plan.steps if isinstance(s, SubjectStep)]
    consents = [s for s in plan.steps if isinstance(s, ConsentStep)]
    assert {p.jurisdiction for p in profiles} == set(JURISDICTIONS)
    assert any(p.age_days is None and p.age_band == "CHILD" for p in profiles)
    assert any(p.vulnerable for p in profiles)
    assert any(p.deregistered and p.at > 0 for p in profiles)
    assert any(c.action == "WITHDRAWN" and c.at > 0 for c in consents)
    assert any(c.expires_at is not None for c in consents)
    assert {2, 3} <= {c.policy_version for c in consents}
    assert any(c.policy_version == 3 and c.at > 0 for c in consents), "re-consents to v3 mid-run"
    assert 4 <= plan.census()["poison"] < 100
    no_profile = {sid for sid, story in plan.archetypes.items() if story == "no_profile"}
    assert no_profile.isdisjoint(p.subject_id for p in profiles)


def test_state_comes_first_and_the_timeline_is_ordered() -> None:
    plan = generate(3, 5000)
    times = [s.at for s in plan.steps]
    assert times == sorted(times)
    first_event = next(i for i, s in enumerate(plan.steps) if isinstance(s, EventStep))
    assert all(isinstance(s, SubjectStep | ConsentStep) for s in plan.steps[:first_event])


def test_activity_is_skewed_towards_a_few_subjects() -> None:
    plan = generate(1, 20_000)
    per_subject = Counter(s.subject_id for s in plan.steps if isinstance(s, EventStep))
    top = sum(n for _, n in per_subject.most_common(10))
    assert top > 0.15 * sum(per_subject.values())  # 1% of subjects, >15% of the traffic


def _written(plan_events: int) -> tuple[dict[str, list[tuple[bytes | None, bytes]]], Any, Any]:
    settings = load_settings(ROOT / "wardstream.yaml")
    pipelines = load_pipelines(ROOT / "pipelines", settings.policy, base_dir=ROOT)
    targets = targets_for("subjects", "consents", pipelines, ROOT)
    out: dict[str, list[tuple[bytes | None, bytes]]] = {}

    def send(topic: str, key: bytes | None, value: bytes, timestamp_ms: int) -> None:
        out.setdefault(topic, []).append((key, value))

    written = write_plan(generate(2, plan_events), targets, send, start=START)
    return out, written, targets


def test_events_encode_with_their_schemas_and_poison_does_not_decode() -> None:
    out, written, targets = _written(4000)
    plan = generate(2, 4000)
    poison = Counter(s.pipeline for s in plan.steps if isinstance(s, PoisonStep))
    for name, source in targets.sources.items():
        failures = 0
        for i, (key, value) in enumerate(out[source.topic]):
            try:
                record = source.codec.decode(value, origin=Origin(source.topic, 0, i))
            except DecodeError:
                failures += 1
                continue
            if key is None:  # keyed-by-subject pipeline without a key: poison too
                failures += 1
            elif name != "location_ping":
                assert record["user_id"] == key.decode()
        assert failures == poison[name], name
    assert written.skipped == Counter({"live_comments": plan.source_records()["live_comments"]})
    assert len(out["subjects"]) + len(out["consents"]) == written.state


def test_the_data_is_fictional() -> None:
    out, _, _ = _written(2000)
    blob = b"\n".join(v for records in out.values() for _, v in records)
    for needle in (b"@gmail", b"@qq.com", b"@163.com", b"@outlook"):
        assert needle not in blob
    domains = set(re.findall(rb"[\w.+-]+@([\w-]+\.[a-z]+)", blob))
    hosts = set(re.findall(rb"https://([\w.-]+)/", blob))
    reserved = {b"example.com", b"example.org", b"example.net"}
    assert domains and domains <= reserved
    assert hosts and all(h.split(b".", h.count(b".") - 1)[-1] in reserved for h in hosts)
    assert set(re.findall(rb"\d+\.\d+\.\d+\.\d+", blob)) <= {
        f"192.0.2.{i}".encode() for i in range(256)
    }
