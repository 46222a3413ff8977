"""The lane's table: what the Python policy compiled for each subject, and how it is
compiled (``wardstream.enforce.lane`` evaluates it on batches; see its module doc).

Entries come from :mod:`wardstream.policy.routes` (which asks ``decide`` itself) after
the Python path decided a subject's event, or ahead of a batch from the state alone;
a subject's entry goes whenever its state changes (a state listener) or the policy
object is replaced (a stop marker).

The table also keeps which subjects have an event waiting (``wait``, ``settle``), so
that their events stay in order, and *stamps* what it hands out: a hint (an event kept
undecoded with its entry's decision) still stands when neither the subject's state nor
the policy changed since it was made (``still``).
"""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime, timedelta
from itertools import count
from typing import Protocol

import wardstream._native as _native
from wardstream.domain.decision import Decision
from wardstream.domain.pipeline import Pipeline
from wardstream.domain.subject import SubjectProfile
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.hooks import RouteObserver
from wardstream.enforce.schema_wait import SchemaWait
from wardstream.enforce.sink import ward_headers
from wardstream.enforce.state import StateStore
from wardstream.policy.age import ALWAYS, NEVER
from wardstream.policy.context import PolicyContext
from wardstream.policy.ledger import ConsentLedger
from wardstream.policy.routes import (
    ConsentedRoute,
    adult_pass_from,
    blocked_between,
    consented_route_between,
)
from wardstream.serde import AvroSchema, Codec, presence_names
from wardstream.serde.lazy import EPOCH
from wardstream.serde.native import NativeLocator
from wardstream.serde.redact import redaction_plan

MAX_CODES = 1_000_000
"""Decisions the lane keeps codes for (a consented child's names its consent: about one
per child); past it the table starts afresh and is learnt again."""
MAX_UNFIT = 100_000
"""Children remembered as having no interval (more are asked again each time)."""
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
MICROSECOND = timedelta(microseconds=1)
_STAMPS = count(1)
"""Stamps of every lane of the process: a lane made anew never honours an older one's."""


class Holds(Protocol):
    """The processor's timing, as the lane reads it (``processor.Timing``)."""

    @property
    def state_lateness(self) -> float: ...


class Host(Protocol):
    """What the lane reads of its pipeline processor."""

    pipeline: Pipeline
    policy: PolicyContext  # replaced, not mutated, when it changes
    schema: AvroSchema
    auditor: Auditor
    observers: list[RouteObserver]
    schema_wait: SchemaWait
    state: StateStore

    @property
    def timing(self) -> Holds: ...

    @property
    def codec(self) -> Codec: ...

    @property
    def seals_fields(self) -> bool:
        """``encrypt: true`` sink fields: a child's event is re-encoded, never in the lane."""
        ...


class Entries:
    """The table of one pipeline processor's lane, and its compilation."""

    def __init__(self, processor: Host, locator: NativeLocator) -> None:
        self.p, self.locator = processor, locator
        self.table = _native.LaneTable()
        self.policy = processor.policy
        self.decisions: list[Decision] = []  # code - 1 -> the decision
        self.ward: list[list[tuple[str, bytes | None]]] = []  # code - 1 -> its ward-* headers
        self._codes: dict[Decision, int] = {}
        # children with no interval (passing, or blocked): not asked again until their
        # state changes
        self._unfit: set[str] = set()
        self._unblocked: set[str] = set()
        self._tried: set[str] = set()  # compiled ahead to nothing
        self.marked: set[str] = set()  # waiting in the native table: their events in order
        self.stamp = self.cleared = next(_STAMPS)  # the table's last change, its last clear
        self.changed: dict[str, int] = {}  # marked subject -> stamp of its state's last change
        self.children = not processor.seals_fields
        # every field an event can carry, as the Python path's presence probe names them
        self.everything = presence_names(processor.schema, processor.pipeline.fields)

    # -- the table ------------------------------------------------------------------
    def learn(
        self, subject_id: str, profile: SubjectProfile | None, when: datetime | None = None
    ) -> bool:
        """Compile ``profile`` into the table (after the Python path passed an adult; with
        ``when``, only if the subject is an adult then): whether it was."""
        self._current()
        found = adult_pass_from(profile, self.p.pipeline, self.policy)
        if found is None or (when is not None and found[0] > when):
            return False
        since, decision = found
        self._set(subject_id, decision, _micros(since), I64_MAX, held=False)
        return True

    def learn_child(
        self,
        subject_id: str,
        profile: SubjectProfile | None,
        consents: ConsentLedger | None,
        when: datetime,
    ) -> bool:
        """Compile a consented child's route around ``when`` (after the Python path
        passed or redacted its event at ``when``): whether there is one."""
        self._current()
        if not self.children or subject_id in self._unfit:
            return False
        found = consented_route_between(
            profile, consents, self.p.pipeline, self.policy, when, self.everything
        )
        shape = 0 if found is None or not found.fields else self._shape(found)
        if found is not None and shape is not None:
            start, end = _micros(found.start), _micros(found.end)
            self._set(subject_id, found.decisions[0], start, end, held=True, shape=shape)
            return True
        return _remember(self._unfit, subject_id)

    def learn_blocked(
        self,
        subject_id: str,
        profile: SubjectProfile | None,
        consents: ConsentLedger | None,
        when: datetime,
    ) -> bool:
        """Compile a blocked child's interval around ``when`` (after the Python path
        quarantined or dropped its event at ``when``): whether there is one."""
        self._current()
        if subject_id in self._unblocked:
            return False
        found = blocked_between(
            profile, consents, self.p.pipeline, self.policy, when, self.everything
        )
        if found is not None:
            start, end, decision = found
            self._set(subject_id, decision, _micros(start), _micros(end), held=True, aside=True)
            return True
        return _remember(self._unblocked, subject_id)

    def _shape(self, route: ConsentedRoute) -> int | None:
        """The native shape of a route that redacts (None: the native side cannot)."""
        cuts = []
        for decision in route.decisions:
            plan = redaction_plan(self.p.schema, decision.remove_fields)
            if not plan.is_possible or any(step.value is not None for step in plan.steps):
                return None  # quarantined instead, or set to a default: the Python path
            cuts.append(list(plan.cleared))
        if len(self.decisions) + len(route.decisions) > MAX_CODES:
            self._clear()  # not between two codes of one shape
        codes = [self._code(decision) for decision in route.decisions]
        return self.locator.shape(self.table, list(route.fields), codes, cuts)

    def _set(
        self,
        subject_id: str,
        decision: Decision,
        start: int,
        end: int,
        *,
        held: bool,
        shape: int = 0,
        aside: bool = False,
    ) -> None:
        self.table.set(subject_id, start, self._code(decision), end, held, shape, aside)

    def _code(self, decision: Decision) -> int:
        code = self._codes.get(decision)
        if code is None:
            if len(self.decisions) >= MAX_CODES:
                self._clear()
            self.decisions.append(decision)
            self.ward.append(list(ward_headers(decision)))
            code = self._codes[decision] = len(self.decisions)
        return code

    def knows_nobody(self) -> bool:
        """Nothing here to forget: ``forget`` would do nothing for any subject."""
        return not (len(self.table) or self._unfit or self._unblocked or self._tried or self.marked)

    def forget(self, subject_id: str) -> None:
        """A state listener: the subject's profile or consents changed."""
        self.table.discard(subject_id)
        self._unfit.discard(subject_id)
        self._unblocked.discard(subject_id)
        self._tried.discard(subject_id)
        if subject_id in self.marked:  # its hints no longer stand
            self.stamp = self.changed[subject_id] = next(_STAMPS)

    # -- waiting subjects -----------------------------------------------------------
    def wait(self, subject_id: str) -> None:
        """An event of ``subject_id`` waits in the Python path: its later events are
        hinted (kept in order behind it) until ``settle`` finds none waiting."""
        if subject_id not in self.marked:
            self.table.wait(subject_id)
            self.marked.add(subject_id)

    def settle(self, waiting: Container[str]) -> None:
        """``waiting``: the subjects that still have an event waiting; the others'
        events may pass again."""
        gone = {subject_id for subject_id in self.marked if subject_id not in waiting}
        if gone:
            self.table.unwait(list(gone))
            self.marked -= gone
            for subject_id in gone:
                self.changed.pop(subject_id, None)

    def still(self, stamp: int, subject_id: str) -> bool:
        """Whether what the table handed out for ``subject_id`` at ``stamp`` still
        stands: neither its state nor the policy changed since."""
        self._current()
        return stamp >= self.cleared and stamp >= self.changed.get(subject_id, 0)

    def _current(self) -> None:
        if self.p.policy is not self.policy:  # e.g. a stop marker replaced it
            self._clear()
            self.policy = self.p.policy

    def _clear(self) -> None:
        self.stamp = self.cleared = next(_STAMPS)
        self.changed = {}
        self.table.clear()
        self.decisions, self.ward, self._codes = [], [], {}
        self._unfit, self._unblocked, self._tried = set(), set(), set()

    def __len__(self) -> int:
        return len(self.table)

    def _ahead(self, unknown: list[tuple[str, int]]) -> bool:
        """Compile entries for subjects of a batch that have none (each at its first event
        in the batch), from the state alone: whether any was."""
        state, learnt = self.p.state, False
        for subject_id, micros in unknown:
            if subject_id in self._tried:
                continue
            profile, consents = state.subjects.get(subject_id), state.consents.get(subject_id)
            when = EPOCH + timedelta(microseconds=micros)
            if (
                self.learn(subject_id, profile, when)
                or self.learn_child(subject_id, profile, consents, when)
                or self.learn_blocked(subject_id, profile, consents, when)
            ):
                learnt = True
            elif len(self._tried) < MAX_UNFIT:
                self._tried.add(subject_id)
        return learnt


def _micros(when: datetime) -> int:
    if when == NEVER:
        return I64_MIN
    return I64_MAX if when == ALWAYS else (when - EPOCH) // MICROSECOND


def _remember(misses: set[str], subject_id: str) -> bool:
    """Note a subject no route was found for (up to ``MAX_UNFIT``); False."""
    if len(misses) < MAX_UNFIT:
        misses.add(subject_id)
    return False
