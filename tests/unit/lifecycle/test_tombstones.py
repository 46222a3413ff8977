"""Sink tombstones: which deletions tombstone an opted-in sink, and what the issuer sends."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from tests.unit.conftest import RECORDS
from tests.unit.policy.test_policy_support import (
    T0,
    born,
    child,
    grant,
    ledger,
    pipeline,
    policy,
    subject,
    withdraw,
)

from wardstream.audit.pseudonym import SubjectPseudonymizer
from wardstream.domain.enums import DataCategory, DeletionReason
from wardstream.domain.errors import InvalidRecordError
from wardstream.domain.requests import DeletionRequest
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.state import StateStore
from wardstream.lifecycle.applier import LifecycleState, LifecycleTopics
from wardstream.lifecycle.issuer import LifecycleIssuer
from wardstream.lifecycle.records import SeenMark
from wardstream.policy.ids import deletion
from wardstream.policy.tombstones import Span, sink_tombstones
from wardstream.serde import Origin

D = DeletionReason
H = timedelta(hours=1)
DAY = timedelta(days=1)
CLICKS = pipeline(subject="key", sink_tombstones=True)
PLAIN = pipeline(name="plain", sink="app.plain.lawful")  # not opted in
OTHER = pipeline(name="other", sink="app.other.lawful", subject="key", sink_tombstones=True)
PIPES = (CLICKS, PLAIN, OTHER)


def _deletion(
    reason: DeletionReason, *, names: tuple[str, ...] = ("clickstream",), **kw: Any
) -> DeletionRequest:
    return deletion("kid-1", reason, ("k",), T0, policy(), pipelines=names, **kw)


def _tombstoned(
    d: DeletionRequest,
    *,
    profile: Any = None,
    consents: Any = None,
    spans: dict[str, Span] | None = None,
) -> list[str]:
    found = sink_tombstones(
        d,
        PIPES,
        profile=child() if profile is None else profile,
        ledger=consents,
        spans=spans or {},
        grid=H,
        policy=policy(),
    )
    return [p.name for p in found]


def test_opting_in_needs_a_sink_keyed_by_subject() -> None:
    with pytest.raises(InvalidRecordError, match="sink_tombstones"):
        pipeline(sink_tombstones=True)  # subject is the field user_id


@pytest.mark.parametrize(
    "reason", [D.DEREGISTERED, D.GUARDIAN_REQUEST, D.SERVICE_STOPPED, D.PROCESSOR_REMOVED]
)
def test_whole_subject_deletions_tombstone_every_opted_in_sink_they_name(
    reason: DeletionReason,
) -> None:
    d = _deletion(reason, names=("clickstream", "plain", "other"))
    assert _tombstoned(d) == ["clickstream", "other"]
    assert _tombstoned(_deletion(reason, names=("plain",))) == []
    assert _tombstoned(_deletion(reason, names=())) == []  # seen nowhere: nothing to delete


def test_an_ended_consent_tombstones_when_nothing_else_lets_the_subject_through() -> None:
    withdrawn = ledger(grant("c1"), withdraw("c1", at=T0 - H))
    d = _deletion(D.CONSENT_WITHDRAWN, data_categories=("identifier", "behaviour", "location"))
    assert _tombstoned(d, consents=withdrawn) == ["clickstream"]
    expired = _deletion(D.CONSENT_EXPIRED, collected_before=T0 - H)
    assert _tombstoned(expired, consents=withdrawn) == ["clickstream"]
    # another consent still covers the pipeline: the latest value may be lawful
    both = ledger(grant("c1"), grant("c2"), withdraw("c1", at=T0 - H))
    assert _tombstoned(d, consents=both) == []


def test_a_deletion_of_some_categories_never_tombstones() -> None:
    withdrawn = ledger(grant("c1"), withdraw("c1", at=T0 - H))
    d = _deletion(D.CONSENT_WITHDRAWN, data_categories=("location",))
    assert _tombstoned(d, consents=withdrawn) == []
    whole = _deletion(D.DEREGISTERED, data_categories=tuple(DataCategory))
    assert _tombstoned(whole) == ["clickstream"]  # every category covered


def _retention(cutoff: datetime) -> DeletionRequest:
    return _deletion(D.RETENTION_EXPIRED, collected_before=cutoff)


def test_retention_tombstones_only_when_everything_collected_is_older_than_the_cutoff() -> None:
    cutoff = T0 - 30 * DAY
    old: dict[str, Span] = {"clickstream": (None, cutoff - 2 * H)}
    assert _tombstoned(_retention(cutoff), spans=old) == ["clickstream"]
    recent: dict[str, Span] = {"clickstream": (cutoff, T0 - H)}
    assert _tombstoned(_retention(cutoff), spans=recent) == []  # a newer value is lawful
    # the newest mark may lag the newest collection by one grid step
    edge: dict[str, Span] = {"clickstream": (None, cutoff - H / 2)}
    assert _tombstoned(_retention(cutoff), spans=edge) == []
    assert _tombstoned(_retention(cutoff)) == []  # no mark: nothing known


def test_no_time_ranged_tombstone_for_a_subject_now_an_adult() -> None:
    cutoff = T0 - 30 * DAY
    grown = subject(born(18, days=10))  # turned 18 ten days ago: adults are not marked
    spans: dict[str, Span] = {"clickstream": (None, cutoff - 2 * DAY)}
    assert _tombstoned(_retention(cutoff), profile=grown, spans=spans) == []


def test_an_unlawful_range_tombstones_only_when_it_holds_all_the_subject_has() -> None:
    after, before = T0 - 2 * DAY, T0 - DAY
    d = _deletion(D.COLLECTED_WITHOUT_CONSENT, collected_after=after, collected_before=before)
    inside: dict[str, Span] = {"clickstream": (after + H, before - 3 * H)}
    assert _tombstoned(d, spans=inside) == ["clickstream"]
    older: dict[str, Span] = {"clickstream": (after - H, before - 3 * H)}
    assert _tombstoned(d, spans=older) == []  # the range does not reach the oldest


# -- the issuer -----------------------------------------------------------------------------
def _issuer() -> tuple[LifecycleIssuer, Auditor]:
    topics = LifecycleTopics(
        *(f"ward.{k}" for k in ("subjects", "consents", "quarantine", "requests")),
        *(f"ward.{k}" for k in ("deletions", "notices", "corrections", "seen")),
        *(f"ward.{k}" for k in ("control", "holds", "keys")),
    )
    auditor = Auditor("ward.audit", "w1", SubjectPseudonymizer(b"k" * 32, "k1"))
    state, lifecycle = StateStore(), LifecycleState(records=RECORDS)
    state.put_subject("kid-1", child())
    lifecycle.seen["kid-1"] = {"clickstream": SeenMark(T0 - DAY, T0 - DAY)}
    issuer = LifecycleIssuer(PIPES, policy(), state, lifecycle, auditor, topics)
    return issuer, auditor


def test_the_issuer_writes_a_tombstone_with_the_deletion_and_audits_it() -> None:
    issuer, auditor = _issuer()
    d = _deletion(D.DEREGISTERED, names=("clickstream", "plain"))
    out = issuer._deletion(d)
    tombs = [o for o in out if o.value is None]
    assert [(o.topic, o.key) for o in tombs] == [("app.clickstream.lawful", b"kid-1")]
    [audit] = [auditor.decode(o.value, Origin("a", 0, 0)) for o in out if o.topic == "ward.audit"]
    assert audit.chain == "_control/0" and audit.action == "DELETION_ISSUED"
    assert audit.attrs["sink_tombstones"] == "clickstream"
    assert audit.attrs["deletion_id"] == d.deletion_id and "kid-1" not in str(audit)


def test_a_deletion_without_opted_in_sinks_is_audited_as_before() -> None:
    issuer, auditor = _issuer()
    out = issuer._deletion(_deletion(D.GUARDIAN_REQUEST, names=("plain",)))
    assert all(o.value is not None for o in out)
    [audit] = [auditor.decode(o.value, Origin("a", 0, 0)) for o in out if o.topic == "ward.audit"]
    assert set(audit.attrs) == {"deletion_id", "pipelines"}


@pytest.mark.parametrize(("leader", "chain"), [(True, "_control/0"), (False, "_worker/w1")])
def test_compensation_is_audited_on_the_leaders_chain_or_the_workers_own(
    leader: bool, chain: str
) -> None:
    """A chain has one writer: a worker that is not the lifecycle leader must not write
    ``_control/0`` (the leader does), or the chain forks."""
    issuer, auditor = _issuer()
    out = issuer.issue_own([_deletion(D.COLLECTED_WITHOUT_CONSENT)], leader=leader)
    audits = [auditor.decode(o.value, Origin("a", 0, 0)) for o in out if o.topic == "ward.audit"]
    assert [(a.chain, a.action) for a in audits] == [(chain, "DELETION_ISSUED")]
    assert issuer.chain == "_control/0"  # the leader's chain again for what follows


def test_retention_sweeps_every_mark_per_grid_step_and_new_marks_in_between() -> None:
    """A mark read between two grid steps is swept at once; the others, whose cut-off
    has not moved, wait for the next step (they gave their candidates already)."""
    issuer, _ = _issuer()
    lifecycle, grid = issuer.lifecycle, issuer.grid
    now = T0.replace(minute=0, second=0, microsecond=0) + grid / 4

    def expired(at: datetime) -> list[str]:
        found = [c.record for c in issuer._sweep(at)]
        return sorted(d.subject_id for d in found if d.reason is D.RETENTION_EXPIRED)

    assert expired(now) == []  # kid-1's mark is a day old
    lifecycle.seen["kid-2"] = {"clickstream": SeenMark(T0 - 40 * DAY, T0 - 40 * DAY)}
    lifecycle.seen["kid-3"] = {"clickstream": SeenMark(T0 - 40 * DAY, T0 - 40 * DAY)}
    lifecycle.seen_changed.add(("kid-2", "clickstream"))  # as the applier notes a mark read
    assert expired(now) == ["kid-2"]
    assert expired(now + grid / 4) == [], "nothing new within the step"
    assert expired(now + grid) == ["kid-2", "kid-3"], "the next step sweeps every mark"
