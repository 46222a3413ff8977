"""Topic administration with kafka-python: create what is missing, explain what is wrong."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from wardstream.kafka.errors import LocalKafkaError


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int = 1
    replication: int = 1
    config: Mapping[str, str] = field(default_factory=dict)


class TopicProblem(LocalKafkaError):
    """A topic exists but cannot serve as configured."""


def client_config(
    bootstrap: str, security: Mapping[str, object] | None = None
) -> dict[str, object]:
    return {"bootstrap_servers": bootstrap, **(security or {})}


def ensure_topics(config: Mapping[str, object], specs: Iterable[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = KafkaAdminClient(**config)
    try:
        existing = set(admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        new = [
            NewTopic(s.name, num_partitions=s.partitions, replication_factor=s.replication,
                     topic_configs=dict(s.config))
            for s in missing
        ]  # fmt: skip
        if new:
            try:
                admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass  # another worker made them between our look and our create
        return [s.name for s in missing]
    finally:
        admin.close()


def partition_counts(
    config: Mapping[str, object], topics: Iterable[str], timeout: float = 30.0
) -> dict[str, int]:
    """Partitions per topic; waits for topics just created to show their partitions."""
    wanted = list(topics)
    deadline = time.monotonic() + timeout
    admin = KafkaAdminClient(**config)
    try:
        while True:
            try:
                described = admin.describe_topics(wanted)
            except KafkaError:  # e.g. not yet known to the broker answering: ask again
                described = []
            counts = {d["name"]: len(d["partitions"]) for d in described if d.get("partitions")}
            missing = [t for t in wanted if t not in counts]
            if not missing:
                return counts
            if time.monotonic() > deadline:
                raise TopicProblem(
                    f"topics {missing} have no partitions after {timeout:.0f} s; check that "
                    "they exist and that this client may describe them (ACL DESCRIBE)"
                )
            time.sleep(0.2)
    finally:
        admin.close()


def topic_config(config: Mapping[str, object], topic: str, timeout: float = 15.0) -> dict[str, str]:
    """The effective configuration of ``topic`` (its own settings over the broker's);
    waits for a topic just created to be known to the broker that answers."""
    from kafka.admin import ConfigResource, ConfigResourceType

    deadline = time.monotonic() + timeout
    admin = KafkaAdminClient(**config)
    try:
        while True:
            failure: KafkaError | None = None
            try:
                resource = ConfigResource(ConfigResourceType.TOPIC, topic)
                found = _config_values(
                    admin.describe_configs([resource], config_filter="all"), topic
                )
            except KafkaError as exc:
                failure, found = exc, {}
            if found:
                return found
            if time.monotonic() > deadline:
                why = type(failure).__name__ if failure else "no configuration returned"
                raise TopicProblem(
                    f"cannot read the configuration of topic {topic} ({why}); check that it "
                    "exists and grant this user DescribeConfigs on it (docs/security.md)"
                )
            time.sleep(0.2)
    finally:
        admin.close()


def _config_values(answer: object, topic: str) -> dict[str, str]:
    """``{name: value}`` from kafka-python's describe_configs answer (dict or responses)."""
    found: dict[str, str] = {}
    if isinstance(answer, dict):
        for by_name in answer.values():
            entries = by_name.get(topic, {}) if isinstance(by_name, dict) else {}
            for key, data in entries.items():
                value = data.get("value") if isinstance(data, dict) else data
                if value is not None:
                    found[str(key)] = str(value)
        return found
    for response in answer if isinstance(answer, list) else [answer]:
        for resource in getattr(response, "resources", []):
            for entry in resource[4]:
                if entry[1] is not None:
                    found[str(entry[0])] = str(entry[1])
    return found
