"""The lifecycle on a real Kafka: deletions for every reason, holds, replay, service stop.

One worker process serves the module. Sweeps run every 0.5 s on a 1 s
retention grid, and the ``shortlived`` pipeline keeps data for 2 s, so the
retention clock passes without sleeping for days. Service stop runs last: it
stops the whole deployment.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.harness import Workspace
from tests.integration.test_enforcer import (
    ALL,
    audits,
    birthday,
    child_with_consent,
    click,
    on_sink,
    refs,
    sid,
)

from wardstream.serde import AvroCodec, Origin, record_schema

pytestmark = pytest.mark.integration

deletion_codec = AvroCodec(record_schema("DeletionRequest"))
notice_codec = AvroCodec(record_schema("GuardianNotice"))
correction_codec = AvroCodec(record_schema("Correction"))
THREE = ("clickstream", "games", "lessons")


@pytest.fixture(scope="module")
def ws(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    project = Path(__file__).resolve().parents[2]
    prefix = f"lc{uuid.uuid4().hex[:8]}"
    extra: dict[str, dict[str, Any]] = {
        "games": {},
        "lessons": {},
        "shortlived": {"retention": "2s"},
    }
    workspace = Workspace(
        tmp_path_factory.mktemp("lifecycle"),
        kafka_bootstrap,
        prefix,
        project,
        extra,
        state_lateness_s=0.5,
        max_hold_s=8.0,
    )
    monitored = [{"topic": workspace.sink("lessons"), "like": "lessons"}]
    workspace.env.update(
        WARDSTREAM__LIFECYCLE__SWEEP_EVERY_S="0.5",
        WARDSTREAM__LIFECYCLE__RETENTION_GRID_S="1",
        WARDSTREAM__LIFECYCLE__MONITORED_TOPICS=json.dumps(monitored),
    )
    try:
        workspace.start()
        yield workspace
    finally:
        workspace.close()


def _decode(codec: AvroCodec, record: Any) -> dict[str, Any]:
    return codec.decode(record.value, origin=Origin(record.topic, record.partition, record.offset))


def deletions(
    ws: Workspace, subject: str, count: int = 1, timeout: float = 20
) -> list[dict[str, Any]]:
    key = subject.encode()
    found = ws.wait_for(ws.topics["deletions"], lambda r: r.key == key, count, timeout)
    return [_decode(deletion_codec, r) for r in found]


def send(ws: Workspace, pipeline: str, subject: str, when: datetime | None = None) -> None:
    ws.event(pipeline, click(subject, when=when), key=subject.encode())
    ws.flush()


def audits_of(ws: Workspace, subject: str, action: str, count: int = 1) -> list[dict[str, Any]]:
    found = [a for a in audits(ws, subject, 50, timeout=3, control=True) if a["action"] == action]
    deadline = time.monotonic() + 15
    while len(found) < count and time.monotonic() < deadline:
        found = [
            a for a in audits(ws, subject, 50, timeout=1, control=True) if a["action"] == action
        ]
    return found


def test_r8_withdrawal_issues_consent_withdrawn(ws: Workspace) -> None:
    s = child_with_consent(ws)
    send(ws, "clickstream", s)
    on_sink(ws, "clickstream", s)
    ws.consent(s, f"w-{s}", action="WITHDRAWN", effective_at=datetime.now(UTC))
    ws.flush()
    [d] = deletions(ws, s)
    assert d["reason"] == "CONSENT_WITHDRAWN"
    assert "clickstream" in d["pipelines"]
    [a] = audits_of(ws, s, "DELETION_ISSUED")
    assert a["chain"] == "_control/0" and a["deadline"] is not None
    assert s not in str(a)


def test_r8_consent_expiry_is_a_timer_not_the_next_event(ws: Workspace) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=3)
    s = child_with_consent(ws, expires_at=expires)
    send(ws, "clickstream", s)
    on_sink(ws, "clickstream", s)
    [d] = deletions(ws, s, timeout=20)  # no further event is sent
    assert d["reason"] == "CONSENT_EXPIRED"
    assert abs((d["collected_before"] - expires).total_seconds()) < 0.01


def test_r8_deregistration_names_every_pipeline_and_drops_later_events(
    ws: Workspace,
) -> None:
    s = child_with_consent(ws)
    for name in THREE:
        send(ws, name, s)
    for name in THREE:
        on_sink(ws, name, s)
    time.sleep(1.0)  # the seen marks travel with the sink records; let every worker read them
    gone = datetime.now(UTC)
    ws.subject(s, birth=birthday(9), deregistered_at=gone, updated_at=gone)
    ws.flush()
    [d] = deletions(ws, s)
    assert d["reason"] == "DEREGISTERED"
    assert sorted(d["pipelines"]) == sorted(ws.pipelines), "every configured pipeline"
    assert set(THREE) < set(ws.pipelines)
    time.sleep(1.0)
    send(ws, "games", s)
    dropped = audits_of(ws, s, "DROPPED")
    assert dropped and dropped[0]["pipeline"] == "games"
    assert len(ws.wait_for(ws.sink("games"), lambda r: r.key == s.encode(), 2, 2)) == 1


def test_r8_guardian_delete_request_has_the_deadline_and_correct_is_forwarded(
    ws: Workspace,
) -> None:
    s = child_with_consent(ws)
    send(ws, "lessons", s)
    on_sink(ws, "lessons", s)
    time.sleep(1.0)
    received = ws.request(s, f"r-{s}")
    ws.request(s, f"rc-{s}", kind="CORRECT")
    ws.flush()
    [d] = deletions(ws, s)
    assert d["reason"] == "GUARDIAN_REQUEST", d
    assert d["pipelines"] == sorted(ws.pipelines), "no scope: every pipeline, not just lessons"
    assert d["deadline"] == received + timedelta(days=15)
    key = s.encode()
    [c] = ws.wait_for(ws.topics["corrections"], lambda r: r.key == key, 1, 20)
    assert _decode(correction_codec, c)["pipelines"] == sorted(ws.pipelines)


def test_r7_retention_expiry_issues_retention_expired(ws: Workspace) -> None:
    s = child_with_consent(ws)
    collected = datetime.now(UTC)
    send(ws, "shortlived", s, when=collected)
    on_sink(ws, "shortlived", s)
    [d] = deletions(ws, s, timeout=20)
    assert d["reason"] == "RETENTION_EXPIRED" and d["pipelines"] == ["shortlived"]
    assert d["collected_before"] > collected
    assert audits_of(ws, s, "DELETION_ISSUED")


def test_r14_legal_hold_defers_the_deletion_until_lifted(ws: Workspace) -> None:
    s = child_with_consent(ws)
    send(ws, "clickstream", s)
    on_sink(ws, "clickstream", s)
    placed = ws.cli("hold", "place", "--subject", s, "--approved-by", "dpo", "--reason", "case-7")
    assert placed.returncode == 0, placed.stderr + placed.stdout
    time.sleep(1.0)
    ws.consent(s, f"w-{s}", action="WITHDRAWN", effective_at=datetime.now(UTC))
    ws.flush()
    [deferred] = audits_of(ws, s, "DELETION_DEFERRED")
    assert deferred["reason"] == "CONSENT_WITHDRAWN"
    assert not deletions(ws, s, timeout=2)
    lifted = ws.cli("hold", "lift", "--subject", s, "--approved-by", "dpo", "--reason", "closed")
    assert lifted.returncode == 0, lifted.stderr + lifted.stdout
    [d] = deletions(ws, s)
    assert d["reason"] == "CONSENT_WITHDRAWN"
    attrs = dict(deferred.get("attrs") or {})
    assert attrs.get("deletion_id") == d["deletion_id"]


def test_r13_a_childs_event_without_consent_on_a_monitored_topic_is_an_incident(
    ws: Workspace,
) -> None:
    s = sid()
    ws.subject(s, birth=birthday(8))
    ws.flush()
    time.sleep(1.0)
    leaked = ws.codec("lessons").encode(click(s))
    ws.producer.send(ws.sink("lessons"), key=s.encode(), value=leaked)  # written around us
    ws.flush()
    ref = refs.ref(s)
    [found] = ws.wait_for(ws.topics["incidents"], lambda r: ref in r.value.decode(), 1, 20)
    incident = json.loads(found.value)
    assert incident["count"] == 1 and incident["subject_refs"] == [ref]
    assert incident["severity"] in ("MEDIUM", "HIGH") and s not in found.value.decode()
    [notice] = ws.wait_for(ws.topics["notices"], lambda r: r.key == s.encode(), 1, 20)
    assert _decode(notice_codec, notice)["kind"] == "INCIDENT"
    assert audits_of(ws, s, "NOTICE_ISSUED")


def _ms(when: datetime) -> datetime:
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def test_a_late_withdrawal_compensates_exactly_the_events_passed_after_it(ws: Workspace) -> None:
    s = child_with_consent(ws)
    start = _ms(datetime.now(UTC))
    times = [start + timedelta(milliseconds=300 * i) for i in range(3)]
    for when in times:
        send(ws, "clickstream", s, when=when)
    on_sink(ws, "clickstream", s, count=3)
    time.sleep(1.0)  # well past state_lateness: the withdrawal below is late
    ws.consent(s, f"c-{s}", action="WITHDRAWN", effective_at=times[1])
    ws.flush()
    found = {d["reason"]: d for d in deletions(ws, s, count=2)}
    owed = found["COLLECTED_WITHOUT_CONSENT"]
    assert owed["pipelines"] == ["clickstream"]
    assert owed["collected_after"] == times[1]
    assert owed["collected_before"] == times[2] + timedelta(milliseconds=1)
    assert "CONSENT_WITHDRAWN" in found  # the withdrawal's own deletion, as always
    issued = audits_of(ws, s, "DELETION_ISSUED", count=2)
    assert "COLLECTED_WITHOUT_CONSENT" in {a["reason"] for a in issued}


def test_a_late_profile_that_makes_a_passed_adult_a_child_is_compensated(ws: Workspace) -> None:
    s = sid()
    ws.subject(s, birth=birthday(30))
    ws.flush()
    time.sleep(1.5)
    first = _ms(datetime.now(UTC))
    last = first + timedelta(milliseconds=400)
    send(ws, "games", s, when=first)
    send(ws, "games", s, when=last)
    on_sink(ws, "games", s, count=2)  # adults pass at once, never held
    ws.subject(s, birth=birthday(9), updated_at=datetime.now(UTC))  # no consent on record
    ws.flush()
    [owed] = deletions(ws, s)
    assert owed["reason"] == "COLLECTED_WITHOUT_CONSENT" and owed["pipelines"] == ["games"]
    assert owed["collected_after"] == first
    assert owed["collected_before"] == last + timedelta(milliseconds=1)


def test_a_replay_issues_no_new_deletion_ids(ws: Workspace) -> None:
    time.sleep(2.0)
    before = {_decode(deletion_codec, r)["deletion_id"] for r in ws.records(ws.topics["deletions"])}
    assert len(before) >= 6
    ws.stop()
    ws.start()
    time.sleep(6.0)  # several sweeps after the restarted worker re-read everything
    after = {_decode(deletion_codec, r)["deletion_id"] for r in ws.records(ws.topics["deletions"])}
    assert after == before
    assert len(ws.records(ws.topics["incidents"])) == 1


def test_r9_service_stop_deletes_and_notifies_every_child_then_collects_nothing(
    ws: Workspace,
) -> None:
    n = 1000  # REQUIREMENTS R9: 1,000 children
    children = [sid() for _ in range(n)]
    for s in children:
        ws.subject(s, birth=birthday(10))
        ws.consent(s, f"c-{s}", categories=ALL)
    ws.flush()
    time.sleep(1.0)
    for s in children:
        ws.event("clickstream", click(s), key=s.encode())
    ws.flush()
    mine = {s.encode() for s in children}
    passed = ws.wait_for(ws.sink("clickstream"), lambda r: r.key in mine, n, 60)
    assert len(passed) == n
    time.sleep(1.0)
    done = ws.cli("service-stop", "--yes", "--wait", "90", timeout=150)
    assert done.returncode == 0, done.stderr + done.stdout
    got = ws.wait_for(ws.topics["deletions"], lambda r: r.key in mine, n, 30)
    reasons = {_decode(deletion_codec, r)["reason"] for r in got}
    assert len({r.key for r in got}) == n and reasons == {"SERVICE_STOPPED"}
    notices = ws.wait_for(ws.topics["notices"], lambda r: r.key in mine, n, 30)
    assert {_decode(notice_codec, r)["kind"] for r in notices} == {"SERVICE_STOPPED"}
    assert len({r.key for r in notices}) == n
    late = children[0]
    ws.event("clickstream", click(late), key=late.encode())
    ws.flush()
    stopped = audits_of(ws, late, "DROPPED")
    assert stopped and stopped[-1]["reason"] == "SERVICE_STOPPED"
    assert len(ws.wait_for(ws.sink("clickstream"), lambda r: r.key == late.encode(), 2, 2)) == 1
    assert refs.ref(late) not in done.stdout
