"""`wardstream demo --generate-only`: write the traffic to a configuration's own topics.

For docker compose and other long-running deployments: the workers run on
their own, so there is no worker to start, no prefix (the topics are the
configuration's) and no accounting (the topics may hold earlier runs).
Pipelines of the plan that the configuration lacks (the demo's own
``live_comments``) are skipped and reported. The producer connects with the
configuration's ``kafka`` security settings (TLS, SASL), like the workers.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from wardstream.demo.generate import generate
from wardstream.demo.produce import KafkaSender, Written, targets_for, write_plan
from wardstream.demo.workspace import create_topics, find_project, load_config
from wardstream.kafka.security import librdkafka_options, preflight


def generate_only(
    *,
    events: int,
    duration: float,
    seed: int,
    bootstrap: str | None,
    config: Path | None,
    project: Path | None,
    console: Console,
) -> dict[str, Any]:
    path = config or find_project(project) / "wardstream.yaml"
    settings, pipelines = load_config(path, bootstrap)
    preflight(settings.kafka)  # a refused login or CA stops here, with the fix
    created = create_topics(settings, pipelines)
    plan = generate(seed, events)
    targets = targets_for(
        settings.topics.subjects, settings.topics.consents, pipelines, path.parent
    )
    brokers = settings.kafka.bootstrap_servers
    console.print(
        f"Writing {events:,} events over {duration:g}s to {brokers} ({len(created)} topics created)"
    )
    began = time.monotonic()
    sender = KafkaSender(brokers, librdkafka_options(settings.kafka))
    scale, ticker = duration / plan.span_s, _Ticker(console)
    written = write_plan(
        plan, targets, sender, start=datetime.now(UTC), scale=scale, pace=True, progress=ticker
    )
    sender.flush()
    return {
        "run": {"seed": seed, "events": events, "duration_s": duration, "bootstrap": brokers,
                "elapsed_s": round(time.monotonic() - began, 1)},
        "produced": {
            "events": written.events,
            "by_pipeline": dict(sorted(written.by_pipeline.items())),
            "state_records": written.state,
            "skipped": dict(written.skipped),
        },
        "topics": {"sources": {p.name: p.source for p in pipelines},
                   "sinks": {p.name: p.sink for p in pipelines}},
    }  # fmt: skip


class _Ticker:
    """Says how far the writing got, every five seconds."""

    def __init__(self, console: Console) -> None:
        self.console, self.last = console, time.monotonic()

    def __call__(self, written: Written) -> None:
        if time.monotonic() - self.last >= 5:
            self.last = time.monotonic()
            self.console.print(f"  written {written.events:,} events")
