"""`wardstream worker`: run the enforcer."""

from __future__ import annotations

from pathlib import Path

import typer

from wardstream.cli.output import fail, say
from wardstream.errors import EXIT_RESTART, RestartNeeded, WardstreamError


def worker(
    config: Path = typer.Option(
        None, "--config", "-c", help="wardstream.yaml (env WARDSTREAM__* overrides)."
    ),
    engine: str = typer.Option("faust", help="Stream engine: faust or fast (confluent-kafka)."),
    log_level: str = typer.Option("warn", help="crit, error, warn, info or debug."),
) -> None:
    """Run the enforcer on every pipeline file: tag, gate, redact, quarantine and audit.

    Needs the pseudonym key and the master key that wraps the data keys of
    quarantined payloads (WARDSTREAM__LIFECYCLE__MASTER_KEY or lifecycle.master_key_file).

    Example: [bold]WARDSTREAM__AUDIT__HMAC_KEY=$(cat /run/secrets/ward-key)
    WARDSTREAM__LIFECYCLE__MASTER_KEY=$(cat /run/secrets/ward-master)
    wardstream worker -c wardstream.yaml[/bold]
    """
    from wardstream.config.pipeline import load_pipelines
    from wardstream.config.settings import load_settings
    from wardstream.engines.run import run_fast, run_faust

    if engine not in ("faust", "fast"):
        fail(f"unknown engine {engine!r}; the engines are: faust, fast")
    try:
        settings = load_settings(config)
        base = config.parent if config else Path.cwd()
        pipelines_dir = settings.worker.pipelines_dir
        if not pipelines_dir.is_absolute():
            pipelines_dir = base / pipelines_dir
        pipelines = load_pipelines(pipelines_dir, settings.policy, base_dir=base)
        if not pipelines:
            fail(f"no pipeline files in {pipelines_dir}; add one (see `wardstream check --help`)")
        kafka = settings.kafka.bootstrap_servers
        say(f"wardstream worker: {len(pipelines)} pipeline(s), Kafka at {kafka}")
        run = run_fast if engine == "fast" else run_faust
        run(settings, pipelines, settings.policy.to_context(), str(base), log_level)
    except RestartNeeded as exc:
        fail(str(exc), EXIT_RESTART)
    except WardstreamError as exc:
        fail(str(exc))
