"""A whole-subject deletion names every configured pipeline, seen or not (SPEC,
DeletionRequest): wardstream cannot know what was collected before it was deployed or
while a seen mark was lost, and a downstream system reads an empty list as "delete
nothing"."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.conftest import RECORDS
from tests.unit.policy.test_policy_support import T0, child, pipeline, policy

from wardstream.audit.pseudonym import SubjectPseudonymizer
from wardstream.domain.enums import DeletionReason, RequestKind
from wardstream.domain.requests import GuardianRequest
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.state import StateStore
from wardstream.lifecycle.applier import LifecycleState, LifecycleTopics, Trigger
from wardstream.lifecycle.issuer import LifecycleIssuer
from wardstream.lifecycle.records import STOP_ALL, SeenMark
from wardstream.lifecycle.sweeps import stops

DAY = timedelta(days=1)
PIPES = (
    pipeline(),
    pipeline(name="lessons", sink="app.lessons.lawful"),
    pipeline(name="partner", sink="app.partner.lawful"),
)
EVERY = ("clickstream", "lessons", "partner")
KEY = bytes.fromhex("8f2b0c6e4d1a9b7c3e5f0a2d4c6b8e1f3a5c7e9b0d2f4a6c8e0b1d3f5a7c9e1b")


def issuer(seen: dict[str, dict[str, SeenMark]]) -> LifecycleIssuer:
    topics = LifecycleTopics(
        *(f"ward.{k}" for k in ("subjects", "consents", "quarantine", "requests")),
        *(f"ward.{k}" for k in ("deletions", "notices", "corrections", "seen")),
        *(f"ward.{k}" for k in ("control", "holds", "keys")),
    )
    auditor = Auditor("ward.audit", "w1", SubjectPseudonymizer(KEY, "k1"))
    lifecycle = LifecycleState(records=RECORDS)
    lifecycle.seen.update(seen)
    return LifecycleIssuer(PIPES, policy(), StateStore(), lifecycle, auditor, topics)


def seen_in(*names: str) -> dict[str, SeenMark]:
    return {n: SeenMark(T0 - DAY, T0 - DAY) for n in names}


def test_deregistering_a_never_seen_subject_names_every_pipeline() -> None:
    gone = child(subject_id="kid-9", deregistered_at=T0)
    [candidate] = issuer({})._resolve(Trigger(0.0, gone), T0)
    assert candidate.record.reason is DeletionReason.DEREGISTERED
    assert candidate.record.pipelines == EVERY


def test_deregistering_a_subject_seen_in_one_pipeline_names_every_pipeline() -> None:
    gone = child(subject_id="kid-1", deregistered_at=T0)
    [candidate] = issuer({"kid-1": seen_in("lessons")})._resolve(Trigger(0.0, gone), T0)
    assert candidate.record.pipelines == EVERY


def test_a_guardian_delete_without_scope_names_every_pipeline_and_a_scoped_one_its_scope() -> None:
    i = issuer({"kid-1": seen_in("clickstream")})
    delete = GuardianRequest(
        request_id="r1", subject_id="kid-1", kind=RequestKind.DELETE, received_at=T0
    )
    [candidate] = i._resolve(Trigger(0.0, delete), T0)
    assert candidate.record.pipelines == EVERY
    scoped = GuardianRequest(
        request_id="r2", subject_id="kid-1", kind="DELETE", scope=["partner"], received_at=T0
    )
    [candidate] = i._resolve(Trigger(0.0, scoped), T0)
    assert candidate.record.pipelines == ("partner",)


def test_a_service_stop_of_all_names_every_pipeline_and_a_scoped_stop_its_pipeline() -> None:
    seen = {"kid-1": seen_in("lessons"), "kid-2": seen_in("clickstream")}
    every = [p.name for p in PIPES]
    found = {c.record.subject_id: c for c in stops({STOP_ALL: T0}, seen, every, policy())}
    assert set(found) == {"kid-1", "kid-2"}, "every child seen gets a deletion and a notice"
    assert all(c.record.pipelines == EVERY for c in found.values())
    assert all(c.notice is not None and c.notice.pipelines == EVERY for c in found.values())
    scoped = stops({"lessons": T0}, seen, every, policy())
    assert [(c.record.subject_id, c.record.pipelines) for c in scoped] == [("kid-1", ("lessons",))]
