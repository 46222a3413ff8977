"""A wardstream deployment of its own for a test module: topics, config, a worker process.

Every topic name carries a unique prefix, the example pipelines are copied
with their source and sink renamed, and the worker runs as a real
`python -m wardstream worker` subprocess against the real broker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from wardstream.local.kafka import free_port
from wardstream.serde import AvroCodec, load_schema, make_codec, record_schema

TEST_KEY = "8f2b0c6e4d1a9b7c3e5f0a2d4c6b8e1f3a5c7e9b0d2f4a6c8e0b1d3f5a7c9e1b"
TEST_MASTER_KEY = "3c1e5a7b9d0f2e4c6a8b0d1f3e5a7c9b2d4f6e8a0c1b3d5f7e9a2c4b6d8f0e1a"
KEYS = {
    "WARDSTREAM__AUDIT__HMAC_KEY": TEST_KEY,
    "WARDSTREAM__LIFECYCLE__MASTER_KEY": TEST_MASTER_KEY,
}
TOPIC_KEYS = (
    "subjects",
    "consents",
    "requests",
    "quarantine",
    "deadletter",
    "deletions",
    "notices",
    "audit",
    "corrections",
    "incidents",
)


def millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class Workspace:
    def __init__(
        self,
        root: Path,
        bootstrap: str,
        prefix: str,
        project: Path,
        extra: dict[str, dict[str, Any]] | None = None,
        *,
        engine: str | None = None,
        isolation_level: str = "read_uncommitted",
        **worker: Any,
    ) -> None:
        """``engine`` adds ``--engine <engine>`` to every worker's command line;
        ``isolation_level="read_committed"`` makes ``records`` skip aborted transactions."""
        self.root, self.bootstrap, self.prefix, self.project = root, bootstrap, prefix, project
        self.engine, self.isolation_level = engine, isolation_level
        self.workers: list[Worker] = []
        """Further worker processes started with ``spawn`` (stopped by ``close``)."""
        self.topics = {k: f"{prefix}.ward.{k}" for k in TOPIC_KEYS}
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.web_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._consumers: dict[str, tuple[KafkaConsumer, list[Any]]] = {}
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        self._write(worker, extra or {})
        self._subject_codec = AvroCodec(record_schema("SubjectProfile"))
        self._consent_codec = AvroCodec(record_schema("ConsentEvent"))
        self._request_codec = AvroCodec(record_schema("GuardianRequest"))
        self.env: dict[str, str] = {}
        """Extra environment for the worker and `cli` (e.g. WARDSTREAM__LIFECYCLE__*)."""

    # -- setup --------------------------------------------------------------------
    def _write(self, worker: dict[str, Any], extra: dict[str, dict[str, Any]]) -> None:
        """Config and pipelines; ``extra`` adds pipelines as clickstream copies with overrides."""
        config = yaml.safe_load((self.project / "wardstream.yaml").read_text())
        config["kafka"] = {"bootstrap_servers": self.bootstrap, "partitions": 2}
        config["topics"] = self.topics
        config["worker"] = {
            "app_id": f"{self.prefix}-app",
            "pipelines_dir": "pipelines",
            "web_port": self.web_port,
            "data_dir": str(self.root / "data"),
            "summary_interval_s": 1,
            **worker,
        }
        (self.root / "wardstream.yaml").write_text(yaml.safe_dump(config))
        pdir = self.root / "pipelines"
        pdir.mkdir(exist_ok=True)
        files = {
            path.stem: yaml.safe_load(path.read_text())
            for path in sorted((self.project / "pipelines").glob("*.yaml"))
        }
        for name, overrides in extra.items():
            files[name] = {
                **files["clickstream"],
                "name": name,
                "source": f"app.{name}",
                "sink": f"app.{name}.lawful",
                **overrides,
            }
        for stem, p in files.items():
            p["source"], p["sink"] = f"{self.prefix}.{p['source']}", f"{self.prefix}.{p['sink']}"
            p["schema"] = str(self.project / p["schema"])
            (pdir / f"{stem}.yaml").write_text(yaml.safe_dump(p))
            self.pipelines[p["name"]] = p

    def codec(self, pipeline: str) -> Any:
        p = self.pipelines[pipeline]
        return make_codec(p["format"], load_schema(p["schema"]))

    # -- the worker ---------------------------------------------------------------
    def start(self, timeout: float = 90) -> None:
        env = {**os.environ, **KEYS, **self.env}
        log = (self.root / "worker.log").open("ab")
        self.proc = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "wardstream",
                "worker",
                *self._engine_args(),
                "-c",
                str(self.root / "wardstream.yaml"),
            ],
            cwd=self.root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log_tail()}")
            if self.healthy():
                return
            time.sleep(0.3)
        self.stop(kill=True)  # never leave a worker behind a failed start
        raise AssertionError(f"worker not healthy within {timeout}s:\n{self.log_tail()}")

    def healthy(self) -> bool:
        return _healthy(self.web_port)

    def _engine_args(self) -> list[str]:
        return ["--engine", self.engine] if self.engine else []

    def spawn(self, name: str, timeout: float = 90) -> Worker:
        """Start another worker of this deployment (same config and consumer group) with
        its own ``worker.name``, web port, data directory and log (``worker-<name>.log``)."""
        port = free_port()
        env = {
            **os.environ,
            **KEYS,
            **self.env,
            "WARDSTREAM__WORKER__NAME": name,
            "WARDSTREAM__WORKER__WEB_PORT": str(port),
            "WARDSTREAM__WORKER__DATA_DIR": str(self.root / f"data-{name}"),
        }
        log_path = self.root / f"worker-{name}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "wardstream", "worker", *self._engine_args()]
                + ["-c", str(self.root / "wardstream.yaml")],
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(name, proc, port, log_path)
        self.workers.append(worker)
        deadline = time.monotonic() + timeout
        while not worker.healthy():
            if proc.poll() is not None or time.monotonic() > deadline:
                worker.stop(kill=True)  # never leave a worker behind a failed start
                raise AssertionError(f"worker {name} did not start:\n{worker.log_tail()}")
            time.sleep(0.3)
        return worker

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=2) as r:  # noqa: S310
            return str(r.read().decode())

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log_tail(self, n: int = 60) -> str:
        path = self.root / "worker.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else ""
        )

    def close(self) -> None:
        self.stop()
        for worker in self.workers:
            worker.stop()
        self.producer.close()
        for consumer, _ in self._consumers.values():
            consumer.close()

    # -- producing ----------------------------------------------------------------
    def subject(
        self,
        subject_id: str,
        *,
        birth: date | None = None,
        band: str | None = None,
        jurisdiction: str | None = "CN",
        vulnerable: bool = False,
        deregistered_at: datetime | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        datum = {
            "subject_id": subject_id,
            "birth_date": birth,
            "age_band": band,
            "jurisdiction": jurisdiction,
            "verification": "document",
            "vulnerable": vulnerable,
            "deregistered_at": deregistered_at,
            "updated_at": updated_at or datetime(2020, 1, 1, tzinfo=UTC),
        }
        self.producer.send(
            self.topics["subjects"],
            key=subject_id.encode(),
            value=self._subject_codec.encode(datum),
        )

    def consent(
        self,
        subject_id: str,
        consent_id: str,
        *,
        action: str = "GRANTED",
        purposes: Iterable[str] = ("analytics",),
        categories: Iterable[str] = (),
        recipients: Iterable[str] = (),
        version: int = 3,
        by: str = "GUARDIAN",
        effective_at: datetime | None = None,
        expires_at: datetime | None = None,
        evidence: str = "signed_form:doc-1",
    ) -> None:
        datum = {
            "consent_id": consent_id,
            "subject_id": subject_id,
            "granted_by": by,
            "guardian_ref": "g-1" if by == "GUARDIAN" else None,
            "action": action,
            "purposes": list(purposes),
            "data_categories": list(categories),
            "third_party_recipients": list(recipients),
            "public_disclosure": False,
            "policy_version": version,
            "effective_at": effective_at or datetime(2020, 1, 1, tzinfo=UTC),
            "expires_at": expires_at,
            "evidence": evidence,
        }
        self.producer.send(
            self.topics["consents"],
            key=subject_id.encode(),
            value=self._consent_codec.encode(datum),
        )

    def request(
        self, subject_id: str, request_id: str, kind: str = "DELETE", scope: Iterable[str] = ()
    ) -> datetime:
        """A guardian request on ``ward.requests``; returns its received_at."""
        received = datetime.now(UTC).replace(microsecond=0)
        datum = {
            "request_id": request_id,
            "subject_id": subject_id,
            "kind": kind,
            "scope": list(scope),
            "received_at": received,
        }
        self.producer.send(
            self.topics["requests"],
            key=subject_id.encode(),
            value=self._request_codec.encode(datum),
        )
        return received

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``wardstream <args> --config <this workspace's config>``."""
        env = {**os.environ, **KEYS, **self.env}
        return subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "wardstream",
                *args,
                "--config",
                str(self.root / "wardstream.yaml"),
            ],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def event(
        self,
        pipeline: str,
        record: dict[str, Any] | None = None,
        *,
        raw: bytes | None = None,
        key: bytes | None = None,
        timestamp: datetime | None = None,
    ) -> None:
        value = raw if raw is not None else self.codec(pipeline).encode(record or {})
        ts = millis(timestamp) if timestamp else None
        self.producer.send(
            self.pipelines[pipeline]["source"], key=key, value=value, timestamp_ms=ts
        )

    def flush(self) -> None:
        self.producer.flush()

    # -- reading ------------------------------------------------------------------
    def records(self, topic: str) -> list[Any]:
        """Everything on ``topic`` so far (reads on from where the last call stopped)."""
        if topic not in self._consumers:
            consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level=self.isolation_level,
            )
            parts = None
            deadline = time.monotonic() + 10
            while not parts and time.monotonic() < deadline:
                parts = consumer.partitions_for_topic(topic)
                if not parts:
                    time.sleep(0.2)
            tps = [TopicPartition(topic, p) for p in sorted(parts or ())]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            self._consumers[topic] = (consumer, [])
        consumer, seen = self._consumers[topic]
        while True:  # drain: read on until a poll comes back empty
            batches = consumer.poll(timeout_ms=300, max_records=50000)
            for batch in batches.values():
                seen.extend(batch)
            if not batches:
                return seen

    def wait_for(
        self, topic: str, predicate: Callable[[Any], bool], count: int = 1, timeout: float = 30
    ) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.records(topic) if predicate(r)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"worker died:\n{self.log_tail()}")

    def sink(self, pipeline: str) -> str:
        return str(self.pipelines[pipeline]["sink"])


class Worker:
    """A worker process started by ``Workspace.spawn``."""

    def __init__(self, name: str, proc: subprocess.Popen[bytes], web_port: int, log: Path) -> None:
        self.name, self.proc, self.web_port, self.log = name, proc, web_port, log

    def healthy(self) -> bool:
        return _healthy(self.web_port)

    def stop(self, *, kill: bool = False, timeout: float = 30) -> bool:
        """SIGTERM (a graceful stop: the worker leaves its group) or SIGKILL; False when
        the process had to be killed after ``timeout`` seconds."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return False
        return True

    def log_tail(self, n: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-n:])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:  # noqa: S310
            return bool(r.status == 200)
    except OSError:
        return False


def header(record: Any, name: str) -> bytes | None:
    return dict(record.headers or []).get(name)


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)
