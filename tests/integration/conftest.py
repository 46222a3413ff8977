"""Fixtures for tests on a real Apache Kafka.

The broker comes from KAFKA_BOOTSTRAP_SERVERS when set; else a testcontainers
Kafka when a Docker engine answers; else wardstream's own local launcher (the
jars from Maven Central, cached). Every test gets topics of its own.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wardstream.local.kafka import LocalKafka

INTEGRATION_DIR = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration ``integration``, before ``-m`` selects.

    pytest ignores ``pytestmark`` in a conftest, and a module-level marker is easy to
    forget in a new file: this hook covers every module here (and in subfolders), so
    ``-m "not integration"`` never collects a broker test. tryfirst: the marker must be
    on the items before pytest's own hook deselects by ``-m``.
    """
    for item in items:
        if item.path.resolve().is_relative_to(INTEGRATION_DIR):
            item.add_marker(pytest.mark.integration)


def _docker_answers() -> bool:
    try:
        import docker  # testcontainers' dependency

        docker.from_env(timeout=3).ping()
    except Exception:  # noqa: BLE001 - any failure means "no engine"
        return False
    return True


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if env:
        yield env
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:3.9.1").with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    broker = LocalKafka(tmp_path_factory.mktemp("kafka"))
    broker.start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture
def unique_topic(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Make topic names no other test (or earlier run on a shared broker) uses."""
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name)[:60].strip("-")
    run = uuid.uuid4().hex[:8]

    def make(suffix: str = "t") -> str:
        return f"test.{slug}.{run}.{suffix}"

    return make


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parents[2]
