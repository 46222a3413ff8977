"""Assemble the fast engine from settings: clients, fencing, audit resume, state feed, web.

The order matters under exactly_once: the transactional producer fences this
worker's earlier incarnation (aborting its open transaction) before the audit
chains are read back with read_committed, so a chain never continues from a
record that was rolled back.
"""

from __future__ import annotations

import logging
import signal

from confluent_kafka import Consumer, Producer

from wardstream.config.settings import Settings
from wardstream.enforce.enforcer import Enforcer
from wardstream.engines.bootstrap import read_audit_tails, state_snapshots
from wardstream.engines.fast.delivery import (
    AfterDelivery,
    Delivery,
    DeliveryErrors,
    Transactions,
)
from wardstream.engines.fast.engine import FastEngine
from wardstream.engines.fast.state_feed import StateFeed
from wardstream.engines.fast.web import WebServer
from wardstream.errors import WardstreamError
from wardstream.kafka.librdkafka import (
    FastEngineSettings,
    consumer_config,
    producer_config,
    state_consumer_config,
)

LOG_LEVELS = {
    "crit": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}


def build_fast_engine(
    settings: Settings, fast: FastEngineSettings, enforcer: Enforcer
) -> FastEngine:
    eos = settings.worker.processing_guarantee == "exactly_once"
    errors = DeliveryErrors()
    producer = Producer(producer_config(settings, fast, errors))
    consumer = Consumer(consumer_config(settings, fast))
    delivery: Delivery = (
        Transactions(producer, consumer, errors)
        if eos
        else AfterDelivery(producer, consumer, errors)
    )
    delivery.start()
    read_audit_tails(settings, enforcer.auditor)
    applier = enforcer.applier
    if applier is None:
        raise WardstreamError("build_enforcer attaches the lifecycle state; call it first")
    snaps = state_snapshots(settings, enforcer, load=False)  # restored in FastEngine.run
    feed = StateFeed(
        lambda: Consumer(state_consumer_config(settings, fast)),
        applier if snaps is None else snaps,
        enforcer.state,
        interval_s=fast.state_poll_interval_s,
        reached=None if snaps is None else snaps.reached,
    )
    return FastEngine(
        enforcer,
        consumer,
        producer,
        feed,
        delivery,
        fast,
        exactly_once=eos,
        reload_audit=lambda: read_audit_tails(settings, enforcer.auditor),
        state_stall_s=settings.worker.state_stall_s,
        snapshots=snaps,
    )


def serve(engine: FastEngine, web_port: int, loglevel: str, web_host: str = "127.0.0.1") -> None:
    """Run until SIGTERM or SIGINT, with the probes and /metrics on ``web_port`` (0 = off)."""
    logging.basicConfig(
        level=LOG_LEVELS.get(loglevel.lower(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    registry = engine.enforcer.metrics.registry
    probes = {"/livez": engine.livez, "/readyz": engine.readyz, "/health": engine.health}
    web = WebServer(web_port, probes, registry, web_host) if web_port else None
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: engine.stop())
    if web is not None:
        web.start()
    try:
        engine.run()
    finally:
        if web is not None:
            web.stop()
