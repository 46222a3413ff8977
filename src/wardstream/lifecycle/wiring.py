"""Wire the lifecycle into an enforcer: state applier, issuer, seen marks, service stop.

``attach(settings, pipelines, policy, enforcer)`` is called by
``bootstrap.build_enforcer`` for both engines. It gives the enforcer:

* ``enforcer.applier`` - a ``StateApplier``; an engine's state reader tails
  ``applier.topics`` (every partition, from the beginning, no group) and calls
  ``applier.apply(topic, partition, offset, key, value)`` for each record;
* ``enforcer.lifecycle`` - a ``LifecycleDriver`` that ``Enforcer.tick`` drives: the
  ``LifecycleIssuer`` (with quarantine encryption on, its ``shred`` hook destroys a
  deleted subject's data keys: ``lifecycle.shredding``) and compensation;
* the ``PassLog`` and a ``SeenTracker`` as route observers of every processor
  (``enforce.hooks``), and a stop listener that switches a
  processor's policy to ``service_stopped`` when a stop marker for it (or for
  every pipeline) is read - so collection stays stopped across restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from functools import partial

from wardstream.config.settings import Settings, derived, lifecycle_settings
from wardstream.domain.pipeline import Pipeline
from wardstream.enforce.auditor import CONTROL, CONTROL_CHAIN
from wardstream.enforce.enforcer import Enforcer
from wardstream.errors import WardstreamError
from wardstream.lifecycle.applier import LifecycleState, LifecycleTopics, StateApplier
from wardstream.lifecycle.breach import BreachScanner
from wardstream.lifecycle.compensation import PassLog
from wardstream.lifecycle.driver import LifecycleDriver
from wardstream.lifecycle.issuer import LifecycleIssuer
from wardstream.lifecycle.records import RECORDS_KEY_LABEL, STOP_ALL, LifecycleRecords
from wardstream.lifecycle.seen import SeenTracker
from wardstream.lifecycle.shredding import ShredBound, Shredder
from wardstream.policy.context import PolicyContext
from wardstream.policy.idkey import IdKey, require

COMPACTED_KINDS = ("seen", "control", "holds", "keys")


def lifecycle_topics(settings: Settings) -> LifecycleTopics:
    t = settings.topics
    return LifecycleTopics(
        subjects=t.subjects,
        consents=t.consents,
        quarantine=t.quarantine,
        requests=t.requests,
        deletions=t.deletions,
        notices=t.notices,
        corrections=t.corrections,
        deadletter=t.deadletter,
        **{kind: derived(settings, kind) for kind in COMPACTED_KINDS},
    )


def lifecycle_records(refs: Callable[[str], str], ids: IdKey | None) -> LifecycleRecords:
    """The codec of ``ward.seen`` and ``ward.holds``: refs, and values sealed under a key
    derived from the id key (so from ``audit.hmac_key``, which every worker and operator
    command has)."""
    return LifecycleRecords(refs, require(ids).subkey(RECORDS_KEY_LABEL))


def shred_bound(settings: Settings) -> ShredBound:
    """The keys topic's settings that bound how long a destroyed key stays in its log."""
    ls = settings.lifecycle
    return ShredBound(
        ls.keys_segment_ms,
        ls.keys_max_compaction_lag_ms,
        ls.keys_delete_retention_ms,
        ls.keys_min_cleanable_dirty_ratio,
        ls.keys_file_delete_delay_ms,
    )


def attach(
    settings: Settings, pipelines: Sequence[Pipeline], policy: PolicyContext, enforcer: Enforcer
) -> LifecycleState:
    ls = lifecycle_settings(settings)
    topics = lifecycle_topics(settings)
    grid = timedelta(seconds=ls.retention_grid_s)
    lifecycle = LifecycleState(
        shred_grace_ms=int(ls.shred_grace_s * 1000),
        records=lifecycle_records(enforcer.auditor.pseudonymizer.ref, policy.ids),
    )
    ring = enforcer.book.ring
    if ring is not None:
        lifecycle.keys = ring.store
    enforcer.applier = applier = StateApplier(topics, enforcer.state, enforcer.book, lifecycle)
    offset = ls.clock_offset_s
    issuer = LifecycleIssuer(
        pipelines,
        policy,
        enforcer.state,
        lifecycle,
        enforcer.auditor,
        topics,
        grid=grid,
        sweep_every_s=ls.sweep_every_s,
        clock=lambda: enforcer.wall() + offset,
    )
    applier.expiring = issuer.expiring
    shredder = None
    if ring is not None:
        audit = partial(enforcer.auditor.write, CONTROL_CHAIN, CONTROL)
        shredder = Shredder(ring, audit, shred_bound(settings), ls.shred_grace_s)
        issuer.shred = shredder.shred
    tracker = SeenTracker(topics.seen, lifecycle, grid)
    processors = list(enforcer.by_source.values())
    passes = PassLog(
        {p.pipeline.name: p.pipeline for p in processors},
        policy,
        enforcer.state,
        horizon_s=ls.compensation_horizon_s,
    )
    for p in processors:
        p.observers.extend((passes, tracker))  # in this order: the pass log, then the marks
    applier.watch_subjects(passes.on_subject, passes.idle)
    applier.watch_consents(passes.on_consent, passes.idle)

    def stop(scope: str) -> None:
        for p in processors:
            if scope in (STOP_ALL, p.pipeline.name) and not p.policy.service_stopped:
                p.policy = replace(p.policy, service_stopped=True)

    deadletter = processors[0].deadletter_topic if processors else None
    enforcer.lifecycle = LifecycleDriver(
        applier, issuer, passes, enforcer.auditor, deadletter, shredder
    )
    lifecycle.on_stop.append(stop)
    by_name = {p.pipeline.name: p for p in processors}
    unknown = sorted(m.like for m in ls.monitored_topics if m.like not in by_name)
    if unknown:
        raise WardstreamError(
            f"monitored_topics name unknown pipelines {unknown}: use one of {sorted(by_name)}"
        )
    monitored = {m.topic: by_name[m.like] for m in ls.monitored_topics}
    if monitored:
        scanner = BreachScanner(monitored, enforcer.state, policy)
        applier.watch(scanner, settings.topics.incidents)
        issuer.scanner, issuer.incidents_topic = scanner, settings.topics.incidents
    return lifecycle
