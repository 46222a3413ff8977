"""Periodic lifecycle work, resolved against the state every worker holds (no I/O).

Each function returns ``Candidate`` records; the issuer decides who sends
them (the leader) and drops those whose deterministic id was already issued.

* Consent expiry: every open grant whose ``expires_at`` has passed
  (CONSENT_EXPIRED, id from consent id and expiry: a re-run finds the same).
* Retention: for each (subject, pipeline) mark whose oldest retained
  collection is older than the pipeline's ``retention`` at ``grid_now`` (the
  clock rounded down to the retention grid, so every worker and every replay
  computes the same cut-off and id). The candidate carries the new mark: after
  the deletion nothing before the cut-off is retained, so ``first_at`` moves to
  the cut-off (null when nothing newer was collected). Because only the oldest
  and newest collection times are kept, an active child may get one
  RETENTION_EXPIRED per grid step: over-deleting, never over-retaining.
* Service stop: a SERVICE_STOPPED deletion and notice for every child seen in
  the stopped scope, keyed by the stop marker's time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from wardstream.domain.notice import GuardianNotice
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.requests import CorrectionRequest, DeletionRequest
from wardstream.lifecycle.records import STOP_ALL, SeenMark
from wardstream.policy.context import PolicyContext
from wardstream.policy.ledger import ConsentLedger
from wardstream.policy.lifecycle import deletions_for_expiry
from wardstream.policy.sweeps import retention_sweep, service_stop

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Candidate:
    record: DeletionRequest | CorrectionRequest
    notice: GuardianNotice | None = None
    mark: tuple[str, str, SeenMark] | None = None
    """A seen mark to write once the record is issued (retention moves the clock)."""

    @property
    def ident(self) -> str:
        r = self.record
        return r.deletion_id if isinstance(r, DeletionRequest) else r.correction_id


def on_grid(now: datetime, grid: timedelta) -> datetime:
    step = grid.total_seconds()
    return datetime.fromtimestamp((now.timestamp() // step) * step, UTC)


def expiries(
    ledgers: Iterable[ConsentLedger],
    pipelines: tuple[Pipeline, ...],
    now: datetime,
    policy: PolicyContext,
) -> list[Candidate]:
    out = []
    for ledger in ledgers:
        out += [Candidate(d) for d in deletions_for_expiry(ledger, pipelines, EPOCH, now, policy)]
    return out


def retention(
    seen: Mapping[str, Mapping[str, SeenMark]],
    pipelines: tuple[Pipeline, ...],
    grid_now: datetime,
    policy: PolicyContext,
) -> list[Candidate]:
    oldest = {
        (sid, name): mark.first_at
        for sid, marks in seen.items()
        for name, mark in marks.items()
        if mark.first_at is not None
    }
    out = []
    for request in retention_sweep(oldest, pipelines, grid_now, policy):
        sid, name = request.subject_id, request.pipelines[0]
        last = seen[sid][name].last_at
        cutoff = request.collected_before
        new = SeenMark(cutoff if last >= cutoff else None, last)
        out.append(Candidate(request, mark=(sid, name, new)))
    return out


def stops(
    markers: Mapping[str, datetime],
    seen: Mapping[str, Mapping[str, SeenMark]],
    pipelines: Sequence[str],
    policy: PolicyContext,
) -> list[Candidate]:
    """Per stop marker, every child seen in its scope: a deletion and a notice naming the
    stopped pipeline, or every configured one for a stop of all (a whole-subject deletion)."""
    out = []
    for scope, stopped_at in sorted(markers.items()):
        names = list(pipelines) if scope == STOP_ALL else [scope]
        children = {sid: names for sid, marks in seen.items() if marks and (
            scope == STOP_ALL or scope in marks)}  # fmt: skip
        out += [Candidate(d, n) for d, n in service_stop(children, stopped_at, policy)]
    return out
