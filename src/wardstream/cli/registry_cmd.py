"""`wardstream registry start|stop|status`: a local Apicurio schema registry, no Docker."""

from __future__ import annotations

from pathlib import Path

import typer

from wardstream.cli.output import fail, say
from wardstream.kafka.errors import LocalKafkaError
from wardstream.local.install import cache_root
from wardstream.local.kafka import alive_pids
from wardstream.local.registry import (
    LocalRegistry,
    answers,
    read_registry_state,
    stop_registry_from_state,
)

app = typer.Typer(
    help="Run a local Apicurio schema registry (Confluent-compatible API) on 127.0.0.1."
)

HOME_HELP = "Directory for the registry's log and state (default: $WARDSTREAM_HOME/local-registry)."


def _home(home: Path | None) -> Path:
    return home or cache_root() / "local-registry"


@app.command()
def start(
    port: int = typer.Option(None, help="Port on 127.0.0.1 (default: a free port)."),
    home: Path = typer.Option(None, help=HOME_HELP),
    timeout: float = typer.Option(120.0, help="Seconds to wait for the registry to answer."),
) -> None:
    """Install Apicurio Registry from Maven Central (first time only), start it, wait.

    Prints the Confluent-compatible API URL on stdout; schemas live in memory and go
    with the process.

    Example: [bold]export WARDSTREAM__KAFKA__SCHEMA_REGISTRY_URL=$(wardstream registry
    start)[/bold]
    """
    where = _home(home)
    state = read_registry_state(where)
    if state and alive_pids([int(state["pid"])]):
        say(f"already running: {state['url']}")
        typer.echo(state["url"])
        return
    registry = LocalRegistry(where, port=port)
    try:
        url = registry.start(timeout=timeout)
    except LocalKafkaError as exc:
        fail(str(exc))
    say(f"schema registry is ready at [bold]{url}[/bold] (log in {where})")
    typer.echo(url)


@app.command()
def stop(home: Path = typer.Option(None, help=HOME_HELP)) -> None:
    """Stop the registry started by `wardstream registry start`.

    Example: [bold]wardstream registry stop[/bold]
    """
    stopped = stop_registry_from_state(_home(home))
    say("stopped the local registry" if stopped else "no local registry was running")


@app.command()
def status(home: Path = typer.Option(None, help=HOME_HELP)) -> None:
    """Say whether the local registry runs and answers; exit 1 when it does not.

    Example: [bold]wardstream registry status[/bold]
    """
    state = read_registry_state(_home(home))
    if not state:
        fail("no local registry was started; run `wardstream registry start`", code=1)
    url = str(state["url"])
    if not answers(url):
        fail(f"the registry at {url} does not answer; `wardstream registry stop` then start", 1)
    say(f"running at [bold]{url}[/bold]")
    typer.echo(url)
