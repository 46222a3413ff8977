"""`wardstream worker` checks its configuration and keys before it touches Kafka.

A worker started without its keys and with no Kafka to reach must say which key is
missing, not die in a Kafka client's timeout; with its keys and no Kafka it says which
address did not answer and what to check. No broker: the Kafka admin client is a stand-in
that fails as kafka-python's does when nothing answers, and counts its uses.
"""

from __future__ import annotations

import os
from pathlib import Path

import kafka.errors
import pytest
from typer.testing import CliRunner

from wardstream.cli.main import app

ROOT = Path(__file__).resolve().parents[3]
KEY = "8f2b0c6e4d1a9b7c3e5f0a2d4c6b8e1f3a5c7e9b0d2f4a6c8e0b1d3f5a7c9e1b"
ENGINES = ["faust", "fast"]


@pytest.fixture
def no_kafka(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every KafkaAdminClient the worker makes; each fails as when no broker answers."""
    import wardstream.kafka.admin

    made: list[object] = []

    def unreachable(**config: object) -> None:
        made.append(config)
        raise kafka.errors.KafkaTimeoutError("Unable to bootstrap from 127.0.0.1:9")

    monkeypatch.setattr(wardstream.kafka.admin, "KafkaAdminClient", unreachable)
    for variable in [v for v in os.environ if v.startswith("WARDSTREAM__")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("WARDSTREAM__KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv("WARDSTREAM__WORKER__WEB_PORT", "0")
    return made


def _worker(engine: str) -> tuple[int, str, BaseException | None]:
    args = ["worker", "-c", str(ROOT / "wardstream.yaml"), "--engine", engine]
    result = CliRunner().invoke(app, args)
    exception = None if isinstance(result.exception, SystemExit) else result.exception
    return result.exit_code, result.output, exception


@pytest.mark.parametrize("engine", ENGINES)
def test_without_keys_the_worker_names_a_missing_key_before_touching_kafka(
    engine: str, no_kafka: list[object]
) -> None:
    code, output, exception = _worker(engine)
    assert exception is None, f"{type(exception).__name__} escaped: {exception}"
    assert code == 1 and "no master key" in output
    assert "WARDSTREAM__LIFECYCLE__MASTER_KEY" in output
    assert no_kafka == [], "the worker went to Kafka before checking its keys"


@pytest.mark.parametrize("engine", ENGINES)
def test_without_the_pseudonym_key_the_worker_says_so_before_touching_kafka(
    engine: str, no_kafka: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARDSTREAM__LIFECYCLE__MASTER_KEY", KEY)
    code, output, exception = _worker(engine)
    assert exception is None, f"{type(exception).__name__} escaped: {exception}"
    assert code == 1 and "no pseudonym key" in output and "WARDSTREAM__AUDIT__HMAC_KEY" in output
    assert KEY not in output
    assert no_kafka == []


@pytest.mark.parametrize("engine", ENGINES)
def test_with_its_keys_and_no_kafka_the_worker_names_the_address_to_check(
    engine: str, no_kafka: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARDSTREAM__AUDIT__HMAC_KEY", KEY)
    monkeypatch.setenv("WARDSTREAM__LIFECYCLE__MASTER_KEY", KEY)
    code, output, exception = _worker(engine)
    assert exception is None, f"{type(exception).__name__} escaped: {exception}"
    assert code == 1 and len(no_kafka) == 1
    assert "Kafka at 127.0.0.1:9 did not answer" in " ".join(output.split())
    assert "WARDSTREAM__KAFKA__BOOTSTRAP_SERVERS" in output and KEY not in output


@pytest.mark.parametrize("engine", ENGINES)
def test_a_state_snapshot_without_a_master_key_stops_start_up_before_kafka(
    engine: str, no_kafka: list[object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The snapshot is sealed under a key derived from the master key: no key, no start
    (even with quarantine encryption off), and the message names both settings."""
    monkeypatch.setenv("WARDSTREAM__AUDIT__HMAC_KEY", KEY)
    monkeypatch.setenv("WARDSTREAM__LIFECYCLE__ENCRYPT_QUARANTINE", "false")
    monkeypatch.setenv("WARDSTREAM__STATE__SNAPSHOT_DIR", str(tmp_path / "snap"))
    code, output, exception = _worker(engine)
    assert exception is None, f"{type(exception).__name__} escaped: {exception}"
    assert code == 1 and "state.snapshot_dir is set but there is no master key" in output
    assert "WARDSTREAM__LIFECYCLE__MASTER_KEY" in output
    assert no_kafka == []
    assert not (tmp_path / "snap").exists()
