"""One `wardstream demo` run: broker, topics, worker, traffic, live view, summary, cleanup.

The run owns everything it starts and stops it in ``finally``: the producer
thread, the worker process (SIGTERM, then SIGKILL) and the embedded broker
(its JVMs). With ``keep`` and a run that completed, the worker and the broker
stay up and the run directory stays; an interrupted run always cleans up.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from wardstream.config.settings import Settings
from wardstream.demo.dashboard import View, plain_line, render
from wardstream.demo.errors import DemoError
from wardstream.demo.generate import generate
from wardstream.demo.plan import Plan
from wardstream.demo.process import WorkerProcess
from wardstream.demo.produce import (
    KafkaSender,
    Targets,
    Written,
    targets_for,
    write_plan,
)
from wardstream.demo.readback import OutputReader, OutputTopics
from wardstream.demo.scrape import Snapshot, parse, rate
from wardstream.demo.summary import RunInfo, build
from wardstream.demo.workspace import Workspace, create_topics, find_project, new_prefix
from wardstream.domain.pipeline import Pipeline
from wardstream.kafka.security import librdkafka_options, preflight
from wardstream.local.kafka import LocalKafka, free_port
from wardstream.local.registry import LocalRegistry
from wardstream.serde import HttpSchemaRegistry


@dataclass(frozen=True, slots=True)
class Options:
    events: int = 20_000
    duration: float = 20.0
    seed: int = 1
    bootstrap: str | None = None
    keep: bool = False
    project: Path | None = None
    format: str = "avro"
    """``avro-confluent``: the Avro pipelines speak the Confluent format, with a registry."""
    registry: str | None = None
    """With ``avro-confluent``: this registry URL instead of a local Apicurio."""
    settle_timeout: float = 90.0
    """Seconds to wait, after the last event was written, for every event to be accounted for."""


@dataclass
class Result:
    summary: dict[str, Any]
    next_steps: list[str] = field(default_factory=list)


class Feed:
    """Writes the plan from a thread of its own, so the main thread can draw the view."""

    def __init__(self, plan: Plan, targets: Targets, kafka: dict[str, Any], scale: float) -> None:
        """``kafka``: librdkafka connection and security options (``librdkafka_options``)."""
        self.plan, self.targets, self.kafka, self.scale = plan, targets, kafka, scale
        self.stop = threading.Event()
        self.produced = 0
        self.written: Written | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="demo-producer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            sender = KafkaSender(self.kafka["bootstrap.servers"], self.kafka)
            written = write_plan(
                self.plan,
                self.targets,
                sender,
                start=datetime.now(UTC),
                scale=self.scale,
                pace=True,
                stop=self.stop,
                progress=self._progress,
            )
            sender.flush()
            self.written = written
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc

    def _progress(self, written: Written) -> None:
        self.produced = written.events


def output_topics(settings: Settings, pipelines: tuple[Pipeline, ...]) -> OutputTopics:
    t = settings.topics
    sinks = {p.name: p.sink for p in pipelines}
    return OutputTopics(sinks, t.quarantine, t.deadletter, t.audit, t.deletions)


class DemoSession:
    def __init__(self, options: Options, console: Console) -> None:
        self.opts, self.console = options, console
        self.run_dir: Path | None = None
        self.broker: LocalKafka | None = None
        self.local_registry: LocalRegistry | None = None
        self.worker: WorkerProcess | None = None
        self.reader: OutputReader | None = None
        self.feed: Feed | None = None
        self.kafka: dict[str, Any] = {}  # librdkafka connection and security options
        self.completed = self.failed = False
        self._history: deque[Snapshot] = deque(maxlen=8)

    def run(self) -> Result:
        began = time.monotonic()
        try:
            return self._run(began)
        except DemoError:
            self.failed = True  # keep the worker's log and the config for a look
            raise
        finally:
            self._cleanup()

    def _run(self, began: float) -> Result:
        opts = self.opts
        plan = generate(opts.seed, opts.events)
        project = find_project(opts.project)
        self.run_dir = Path(tempfile.mkdtemp(prefix="wardstream-demo-"))
        bootstrap = opts.bootstrap or self._start_kafka(self.run_dir / "kafka")
        registry = self._registry(self.run_dir / "registry")
        ws = Workspace(self.run_dir, project, bootstrap, new_prefix(), free_port())
        ws.registry_url = registry.url if registry else None
        ws.write()
        settings, pipelines = ws.load()
        preflight(settings.kafka)  # a refused login or CA stops here, with the fix
        self.kafka = librdkafka_options(settings.kafka)
        create_topics(settings, pipelines)
        self.console.print(
            f"Starting the worker ({len(pipelines)} pipelines, topics {ws.prefix}.*)"
        )
        self.worker = WorkerProcess(ws.config_path, ws.web_port, self.run_dir / "worker.log")
        self.worker.start()
        topics = output_topics(settings, pipelines)
        self.reader = OutputReader(bootstrap, topics, self.kafka)
        targets = targets_for(
            settings.topics.subjects, settings.topics.consents, pipelines, ws.root, registry
        )
        title = f"wardstream demo · seed {opts.seed} · run {ws.prefix} · Kafka {bootstrap}"
        view = View(title=title, target=opts.events)
        written = self._watch(plan, targets, view)
        self._settle()
        info = RunInfo(ws.prefix, opts.seed, opts.duration, bootstrap, opts.bootstrap is None,
                       time.monotonic() - began)  # fmt: skip
        sources = {p.name: p.source for p in pipelines}
        summary = build(
            info, plan, written, self.reader.tally, self.reader.verify(), topics, sources
        )
        self.completed = True
        return Result(summary, self._next_steps(ws, topics))

    def _registry(self, home: Path) -> HttpSchemaRegistry | None:
        """The Confluent-format run's registry: ``--registry``, else a local Apicurio."""
        if self.opts.format != "avro-confluent":
            return None
        url = self.opts.registry
        if url is None:
            self.console.print(
                "Starting Apicurio Registry on 127.0.0.1 (the first run downloads it from "
                "Maven Central, about 110 MB, into ~/.cache/wardstream)"
            )
            self.local_registry = LocalRegistry(home)
            url = self.local_registry.start(timeout=180)
        return HttpSchemaRegistry(url)

    def _start_kafka(self, home: Path) -> str:
        self.console.print(
            "Starting Apache Kafka 3.9.1 on 127.0.0.1 (the first run downloads its jars from "
            "Maven Central, about 45 MB, into ~/.cache/wardstream)"
        )
        self.broker = LocalKafka(home)
        return self.broker.start(timeout=120)

    # -- the live part ------------------------------------------------------------------
    def _watch(self, plan: Plan, targets: Targets, view: View) -> Written:
        assert self.reader is not None  # noqa: S101 - set by _run
        feed = self.feed = Feed(plan, targets, self.kafka, self.opts.duration / plan.span_s)
        feed.start()
        deadline: float | None = None
        with self._screen(view) as redraw:
            while True:
                self._poll(view, feed)
                redraw()
                if feed.error is not None:
                    raise DemoError(f"writing the traffic failed: {feed.error}") from feed.error
                if feed.written is not None:
                    if self.reader.tally.complete(dict(feed.written.by_pipeline)):
                        return feed.written
                    deadline = deadline or time.monotonic() + self.opts.settle_timeout
                    if time.monotonic() > deadline:
                        raise DemoError(self._unaccounted(feed.written))
                time.sleep(0.5)

    def _poll(self, view: View, feed: Feed) -> None:
        assert self.worker is not None and self.reader is not None  # noqa: S101
        self.worker.check_alive()
        view.produced = feed.produced
        text = self.worker.metrics()
        if text is not None:
            snap = parse(text, time.monotonic())
            older = self._history[0] if self._history else None
            self._history.append(snap)
            view.snapshot, view.rate = snap, rate(snap, older)
        self.reader.refresh(budget=0.4)
        view.tally = self.reader.tally
        view.phase = "writing traffic" if feed.written is None else "waiting for every decision"

    @contextmanager
    def _screen(self, view: View) -> Iterator[Callable[[], None]]:
        if self.console.is_terminal:
            with Live(render(view), console=self.console, refresh_per_second=4) as live:
                yield lambda: live.update(render(view))
            return
        last = [0.0]

        def line() -> None:
            if time.monotonic() - last[0] >= 5:
                last[0] = time.monotonic()
                self.console.print(plain_line(view))

        yield line

    def _unaccounted(self, written: Written) -> str:
        assert self.reader is not None  # noqa: S101
        tally = self.reader.tally
        gaps = [
            (p, n, tally.decided(p), tally.audit_decided[p])
            for p, n in sorted(written.by_pipeline.items())
            if tally.decided(p) != n or tally.audit_decided[p] != n
        ]
        text = ", ".join(f"{p}: produced {n}, topics show {t}, audit {a}" for p, n, t, a in gaps)
        extra = any(t > n or a > n for _, n, t, a in gaps)
        why = (
            "more than produced: the worker decided some events twice (at-least-once "
            "redelivery after a restart or rebalance)"
            if extra
            else "the worker did not finish in time"
        )
        log = self.run_dir / "worker.log" if self.run_dir else "the worker log"
        limit = self.opts.settle_timeout
        return f"not every event was accounted for within {limit:.0f}s ({text}): {why}; see {log}"

    def _settle(self) -> None:
        """Stop the worker (unless kept) and read the topics to their end one last time."""
        assert self.reader is not None and self.worker is not None  # noqa: S101
        if not self.opts.keep:
            self.worker.stop()
        deadline = time.monotonic() + 30
        while not self.reader.refresh(budget=5.0):
            if time.monotonic() > deadline:
                raise DemoError("could not read the output topics to their end within 30s")

    # -- afterwards -----------------------------------------------------------------------
    def _next_steps(self, ws: Workspace, topics: OutputTopics) -> list[str]:
        from wardstream.demo.guide import next_steps

        kept = self.opts.keep
        pid = self.worker.pid if (kept and self.worker) else None
        return next_steps(ws, topics, kept=kept, embedded=self.broker is not None, worker_pid=pid)

    def _cleanup(self) -> None:
        with _shielded():  # a second Ctrl-C must not leave a JVM or a worker behind
            self._stop_all()

    def _stop_all(self) -> None:
        keep = self.opts.keep and self.completed
        if self.feed is not None:
            self.feed.stop.set()
            self.feed.join(10)
        if self.reader is not None:
            self.reader.close()
        if self.worker is not None:
            if keep:
                self.worker.detach()
            else:
                self.worker.stop()
        if self.broker is not None and not keep:
            self.broker.stop()
        if self.local_registry is not None and not keep:
            self.local_registry.stop()
        if self.run_dir is None or keep or (self.opts.bootstrap and self.completed):
            return  # the topics live on: keep the config that names them
        if self.failed and self.worker is not None:  # keep worker.log for a look
            shutil.rmtree(self.run_dir / "kafka", ignore_errors=True)
        else:
            shutil.rmtree(self.run_dir, ignore_errors=True)


@contextmanager
def _shielded() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM for the duration (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
