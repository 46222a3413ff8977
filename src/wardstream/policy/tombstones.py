"""Which sinks a DeletionRequest also tombstones (pipelines with ``sink_tombstones``).

A tombstone (key = subject id, value null) on a compacted sink keyed by subject
deletes the key's *latest* value, and compaction then removes every older one.
It is written only when that latest value is certainly data the deletion
covers, for each pipeline the deletion names (never one it does not name):

* its ``data_categories`` are empty (all) or cover every non-technical category
  of the pipeline's fields - else the value holds data the deletion spares;
* whole-subject reasons - DEREGISTERED, GUARDIAN_REQUEST, SERVICE_STOPPED,
  PROCESSOR_REMOVED - always: everything of the subject there must go;
* consent ended - CONSENT_WITHDRAWN, CONSENT_EXPIRED - only when an event of the
  subject with every field present would not reach the sink now: then no other
  consent lets new data through, and the latest value was collected under a
  consent that ended;
* time-ranged - RETENTION_EXPIRED, COLLECTED_WITHOUT_CONSENT - only when all the
  subject's known collection in the pipeline lies in the range: its newest
  collection mark plus the mark's grid step is before ``collected_before``, its
  oldest at or after ``collected_after`` (when set), and the subject is not
  treated as an adult now (adults' events are not marked, so a newer adult
  value could be the latest).

Pure: the caller passes the state it holds (profile, consents, seen marks).
A mark that another worker has written but this one has not read yet can make
a time-ranged tombstone also remove a value collected moments before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from wardstream.domain.decision import EventFacts
from wardstream.domain.enums import AgeBand, DataCategory, DeletionReason
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.requests import DeletionRequest
from wardstream.domain.subject import SubjectProfile
from wardstream.policy.context import PolicyContext
from wardstream.policy.decide import decide
from wardstream.policy.ledger import ConsentLedger

D = DeletionReason
WHOLE_SUBJECT = frozenset(
    {D.DEREGISTERED, D.GUARDIAN_REQUEST, D.SERVICE_STOPPED, D.PROCESSOR_REMOVED}
)
CONSENT_ENDED = frozenset({D.CONSENT_WITHDRAWN, D.CONSENT_EXPIRED})
TIME_RANGED = frozenset({D.RETENTION_EXPIRED, D.COLLECTED_WITHOUT_CONSENT})
Span = tuple[datetime | None, datetime]
"""A seen mark: (oldest retained collection or None, newest collection mark)."""


def sink_tombstones(
    deletion: DeletionRequest,
    pipelines: Iterable[Pipeline],
    *,
    profile: SubjectProfile | None,
    ledger: ConsentLedger | None,
    spans: Mapping[str, Span],
    grid: timedelta,
    policy: PolicyContext,
) -> tuple[Pipeline, ...]:
    """The pipelines whose sink gets a tombstone for ``deletion`` (see the module doc)."""
    named = set(deletion.pipelines)
    return tuple(
        p
        for p in pipelines
        if p.sink_tombstones
        and p.name in named
        and _covers_categories(deletion, p)
        and _due(deletion, p, profile, ledger, spans.get(p.name), grid, policy)
    )


def _covers_categories(deletion: DeletionRequest, pipeline: Pipeline) -> bool:
    if not deletion.data_categories:
        return True
    held = {c for c in pipeline.fields.values() if c is not DataCategory.TECHNICAL}
    return held <= set(deletion.data_categories)


def _due(
    d: DeletionRequest,
    p: Pipeline,
    profile: SubjectProfile | None,
    ledger: ConsentLedger | None,
    span: Span | None,
    grid: timedelta,
    policy: PolicyContext,
) -> bool:
    if d.reason in WHOLE_SUBJECT:
        return True
    now = EventFacts(d.subject_id, d.issued_at, frozenset(p.fields))
    decision = decide(now, profile, ledger, p, policy)
    if d.reason in CONSENT_ENDED:
        return not decision.is_forwarded
    if d.reason not in TIME_RANGED or span is None or decision.treated_as is AgeBand.ADULT:
        return False
    first, last = span
    after = d.collected_after
    return last + grid < d.collected_before and (
        after is None or (first is not None and first >= after)
    )
