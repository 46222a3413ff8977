"""`wardstream check`: validate the configuration, every pipeline file and its schema."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from wardstream.cli.output import EXIT_PROBLEM, err, say

if TYPE_CHECKING:
    from wardstream.config.errors import Problem
    from wardstream.config.settings import Settings


def check(
    config: Path = typer.Option(None, "--config", "-c", help="wardstream.yaml to validate."),
    pipelines: Path = typer.Option(None, help="Pipelines directory (default: the config's)."),
    as_json: bool = typer.Option(False, "--json", help="Print the problems as JSON."),
) -> None:
    """Validate settings, pipelines and schemas; exit 1 on any error.

    Each problem names the file, the line, the key and the fix.

    Example: [bold]wardstream check -c wardstream.yaml[/bold]
    """
    from wardstream.config.errors import ConfigError
    from wardstream.config.pipeline import check_pipelines
    from wardstream.config.settings import load_settings

    problems: list[Problem] = []
    settings = None
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        problems.extend(exc.problems)
    base = config.parent if config else Path.cwd()
    directory = pipelines or (settings.worker.pipelines_dir if settings else Path("pipelines"))
    if not directory.is_absolute():
        directory = base / directory
    policy = settings.policy if settings else None
    problems.extend(check_pipelines(directory, policy, base_dir=base))
    if settings is not None and not any(p.severity == "error" for p in problems):
        problems.extend(_key_ring_problems(settings, directory, base, config))
    errors = [p for p in problems if p.severity == "error"]
    if as_json:
        typer.echo(json.dumps([asdict(p) for p in problems], indent=2))
    else:
        for p in problems:
            colour = "red" if p.severity == "error" else "yellow"
            err.print(f"[{colour}]{p.severity}[/{colour}] {p}", markup=True, highlight=False)
        if not errors:
            say(f"[green]ok[/green]: configuration and pipelines in {directory} are valid")
    if errors:
        raise typer.Exit(EXIT_PROBLEM)


def _key_ring_problems(
    settings: Settings, directory: Path, base: Path, config: Path | None
) -> list[Problem]:
    """``encrypt: true`` sink fields need the key ring: the worker would refuse to start."""
    from wardstream.config.errors import Problem
    from wardstream.config.pipeline import load_pipelines
    from wardstream.enforce.sink_fields import missing_ring_message

    ls = settings.lifecycle
    if ls.encrypt_quarantine and (ls.master_key is not None or ls.master_key_file):
        return []
    where = str(config) if config else "(environment)"
    return [
        Problem(where, 0, "lifecycle", missing_ring_message(p), "see the message")
        for p in load_pipelines(directory, settings.policy, base)
        if p.encrypted_fields
    ]
