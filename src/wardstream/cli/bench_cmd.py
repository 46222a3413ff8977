"""`wardstream bench`: throughput, latency, CPU and memory of every engine on the same data.

The benchmark's code lives in the repository's ``bench/`` directory (it starts
baselines and workers as processes of their own); this command finds it next
to the package (an editable or source install), in ``./bench`` or in
``$WARDSTREAM_BENCH_DIR``.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from wardstream.cli.output import fail, say


def bench(
    events: int = typer.Option(100_000, "--events", "-n", min=100, help="Events preloaded."),
    bootstrap: str = typer.Option(
        None,
        "--bootstrap",
        help="Kafka to use (default: $KAFKA_BOOTSTRAP_SERVERS, the broker of `wardstream kafka "
        "start`, or a local broker started for the run).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
    live_seconds: float = typer.Option(
        5.0, min=0.5, help="Seconds of live traffic per row for latency and withdrawal lag."
    ),
    subjects: int = typer.Option(10_000, min=10, help="Distinct subjects (Zipf-skewed)."),
    partitions: int = typer.Option(3, min=1, help="Partitions of every topic."),
    rows: str = typer.Option(
        None,
        help="Comma-separated subset: raw,faust-count,faust-pass,faust-engine,fast-eos,fast-alo; "
        "none for no engine row (only --state-subjects).",
    ),
    state_subjects: int = typer.Option(
        0,
        "--state-subjects",
        min=0,
        help="Also produce this many subject profiles (and their consents) and time each "
        "engine's state recovery: seconds, bytes per subject (0: off).",
    ),
    state_engines: str = typer.Option(
        "fast,faust", help="Engines whose state recovery --state-subjects times."
    ),
    repeat: int = typer.Option(
        1,
        min=1,
        help="Run every row (and each state recovery) this many times; each reports its "
        "median run and every run's rate (single runs on a small machine vary a lot).",
    ),
) -> None:
    """Measure raw librdkafka, Faust baselines, the Faust engine and the fast engine.

    Reports events/s, p50/p99 latency, CPU s per million events, peak RSS, the
    ratios to raw and to naive Faust, and the withdrawal->enforcement lag. Run it
    on a quiet machine: the numbers carry the load average. With
    --state-subjects N it also times how long a worker takes to read N subject
    profiles back and how much memory they take.

    Example: [bold]wardstream bench --events 100000[/bold]
    or [bold]wardstream bench --state-subjects 1000000 --rows none[/bold]
    """
    module = _bench_module()
    with _broker(bootstrap) as servers:
        say(f"wardstream bench: {events:,} events on {servers} (takes a few minutes)")
        result: dict[str, Any] = module.run(
            servers,
            events=events,
            subjects=subjects,
            live_seconds=live_seconds,
            partitions=partitions,
            rows=module.parse_rows(rows),
            state_subjects=state_subjects,
            state_engines=tuple(e for e in state_engines.split(",") if e),
            repeat=repeat,
        )
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    from rich.console import Console

    module.tp_report.print_report(result, Console())


def _bench_module() -> Any:
    candidates = [
        os.environ.get("WARDSTREAM_BENCH_DIR"),
        str(Path(__file__).resolve().parents[3] / "bench"),
        str(Path.cwd() / "bench"),
    ]
    for where in candidates:
        if where and (Path(where) / "throughput.py").exists():
            sys.path.insert(0, where)
            return importlib.import_module("throughput")
    fail("bench/throughput.py not found: run from the repository or set WARDSTREAM_BENCH_DIR")


@contextmanager
def _broker(bootstrap: str | None) -> Iterator[str]:
    found = bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or _running_local()
    if found:
        yield found
        return
    from wardstream.local.kafka import LocalKafka

    say("no broker given: starting a local one for this run")
    home = Path(tempfile.mkdtemp(prefix="wardstream-bench-kafka-"))
    broker = LocalKafka(home)
    broker.start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()
        shutil.rmtree(home, ignore_errors=True)  # about 1 GB of logs per run


def _running_local() -> str | None:
    from wardstream.local.install import cache_root
    from wardstream.local.kafka import metadata_ok, read_state

    state = read_state(cache_root() / "local-kafka")
    if state and metadata_ok(str(state["bootstrap"])):
        return str(state["bootstrap"])
    return None
