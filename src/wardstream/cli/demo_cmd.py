"""`wardstream demo`: a local Kafka, realistic traffic, the enforcer, and what it did."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.console import Console

from wardstream.cli.output import EXIT_PROBLEM, err, fail, say
from wardstream.errors import WardstreamError

EXIT_INTERRUPTED = 130


def demo(
    events: int = typer.Option(
        20_000, min=1, help="Source events to write (poison ones included)."
    ),
    duration: float = typer.Option(
        20.0, min=1.0, help="Seconds the traffic is spread over (event times span them too)."
    ),
    seed: int = typer.Option(1, help="Same seed, same subjects, consents and events."),
    bootstrap: str = typer.Option(
        None, help="Use this Kafka (host:port) instead of starting a local one."
    ),
    keep: bool = typer.Option(
        False, help="Leave Kafka, the worker and the topics running after the summary."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    generate_only: bool = typer.Option(
        False,
        "--generate-only",
        help="Only write the traffic to the topics of --config (no worker, no dashboard): "
        "for docker compose, where the workers run on their own.",
    ),
    config: Path = typer.Option(
        None, "--config", "-c", help="With --generate-only: the wardstream.yaml to write to."
    ),
    project: Path = typer.Option(
        None, help="Directory with wardstream.yaml, pipelines/ and schemas/ (default: found)."
    ),
    format: str = typer.Option(
        "avro",
        "--format",
        help="avro-confluent: the Avro pipelines use the Confluent wire format with a schema "
        "registry (a local Apicurio unless --registry).",
    ),
    registry: str = typer.Option(
        None, help="With --format avro-confluent: this schema registry URL."
    ),
) -> None:
    """Start a local Kafka, write realistic fictional traffic, run the enforcer, show what it did.

    The summary's figures are read back from the topics: every event is on a sink, in
    quarantine, on the dead-letter topic, or dropped with an audit record. Ctrl-C stops
    everything the demo started.

    Example: [bold]wardstream demo --events 20000 --seed 1[/bold]; against your own Kafka,
    leaving it all up to explore: [bold]wardstream demo --bootstrap broker:9092 --keep[/bold];
    on the Confluent format with a local registry: [bold]wardstream demo --format
    avro-confluent[/bold]
    """
    from wardstream.demo.session import DemoSession, Options

    _sigterm_as_interrupt()
    try:
        if generate_only:
            _generate_only(events, duration, seed, bootstrap, config, project, as_json)
            return
        if format not in ("avro", "avro-confluent"):
            fail(f"--format {format!r}: use avro (the pipelines' own) or avro-confluent")
        options = Options(events, duration, seed, bootstrap, keep, project, format, registry)
        result = DemoSession(options, err).run()
    except KeyboardInterrupt:
        say("[yellow]interrupted[/yellow]: stopped the traffic, the worker and the demo's Kafka")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except WardstreamError as exc:
        fail(str(exc))
    _report(result.summary, result.next_steps, as_json)
    if not result.summary["accounted"]["complete"] or not result.summary["audit"]["chains_intact"]:
        raise typer.Exit(EXIT_PROBLEM)


def _generate_only(
    events: int,
    duration: float,
    seed: int,
    bootstrap: str | None,
    config: Path | None,
    project: Path | None,
    as_json: bool,
) -> None:
    from wardstream.demo.feedonly import generate_only

    out = generate_only(events=events, duration=duration, seed=seed, bootstrap=bootstrap,
                        config=config, project=project, console=err)  # fmt: skip
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    else:
        produced = out["produced"]
        say(f"wrote {produced['events']:,} events and {produced['state_records']:,} state records")
        if produced["skipped"]:
            say(f"skipped (no such pipeline in the config): {produced['skipped']}")


def _report(summary: dict[str, Any], next_steps: list[str], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({**summary, "next_steps": next_steps}, indent=2))
        return
    from wardstream.demo.summary import render

    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=100)  # pipes and logs: no 80-column squeeze
    out.print(render(summary))
    out.print("\n[bold]Where to look next[/bold]")
    for line in next_steps:
        out.print(f"  {line}", soft_wrap=True)


def _sigterm_as_interrupt() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
