"""Start an engine in this process (what `wardstream worker` runs): Faust or fast."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import faust

from wardstream.config.settings import Settings
from wardstream.domain.pipeline import Pipeline
from wardstream.engines.bootstrap import (
    build_enforcer,
    client_config,
    prepare,
    read_audit_tails,
    security_config,
    state_snapshots,
)
from wardstream.engines.faust.clients import consumer_factory, make_app
from wardstream.engines.faust.engine import FaustEngine
from wardstream.engines.faust.state_reader import StateReader
from wardstream.errors import RestartNeeded, WardstreamError
from wardstream.kafka.admin import partition_counts
from wardstream.policy.context import PolicyContext

log = logging.getLogger(__name__)


def run_faust(
    settings: Settings,
    pipelines: Sequence[Pipeline],
    policy: PolicyContext,
    base_dir: str = ".",
    loglevel: str = "warn",
) -> None:
    w = settings.worker
    if w.processing_guarantee == "exactly_once":
        raise WardstreamError(
            "processing_guarantee exactly_once is not offered by the Faust engine: faust-streaming "
            "0.15 picks a send's transaction by the output partition, not the input one, so a "
            "transaction can commit outputs of events it did not read. Use at_least_once (the "
            "default; duplicates are possible after a crash, losses are not)."
        )
    enforcer = build_enforcer(settings, pipelines, policy, base_dir)  # keys, schemas: no Kafka
    prepare(settings, pipelines)  # then the network: topics
    resumed = read_audit_tails(settings, enforcer.auditor)
    log.info("audit chains resumed from %d records", resumed)
    security = security_config(settings)
    app = make_app(
        w.app_id,
        settings.kafka.bootstrap_servers,
        web_port=w.web_port,
        web_host=w.web_host,
        datadir=str(w.data_dir),
        guarantee=w.processing_guarantee,
        security=security,
        batch_size=w.batch_size,
        instance_id=w.name if w.static_membership else None,
    )
    applier = enforcer.applier
    assert applier is not None, "build_enforcer attaches the lifecycle"  # noqa: S101
    counts = partition_counts(client_config(settings), list(applier.topics))
    snaps = state_snapshots(settings, enforcer)  # restored now, before the reader starts
    reader = StateReader(
        consumer_factory(settings.kafka.bootstrap_servers, security),
        applier if snaps is None else snaps,
        counts,
        enforcer.state,
        start=None if snaps is None else snaps.start,
        reached=None if snaps is None else snaps.reached,
    )
    FaustEngine(
        app,
        enforcer,
        reader,
        w.batch_size,
        reload_audit=lambda: read_audit_tails(settings, enforcer.auditor),
        snapshots=snaps,
    )
    run_until_stopped(faust.Worker(app, loglevel=loglevel, quiet=True))


def run_until_stopped(worker: Any) -> None:
    """Run a Faust (mode) worker. mode turns any crash into exit code 1; a crash whose
    reason is a ``RestartNeeded`` leaves as that error, so ``wardstream worker`` exits
    with ``EXIT_RESTART`` as the fast engine does."""
    try:
        worker.execute_from_commandline()
    except SystemExit:
        if isinstance(worker.crash_reason, RestartNeeded):
            raise worker.crash_reason from None
        raise


def run_fast(
    settings: Settings,
    pipelines: Sequence[Pipeline],
    policy: PolicyContext,
    base_dir: str = ".",
    loglevel: str = "warn",
) -> None:
    """Start the fast engine (confluent-kafka) here: `wardstream worker --engine fast`."""
    from wardstream.engines.fast.boot import build_fast_engine, serve
    from wardstream.kafka.librdkafka import fast_settings

    fast = fast_settings(settings)
    enforcer = build_enforcer(settings, pipelines, policy, base_dir)  # keys, schemas: no Kafka
    prepare(settings, pipelines)  # then the network: topics
    engine = build_fast_engine(settings, fast, enforcer)
    log.info("fast engine: %s", settings.worker.processing_guarantee)
    serve(engine, settings.worker.web_port, loglevel, settings.worker.web_host)
