"""Worker settings that differ per replica."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from wardstream.config.errors import ConfigError
from wardstream.config.settings import WorkerSettings, load_settings


def test_a_worker_without_a_name_takes_the_host_name() -> None:
    assert WorkerSettings().name == socket.gethostname()
    assert WorkerSettings(name="").name == socket.gethostname()
    assert WorkerSettings(name="eu-1").name == "eu-1"


def test_web_endpoints_stay_on_loopback_unless_asked() -> None:
    assert WorkerSettings().web_host == "127.0.0.1"
    assert WorkerSettings(web_host="0.0.0.0").web_host == "0.0.0.0"  # noqa: S104


def test_the_fast_engine_is_tuned_in_the_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "wardstream.yaml"
    config.write_text("fast:\n  consume_batch: 500\n  linger_ms: 2\n")
    monkeypatch.setenv("WARDSTREAM__FAST__LINGER_MS", "7")
    fast = load_settings(config).fast
    assert (fast.consume_batch, fast.linger_ms, fast.commit_interval_s) == (500, 7, 0.1)
    config.write_text("fast:\n  consume_bach: 500\n")
    with pytest.raises(ConfigError, match="consume_bach"):
        load_settings(config)
