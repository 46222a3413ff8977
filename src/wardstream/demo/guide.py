"""Where to look next, after a demo run: commands that work against what the run left."""

from __future__ import annotations

from wardstream.demo.readback import OutputTopics
from wardstream.demo.workspace import Workspace


def next_steps(
    ws: Workspace, topics: OutputTopics, *, kept: bool, embedded: bool, worker_pid: int | None
) -> list[str]:
    config, bootstrap = ws.config_path, ws.bootstrap
    first_sink = next(iter(topics.sinks.values()), "<sink>")
    explore = [
        f"Sink topics (lawful events only): {', '.join(topics.sinks.values())}",
        f"Read one with its ward-* headers: kafka-console-consumer.sh --bootstrap-server "
        f"{bootstrap} --topic {first_sink} --from-beginning --property print.headers=true",
        f"Verify the audit trail: wardstream audit verify -c {config}",
        f"Audit report: wardstream audit report -c {config} --out report/",
    ]
    if not kept and embedded:
        return [
            "The demo's Kafka stopped and its topics went with it. `wardstream demo --keep` "
            "leaves Kafka, the worker and the topics up, and then these work:",
            "  wardstream audit verify -c <run dir>/wardstream.yaml   (checks every hash chain)",
            "  wardstream audit report -c <run dir>/wardstream.yaml --out report/",
            "Your own cluster: the README's five-minute tour (a pipeline file, `wardstream check`, "
            "`wardstream worker`).",
        ]
    steps = [*explore, f"The run's configuration and pipelines: {ws.root}"]
    if kept and worker_pid is not None:
        steps.append(f"Worker metrics: curl http://127.0.0.1:{ws.web_port}/metrics")
        stop = f"kill {worker_pid}"
        if embedded:
            stop += f" && wardstream kafka stop --home {ws.root / 'kafka'}"
        stop += f" && rm -rf {ws.root}"
        steps.append(f"When done: {stop}")
    return steps
