"""A demo run's own deployment: a directory with a config, pipelines and unique topics.

Every topic name and the worker's consumer group carry the run's prefix
(``demo-<8 hex>``), so reruns on a shared cluster never read each other's
records. The pipelines are the project's examples (``pipelines/*.yaml``) with
their topics renamed, plus ``live_comments``: the chat schema under a
live-streaming purpose, which shows the rule for children in difficult
situations (DSM) that none of the examples touches.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import wardstream
from wardstream.config.pipeline import load_pipelines
from wardstream.config.settings import Settings, TopicSettings, load_settings
from wardstream.demo.errors import DemoError
from wardstream.domain.pipeline import Pipeline

LIVE_COMMENTS = {
    "name": "live_comments",
    "source": "app.live.comments",
    "sink": "app.live.comments.lawful",
    "purpose": "live_streaming",
    "on_missing_consent": "drop",
    "unknown_age": "child",
    "retention": "7d",
}
"""Overrides of chat_message.yaml that make the demo-only live_comments pipeline."""


def find_project(explicit: Path | None = None) -> Path:
    """The directory with wardstream.yaml, pipelines/ and schemas/: given, cwd, or the checkout."""
    package_root = Path(wardstream.__file__).resolve().parents[2]
    for candidate in (explicit, Path.cwd(), package_root):
        if candidate is not None and _is_project(candidate):
            return candidate.resolve()
    where = explicit or Path.cwd()
    raise DemoError(
        f"{where} has no wardstream.yaml with pipelines/ and schemas/examples/: run the demo "
        "from a wardstream checkout, or pass --project DIR"
    )


def _is_project(path: Path) -> bool:
    return (path / "wardstream.yaml").is_file() and (path / "pipelines").is_dir()


def new_prefix() -> str:
    return f"demo-{secrets.token_hex(4)}"


@dataclass
class Workspace:
    root: Path
    project: Path
    bootstrap: str
    prefix: str
    web_port: int
    partitions: int = 3
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    registry_url: str | None = None
    """Set: the Avro pipelines use the Confluent format with this schema registry."""

    @property
    def config_path(self) -> Path:
        return self.root / "wardstream.yaml"

    def write(self) -> None:
        """Write wardstream.yaml and pipelines/ for this run."""
        self.root.mkdir(parents=True, exist_ok=True)
        config = yaml.safe_load((self.project / "wardstream.yaml").read_text())
        # the caller's connection settings (SASL, TLS) reach the worker through its
        # environment (process.worker_env), never this file: they may hold a password
        config["kafka"] = {
            "bootstrap_servers": self.bootstrap,
            "partitions": self.partitions,
            "replication_factor": 1,
        }
        if self.registry_url:
            config["kafka"]["schema_registry_url"] = self.registry_url
        config["topics"] = {k: f"{self.prefix}.ward.{k}" for k in TopicSettings.model_fields}
        config["worker"] = {
            "app_id": f"{self.prefix}-worker",
            "name": "demo-worker-1",
            "pipelines_dir": "pipelines",
            "web_port": self.web_port,
            "data_dir": str(self.root / "data"),
            "state_lateness_s": 1.0,
            "max_hold_s": 10.0,
            "summary_interval_s": 1.0,
        }
        config["audit"] = {"key_id": "demo"}
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self._write_pipelines()

    def _write_pipelines(self) -> None:
        out = self.root / "pipelines"
        out.mkdir(exist_ok=True)
        files = {
            p.stem: yaml.safe_load(p.read_text())
            for p in (self.project / "pipelines").glob("*.yaml")
        }
        if "chat_message" in files:
            files["live_comments"] = {**files["chat_message"], **LIVE_COMMENTS}
        for stem, p in sorted(files.items()):
            p["source"] = f"{self.prefix}.{p['source']}"
            p["sink"] = f"{self.prefix}.{p['sink']}"
            p["schema"] = str((self.project / p["schema"]).resolve())
            if self.registry_url and p.get("format") == "avro":
                p["format"] = "avro-confluent"
            (out / f"{stem}.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
            self.pipelines[p["name"]] = p

    def load(self) -> tuple[Settings, tuple[Pipeline, ...]]:
        """The settings and pipelines, validated exactly as the worker will.

        The run's bootstrap servers win over WARDSTREAM__KAFKA__BOOTSTRAP_SERVERS, which
        the worker does not get; the caller's other Kafka variables apply, as in the worker.
        """
        return load_config(self.config_path, self.bootstrap)


def load_config(path: Path, bootstrap: str | None = None) -> tuple[Settings, tuple[Pipeline, ...]]:
    """Settings (with ``bootstrap`` overriding Kafka's) and the pipelines they name."""
    settings = load_settings(path)
    if bootstrap:
        kafka = settings.kafka.model_copy(update={"bootstrap_servers": bootstrap})
        settings = settings.model_copy(update={"kafka": kafka})
    directory = settings.worker.pipelines_dir
    if not directory.is_absolute():
        directory = path.parent / directory
    pipelines = load_pipelines(directory, settings.policy, base_dir=path.parent)
    if not pipelines:
        raise DemoError(f"no pipeline files in {directory}; the demo needs at least one")
    return settings, pipelines


def create_topics(settings: Settings, pipelines: tuple[Pipeline, ...]) -> list[str]:
    """Create the run's topics (state, outputs, sources and sinks) that do not exist yet."""
    from kafka.errors import KafkaError

    from wardstream.engines.bootstrap import client_config, topic_specs
    from wardstream.kafka.admin import ensure_topics

    try:
        return ensure_topics(client_config(settings), topic_specs(settings, pipelines))
    except KafkaError as exc:
        raise DemoError(
            f"cannot create topics on the Kafka at {settings.kafka.bootstrap_servers} "
            f"({type(exc).__name__}); check --bootstrap (host:port of a running broker), or "
            "leave it out to start a local one"
        ) from None
