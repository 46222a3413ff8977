"""The `wardstream` command line: one typer app, one module per command group."""

from __future__ import annotations

import typer

from wardstream import __version__
from wardstream.cli import check_cmd, kafka_cmd, worker_cmd
from wardstream.cli.audit_cmd import app as audit_app
from wardstream.cli.bench_cmd import bench
from wardstream.cli.deadletter_cmd import app as deadletter_app
from wardstream.cli.demo_cmd import demo
from wardstream.cli.keys_cmd import app as keys_app
from wardstream.cli.lifecycle_cmd import hold_app, service_stop
from wardstream.cli.quarantine_cmd import app as quarantine_app

app = typer.Typer(
    name="wardstream",
    help="Enforce children's personal-information law on Apache Kafka streams.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(kafka_cmd.app, name="kafka")
app.add_typer(audit_app, name="audit")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(deadletter_app, name="deadletter")
app.add_typer(keys_app, name="keys")
app.add_typer(hold_app, name="hold")
app.command()(worker_cmd.worker)
app.command()(check_cmd.check)
app.command()(demo)
app.command()(bench)
app.command("service-stop")(service_stop)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


def main() -> None:
    app()
