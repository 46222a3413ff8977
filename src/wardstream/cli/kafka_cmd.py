"""`wardstream kafka start|stop|status`: a local Apache Kafka for the demo and the tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from wardstream.cli.output import fail, say
from wardstream.kafka.errors import LocalKafkaError
from wardstream.local.install import cache_root
from wardstream.local.kafka import LocalKafka, alive_pids, metadata_ok, read_state, stop_from_state

app = typer.Typer(help="Run a local Apache Kafka (KRaft) on 127.0.0.1 — no Docker needed.")

HOME_HELP = "Directory for the broker's data and state (default: $WARDSTREAM_HOME/local-kafka)."


def _home(home: Path | None) -> Path:
    return home or cache_root() / "local-kafka"


@app.command()
def start(
    port: int = typer.Option(None, help="Broker port on 127.0.0.1 (default: a free port)."),
    nodes: int = typer.Option(1, help="1 (broker+controller) or 3 (a cluster for fault tests)."),
    home: Path = typer.Option(None, help=HOME_HELP),
    timeout: float = typer.Option(60.0, help="Seconds to wait for the broker to answer."),
    secure: bool = typer.Option(
        False,
        "--secure",
        help="Add a SASL_SSL listener (SCRAM-SHA-512 user 'wardstream', throwaway CA); "
        "PLAINTEXT stays for admin and inter-broker traffic. See docs/security.md.",
    ),
) -> None:
    """Install Kafka's jars (first time only), start the broker and wait until it answers.

    Prints the PLAINTEXT bootstrap address on stdout; with --secure, stderr also shows the
    WARDSTREAM__KAFKA__* settings for the SASL_SSL listener (the password stays in its file,
    named by WARDSTREAM__KAFKA__SASL_PASSWORD_FILE).

    Example: [bold]wardstream kafka start --port 9092[/bold] then
    [bold]export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092[/bold]
    """
    where = _home(home)
    state = read_state(where)
    if state and alive_pids([int(p) for p in state["pids"]]):
        say(f"already running: {state['bootstrap']}")
        return
    shutil.rmtree(where, ignore_errors=True)
    broker = LocalKafka(
        where, nodes=nodes, port=port, security="sasl_ssl" if secure else "plaintext"
    )
    try:
        bootstrap = broker.start(timeout=timeout)
    except LocalKafkaError as exc:
        fail(str(exc))
    say(f"Kafka is ready at [bold]{bootstrap}[/bold] (data in {where})")
    if broker.secure is not None:
        _say_secure(broker)
    typer.echo(bootstrap)


def _say_secure(broker: LocalKafka) -> None:
    """The settings for the SASL_SSL listener, on stderr, one unwrapped line each."""
    secure = broker.secure
    assert secure is not None  # noqa: S101 - the caller checked
    user = next(iter(secure.users))
    say(
        f"SASL_SSL (SCRAM-SHA-512) at [bold]{broker.secure_bootstrap_servers}[/bold]; connect with:"
    )
    lines = [
        f"export WARDSTREAM__KAFKA__BOOTSTRAP_SERVERS={broker.secure_bootstrap_servers}",
        "export WARDSTREAM__KAFKA__SECURITY_PROTOCOL=SASL_SSL",
        "export WARDSTREAM__KAFKA__SASL_MECHANISM=SCRAM-SHA-512",
        f"export WARDSTREAM__KAFKA__SASL_USERNAME={user}",
        f"export WARDSTREAM__KAFKA__SASL_PASSWORD_FILE={secure.password_file(user)}",
        f"export WARDSTREAM__KAFKA__SSL_CAFILE={secure.ca_file}",
    ]
    for line in lines:
        typer.echo(f"  {line}", err=True)


@app.command()
def stop(
    home: Path = typer.Option(None, help=HOME_HELP),
    wipe: bool = typer.Option(False, help="Also delete the broker's data directory."),
) -> None:
    """Stop the local broker started by `wardstream kafka start`; no JVM is left behind.

    Example: [bold]wardstream kafka stop --wipe[/bold]
    """
    where = _home(home)
    stopped = stop_from_state(where)
    if wipe:
        shutil.rmtree(where, ignore_errors=True)
    say(f"stopped {stopped} node(s)" if stopped else "no local broker was running")


@app.command()
def status(home: Path = typer.Option(None, help=HOME_HELP)) -> None:
    """Say whether the local broker runs and answers; exit 1 when it does not.

    Example: [bold]wardstream kafka status[/bold]
    """
    state = read_state(_home(home))
    if not state:
        fail("no local broker was started; run `wardstream kafka start`", code=1)
    bootstrap = str(state["bootstrap"])
    if not metadata_ok(bootstrap):
        fail(
            f"the broker at {bootstrap} does not answer; `wardstream kafka stop` then start", code=1
        )
    say(f"running at [bold]{bootstrap}[/bold]")
    typer.echo(bootstrap)
